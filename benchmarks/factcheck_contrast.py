"""Contrastive claims: review sentences paraphrased, then altered, for the fact-checker.

The demo claims (`examples/demo/claims.py`) alter a review sentence *verbatim*, so a
checker can learn "a changed word means not supported" and then accept any claim whose
words differ a lot, altered or not. Here every claim is first paraphrased (reported
speech, the product named, synonyms, intensifiers dropped) and the altered ones are
derived from that paraphrase, so a faithful and an altered claim differ from the
evidence in as many words and only the alteration separates them:

- faithful paraphrase -> `supported`;
- an opinion word swapped for its opposite, or a negation toggled -> `contradicted`;
- a number changed -> `contradicted`;
- another catalog product named -> `not_enough_info`.

Sources are train-side only: demo reviews r01–r36 and Hu & Liu `Nokia 6610.txt`, split
by review into train and dev (`contrastive_split`); the held-out demo reviews r37–r48
give a test set built the same way (in this generator's distribution, so it says less
than the hand-written paraphrases).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from spacy.tokens import Doc

from distill.demo.claims import (
    FLIPS,
    load_catalog,
    load_reviews,
    mentioned_products,
    negate,
    swap_product,
    third_person,
)
from distill.demo.run import HELD_OUT
from distill.plugins.factcheck.task import Label
from distill.plugins.linker.catalog import normalize

SYNONYMS: dict[str, tuple[str, ...]] = {
    "gorgeous": ("beautiful", "stunning"),
    "beautiful": ("gorgeous", "lovely"),
    "great": ("excellent", "superb"),
    "excellent": ("great", "superb"),
    "amazing": ("incredible", "fantastic"),
    "awesome": ("fantastic", "amazing"),
    "fantastic": ("superb", "excellent"),
    "good": ("solid", "nice"),
    "nice": ("pleasant", "good"),
    "terrible": ("awful", "dreadful"),
    "awful": ("terrible", "dreadful"),
    "horrible": ("dreadful", "terrible"),
    "bad": ("poor", "lousy"),
    "poor": ("bad", "weak"),
    "fast": ("quick", "speedy"),
    "quick": ("fast", "speedy"),
    "slow": ("sluggish",),
    "loud": ("powerful",),
    "quiet": ("faint",),
    "big": ("large",),
    "large": ("big",),
    "small": ("compact",),
    "huge": ("enormous",),
    "tiny": ("minuscule",),
    "sharp": ("crisp",),
    "crisp": ("sharp",),
    "blurry": ("fuzzy",),
    "bright": ("vivid",),
    "dim": ("dark",),
    "easy": ("simple", "effortless"),
    "hard": ("difficult",),
    "difficult": ("hard",),
    "sturdy": ("solid", "robust"),
    "solid": ("sturdy",),
    "flimsy": ("fragile",),
    "cheap": ("inexpensive",),
    "expensive": ("pricey", "costly"),
    "happy": ("pleased", "satisfied"),
    "pleased": ("happy",),
    "disappointed": ("let down",),
    "love": ("adore", "really like"),
    "loves": ("adores", "really likes"),
    "likes": ("enjoys",),
    "hate": ("can't stand", "loathe"),
    "hates": ("can't stand", "loathes"),
    "smooth": ("fluid",),
    "problem": ("issue",),
    "problems": ("issues",),
    "phone": ("handset",),
    "pictures": ("photos",),
    "photos": ("pictures",),
    "display": ("screen",),
    "screen": ("display",),
    "bought": ("purchased",),
    "buy": ("purchase",),
    "works": ("functions",),
    "broke": ("stopped working",),
    "comfortable": ("comfy",),
    "heavy": ("hefty",),
    "light": ("lightweight",),
    "uncomfortable": ("unpleasant to wear",),
    "useless": ("worthless",),
    "perfect": ("flawless",),
    "reliable": ("dependable",),
    "strong": ("robust",),
    "weak": ("feeble",),
}
"""Same-polarity replacements (a paraphrase keeps the meaning)."""

EXTRA_OPPOSITES: tuple[tuple[str, str], ...] = (
    ("beautiful", "ugly"),
    ("lovely", "ugly"),
    ("amazing", "awful"),
    ("awesome", "awful"),
    ("superb", "dreadful"),
    ("incredible", "terrible"),
    ("horrible", "wonderful"),
    ("dreadful", "wonderful"),
    ("quick", "sluggish"),
    ("speedy", "sluggish"),
    ("sluggish", "snappy"),
    ("powerful", "feeble"),
    ("faint", "booming"),
    ("big", "small"),
    ("large", "small"),
    ("small", "large"),
    ("compact", "bulky"),
    ("crisp", "mushy"),
    ("vivid", "washed-out"),
    ("dark", "bright"),
    ("easy", "hard"),
    ("effortless", "difficult"),
    ("hard", "easy"),
    ("difficult", "easy"),
    ("sturdy", "flimsy"),
    ("robust", "fragile"),
    ("fragile", "robust"),
    ("cheap", "expensive"),
    ("inexpensive", "expensive"),
    ("expensive", "cheap"),
    ("pricey", "cheap"),
    ("costly", "cheap"),
    ("happy", "unhappy"),
    ("pleased", "unhappy"),
    ("satisfied", "dissatisfied"),
    ("disappointed", "delighted"),
    ("adore", "hate"),
    ("adores", "hates"),
    ("enjoy", "dislike"),
    ("enjoys", "dislikes"),
    ("loathe", "love"),
    ("fluid", "jerky"),
    ("functions", "fails"),
    ("works", "fails"),
    ("comfy", "uncomfortable"),
    ("hefty", "light"),
    ("lightweight", "heavy"),
    ("worthless", "invaluable"),
    ("flawless", "flawed"),
    ("reliable", "unreliable"),
    ("dependable", "unreliable"),
    ("feeble", "strong"),
    ("longer", "shorter"),
    ("shorter", "longer"),
    ("more", "less"),
    ("less", "more"),
    ("higher", "lower"),
    ("lower", "higher"),
    ("always", "never"),
    ("never", "always"),
    ("clear", "muffled"),
    ("muffled", "clear"),
    ("functional", "useless"),
    ("audible", "inaudible"),
    ("recommend", "advise against"),
    ("favorite", "least favorite"),
    ("superior", "inferior"),
    ("inferior", "superior"),
    ("impressive", "unimpressive"),
    ("durable", "fragile"),
    ("helpful", "unhelpful"),
    ("convenient", "inconvenient"),
    ("intuitive", "confusing"),
    ("responsive", "laggy"),
    ("laggy", "responsive"),
    ("excellent", "poor"),
    ("problems", "advantages"),
    ("without", "with"),
)
OPPOSITES: dict[str, str] = {**dict(EXTRA_OPPOSITES), **FLIPS}
"""Opposite-meaning replacements: the demo's flips and more, for the paraphrased words."""

_INTENSIFIERS = re.compile(r"\b(really|very|super|extremely|absolutely|honestly)\s+", re.I)
_NUMBER_WORDS = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twice": 2,
}
_NUMBER = re.compile(r"\b(\d+(?:\.\d+)?|" + "|".join(_NUMBER_WORDS) + r")\b", re.I)
_FRAMES = (
    "{body}",
    "{body}",
    "{body}",
    "One reviewer says {lower}",
    "According to one review, {lower}",
    "A reviewer reports that {lower}",
    "One buyer found that {lower}",
    "A customer mentions that {lower}",
)


_PARTS = (
    "screen|display|battery|camera|keyboard|speakers?|speakerphone|sound|design|price|"
    "signal|reception|webcam|hinge|software|build|trackpad|charger|case|buttons|menu"
)
"""Parts an answer attributes to the product ("the battery" -> "the X2's battery")."""


@dataclass(frozen=True)
class Source:
    """One review sentence to rewrite, the evidence it is cited with, its review."""

    sentence: str
    evidence: str
    review: str
    product: str = ""


def _replace(text: str, old: str, new: str) -> str:
    pattern = rf"(?<![\w-]){re.escape(old)}(?![\w-])"

    def keep_case(match: re.Match[str]) -> str:
        return new[:1].upper() + new[1:] if match.group(0)[:1].isupper() else new

    return re.sub(pattern, keep_case, text, count=1, flags=re.IGNORECASE)


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z]+(?:['-][A-Za-z]+)?", text)


def _finish(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip(" ,;")
    text = text[:1].upper() + text[1:]
    return text if re.search(r"[.!?\"]$", text) else text + "."


def paraphrase(source: Source, rng: random.Random) -> tuple[str, str]:
    """(frame, body): same meaning, other words: third person, the product named for
    "it"/"this phone", up to three synonyms, intensifiers dropped; the frame is a
    reporting phrase or none (`framed` puts them together)."""
    body = third_person(source.sentence.strip().rstrip(".!?"))
    if source.product and not mentioned_products(body):
        subject = re.compile(r"^(it|this phone|the phone|this one)\b", re.I)
        if subject.search(body):
            body = subject.sub(f"the {source.product}", body, count=1)
        elif re.match(rf"^the ({_PARTS})\b", body, re.I) and rng.random() < 0.6:
            body = re.sub(r"^the\s+", f"the {source.product}'s ", body, count=1, flags=re.I)
    if rng.random() < 0.7:
        body = _INTENSIFIERS.sub("", body)
    candidates = [w for w in dict.fromkeys(_words(body)) if w.lower() in SYNONYMS]
    rng.shuffle(candidates)
    for word in candidates[: rng.choice([1, 2, 3])]:
        body = _replace(body, word, rng.choice(SYNONYMS[word.lower()]))
    return rng.choice(_FRAMES), body


def framed(frame: str, body: str) -> str:
    lower = body if body[:2] == "I " else body[:1].lower() + body[1:]
    return _finish(frame.format(body=body, lower=lower))


def opposite(text: str, rng: random.Random) -> str | None:
    """One opinion word swapped for its opposite."""
    found = [w for w in dict.fromkeys(_words(text)) if w.lower() in OPPOSITES]
    if not found:
        return None
    word = rng.choice(found)
    return _replace(text, word, OPPOSITES[word.lower()])


def other_number(text: str, rng: random.Random) -> str | None:
    """One number changed ("20%" -> "45%", "two days" -> "five days")."""
    found = [  # not a model number ("Air 13")
        m for m in _NUMBER.finditer(text) if not re.search(r"[A-Z]\w*\s$", text[: m.start()])
    ]
    if not found:
        return None
    match = rng.choice(found)
    raw = match.group(0)
    if raw.lower() in _NUMBER_WORDS:
        value = _NUMBER_WORDS[raw.lower()]
        words = [w for w, n in _NUMBER_WORDS.items() if n != value and w != "twice"]
        new = rng.choice(words)
    else:
        value = float(raw)
        factor = rng.choice([0.25, 0.5, 2, 3])
        changed = value * factor if value > 1 else value + rng.choice([2, 5, 10])
        new = str(round(changed)) if "." not in raw else f"{changed:.1f}"
        if new == raw:
            new = str(int(value) + 7)
    return text[: match.start()] + new + text[match.end() :]


def claims_for(source: Source, rng: random.Random) -> Iterator[tuple[str, Label, str]]:
    """(claim, label, kind): the paraphrase, then up to two alterations of its body
    (never of the frame: "One reviewer" is no number to change)."""
    frame, body = paraphrase(source, rng)
    para = framed(frame, body)
    if normalize(para) == normalize(source.evidence):
        return
    yield para, "supported", "paraphrase"
    altered: list[tuple[str | None, Label, str]] = [
        (opposite(body, rng), "contradicted", "opposite"),
        (negate(body), "contradicted", "negation"),
        (other_number(body, rng), "contradicted", "number"),
    ]
    swapped = swap_product(body, source.evidence, rng)
    if swapped is None and source.product and source.product in body:  # not in the catalog
        other = rng.choice(load_catalog()).name
        swapped = (body.replace(source.product, other, 1), other)
    altered.append((swapped[0] if swapped else None, "not_enough_info", "product"))
    kept = [(framed(frame, b), label, kind) for b, label, kind in altered if b is not None]
    rng.shuffle(kept)
    yield from kept[:2]


# sources


def _detokenize(text: str) -> str:
    """Hu & Liu's tokenized lower case ("i love it , really .") as plain text."""
    text = re.sub(r"\s+([,.!?;:%)])", r"\1", text)
    text = re.sub(r"\(\s+", "(", text)
    text = re.sub(r" (n't|'s|'d|'ve|'m|'ll|'re)\b", r"\1", text)
    text = re.sub(r"\bi\b", "I", text)
    return text[:1].upper() + text[1:]


def demo_sources(review_ids: set[str]) -> list[Source]:
    catalog = {p.id: p.name for p in load_catalog()}
    out = []
    for review in load_reviews():
        if review.id not in review_ids:
            continue
        targets = {catalog[t] for t, _, _ in review.opinions if t in catalog}
        named = {p.name for p, _ in mentioned_products(review.text)}
        product = next(iter(targets)) if len(targets) == 1 and targets <= named else ""
        for sentence in re.split(r"(?<=[.!?])\s+", review.text):
            if 5 <= len(sentence.split()) <= 40:
                out.append(Source(sentence, review.text, review.id, product))
    return out


def nokia_sources(data_dir: Path) -> list[Source]:
    from distill.corpora import huliu

    path = data_dir / "phone_catalog_reviews" / "hu_liu_customer_reviews" / "Nokia 6610.txt"
    out = []
    for review in huliu.reviews(path):
        sentences = [_detokenize(s.text) for s in review.sentences]
        for n, sentence in enumerate(sentences):
            if 6 <= len(sentence.split()) <= 35 and not sentence.endswith(":"):
                window = " ".join(sentences[max(0, n - 2) : n + 3])
                evidence = f"A review of the Nokia 6610: {window}"
                out.append(Source(sentence, evidence, review.id, "Nokia 6610"))
    return out


def _docs(sources: Sequence[Source], prefix: str, seed: int) -> list[Doc]:
    from distill.doc import make_doc
    from distill.plugins.factcheck.task import Verdict

    rng = random.Random(seed)
    docs = []
    for source in sources:
        for claim, label, kind in claims_for(source, rng):
            meta = {
                "evidence": [source.evidence],
                "claims": [claim],
                "kind": f"contrast-{kind}",
                "origin": source.review,
                "group": "contrast",
            }
            doc = make_doc(claim, f"{prefix}-{len(docs):04d}", meta=meta)
            doc._.verdicts = [Verdict(claim=claim, label=label, confidence=1.0)]
            docs.append(doc)
    return docs


def contrastive_split(data_dir: Path, seed: int = 0) -> tuple[list[Doc], list[Doc], list[Doc]]:
    """(train, dev, test) by review: dev is 15% of the r01–r36 and Nokia 6610 reviews,
    test is built from the held-out demo reviews r37–r48."""
    train_ids = {r.id for r in load_reviews() if r.id not in HELD_OUT}
    sources = demo_sources(train_ids) + nokia_sources(data_dir)
    reviews = sorted({s.review for s in sources})
    dev_reviews = set(random.Random(seed).sample(reviews, int(len(reviews) * 0.15)))
    train = [s for s in sources if s.review not in dev_reviews]
    dev = [s for s in sources if s.review in dev_reviews]
    test = demo_sources(set(HELD_OUT))
    return (
        _docs(train, "contrast-train", seed),
        _docs(dev, "contrast-dev", seed + 1),
        _docs(test, "contrast-test", seed + 2),
    )
