"""Build the demo corpus: catalog.jsonl, reviews.jsonl and questions.jsonl.

This script is the source of truth. Reviews are written below with inline markup,

    "I traded my [Nebula X1](PRODUCT:nebula-x1) for a [Pallas P7](PRODUCT:NIL) ..."

where `[text](PRODUCT:<catalog id>)` is a product in the catalog, `[text](PRODUCT:NIL)`
a product that is not, and `[text](BRAND)` a brand. The script strips the markup,
computes character offsets, validates every label, writes the JSONL files, then
builds the questions (see build_questions.py).

    python examples/demo/build_corpus.py
"""

from __future__ import annotations

import itertools
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ASPECTS = ("battery", "camera", "screen", "performance", "design", "price", "software", "sound")
POLARITIES = ("positive", "negative", "neutral")
BRANDS_OUTSIDE_CATALOG = {"Pallas"}
"""Invented brands that reviewers mention but the catalog does not sell."""


def _p(id_, name, brand, category, aliases, release_date, **attributes):
    return {
        "id": id_,
        "name": name,
        "brand": brand,
        "category": category,
        "aliases": aliases,
        "release_date": release_date,
        "attributes": attributes,
    }


CATALOG = [
    # Nebula: phones in generations (X1 -> X2 family -> X3) plus earbuds.
    _p("nebula-x1", "Nebula X1", "Nebula", "phone", ["X1", "Nebula X 1"], "2023-09-14",
       price_usd=699, screen_in=6.3, battery_mah=4500, storage_gb=128),
    _p("nebula-x2", "Nebula X2", "Nebula", "phone", ["X2", "Nebula X 2"], "2024-09-12",
       price_usd=799, screen_in=6.4, battery_mah=4800, storage_gb=128),
    _p("nebula-x2-pro", "Nebula X2 Pro", "Nebula", "phone", ["X2 Pro", "Nebula X2Pro"],
       "2024-09-12", price_usd=1099, screen_in=6.8, battery_mah=5200, storage_gb=256),
    _p("nebula-x2-lite", "Nebula X2 Lite", "Nebula", "phone", ["X2 Lite"], "2025-02-20",
       price_usd=499, screen_in=6.1, battery_mah=4300, storage_gb=128),
    _p("nebula-x3", "Nebula X3", "Nebula", "phone", ["X3", "Nebula X 3"], "2025-09-10",
       price_usd=849, screen_in=6.4, battery_mah=5400, storage_gb=256),
    _p("nebula-buds-2", "Nebula Buds 2", "Nebula", "earbuds", ["Buds 2", "Nebula Buds II"],
       "2024-10-01", price_usd=149, battery_hours=5, anc=False),
    # Orion: phones (5 -> 6 / 6 Plus) and one laptop.
    _p("orion-5", "Orion 5", "Orion", "phone", ["Orion5"], "2023-04-18",
       price_usd=599, screen_in=6.2, battery_mah=4400, storage_gb=128),
    _p("orion-6", "Orion 6", "Orion", "phone", ["Orion6"], "2024-04-16",
       price_usd=649, screen_in=6.2, battery_mah=4600, storage_gb=128),
    _p("orion-6-plus", "Orion 6 Plus", "Orion", "phone", ["6 Plus", "Orion 6+"], "2024-04-16",
       price_usd=749, screen_in=6.7, battery_mah=5500, storage_gb=256),
    _p("orion-book-14", "OrionBook 14", "Orion", "laptop", ["Orion Book 14", "OrionBook"],
       "2024-06-03", price_usd=1199, screen_in=14.0, battery_wh=70, ram_gb=16, weight_kg=1.4),
    # Zephyr: laptops.
    _p("zephyr-air-13", "Zephyr Air 13", "Zephyr", "laptop", ["Air 13", "Zephyr Air 13-inch"],
       "2023-11-07", price_usd=999, screen_in=13.3, battery_wh=52, ram_gb=8, weight_kg=1.2),
    _p("zephyr-air-15", "Zephyr Air 15", "Zephyr", "laptop", ["Air 15"], "2024-03-12",
       price_usd=1299, screen_in=15.3, battery_wh=66, ram_gb=16, weight_kg=1.5),
    _p("zephyr-pro-16", "Zephyr Pro 16", "Zephyr", "laptop", ["Pro 16", "Zephyr Pro"],
       "2024-10-22", price_usd=2299, screen_in=16.2, battery_wh=80, ram_gb=32, weight_kg=2.3,
       panel="mini-LED"),
    # Lumen: budget phones and tablets.
    _p("lumen-one", "Lumen One", "Lumen", "phone", ["Lumen 1"], "2023-05-09",
       price_usd=429, screen_in=6.5, battery_mah=5000, storage_gb=128),
    _p("lumen-one-s", "Lumen One S", "Lumen", "phone", ["One S", "Lumen 1S"], "2024-05-14",
       price_usd=479, screen_in=6.5, battery_mah=5000, storage_gb=128),
    _p("lumen-tab-8", "Lumen Tab 8", "Lumen", "tablet", ["Tab 8"], "2023-08-22",
       price_usd=229, screen_in=8.0, battery_mah=5100, storage_gb=32),
    _p("lumen-tab-11", "Lumen Tab 11", "Lumen", "tablet", ["Tab 11"], "2024-08-20",
       price_usd=399, screen_in=11.0, battery_mah=8000, storage_gb=128, speakers=4),
    # Vertex: phones (V9 -> V10) and gaming laptops (Blade V8 -> Blade V10).
    # The V10 phone and the Blade V10 laptop share a model number on purpose.
    _p("vertex-v9", "Vertex V9", "Vertex", "phone", ["V9"], "2023-07-25",
       price_usd=799, screen_in=6.5, battery_mah=4700, storage_gb=128),
    _p("vertex-v10", "Vertex V10", "Vertex", "phone", ["V10"], "2024-07-30",
       price_usd=899, screen_in=6.6, battery_mah=4900, storage_gb=256),
    _p("vertex-blade-v8", "Vertex Blade V8", "Vertex", "laptop", ["Blade V8", "V8"],
       "2023-07-25", price_usd=1399, screen_in=15.6, battery_wh=60, ram_gb=16, weight_kg=2.1),
    _p("vertex-blade-v10", "Vertex Blade V10", "Vertex", "laptop", ["Blade V10", "V10"],
       "2024-07-30", price_usd=1599, screen_in=16.0, battery_wh=75, ram_gb=32, weight_kg=2.2,
       refresh_hz=240),
    # Kestrel: cheap, long-lasting phones.
    _p("kestrel-k5", "Kestrel K5", "Kestrel", "phone", ["K5"], "2023-10-03",
       price_usd=349, screen_in=6.5, battery_mah=5500, storage_gb=64),
    _p("kestrel-k5-max", "Kestrel K5 Max", "Kestrel", "phone", ["K5 Max"], "2024-03-05",
       price_usd=399, screen_in=6.9, battery_mah=7000, storage_gb=128),
    _p("kestrel-k7", "Kestrel K7", "Kestrel", "phone", ["K7"], "2024-11-12",
       price_usd=549, screen_in=6.6, battery_mah=5000, storage_gb=128),
    # Halden: light laptops and 2-in-1s.
    _p("halden-slate-12", "Halden Slate 12", "Halden", "laptop", ["Slate 12"], "2023-08-29",
       price_usd=649, screen_in=12.4, battery_wh=48, ram_gb=8, weight_kg=1.1),
    _p("halden-slate-14", "Halden Slate 14", "Halden", "laptop", ["Slate 14"], "2024-01-16",
       price_usd=899, screen_in=14.0, battery_wh=57, ram_gb=16, weight_kg=1.3,
       convertible=True),
    _p("halden-slate-14-flip", "Halden Slate 14 Flip", "Halden", "laptop",
       ["Slate 14 Flip", "Slate Flip"], "2024-05-21", price_usd=1049, screen_in=14.0,
       battery_wh=57, ram_gb=16, weight_kg=1.35, convertible=True, panel="OLED"),
    # Aurex: earbuds.
    _p("aurex-pods-2", "Aurex Pods 2", "Aurex", "earbuds", ["Pods 2"], "2022-11-15",
       price_usd=99, battery_hours=6, anc=False),
    _p("aurex-pods-3", "Aurex Pods 3", "Aurex", "earbuds", ["Pods 3"],
       "2024-02-27", price_usd=129, battery_hours=4, anc=False),
    _p("aurex-pods-3-pro", "Aurex Pods 3 Pro", "Aurex", "earbuds", ["Pods 3 Pro"],
       "2024-02-27", price_usd=199, battery_hours=5, anc=True),
]  # fmt: skip

# Each review: (id, marked-up text, [(target, aspect, polarity), ...]).
# A target is a catalog id, or the mention text of a PRODUCT:NIL mention in the review.
REVIEWS = [
    ("r01",
     "I upgraded from the [Nebula X1](PRODUCT:nebula-x1) to the [Nebula X2](PRODUCT:nebula-x2) "
     "last month and honestly I kind of regret it. The screen is gorgeous, brighter and smoother "
     "than anything I've owned. But the battery is a joke, I'm at 20% by 3pm with light use. "
     "My old [X1](PRODUCT:nebula-x1) easily made it through a full day.",
     [("nebula-x2", "screen", "positive"), ("nebula-x2", "battery", "negative"),
      ("nebula-x1", "battery", "positive")]),
    ("r02",
     "great, another phone that dies by lunch 🙃 thanks [nebula](BRAND). the "
     "[x2](PRODUCT:nebula-x2) camera is genuinely good but what's the point if the thing is dead "
     "before i get to take any photos",
     [("nebula-x2", "battery", "negative"), ("nebula-x2", "camera", "positive")]),
    ("r03",
     "The [Nebula X2 Pro](PRODUCT:nebula-x2-pro) has the best camera I've ever used on a phone. "
     "Night shots come out clean, the zoom lens is actually usable at 5x, and portraits look "
     "natural instead of cut out. At $1,099 though, it's hard to recommend unless photography "
     "is your thing.",
     [("nebula-x2-pro", "camera", "positive"), ("nebula-x2-pro", "price", "negative")]),
    ("r04",
     "Picked up the [Nebla X2 Lite](PRODUCT:nebula-x2-lite) for my dad. For $499 it's a solid "
     "deal, and he likes that it's smaller than his old phone. It does stutter a bit when he "
     "has a lot of apps open.",
     [("nebula-x2-lite", "price", "positive"), ("nebula-x2-lite", "design", "positive"),
      ("nebula-x2-lite", "performance", "negative")]),
    ("r05",
     "The [Orion 6](PRODUCT:orion-6) looks fantastic in the green finish and feels great in the "
     "hand. Software is another story: it came with eleven preinstalled apps I can't uninstall, "
     "and notifications are a mess. Camera is fine, nothing special.",
     [("orion-6", "design", "positive"), ("orion-6", "software", "negative"),
      ("orion-6", "camera", "neutral")]),
    ("r06",
     "[Kestrel K5 Max](PRODUCT:kestrel-k5-max) battery lasts forever. Two days easy.",
     [("kestrel-k5-max", "battery", "positive")]),
    ("r07",
     "Ordered a phone for my daughter's birthday and the courier left it on the porch in the "
     "rain. The box was soaked through. Luckily the phone inside was fine. Three stars for the "
     "delivery company, nothing to do with the device itself.",
     []),
    ("r08",
     "I write code all day on a [Zephyr Air 13](PRODUCT:zephyr-air-13) and it hasn't slowed "
     "down once, even with a dozen containers running. The speakers are surprisingly full for "
     "such a thin laptop. My only gripe is the price: $999 for a base model with 8 GB of RAM is "
     "a stretch.",
     [("zephyr-air-13", "performance", "positive"), ("zephyr-air-13", "sound", "positive"),
      ("zephyr-air-13", "price", "negative")]),
    ("r09",
     "The [Zephyr Pro 16](PRODUCT:zephyr-pro-16) renders my 4K timelines faster than my desktop "
     "did. Battery life, on the other hand, is about three hours when I'm editing, so I'm "
     "basically tethered to the wall. It's also heavy enough that I've stopped bringing it to "
     "cafes.",
     [("zephyr-pro-16", "performance", "positive"), ("zephyr-pro-16", "battery", "negative"),
      ("zephyr-pro-16", "design", "negative")]),
    ("r10",
     "Switched from my old [Orion 4](PRODUCT:NIL) to the [Nebula X2](PRODUCT:nebula-x2) and the "
     "camera jump is huge. Photos are sharper and way better in low light. Battery is another "
     "story. The [Orion 4](PRODUCT:NIL) still got through a full day on its original battery "
     "and the [X2](PRODUCT:nebula-x2) can't, which is a bit embarrassing for [Nebula](BRAND).",
     [("nebula-x2", "camera", "positive"), ("nebula-x2", "battery", "negative"),
      ("Orion 4", "battery", "positive")]),
    ("r11",
     "Not to be confused with the laptop that has almost the same name: this is about the "
     "[Vertex V10](PRODUCT:vertex-v10) phone. The camera is the reason I bought it and it "
     "delivers. Colors are accurate, the ultrawide doesn't go mushy at the edges, and video "
     "stabilization is excellent. Battery life is average, I charge it every night.",
     [("vertex-v10", "camera", "positive"), ("vertex-v10", "battery", "neutral")]),
    ("r12",
     "Bought the [Blade V10](PRODUCT:vertex-blade-v10) for gaming and it runs everything I throw "
     "at it on high settings. The 240Hz screen is buttery smooth. The speakers are tinny enough "
     "that I just use headphones. [Vertex](BRAND) also preloads a bunch of trialware, which took "
     "me an hour to clean out.",
     [("vertex-blade-v10", "performance", "positive"), ("vertex-blade-v10", "screen", "positive"),
      ("vertex-blade-v10", "sound", "negative"), ("vertex-blade-v10", "software", "negative")]),
    ("r13",
     "[lumen one](PRODUCT:lumen-one) is fine for the money honestly. camera is pretty bad "
     "indoors, everything comes out grainy, but it's $429 and the battery gets me through the "
     "day. would buy again as a backup phone",
     [("lumen-one", "price", "positive"), ("lumen-one", "camera", "negative"),
      ("lumen-one", "battery", "positive")]),
    ("r14",
     "The [Lumen One S](PRODUCT:lumen-one-s) fixes my biggest complaint about the original "
     "[One](PRODUCT:lumen-one): the camera. Indoor photos no longer look like they were taken "
     "through a screen door. The software is still the cleanest I've used on any phone, no junk "
     "apps, and updates arrive on time.",
     [("lumen-one-s", "camera", "positive"), ("lumen-one", "camera", "negative"),
      ("lumen-one-s", "software", "positive")]),
    ("r15",
     "Got the [Lumen Tab 11](PRODUCT:lumen-tab-11) for watching movies on flights and it's "
     "perfect for that 🎬 The screen is sharp and the four speakers get properly loud. It's not "
     "a laptop replacement though, it chokes when I try to edit photos on it.",
     [("lumen-tab-11", "screen", "positive"), ("lumen-tab-11", "sound", "positive"),
      ("lumen-tab-11", "performance", "negative")]),
    ("r16",
     "My kid's [Lumen Tab 8](PRODUCT:lumen-tab-8) takes forever to open anything. Apps crash and "
     "the on-screen keyboard lags behind her typing. The only thing going for it is that the "
     "screen is decent for cartoons.",
     [("lumen-tab-8", "performance", "negative"), ("lumen-tab-8", "screen", "positive")]),
    ("r17",
     "[Kestrel K5](PRODUCT:kestrel-k5): bought it as a work phone. Battery is great, I charge it "
     "every other day. Camera is terrible, but I only use it to scan receipts anyway. For $349 I "
     "have no complaints.",
     [("kestrel-k5", "battery", "positive"), ("kestrel-k5", "camera", "negative"),
      ("kestrel-k5", "price", "positive")]),
    ("r18",
     "I went for the [K5 Max](PRODUCT:kestrel-k5-max) over the regular [K5](PRODUCT:kestrel-k5) "
     "because of the bigger battery, and yes, it lasts ages. But it is a brick. It doesn't fit "
     "in my jeans pocket and my wrist hurts after reading in bed.",
     [("kestrel-k5-max", "battery", "positive"), ("kestrel-k5-max", "design", "negative")]),
    ("r19",
     "Two months in with the [Kestrel K7](PRODUCT:kestrel-k7). The screen is nice and bright "
     "outdoors. But [Kestrel](BRAND) has pushed zero updates since launch, and there's a bug "
     "where the alarm sometimes doesn't go off. I was late to work twice. Not acceptable for a "
     "phone I rely on.",
     [("kestrel-k7", "screen", "positive"), ("kestrel-k7", "software", "negative")]),
    ("r20",
     "The [Halden Slate 14](PRODUCT:halden-slate-14) is the first 2-in-1 I've actually used as a "
     "tablet. The hinge is solid, the chassis feels premium and it's light enough to hold "
     "one-handed. Performance is okay for documents and browsing; I wouldn't try gaming on it.",
     [("halden-slate-14", "design", "positive"), ("halden-slate-14", "performance", "neutral")]),
    ("r21",
     "I honestly can't tell the [Slate 14 Flip](PRODUCT:halden-slate-14-flip) apart from the "
     "regular [Slate 14](PRODUCT:halden-slate-14) until I turn them on. The "
     "[Slate 14 Flip](PRODUCT:halden-slate-14-flip)'s OLED screen is stunning for photo work. "
     "Is it worth $150 more? For me, yes.",
     [("halden-slate-14-flip", "screen", "positive"),
      ("halden-slate-14-flip", "price", "positive")]),
    ("r22",
     "[Aurex Pod 3](PRODUCT:aurex-pods-3) sounds way better than I expected. Bass is punchy "
     "without drowning out vocals. Battery is the weak spot: I get maybe three and a half hours "
     "before the left one starts beeping. For $129 it's still a steal.",
     [("aurex-pods-3", "sound", "positive"), ("aurex-pods-3", "battery", "negative"),
      ("aurex-pods-3", "price", "positive")]),
    ("r23",
     "Upgraded from the [Pods 3](PRODUCT:aurex-pods-3) to the "
     "[Pods 3 Pro](PRODUCT:aurex-pods-3-pro) mostly for the noise cancelling, and it's a big "
     "step up on my train commute. Sound is a little warmer too. $199 is about what you'd "
     "expect to pay for this tier.",
     [("aurex-pods-3-pro", "sound", "positive"), ("aurex-pods-3-pro", "price", "neutral")]),
    ("r24",
     "The [Nebula Buds 2](PRODUCT:nebula-buds-2) pair instantly with my [X2](PRODUCT:nebula-x2), "
     "which is nice. Sound is fine, nothing to write home about. They look great though, and "
     "the case is tiny.",
     [("nebula-buds-2", "sound", "neutral"), ("nebula-buds-2", "design", "positive")]),
    ("r25",
     "The [OrionBook 14](PRODUCT:orion-book-14) has the best keyboard I've typed on in years, and "
     "the aluminium body feels like it'll survive being thrown in a backpack every day. The "
     "screen is a letdown: it's dim, and the matte coating makes text look a bit fuzzy. Battery "
     "lasts my whole workday.",
     [("orion-book-14", "design", "positive"), ("orion-book-14", "screen", "negative"),
      ("orion-book-14", "battery", "positive")]),
    ("r26",
     "My [Orion 5](PRODUCT:orion-5) was getting painfully slow, so I moved to the "
     "[Orion 6 Plus](PRODUCT:orion-6-plus). Night and day. The big screen is gorgeous and the "
     "battery easily does a day and a half. Still some of the same bloatware [Orion](BRAND) "
     "loves to ship, sadly.",
     [("orion-5", "performance", "negative"), ("orion-6-plus", "screen", "positive"),
      ("orion-6-plus", "battery", "positive"), ("orion-6-plus", "software", "negative")]),
    ("r27",
     "I spent two weeks going back and forth between the [Nebula X2](PRODUCT:nebula-x2), the "
     "[X2 Pro](PRODUCT:nebula-x2-pro) and the [Vertex V10](PRODUCT:vertex-v10) before buying, so "
     "here's my take for anyone in the same spot. The [X2 Pro](PRODUCT:nebula-x2-pro)'s camera "
     "is in a different league: I shot a friend's wedding reception in a dim hall and the photos "
     "were usable without flash. The regular [X2](PRODUCT:nebula-x2) takes good photos too, but "
     "its battery drained to nothing halfway through the same event. The "
     "[V10](PRODUCT:vertex-v10)'s camera is excellent as well, close to the "
     "[X2 Pro](PRODUCT:nebula-x2-pro) in daylight and only slightly behind at night. On price "
     "the [V10](PRODUCT:vertex-v10) wins easily, it's $200 cheaper. Software-wise I prefer "
     "[Vertex](BRAND)'s: less clutter, and the gallery app is way faster. In the end I kept the "
     "[V10](PRODUCT:vertex-v10) and returned the [X2 Pro](PRODUCT:nebula-x2-pro). If money were "
     "no object I'd have kept both.",
     [("nebula-x2-pro", "camera", "positive"), ("nebula-x2", "camera", "positive"),
      ("nebula-x2", "battery", "negative"), ("vertex-v10", "camera", "positive"),
      ("vertex-v10", "price", "positive"), ("vertex-v10", "software", "positive")]),
    ("r28",
     "Coming from the [X2](PRODUCT:nebula-x2), whose battery was a constant headache, the "
     "[Nebula X3](PRODUCT:nebula-x3) finally gets it right. I'm ending most days with 40% left. "
     "The camera is basically unchanged, which is fine since it was already good. $849 feels "
     "steep for what is mostly a battery upgrade.",
     [("nebula-x2", "battery", "negative"), ("nebula-x3", "battery", "positive"),
      ("nebula-x3", "camera", "positive"), ("nebula-x3", "price", "negative")]),
    ("r29",
     "[zephyr air15](PRODUCT:zephyr-air-15) review after 6 months: screen is big and color "
     "accurate, great for having two spreadsheets side by side. battery is better than i "
     "expected, 10+ hours of office work. wish it had more than two ports though",
     [("zephyr-air-15", "screen", "positive"), ("zephyr-air-15", "battery", "positive"),
      ("zephyr-air-15", "design", "negative")]),
    ("r30",
     "Tried both the [Air 13](PRODUCT:zephyr-air-13) and the [Air 15](PRODUCT:zephyr-air-15) in "
     "the store. The [Air 15](PRODUCT:zephyr-air-15) obviously has the nicer screen, but the "
     "[Air 13](PRODUCT:zephyr-air-13) is light enough that I forget it's in my bag. Went with "
     "the smaller one. No regrets so far.",
     [("zephyr-air-15", "screen", "positive"), ("zephyr-air-13", "design", "positive")]),
    ("r31",
     "Still on my [Blade V8](PRODUCT:vertex-blade-v8) from 2023 and I see no reason to move to "
     "the [V10](PRODUCT:vertex-blade-v10). The [V8](PRODUCT:vertex-blade-v8)'s screen is still "
     "one of the best I've seen on a laptop and it handles every game I play. Battery was never "
     "good and still isn't.",
     [("vertex-blade-v8", "screen", "positive"), ("vertex-blade-v8", "performance", "positive"),
      ("vertex-blade-v8", "battery", "negative")]),
    ("r32",
     "My [Vertex V9](PRODUCT:vertex-v9) still takes better photos than most of my friends' "
     "phones. I've been eyeing the [V10](PRODUCT:vertex-v10), but the [V9](PRODUCT:vertex-v9) is "
     "still fast enough and $899 for a new phone is a lot.",
     [("vertex-v9", "camera", "positive"), ("vertex-v9", "performance", "positive"),
      ("vertex-v10", "price", "negative")]),
    ("r33",
     "[Nebula X2](PRODUCT:nebula-x2) owner here 😩 camera is not bad at all, actually really "
     "good in daylight. but the battery... i bought a power bank in the second week. never again",
     [("nebula-x2", "camera", "positive"), ("nebula-x2", "battery", "negative")]),
    ("r34",
     "the [kestrel k7](PRODUCT:kestrel-k7) camera is honestly not great. photos look washed out "
     "and the shutter lag is real, my old [Pallas P7](PRODUCT:NIL) took better pictures and that "
     "was a $300 phone. battery is fine tho, gets me through the day",
     [("kestrel-k7", "camera", "negative"), ("Pallas P7", "camera", "positive"),
      ("kestrel-k7", "battery", "positive")]),
    ("r35",
     "Still rocking my [Nebula X1](PRODUCT:nebula-x1) two years later. Battery health is at 91% "
     "and it still lasts all day. Haven't felt any need to upgrade, especially after reading all "
     "the complaints about the [X2](PRODUCT:nebula-x2)'s battery.",
     [("nebula-x1", "battery", "positive"), ("nebula-x2", "battery", "negative")]),
    ("r36",
     "The [Orion 6](PRODUCT:orion-6) is a good phone buried under bad software. Every update "
     "adds another 'feature' nobody asked for. Love paying $649 to get ads in my weather app. "
     "Battery and performance are both solid though.",
     [("orion-6", "software", "negative"), ("orion-6", "battery", "positive"),
      ("orion-6", "performance", "positive")]),
    ("r37",
     "If you're choosing between the [Orion 6](PRODUCT:orion-6) and the "
     "[6 Plus](PRODUCT:orion-6-plus), get the [6 Plus](PRODUCT:orion-6-plus). You get a bigger "
     "screen and a much bigger battery, and it's well worth the extra $100.",
     [("orion-6-plus", "screen", "positive"), ("orion-6-plus", "battery", "positive"),
      ("orion-6-plus", "price", "positive")]),
    ("r38",
     "Anyone expecting a smaller [X2](PRODUCT:nebula-x2) will be disappointed by the "
     "[X2 Lite](PRODUCT:nebula-x2-lite). It has a slower chip and you feel it everywhere, the "
     "camera app takes a full second to open. The screen is fine, nothing more. If you want the "
     "camera, spend the money on the [X2 Pro](PRODUCT:nebula-x2-pro) instead. Honestly the "
     "price is the only reason to pick the [X2 Lite](PRODUCT:nebula-x2-lite).",
     [("nebula-x2-lite", "performance", "negative"), ("nebula-x2-lite", "screen", "neutral"),
      ("nebula-x2-pro", "camera", "positive"), ("nebula-x2-lite", "price", "positive")]),
    ("r39",
     "The [Halden Slate 12](PRODUCT:halden-slate-12) is what I'd recommend to students on a "
     "budget. $649 gets you a decent keyboard and enough battery for a full day of lectures. "
     "Just don't expect it to run anything heavier than a browser and a word processor.",
     [("halden-slate-12", "price", "positive"), ("halden-slate-12", "design", "positive"),
      ("halden-slate-12", "battery", "positive"), ("halden-slate-12", "performance", "negative")]),
    ("r40",
     "My old [Aurex Pods 2](PRODUCT:aurex-pods-2) lasted longer on a charge than the "
     "[Pods 3](PRODUCT:aurex-pods-3) do, which is a strange direction to go. Sound is better on "
     "the [Pods 3](PRODUCT:aurex-pods-3) though.",
     [("aurex-pods-2", "battery", "positive"), ("aurex-pods-3", "battery", "negative"),
      ("aurex-pods-3", "sound", "positive")]),
    ("r41",
     "I returned the [Zephyr Air 13](PRODUCT:zephyr-air-13) after a week and went back to my "
     "[Pallas Book 2](PRODUCT:NIL). The [Air 13](PRODUCT:zephyr-air-13) has the nicer screen, "
     "I'll admit, but its keyboard felt mushy and the webcam is awful on video calls. My "
     "[Pallas Book 2](PRODUCT:NIL) is older and slower, but I type all day and that matters "
     "more to me.",
     [("zephyr-air-13", "screen", "positive"), ("zephyr-air-13", "design", "negative"),
      ("zephyr-air-13", "camera", "negative"), ("Pallas Book 2", "performance", "negative")]),
    ("r42",
     "Whole family is on [Lumen](BRAND) now: I have the [One S](PRODUCT:lumen-one-s) and my "
     "partner has the [Tab 11](PRODUCT:lumen-tab-11). The software on both is simple enough that "
     "my mum figured out video calls by herself 👏 Only complaint is the "
     "[One S](PRODUCT:lumen-one-s) speaker, it's quiet and tinny.",
     [("lumen-one-s", "software", "positive"), ("lumen-tab-11", "software", "positive"),
      ("lumen-one-s", "sound", "negative")]),
    ("r43",
     "Replaced my cracked [Kestrel K3](PRODUCT:NIL) with a [K5](PRODUCT:kestrel-k5). Same great "
     "battery life, faster at everything, and it already survived a fall onto concrete on day "
     "one. For under $350 I'm impressed.",
     [("Kestrel K3", "battery", "positive"), ("kestrel-k5", "battery", "positive"),
      ("kestrel-k5", "performance", "positive"), ("kestrel-k5", "design", "positive"),
      ("kestrel-k5", "price", "positive")]),
    ("r44",
     "[Zephyr Pro 16](PRODUCT:zephyr-pro-16). $2,299. For that money I expected better than a "
     "grainy 720p webcam. The mini-LED screen is spectacular though, and the speakers are the "
     "best I've heard on a laptop.",
     [("zephyr-pro-16", "price", "negative"), ("zephyr-pro-16", "camera", "negative"),
      ("zephyr-pro-16", "screen", "positive"), ("zephyr-pro-16", "sound", "positive")]),
    ("r45",
     "Moved up from the [X1](PRODUCT:nebula-x1) to the [X2 Pro](PRODUCT:nebula-x2-pro). The "
     "camera is absolutely the highlight, portrait mode is scary good. It's a big phone though, "
     "and the camera bump makes it wobble on a desk. Battery is okay. Not great, not terrible.",
     [("nebula-x2-pro", "camera", "positive"), ("nebula-x2-pro", "design", "negative"),
      ("nebula-x2-pro", "battery", "neutral")]),
    ("r46",
     "Creative work laptop shootout: [Vertex Blade V10](PRODUCT:vertex-blade-v10) vs "
     "[Zephyr Pro 16](PRODUCT:zephyr-pro-16). The [Pro 16](PRODUCT:zephyr-pro-16) is faster at "
     "exports, but it costs $700 more and the [Blade V10](PRODUCT:vertex-blade-v10) is only a "
     "few seconds behind on most of my projects. The [Blade V10](PRODUCT:vertex-blade-v10)'s "
     "speakers are weak, while the [Pro 16](PRODUCT:zephyr-pro-16)'s are great. I kept the "
     "[Blade V10](PRODUCT:vertex-blade-v10) because of the price.",
     [("zephyr-pro-16", "performance", "positive"), ("zephyr-pro-16", "price", "negative"),
      ("vertex-blade-v10", "performance", "positive"), ("vertex-blade-v10", "sound", "negative"),
      ("zephyr-pro-16", "sound", "positive"), ("vertex-blade-v10", "price", "positive")]),
    ("r47",
     "Tested the [Nebula Buds 2](PRODUCT:nebula-buds-2) against the "
     "[Aurex Pods 3 Pro](PRODUCT:aurex-pods-3-pro) for a week. The [Aurex](BRAND) pair wins on "
     "sound by a mile, and on noise cancelling too. The [Buds 2](PRODUCT:nebula-buds-2) are more "
     "comfortable and cost $50 less. Battery on both is about the same, around five hours.",
     [("aurex-pods-3-pro", "sound", "positive"), ("nebula-buds-2", "design", "positive"),
      ("nebula-buds-2", "price", "positive"), ("nebula-buds-2", "battery", "neutral"),
      ("aurex-pods-3-pro", "battery", "neutral")]),
    ("r48",
     "[x2 pro](PRODUCT:nebula-x2-pro) camera 🔥🔥 worth every penny",
     [("nebula-x2-pro", "camera", "positive"), ("nebula-x2-pro", "price", "positive")]),
]  # fmt: skip

MARKUP = re.compile(r"\[([^\[\]]+)\]\((PRODUCT|BRAND)(?::([a-z0-9-]+|NIL))?\)")


class CorpusError(ValueError):
    pass


def parse_markup(marked: str) -> tuple[str, list[dict]]:
    """Plain text and entities (character offsets, end exclusive) of a marked-up review."""
    text, entities, last = [], [], 0
    length = 0
    for match in MARKUP.finditer(marked):
        before = marked[last : match.start()]
        text.append(before)
        length += len(before)
        mention, label, ref = match.groups()
        if label == "PRODUCT" and ref is None:
            raise CorpusError(f"PRODUCT mention {mention!r} needs an id or NIL")
        if label == "BRAND" and ref is not None:
            raise CorpusError(f"BRAND mention {mention!r} takes no id")
        kb_id = None if ref in (None, "NIL") else ref
        entities.append(
            {"start": length, "end": length + len(mention), "label": label, "kb_id": kb_id}
        )
        text.append(mention)
        length += len(mention)
        last = match.end()
    text.append(marked[last:])
    plain = "".join(text)
    if "[" in plain or "](" in plain:
        raise CorpusError(f"malformed markup left in text: {plain!r}")
    return plain, entities


def _name_pattern(name: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w])" + re.escape(name) + r"(?![\w])", re.IGNORECASE)


def validate_catalog(catalog: list[dict]) -> None:
    ids = [p["id"] for p in catalog]
    if len(ids) != len(set(ids)):
        raise CorpusError("duplicate catalog ids")
    for product in catalog:
        if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", product["id"]):
            raise CorpusError(f"bad catalog id {product['id']!r}")
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", product["release_date"]):
            raise CorpusError(f"{product['id']}: bad release_date")
        if product["category"] not in {"phone", "laptop", "tablet", "earbuds"}:
            raise CorpusError(f"{product['id']}: bad category")


def build_reviews(catalog: list[dict]) -> list[dict]:
    """Parse and validate REVIEWS against the catalog; raise CorpusError on any problem."""
    import spacy  # only for the token-alignment check

    nlp = spacy.blank("en")
    by_id = {p["id"]: p for p in catalog}
    brands = {p["brand"].lower() for p in catalog} | {b.lower() for b in BRANDS_OUTSIDE_CATALOG}
    # Names that must never appear unlabelled: product names, aliases with a digit, brands.
    names = {n.lower() for p in catalog for n in [p["name"], *p["aliases"]]}
    watched = {p["name"] for p in catalog} | {p["brand"] for p in catalog}
    watched |= {a for p in catalog for a in p["aliases"] if any(c.isdigit() for c in a)}
    watched |= BRANDS_OUTSIDE_CATALOG
    patterns = [_name_pattern(name) for name in sorted(watched)]

    records, seen = [], set()
    for number, (rid, marked, opinions) in enumerate(REVIEWS, start=1):
        where = f"review {rid}"
        if rid != f"r{number:02d}" or rid in seen:
            raise CorpusError(f"{where}: ids must run r01, r02, ... without gaps")
        seen.add(rid)
        text, entities = parse_markup(marked)
        doc = nlp.make_doc(text)
        for ent in entities:
            mention = text[ent["start"] : ent["end"]]
            if mention != mention.strip() or not mention:
                raise CorpusError(f"{where}: mention {mention!r} has stray whitespace")
            if doc.char_span(ent["start"], ent["end"]) is None:
                raise CorpusError(f"{where}: {mention!r} does not align with spaCy tokens")
            if ent["kb_id"] is not None and ent["kb_id"] not in by_id:
                raise CorpusError(f"{where}: unknown kb_id {ent['kb_id']!r}")
            if ent["label"] == "BRAND" and mention.lower() not in brands:
                raise CorpusError(f"{where}: unknown brand {mention!r}")
            if ent["label"] == "PRODUCT" and ent["kb_id"] is None and mention.lower() in names:
                raise CorpusError(f"{where}: NIL mention {mention!r} names a catalog product")
        for first, second in itertools.pairwise(entities):
            if first["end"] > second["start"]:
                raise CorpusError(f"{where}: overlapping entities")
        for pattern in patterns:
            for hit in pattern.finditer(text):
                if not any(e["start"] <= hit.start() and hit.end() <= e["end"] for e in entities):
                    raise CorpusError(f"{where}: unlabelled mention {hit.group()!r}")

        linked = {e["kb_id"] for e in entities if e["kb_id"]}
        nil = {
            text[e["start"] : e["end"]]
            for e in entities
            if e["label"] == "PRODUCT" and e["kb_id"] is None
        }
        pairs = set()
        for target, aspect, polarity in opinions:
            if target not in linked and target not in nil:
                raise CorpusError(f"{where}: target {target!r} is not a product mentioned here")
            if aspect not in ASPECTS or polarity not in POLARITIES:
                raise CorpusError(f"{where}: bad aspect/polarity {aspect!r}/{polarity!r}")
            if (target, aspect) in pairs:
                raise CorpusError(f"{where}: two opinions on {target} / {aspect}")
            pairs.add((target, aspect))
        records.append(
            {
                "id": rid,
                "text": text,
                "entities": entities,
                "opinions": [{"target": t, "aspect": a, "polarity": p} for t, a, p in opinions],
            }
        )

    mentioned = {e["kb_id"] for r in records for e in r["entities"] if e["kb_id"]}
    missing = sorted(set(by_id) - mentioned)
    if missing:
        raise CorpusError(f"catalog products never mentioned: {missing}")
    return records


def write_jsonl(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def build() -> tuple[list[dict], list[dict]]:
    """The catalog and the reviews, validated, without writing anything."""
    validate_catalog(CATALOG)
    return CATALOG, build_reviews(CATALOG)


def main() -> None:
    catalog, reviews = build()
    write_jsonl(HERE / "catalog.jsonl", catalog)
    write_jsonl(HERE / "reviews.jsonl", reviews)
    sys.path.insert(0, str(HERE))
    import build_questions

    questions = build_questions.build(catalog, reviews)
    write_jsonl(HERE / "questions.jsonl", questions)
    n_ents = sum(len(r["entities"]) for r in reviews)
    n_ops = sum(len(r["opinions"]) for r in reviews)
    print(
        f"catalog: {len(catalog)} products, reviews: {len(reviews)} ({n_ents} entities, "
        f"{n_ops} opinions), questions: {len(questions)}"
    )


if __name__ == "__main__":
    main()
