"""Fact-check training claims from the demo reviews: the guardrail's own, offline data.

The trained fact-checker is normally fit on HaluEval, which a fresh machine does not
have. The demo derives claims shaped like the chat agent's answer sentences instead,
each with the evidence the answer would cite and a gold label:

* passage claims quote or paraphrase a review sentence ("One reviewer says the
  screen is gorgeous."); evidence = the review (or that sentence);
* aggregate claims restate opinion counts ("The Nebula X2's battery gets 7 negative
  opinions and no positive ones."); evidence = `opinion_fact_text(...)`, the wording
  of the agent's graph facts.

Faithful restatements are `supported`; a flipped polarity word, a negation, a wrong
count or the wrong direction of an aggregate is `contradicted`; another product,
another aspect, an invented spec or an unrelated review's sentence is
`not_enough_info`. Every altered claim is derived from one faithful claim and keeps
its framing, so what separates the labels is the alteration, not the wording around
it. Counts come from the gold opinions of the reviews asked for, so claims about the
held-out reviews never see the training reviews.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from spacy.tokens import Doc

from distill.agent.evidence import opinion_fact_text
from distill.demo.run import ASPECTS, HELD_OUT, demo_dir
from distill.plugins.factcheck.features import STOPWORDS
from distill.plugins.factcheck.task import Label
from distill.plugins.linker.catalog import normalize

LABELS: tuple[Label, ...] = ("supported", "contradicted", "not_enough_info")


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    brand: str
    aliases: tuple[str, ...]

    @property
    def surfaces(self) -> tuple[str, ...]:
        """Name and aliases, longest first (so "Nebula X2 Pro" wins over "X2")."""
        return tuple(sorted({self.name, *self.aliases}, key=len, reverse=True))


@dataclass(frozen=True)
class Review:
    id: str
    text: str
    opinions: tuple[tuple[str, str, str], ...]
    """(target, aspect, polarity); target is a catalog id or, off-catalog, a name."""


@dataclass(frozen=True)
class Claim:
    text: str
    label: Label
    evidence: tuple[str, ...]
    kind: str = ""
    """What made it: `passage`, `passage-flip`, `aggregate-count`, `invented`, …"""
    source: str = ""
    """The faithful claim this one was derived from (itself when supported)."""
    origin: str = ""
    """The review id, or `product/aspect` for an aggregate."""
    question: str = ""


# reading the demo corpus


@lru_cache(maxsize=1)
def load_catalog() -> tuple[Product, ...]:
    lines = (demo_dir() / "catalog.jsonl").read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines if line.strip()]
    return tuple(
        Product(e["id"], e["name"], e["brand"], tuple(e.get("aliases", []))) for e in entries
    )


@lru_cache(maxsize=1)
def load_reviews() -> tuple[Review, ...]:
    lines = (demo_dir() / "reviews.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    return tuple(
        Review(
            r["id"],
            r["text"],
            tuple((o["target"], o["aspect"], o["polarity"]) for o in r.get("opinions", [])),
        )
        for r in records
    )


def opinion_counts(reviews: Sequence[Review]) -> dict[tuple[str, str], Counter[str]]:
    """Gold opinions per (target, aspect): what the graph holds after ingesting `reviews`."""
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for review in reviews:
        for target, aspect, polarity in review.opinions:
            counts[(target, aspect)][polarity] += 1
    return dict(counts)


# text helpers


def _contains(haystack: str, phrase: str) -> bool:
    """Whether `phrase` occurs in `haystack` as whole words, case and punctuation folded."""
    return f" {_normalized(phrase)} " in f" {_normalized(haystack)} "


@lru_cache(maxsize=8192)
def _normalized(text: str) -> str:
    return normalize(text)  # the same few hundred texts are compared thousands of times


_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|(?<=[\U0001F300-\U0001FAFF])\s+(?=[A-Z])")


def _sentences(text: str) -> list[str]:
    """Review sentences long enough to be an answer's claim."""
    parts = (s.strip() for s in _SENTENCE_BREAK.split(text))
    return [s for s in parts if len(s.split()) >= 4]


def _clauses(sentence: str) -> list[str]:
    """Parts of a sentence an answer may quote on their own."""
    parts = re.split(r",\s+|;\s+|:\s+|\s+but\s+|\s+though\b", sentence)
    kept = [p.strip(" .!?") for p in parts]
    return [p for p in kept if len(p.split()) >= 4 and p != sentence.strip(" .!?")]


def _replace_word(text: str, old: str, new: str) -> str:
    """Replace the first whole-word `old`, keeping a leading capital."""

    def keep_case(match: re.Match[str]) -> str:
        found = match.group(0)
        return new[:1].upper() + new[1:] if found[:1].isupper() else new

    pattern = rf"(?<![\w-]){re.escape(old)}(?![\w-])"
    return re.sub(pattern, keep_case, text, count=1, flags=re.IGNORECASE)


def _lower_first(text: str) -> str:
    """Lower-case a sentence start for reported speech, unless it is part of a name."""
    first = normalize(text.split(" ", 1)[0])
    return text if first in _name_words() or first == "i" else text[:1].lower() + text[1:]


@lru_cache(maxsize=1)
def _name_words() -> frozenset[str]:
    words = {
        w for p in load_catalog() for s in (*p.surfaces, p.brand) for w in normalize(s).split()
    }
    return frozenset(words)


def _finish(text: str) -> str:
    text = text.strip()
    return text if re.search(r"[.!?\"”]$", text) else text + "."


_FIRST_PERSON = (
    (r"\bI'm\b", "they are"),  # uncontracted: "they're" would leave a stray "re"
    (r"\bI've\b", "they have"),
    (r"\bI'd\b", "they would"),
    (r"\bI'll\b", "they will"),
    (r"\bI\b", "they"),
    (r"\bmyself\b", "themselves"),
    (r"\bmy\b", "their"),
    (r"\bme\b", "them"),
    (r"\bmine\b", "theirs"),
)


def third_person(text: str) -> str:
    """How an answer reports a reviewer's words: "I'm at 20%" → "they are at 20%"."""
    for pattern, replacement in _FIRST_PERSON:
        text = re.sub(
            pattern,
            lambda m, r=replacement: r[:1].upper() + r[1:] if m.group(0)[0] == "M" else r,
            text,
            flags=re.IGNORECASE,
        )
    return text


def _first_person(text: str) -> bool:
    return third_person(text) != text


# alterations: each returns the altered text, or None when it does not apply

_ANTONYMS = (
    ("good", "bad"),
    ("great", "terrible"),
    ("best", "worst"),
    ("better", "worse"),
    ("gorgeous", "ugly"),
    ("stunning", "dull"),
    ("fantastic", "awful"),
    ("excellent", "poor"),
    ("perfect", "useless"),
    ("solid", "flimsy"),
    ("sharp", "blurry"),
    ("sharper", "blurrier"),
    ("bright", "dim"),
    ("brighter", "dimmer"),
    ("smooth", "choppy"),
    ("smoother", "choppier"),
    ("fast", "slow"),
    ("faster", "slower"),
    ("light", "heavy"),
    ("loud", "quiet"),
    ("clean", "cluttered"),
    ("cleanest", "messiest"),
    ("accurate", "inaccurate"),
    ("nice", "nasty"),
    ("nicer", "worse"),
    ("decent", "poor"),
    ("love", "hate"),
    ("loves", "hates"),
    ("likes", "dislikes"),
    ("regret", "love"),
    ("punchy", "flat"),
    ("premium", "cheap"),
    ("natural", "fake"),
    ("usable", "unusable"),
    ("easily", "barely"),
    ("grainy", "crisp"),
    ("fuzzy", "crisp"),
    ("tinny", "rich"),
    ("weak", "strong"),
    ("mess", "delight"),
    ("letdown", "highlight"),
    ("steal", "rip-off"),
    ("steep", "reasonable"),
    ("fine", "awful"),
    ("average", "outstanding"),
    ("smaller", "bigger"),
    ("tiny", "huge"),
    ("warmer", "harsher"),
    ("impressed", "disappointed"),
    ("spectacular", "terrible"),
    ("wins", "loses"),
    ("comfortable", "uncomfortable"),
    ("simple", "confusing"),
    ("joke", "triumph"),
    ("painfully", "pleasantly"),
    ("genuinely", "barely"),
    ("worth", "not worth"),
)
FLIPS: dict[str, str] = {}
for _a, _b in _ANTONYMS:
    FLIPS.setdefault(_a, _b)
    if " " not in _a:
        FLIPS.setdefault(_b, _a)

_COPULA = re.compile(r"\b(is|are|was|were|it's|that's)\b( not\b)?", re.IGNORECASE)
_CONTRACTED = re.compile(r"\b(isn't|aren't|wasn't|doesn't|don't|can't|hasn't)\b", re.IGNORECASE)
_UNCONTRACTED = {
    "isn't": "is",
    "aren't": "are",
    "wasn't": "was",
    "doesn't": "does",
    "don't": "do",
    "can't": "can",
    "hasn't": "has",
}


def flips(text: str, evidence_words: set[str]) -> list[str]:
    """One variant per polarity word swapped for its opposite; opposites the evidence
    does not contain first (those are the ones a lexical checker can see)."""
    found: list[tuple[bool, str]] = []
    for word in dict.fromkeys(re.findall(r"[A-Za-z]+(?:-[A-Za-z]+)?", text)):
        opposite = FLIPS.get(word.lower())
        if opposite is not None:
            unseen = not set(normalize(opposite).split()) <= evidence_words
            found.append((not unseen, _replace_word(text, word, opposite)))
    return [variant for _, variant in sorted(found, key=lambda item: item[0])]


def negate(text: str) -> str | None:
    """Toggle the first negation: "is gorgeous" ↔ "is not gorgeous", "can't" → "can"."""
    contracted = _CONTRACTED.search(text)
    copula = _COPULA.search(text)
    if contracted and (copula is None or contracted.start() < copula.start()):
        plain = _UNCONTRACTED[contracted.group(1).lower()]
        return text[: contracted.start()] + plain + text[contracted.end() :]
    if copula is None:
        return None
    if copula.group(2):
        return text[: copula.end(1)] + text[copula.end() :]
    if re.match(r"\s+(never|no|nothing)\b", text[copula.end(1) :]):
        return None  # "was never good" → "was not never good" says nothing clear
    return text[: copula.end(1)] + " not" + text[copula.end(1) :]


ASPECT_WORDS = (
    "battery",
    "camera",
    "screen",
    "display",
    "speakers",
    "sound",
    "software",
    "keyboard",
    "webcam",
    "price",
    "design",
    "performance",
    "hinge",
    "charger",
)


def swap_aspect(text: str, evidence_words: set[str], rng: random.Random) -> str | None:
    """Talk about a part of the product the evidence never mentions."""
    present = [w for w in ASPECT_WORDS if re.search(rf"\b{w}\b", text, re.IGNORECASE)]
    others = [w for w in ASPECT_WORDS if w not in evidence_words]
    if not present or not others:
        return None
    return _replace_word(text, present[0], rng.choice(others))


def mentioned_products(text: str) -> list[tuple[Product, str]]:
    """Catalog products named in `text`, each with the surface form used."""
    found = []
    for product in load_catalog():
        for surface in product.surfaces:
            match = re.search(rf"(?<![\w-]){re.escape(surface)}(?![\w-])", text, re.IGNORECASE)
            if match:
                found.append((product, match.group(0)))
                break
    found.sort(key=lambda item: -len(item[1]))
    kept: list[tuple[Product, str]] = []
    for product, surface in found:  # "X2" inside a found "Nebula X2 Pro" is no mention
        if not any(_contains(longer, surface) for _, longer in kept):
            kept.append((product, surface))
    return kept


def unseen_product(
    evidence: str, rng: random.Random, avoid: Collection[str] = (), brand: str = ""
) -> Product | None:
    """A catalog product the evidence does not mention: mostly another brand, sometimes a
    sibling (the confusion an answer is likelier to make)."""
    pool = [
        p
        for p in load_catalog()
        if p.id not in avoid and not any(_contains(evidence, s) for s in p.surfaces)
    ]
    siblings = [p for p in pool if p.brand == brand]
    strangers = [p for p in pool if p.brand != brand and not _contains(evidence, p.brand)]
    choice = siblings if siblings and (rng.random() < 0.3 or not strangers) else strangers
    return rng.choice(choice) if choice else None


def swap_product(text: str, evidence: str, rng: random.Random) -> tuple[str, str] | None:
    """Name another catalog product where the claim names one from the evidence; returns
    the claim and the product swapped in."""
    mentions = mentioned_products(text)
    if not mentions:
        return None
    product, surface = rng.choice(mentions)
    other = unseen_product(evidence, rng, avoid={product.id}, brand=product.brand)
    if other is None:
        return None
    pattern = rf"(?<![\w-]){re.escape(surface)}(?![\w-])"
    return re.sub(pattern, other.name, text, count=1), other.name


_SPECS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("lasts {n} hours on a charge", (9, 11, 13, 14, 16, 18, 19, 22, 26, 31, 36)),
    ("is waterproof", ()),
    ("has {n} GB of RAM", (6, 12, 24, 64)),
    ("charges fully in {n} minutes", (25, 35, 45, 55, 65, 75)),
    ("weighs {n} grams", (163, 171, 187, 194, 203, 218, 236)),
    ("comes with a {n}-year warranty", (2, 3, 4, 5)),
    ("supports wireless charging", ()),
    ("has a {n} MP main camera", (48, 64, 108, 200)),
    ("gets {n} years of software updates", (3, 4, 5, 6, 7)),
    ("has a {n} Hz screen", (90, 120, 144, 165)),
    ("costs ${n}", (279, 319, 389, 459, 579, 629, 719, 1149, 1399)),
    ("has a headphone jack", ()),
    ("ships with a charger in the box", ()),
)


def invented_spec(evidence: str, rng: random.Random) -> str:
    """A spec no evidence states ("lasts 14 hours", "is waterproof"): a typical hallucination."""
    lowered = evidence.lower()
    for _ in range(20):
        template, numbers = rng.choice(_SPECS)
        if not numbers:
            words = set(normalize(template).split()) - STOPWORDS
            if not words <= set(normalize(evidence).split()):
                return template
            continue
        fresh = [n for n in numbers if str(n) not in lowered]
        if fresh:
            return template.format(n=rng.choice(fresh))
    return "is waterproof"


# passage claims

# Every frame adds the same three words the evidence lacks ("one", "reviewer", a verb):
# the lexical checker counts missing words, and frames of unequal cost blur that count
# (measured on held-out claims: a dozen varied frames let ~40% of flipped claims pass,
# uniform ones ~10%).
_SAYS = (
    "One reviewer says",
    "One reviewer says that",
    "Another reviewer says",
    "One reviewer notes that",
    "One reviewer writes that",
)
_QUOTES = ("One reviewer writes:", "One reviewer says:", "Another reviewer writes:")
_PASSAGE_QUESTIONS = (
    "What do reviewers say about the {product}?",
    "How is the {aspect} on the {product}?",
    "Is the {product} worth buying?",
    "What do people complain about with the {product}?",
    "Which phone has the best {aspect}?",
    "Tell me about the {product}'s {aspect}.",
)


@dataclass
class _Frame:
    """How an answer wraps a review's words; every variant of one sentence shares it."""

    style: str  # "says" (reported speech), "quote" or "bare"
    prefix: str

    def __call__(self, body: str) -> str:
        if self.style == "quote":
            return f'{self.prefix} "{_finish(body)}"'
        if self.style == "says":
            return _finish(f"{self.prefix} {_lower_first(third_person(body))}")
        body = third_person(body)
        return _finish(body[:1].upper() + body[1:])


def _attribute(body: str, review: Review, evidence: str) -> str | None:
    """Name the product an aspect belongs to, as answers do: "the battery is a joke" →
    "the Nebula X2's battery is a joke"; None unless the review pins it down."""
    catalog = {p.id: p for p in load_catalog()}
    for aspect in ASPECTS:
        word = "speakers" if aspect == "sound" and "speakers" in body.lower() else aspect
        match = re.search(rf"(?:\bthe |^){word}\b", body, re.IGNORECASE)
        targets = {t for t, a, _ in review.opinions if a == aspect}
        if match is None or len(targets) != 1:
            continue
        product = catalog.get(next(iter(targets)))
        if product is None:
            continue
        surface = next((s for s in product.surfaces if _contains(evidence, s)), None)
        if surface is None or _contains(body, surface):
            return None
        if surface == surface.lower() or len(surface) <= 3:
            surface = product.name if _contains(evidence, product.name) else surface
        start = match.start() + (4 if match.group(0).lower().startswith("the ") else 0)
        if start == 0:  # "Battery is great" → "the Kestrel K5's battery is great"
            return f"the {surface}'s {body[:1].lower()}{body[1:]}"
        return body[:start] + f"{surface}'s " + body[start:]
    return None


def _passage_evidence(
    review: Review, sentence: str, others: Sequence[str], rng: random.Random
) -> tuple[str, ...]:
    """What the answer would cite: the review (or the sentence), sometimes beside an
    unrelated passage or graph fact, as the agent cites several pieces."""
    main = review.text if rng.random() < 0.7 else sentence
    if others and rng.random() < 0.3:
        extra = rng.choice(others)
        return (main, extra) if rng.random() < 0.5 else (extra, main)
    return (main,)


def _question(
    templates: Sequence[str], product: str, aspect: str, rng: random.Random, swapped: str = ""
) -> str:
    """A user question for the claim, empty 40% of the time (the guardrail may not pass
    one); a product-swapped claim is sometimes an answer to a question about that product."""
    if rng.random() < 0.4 or not product:
        return ""
    name = swapped if swapped and rng.random() < 0.3 else product
    return rng.choice(templates).format(product=name, aspect=aspect or "battery")


def passage_claims(
    review: Review, unrelated: Sequence[Review], facts: Sequence[str], rng: random.Random
) -> Iterator[Claim]:
    """Claims quoting or paraphrasing each sentence of one review."""
    catalog = {p.id: p for p in load_catalog()}
    distractors = [r.text for r in unrelated] + list(facts)
    for sentence in _sentences(review.text):
        evidence = _passage_evidence(review, sentence, distractors, rng)
        joined = " ".join(evidence)
        aspects = [a for _, a, _ in review.opinions if _contains(sentence, a)]
        aspect = aspects[0] if aspects else ""
        named = [catalog[t].name for t, _, _ in review.opinions if t in catalog]
        product = named[0] if named else ""

        roll = rng.random()
        if roll < 0.5 or (roll < 0.75 and _first_person(sentence)):
            frame = _Frame("says", rng.choice(_SAYS))
        elif roll < 0.75:
            frame = _Frame("bare", "")
        else:
            frame = _Frame("quote", rng.choice(_QUOTES))
        bodies = [sentence.rstrip(" .!?")]
        clauses = _clauses(sentence)
        if clauses and rng.random() < 0.5:
            bodies.append(rng.choice(clauses))
        if frame.style != "quote":
            attributed = _attribute(bodies[0], review, joined)
            if attributed is not None:
                bodies.append(attributed)

        for body in bodies:
            source = frame(body)
            question = _question(_PASSAGE_QUESTIONS, product, aspect, rng)
            for text, label, kind, swapped_to in _alterations(body, frame, evidence, rng):
                asked = question
                if swapped_to:
                    asked = _question(_PASSAGE_QUESTIONS, product, aspect, rng, swapped_to)
                yield Claim(text, label, evidence, kind, source, review.id, asked)
        if unrelated and rng.random() < 0.7:
            stranger = rng.choice(unrelated)
            if stranger.text not in evidence:
                pick = rng.choice(_sentences(stranger.text) or [stranger.text])
                yield Claim(
                    frame(pick.rstrip(" .!?")),
                    "not_enough_info",
                    evidence,
                    "unrelated",
                    frame(sentence.rstrip(" .!?")),
                    review.id,
                    _question(_PASSAGE_QUESTIONS, product, aspect, rng),
                )


def _alterations(
    body: str, frame: _Frame, evidence: Sequence[str], rng: random.Random
) -> Iterator[tuple[str, Label, str, str]]:
    """The faithful claim of one review passage and its altered variants, all in the same
    frame: (text, label, kind, the product swapped in or "")."""
    joined = " ".join(evidence)
    evidence_words = set(normalize(joined).split())
    yield frame(body), "supported", "passage", ""
    for variant in flips(body, evidence_words)[:2]:
        yield frame(variant), "contradicted", "passage-flip", ""
    negated = negate(body)
    if negated is not None and rng.random() < 0.6:
        yield frame(negated), "contradicted", "passage-negation", ""
    swapped = swap_product(body, joined, rng)
    if swapped is not None:
        yield frame(swapped[0]), "not_enough_info", "passage-product", swapped[1]
    other_aspect = swap_aspect(body, evidence_words, rng)
    if other_aspect is not None:
        yield frame(other_aspect), "not_enough_info", "passage-aspect", ""
    yield _invented_passage(body, frame, joined, rng), "not_enough_info", "invented", ""


def _invented_passage(body: str, frame: _Frame, evidence: str, rng: random.Random) -> str:
    """The review's words plus a spec it never states, or that spec on its own."""
    spec = invented_spec(evidence, rng)
    if frame.style != "quote" and rng.random() < 0.5:
        return frame(f"{body}, and it {spec}")
    mentions = [s for p in load_catalog() for s in p.surfaces[:1] if _contains(evidence, s)]
    subject = f"the {rng.choice(mentions)}" if mentions else "it"
    return _finish(f"{rng.choice(_SAYS)} {subject} {spec}")


# aggregate claims over graph facts


def _count(n: int) -> str:
    return "no" if n == 0 else str(n)


def _plural(n: int, word: str) -> str:
    return f"{_count(n)} {word}{'s' * (n != 1)}"


CountTemplate = Callable[[str, str, Mapping[str, int]], str | None]

_COUNT_TEMPLATES: tuple[CountTemplate, ...] = (
    lambda p, a, c: (
        f"The {p}'s {a} gets {_plural(c['negative'], 'negative opinion')} "
        f"and {_count(c['positive'])} positive ones."
    ),
    lambda p, a, c: (
        f"Reviewers give the {p} {a} {_count(c['positive'])} positive "
        f"and {_plural(c['negative'], 'negative opinion')}."
    ),
    lambda p, a, c: (
        f"There {'is' if sum(c.values()) == 1 else 'are'} "
        f"{_plural(sum(c.values()), 'opinion')} on the {p}'s {a}."
    ),
    lambda p, a, c: (
        f"{_plural(c['positive'], 'reviewer')} "
        f"{'praises' if c['positive'] == 1 else 'praise'} the {p}'s {a}."
        if c["positive"]
        else None
    ),
    lambda p, a, c: (
        f"The {p}'s {a} is criticised in {_plural(c['negative'], 'review')}."
        if c["negative"]
        else None
    ),
)
_DIRECTION: dict[str, tuple[str, ...]] = {
    # the first two are in the form the graph check parses (`graph.parse_claim`)
    "positive": (
        "Most reviewers praise the {p}'s {a}.",
        "Most reviewers like the {p}'s {a}.",
        "Opinions of the {p}'s {a} are mostly positive.",
        "The {p}'s {a} is mostly praised.",
    ),
    "negative": (
        "Most reviewers criticize the {p}'s {a}.",
        "Most reviewers complain about the {p}'s {a}.",
        "Opinions of the {p}'s {a} are mostly negative.",
        "The {p}'s {a} is mostly criticised.",
    ),
}
_AGGREGATE_QUESTIONS = (
    "How do reviewers feel about the {product}'s {aspect}?",
    "What do reviewers say about the {product}?",
    "Which product gets the most complaints about its {aspect}?",
    "Is the {product}'s {aspect} any good?",
    "Which products have the best {aspect}?",
)


def _wrong_number(true: int, evidence: str, rng: random.Random) -> int:
    """A count that differs from the truth and appears nowhere in the evidence."""
    lowered = evidence.lower()
    fresh = [n for n in range(1, 40) if n != true and str(n) not in lowered]
    near = [n for n in fresh if abs(n - true) <= 4]
    return rng.choice(near or fresh)


def _wrong_counts(counts: Mapping[str, int], evidence: str, rng: random.Random) -> Counter[str]:
    wrong = Counter(counts)
    polarity = rng.choice(["positive", "negative"])
    wrong[polarity] = _wrong_number(counts.get(polarity, 0), evidence, rng)
    return wrong


def aggregate_claims(
    target: str,
    aspect: str,
    counts: Mapping[str, int],
    facts: Sequence[str],
    rng: random.Random,
) -> Iterator[Claim]:
    """Claims about one product × aspect opinion aggregate, its fact as the evidence."""
    catalog = {p.id: p for p in load_catalog()}
    product = catalog[target].name if target in catalog else target
    counts = Counter({"positive": 0, "negative": 0, **counts})
    fact = opinion_fact_text(product, aspect, counts)
    evidence: tuple[str, ...] = (fact,)
    others = [f for f in facts if f != fact]
    if others and rng.random() < 0.35:  # the agent's graph tool returns a few rows
        rows = [fact, *rng.sample(others, min(len(others), rng.choice([1, 2])))]
        rng.shuffle(rows)
        evidence = tuple(rows)
    joined = " ".join(evidence)
    evidence_words = set(normalize(joined).split())
    origin = f"{target}/{aspect}"

    def claim(text: str, label: Label, kind: str, source: str, question: str = "") -> Claim:
        asked = question or _question(_AGGREGATE_QUESTIONS, product, aspect, rng)
        return Claim(text, label, evidence, kind, source, origin, asked)

    templates = [t for t in _COUNT_TEMPLATES if t(product, aspect, counts) is not None]
    for template in rng.sample(templates, k=min(2, len(templates))):
        source = template(product, aspect, counts) or ""
        yield claim(source, "supported", "aggregate", source)
        wrong = template(product, aspect, _wrong_counts(counts, joined, rng))
        if wrong is not None and wrong != source:
            yield claim(wrong, "contradicted", "aggregate-count", source)
        if counts["positive"] != counts["negative"] and rng.random() < 0.4:
            exchanged = Counter(counts)
            exchanged["positive"], exchanged["negative"] = counts["negative"], counts["positive"]
            swapped = template(product, aspect, exchanged)
            if swapped is not None and swapped != source:
                yield claim(swapped, "contradicted", "aggregate-count", source)
        other = unseen_product(joined, rng, avoid={target}, brand=product.split(" ")[0])
        if other is not None:
            asked = _question(_AGGREGATE_QUESTIONS, product, aspect, rng, swapped=other.name)
            text = template(other.name, aspect, counts) or ""
            yield claim(text, "not_enough_info", "aggregate-product", source, asked)
        aspects = [a for a in ASPECTS if a not in evidence_words]
        if aspects:
            text = template(product, rng.choice(aspects), counts) or ""
            yield claim(text, "not_enough_info", "aggregate-aspect", source)

    positive, negative = counts["positive"], counts["negative"]
    if positive != negative:
        true, false = ("positive", "negative") if positive > negative else ("negative", "positive")
        index = rng.randrange(len(_DIRECTION[true]))
        source = _DIRECTION[true][index].format(p=product, a=aspect)
        yield claim(source, "supported", f"direction-{true}", source)
        wrong = _DIRECTION[false][index].format(p=product, a=aspect)
        yield claim(wrong, "contradicted", f"direction-{false}", source)
    invented = f"The {product} {invented_spec(joined, rng)}."
    yield claim(invented, "not_enough_info", "invented", fact)


# the whole set


def _balance(candidates: list[Claim], rng: random.Random) -> list[Claim]:
    """Equal counts per label, drawn round-robin over each label's kinds so that no kind
    of alteration crowds out the others; direction claims balanced per polarity first
    (a lexical checker cannot see direction, so it must not learn "criticize" = wrong)."""
    candidates = _balance_directions(candidates, rng)
    by_label: dict[str, dict[str, list[Claim]]] = defaultdict(lambda: defaultdict(list))
    for claim in candidates:
        by_label[claim.label][claim.kind].append(claim)
    target = min(sum(len(v) for v in by_label[label].values()) for label in LABELS)
    chosen: list[Claim] = []
    for label in LABELS:
        kinds = by_label[label]
        for kind in sorted(kinds):
            rng.shuffle(kinds[kind])
        picked: list[Claim] = []
        while len(picked) < target:
            for kind in sorted(kinds):
                if kinds[kind] and len(picked) < target:
                    picked.append(kinds[kind].pop())
        chosen.extend(picked)
    order = {id(claim): index for index, claim in enumerate(candidates)}
    return sorted(chosen, key=lambda claim: order[id(claim)])


def _balance_directions(candidates: list[Claim], rng: random.Random) -> list[Claim]:
    groups: dict[tuple[str, str], list[Claim]] = defaultdict(list)
    for claim in candidates:
        if claim.kind.startswith("direction-"):
            groups[(claim.kind, claim.label)].append(claim)
    keep: set[int] = set()
    for kind in ("direction-positive", "direction-negative"):
        supported, contradicted = groups[(kind, "supported")], groups[(kind, "contradicted")]
        n = min(len(supported), len(contradicted))
        keep |= {id(c) for c in rng.sample(supported, n) + rng.sample(contradicted, n)}
    return [c for c in candidates if not c.kind.startswith("direction-") or id(c) in keep]


def claims(
    review_ids: Collection[str] | None = None, seed: int = 0, balance: bool = True
) -> list[Claim]:
    """Labelled claims about `review_ids` (default: every review but the held-out ones)."""
    rng = random.Random(seed)
    wanted = set(review_ids) if review_ids is not None else None
    reviews = [
        r
        for r in load_reviews()
        if (r.id in wanted if wanted is not None else r.id not in HELD_OUT)
    ]
    counts = opinion_counts(reviews)
    catalog = {p.id: p for p in load_catalog()}
    facts = [
        opinion_fact_text(catalog[t].name if t in catalog else t, a, c)
        for (t, a), c in sorted(counts.items())
    ]
    candidates: list[Claim] = []
    for review in reviews:
        mine = {t for t, _, _ in review.opinions}
        unrelated = [
            r for r in reviews if r.id != review.id and not mine & {t for t, _, _ in r.opinions}
        ]
        candidates.extend(passage_claims(review, unrelated, facts, rng))
    for (target, aspect), tally in sorted(counts.items()):
        candidates.extend(aggregate_claims(target, aspect, tally, facts, rng))
    return _balance(candidates, rng) if balance else candidates


def claim_docs(review_ids: Collection[str] | None = None, seed: int = 0) -> list[Doc]:
    """Gold fact-check docs, one claim each (see `claims`), for `train` and scoring."""
    from distill.doc import make_doc
    from distill.plugins.factcheck.task import Verdict

    docs = []
    for index, claim in enumerate(claims(review_ids, seed)):
        meta = {
            "evidence": list(claim.evidence),
            "claims": [claim.text],
            "question": claim.question,
            "kind": claim.kind,
            "source": claim.source,
            "origin": claim.origin,
        }
        doc = make_doc(claim.text, f"demo-claim-{index:04d}", meta=meta)
        doc._.verdicts = [Verdict(claim=claim.text, label=claim.label, confidence=1.0)]
        docs.append(doc)
    return docs


__all__ = [
    "LABELS",
    "Claim",
    "aggregate_claims",
    "claim_docs",
    "claims",
    "load_catalog",
    "load_reviews",
    "opinion_counts",
    "passage_claims",
    "third_person",
]
