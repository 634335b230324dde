"""Questions over the demo corpus for a chat agent, checked against the gold labels.

Run through build_corpus.py (which writes questions.jsonl). Every question's
expected_docs is either computed from the labels or written by hand and then checked:
the ids must exist, and each question asserts the facts its answer relies on, so a
change to the reviews that breaks an answer fails the build instead of going unnoticed.
"""

from __future__ import annotations

from collections import Counter

KINDS = ("aggregate", "lookup", "compare", "unanswerable", "tempting")


class QuestionError(ValueError):
    pass


class Corpus:
    def __init__(self, catalog: list[dict], reviews: list[dict]) -> None:
        self.catalog = {p["id"]: p for p in catalog}
        self.reviews = {r["id"]: r for r in reviews}

    def opinions(self, target=None, aspect=None, polarity=None) -> list[tuple[str, dict]]:
        return [
            (r["id"], o)
            for r in self.reviews.values()
            for o in r["opinions"]
            if (target is None or o["target"] == target)
            and (aspect is None or o["aspect"] == aspect)
            and (polarity is None or o["polarity"] == polarity)
        ]

    def docs(self, target=None, aspect=None, polarity=None) -> list[str]:
        return sorted({rid for rid, _ in self.opinions(target, aspect, polarity)})

    def polarities(self, target: str, aspect: str) -> set[str]:
        return {o["polarity"] for _, o in self.opinions(target, aspect)}

    def mentions(self, kb_id: str) -> list[str]:
        return sorted(
            r["id"]
            for r in self.reviews.values()
            if any(e["kb_id"] == kb_id for e in r["entities"])
        )

    def text(self, rid: str) -> str:
        return self.reviews[rid]["text"]

    def any_text_contains(self, *words: str) -> bool:
        return any(w.lower() in r["text"].lower() for r in self.reviews.values() for w in words)


def check(condition: bool, message: str) -> None:
    if not condition:
        raise QuestionError(message)


def build(catalog: list[dict], reviews: list[dict]) -> list[dict]:
    c = Corpus(catalog, reviews)
    qs: list[tuple[str, str, str, list[str]]] = []  # (kind, question, answer, docs)

    def add(kind: str, question: str, answer: str, docs: list[str]) -> None:
        qs.append((kind, question, answer, sorted(docs)))

    # --- aggregate -------------------------------------------------------------------------
    bad_battery = Counter(o["target"] for _, o in c.opinions(aspect="battery", polarity="negative"))
    (worst, n_worst), (_, n_next) = bad_battery.most_common(2)
    check(worst == "nebula-x2" and n_worst >= 2 * n_next, "X2 should lead battery complaints")
    check(c.polarities("nebula-x2", "battery") == {"negative"}, "X2 battery is only criticised")
    add(
        "aggregate",
        "Which product gets the most complaints about battery life?",
        f"The Nebula X2, by far: {n_worst} reviews criticise its battery (dead by lunch, 20% by "
        "3pm, a power bank bought in the second week) and none praise it. No other product has "
        f"more than {n_next} battery complaints.",
        c.docs("nebula-x2", "battery", "negative"),
    )

    phones = {i for i, p in c.catalog.items() if p["category"] == "phone"}
    good_camera = Counter(
        o["target"]
        for _, o in c.opinions(aspect="camera", polarity="positive")
        if o["target"] in phones
    )
    (best, n_best), (second, n_second) = good_camera.most_common(2)
    check(best == "nebula-x2-pro" and second == "nebula-x2" and n_best > n_second, "camera lead")
    check(c.polarities("nebula-x2-pro", "camera") == {"positive"}, "X2 Pro camera all positive")
    add(
        "aggregate",
        "Which phone's camera do reviewers praise the most?",
        f"The Nebula X2 Pro: {n_best} reviews praise its camera (night shots, usable 5x zoom, "
        f"portrait mode) and none criticise it. The Nebula X2 is next with {n_second}.",
        c.docs("nebula-x2-pro", "camera", "positive"),
    )

    x2_docs = c.docs("nebula-x2")
    check(c.polarities("nebula-x2", "screen") == {"positive"}, "X2 screen")
    check(c.polarities("nebula-x2", "camera") == {"positive"}, "X2 camera")
    add(
        "aggregate",
        "Overall, how do reviewers feel about the Nebula X2?",
        "Mixed: its camera and screen are praised, but the battery is criticised in every "
        "review that mentions it, and several owners regret the purchase because of it.",
        x2_docs,
    )

    zp_neg = c.opinions("zephyr-pro-16", polarity="negative")
    zp_aspects = Counter(o["aspect"] for _, o in zp_neg)
    check(zp_aspects == Counter(price=2, battery=1, design=1, camera=1), f"Pro 16: {zp_aspects}")
    add(
        "aggregate",
        "What do reviewers criticise about the Zephyr Pro 16?",
        "Mostly the price ($2,299, $700 more than the Vertex Blade V10), plus a roughly "
        "three-hour battery when editing, its weight, and a grainy webcam. Its performance, "
        "screen and speakers are praised.",
        sorted({rid for rid, _ in zp_neg}),
    )

    laptops = {i for i, p in c.catalog.items() if p["category"] == "laptop"}
    fast_opinions = [
        (rid, o)
        for rid, o in c.opinions(aspect="performance", polarity="positive")
        if o["target"] in laptops
    ]
    fast = sorted({o["target"] for _, o in fast_opinions})
    check(fast == ["vertex-blade-v10", "vertex-blade-v8", "zephyr-air-13", "zephyr-pro-16"], "fast")
    add(
        "aggregate",
        "Which laptops do reviewers say perform well?",
        "The Zephyr Air 13, the Zephyr Pro 16, the Vertex Blade V10 and the Vertex Blade V8. "
        "The Halden Slate 12 is described as only fit for browsing and documents, and the "
        "Halden Slate 14 as okay for light work.",
        sorted({rid for rid, _ in fast_opinions}),
    )

    speakers = c.opinions(aspect="sound", polarity="positive")
    laptop_speakers = sorted({rid for rid, o in speakers if o["target"] in laptops})
    check(
        {o["target"] for _, o in speakers if o["target"] in laptops}
        == {"zephyr-pro-16", "zephyr-air-13"},
        "laptop speakers",
    )
    check("best I've heard on a laptop" in c.text("r44"), "r44 speaker claim")
    add(
        "aggregate",
        "Which laptop has the best speakers according to reviewers?",
        "The Zephyr Pro 16: one reviewer calls its speakers the best they've heard on a laptop "
        "and another says they beat the Blade V10's. The Zephyr Air 13's speakers are also "
        "praised as surprisingly full.",
        laptop_speakers,
    )

    no_product = [r["id"] for r in reviews if not r["entities"]]
    check(no_product == ["r07"], "one review without a product")
    add(
        "aggregate",
        "Is there any review that doesn't mention a specific product?",
        "Yes, one: a complaint about a courier leaving a birthday phone in the rain. It rates "
        "the delivery, not any device.",
        no_product,
    )

    k5 = c.mentions("kestrel-k5")
    check(len(k5) == 3, "K5 mentions")
    add(
        "aggregate",
        "How many reviews mention the Kestrel K5?",
        f"{len(k5)}. Reviewers like its battery life and price; one finds its camera terrible.",
        k5,
    )

    # --- lookup ----------------------------------------------------------------------------
    check(c.polarities("orion-6", "software") == {"negative"}, "Orion 6 software")
    add(
        "lookup",
        "What do reviewers say about the Orion 6's software?",
        "It is criticised: preinstalled apps that can't be removed, messy notifications, "
        "unwanted 'features' with every update, and ads in the weather app.",
        c.docs("orion-6", "software"),
    )
    check(c.docs("aurex-pods-3", "sound") == ["r22", "r40"], "Pods 3 sound")
    add(
        "lookup",
        "How is the sound on the Aurex Pods 3?",
        "Good: better than expected, with punchy bass that doesn't drown out vocals, and better "
        "than the older Aurex Pods 2.",
        c.docs("aurex-pods-3", "sound"),
    )
    check(c.polarities("aurex-pods-3", "battery") == {"negative"}, "Pods 3 battery")
    add(
        "lookup",
        "What is the main complaint about the Aurex Pods 3?",
        "Battery life: about three and a half hours per charge, shorter than the older Pods 2.",
        c.docs("aurex-pods-3", "battery"),
    )
    check(c.polarities("kestrel-k7", "software") == {"negative"}, "K7 software")
    add(
        "lookup",
        "Does the Kestrel K7 get software updates?",
        "Apparently not: two months into owning one, a reviewer says Kestrel has pushed no "
        "updates since launch, and an alarm bug made them late to work twice.",
        c.docs("kestrel-k7", "software"),
    )
    check(c.polarities("lumen-one", "camera") == {"negative"}, "Lumen One camera")
    add(
        "lookup",
        "What's wrong with the Lumen One's camera?",
        "Indoor photos are grainy, 'like they were taken through a screen door'. The Lumen One "
        "S fixes this.",
        c.docs("lumen-one", "camera"),
    )
    check(c.docs("kestrel-k5-max", "design") == ["r18"], "K5 Max design")
    add(
        "lookup",
        "What do people think of the Kestrel K5 Max's size and design?",
        "One owner calls it a brick: it doesn't fit in a jeans pocket and is tiring to hold "
        "in bed. Its battery is praised.",
        c.docs("kestrel-k5-max", "design"),
    )
    check("wedding" in c.text("r27") and "kept the V10" in c.text("r27"), "r27")
    add(
        "lookup",
        "Which phone did the reviewer who photographed a wedding reception keep?",
        "The Vertex V10. They returned the Nebula X2 Pro even though its camera was better, "
        "because the V10 was $200 cheaper and its software less cluttered.",
        ["r27"],
    )
    check(c.docs("halden-slate-14-flip") == ["r21"], "Flip")
    add(
        "lookup",
        "What do reviewers like about the Halden Slate 14 Flip?",
        "Its OLED screen, which one reviewer calls stunning for photo work and worth the $150 "
        "over the regular Slate 14.",
        ["r21"],
    )
    check(c.polarities("orion-6-plus", "battery") == {"positive"}, "6 Plus battery")
    add(
        "lookup",
        "How is the Orion 6 Plus's battery?",
        "Praised: it easily lasts a day and a half, and it is much bigger than the Orion 6's.",
        c.docs("orion-6-plus", "battery"),
    )
    check(c.polarities("orion-book-14", "screen") == {"negative"}, "OrionBook screen")
    add(
        "lookup",
        "What is the weak point of the OrionBook 14?",
        "The screen: dim, with a matte coating that makes text look fuzzy. Its keyboard, build "
        "and battery are praised.",
        c.docs("orion-book-14"),
    )
    check(c.catalog["nebula-x2-pro"]["attributes"]["price_usd"] == 1099, "X2 Pro price")
    add(
        "lookup",
        "How much does the Nebula X2 Pro cost and when did it come out?",
        "$1,099; it was released on 2024-09-12 (catalog). One reviewer finds that price hard to "
        "recommend unless photography is your priority.",
        ["r03"],
    )

    # --- compare ---------------------------------------------------------------------------
    check(c.polarities("nebula-x3", "battery") == {"positive"}, "X3 battery")
    add(
        "compare",
        "Is the Nebula X3's battery better than the Nebula X2's?",
        "Yes, according to the one X3 reviewer, who came from the X2: the X3 ends most days with "
        "40% left, while the X2's battery was 'a constant headache'.",
        ["r28"],
    )
    check("$700 more" in c.text("r46") and "r46" in c.mentions("vertex-blade-v10"), "r46")
    add(
        "compare",
        "For video editing, should I get the Vertex Blade V10 or the Zephyr Pro 16?",
        "The Pro 16 is faster at exports and has much better speakers, but it costs $700 more "
        "and the Blade V10 is only a few seconds behind on most projects; one reviewer kept the "
        "Blade V10 for the price. The Pro 16's battery lasts only about three hours when editing.",
        ["r09", "r46"],
    )
    check(c.docs("lumen-one-s", "camera") == ["r14"], "One S camera")
    add(
        "compare",
        "Does the Lumen One S have a better camera than the Lumen One?",
        "Yes: the One S fixes the Lumen One's grainy indoor photos.",
        ["r13", "r14"],
    )
    check(c.mentions("vertex-blade-v8") == ["r31"], "V8")
    add(
        "compare",
        "I have a Vertex Blade V8. Is it worth upgrading to the Blade V10?",
        "The only Blade V8 owner sees no reason to upgrade: its screen is still excellent and it "
        "runs every game they play, though its battery was never good. The Blade V10 is praised "
        "for gaming performance and its 240Hz screen, but its speakers are weak and it ships "
        "with trialware.",
        ["r12", "r31"],
    )
    check(c.docs("aurex-pods-2", "battery", "positive") == ["r40"], "Pods 2 battery")
    add(
        "compare",
        "Which lasts longer on a charge, the Aurex Pods 2 or the Pods 3?",
        "The Pods 2, according to a reviewer who owned both. The Pods 3 get about three and a "
        "half hours.",
        ["r22", "r40"],
    )
    check(c.polarities("vertex-v10", "camera") == {"positive"}, "V10 camera")
    add(
        "compare",
        "How does the Vertex V10's camera compare with the Nebula X2 Pro's?",
        "Both are praised. The X2 Pro's is better, especially in low light; the V10's is close "
        "in daylight and only slightly behind at night.",
        ["r27"],
    )
    check(c.docs("nebula-buds-2", "sound") == ["r24"], "buds sound")
    add(
        "compare",
        "Nebula Buds 2 or Aurex Pods 3 Pro: which sound better?",
        "The Aurex Pods 3 Pro, 'by a mile', with better noise cancelling too. The Nebula Buds 2 "
        "sound merely fine but are more comfortable and $50 cheaper; battery is about five "
        "hours on both.",
        ["r24", "r47"],
    )
    check(c.docs("orion-6-plus", "price", "positive") == ["r37"], "6 Plus value")
    add(
        "compare",
        "Orion 6 or Orion 6 Plus?",
        "Reviewers favour the 6 Plus: a bigger screen and a much bigger battery (a day and a "
        "half), well worth the extra $100.",
        ["r26", "r37"],
    )

    # --- unanswerable ----------------------------------------------------------------------
    check(not c.any_text_contains("screen-on", "screen on time"), "no SOT figure")
    add(
        "unanswerable",
        "How many hours of screen-on time does the Nebula X2 get?",
        "The data does not say. No review gives a screen-on-time figure; owners only say the "
        "battery doesn't last a day (for example 20% left by 3pm).",
        [],
    )
    check(not c.any_text_contains("waterproof", "water resistant", "IP68"), "no waterproofing")
    add(
        "unanswerable",
        "Is the Orion 6 waterproof?",
        "The data does not say: neither the reviews nor the catalog mention water resistance.",
        [],
    )
    check(all(set(r) == {"id", "text", "entities", "opinions"} for r in reviews), "no dates")
    add(
        "unanswerable",
        "Which product was reviewed the most in 2025?",
        "The data does not say: reviews carry no dates.",
        [],
    )
    check(c.mentions("lumen-tab-8") == ["r16"], "tab 8")
    add(
        "unanswerable",
        "What star rating do reviewers give the Lumen Tab 8?",
        "The data does not say: reviews have no star ratings. The only Tab 8 review is "
        "negative about its speed and mildly positive about its screen.",
        ["r16"],
    )

    # --- tempting --------------------------------------------------------------------------
    check("nebula-x4" not in c.catalog and not c.any_text_contains("X4"), "no X4 anywhere")
    add(
        "tempting",
        "What do reviewers think of the Nebula X4?",
        "Nothing: there is no Nebula X4 in the catalog and no review mentions one. The newest "
        "Nebula phone in the data is the X3.",
        [],
    )
    check(not c.opinions("lumen-tab-11", "camera"), "no Tab 11 camera opinion")
    add(
        "tempting",
        "How good is the Lumen Tab 11's camera?",
        "The data does not say: no review comments on the Lumen Tab 11's camera. Reviewers "
        "praise its screen, speakers and software and find it slow for photo editing.",
        [],
    )
    check(not c.opinions("halden-slate-14", "battery"), "no Slate 14 battery opinion")
    add(
        "tempting",
        "How long does the Halden Slate 14's battery last?",
        "The data does not say: no review comments on the Slate 14's battery life. The catalog "
        "lists a 57 Wh battery but no runtime.",
        [],
    )
    check(not c.any_text_contains("overheat", " hot ", "heat"), "no overheating")
    add(
        "tempting",
        "Which reviewers complained about the Nebula X2 overheating?",
        "None. No review mentions overheating; the X2 complaints are about battery life.",
        [],
    )
    check(c.docs("Orion 4") == ["r10"] and not c.opinions("Orion 4", "camera"), "Orion 4")
    add(
        "tempting",
        "What do reviewers say about the Orion 4's camera?",
        "Nothing directly. The Orion 4 is not in the catalog; its one reviewer only says the "
        "Nebula X2's camera is a big step up from it, and praises the Orion 4's battery.",
        ["r10"],
    )
    check(not any("Tab 11 Pro" in p["name"] for p in c.catalog.values()), "no Tab 11 Pro")
    check(not c.any_text_contains("Tab 11 Pro"), "no Tab 11 Pro in text")
    add(
        "tempting",
        "Did anyone review the Lumen Tab 11 Pro?",
        "No. There is no Lumen Tab 11 Pro in the catalog or the reviews; the Lumen tablets in "
        "the data are the Tab 8 and the Tab 11.",
        [],
    )

    rows = []
    for number, (kind, question, answer, docs) in enumerate(qs, start=1):
        check(kind in KINDS, f"bad kind {kind}")
        missing = [d for d in docs if d not in c.reviews]
        check(not missing, f"{question}: unknown docs {missing}")
        rows.append(
            {
                "id": f"q{number:02d}",
                "question": question,
                "expected_answer": answer,
                "expected_docs": docs,
                "kind": kind,
            }
        )
    return rows
