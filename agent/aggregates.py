"""Aggregate answers stated from the graph's numbers, with quotes from the reviews.

"Overall, how do reviewers feel about X?", "what do they criticise?", "is X's battery
better than Y's?", "how many reviews mention X?": the graph holds the answer as counts
of opinions (polarity per product and aspect, each opinion with its document and the
sentence it was found in). Here those rows become sentences, written by code from the
numbers, each citing the graph fact it states, plus representative sentences quoted
verbatim from the reviews the opinions came from. A 1.5B model asked to summarise a
table of counts misreads it often enough to matter; a sentence computed from the table
cannot, and costs no model call.

Everything here is pure: rows in, `Statement`s and `Evidence` out. The toolbox fetches
the rows and the quotes (`agent/tools.py`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field

from distill.agent.evidence import Evidence, Source, opinion_fact_text
from distill.agent.router import aspect_words, named_part

Focus = Literal["overall", "liked", "criticised"]
MAX_QUOTE_CHARS = 200
TOP_ASPECTS = 3
MIN_OPINIONS = 2
"""Opinions each product needs on an aspect before a comparison over all aspects may
decide it (a question that names the aspect gets the counts whatever they are)."""


class Statement(BaseModel):
    """A sentence of the answer computed from tool results, citing the tool's evidence."""

    text: str
    evidence: list[int] = Field(default_factory=list, description="indices into the evidence")
    basis: Literal["graph", "catalog", "quote", "absence"] = "graph"
    """What makes it true: graph counts, a catalog entry, a verbatim quote, or the absence
    of any matching fact (an honest "no review says")."""


@dataclass(frozen=True)
class OpinionRow:
    """One opinion as the graph holds it: which document, about what, where it is said."""

    doc: str
    product: str
    aspect: str
    polarity: str
    start: int | None = None
    end: int | None = None
    confidence: float | None = None


ALL_ASPECTS = "over all aspects"
"""How a product's opinions summed over its aspects are named (a ranking or a comparison
with no aspect)."""


QUOTE_CONFIDENCE = 0.5
"""The least confidence (the probability of the opinion's polarity, `none` among the
classes) for a quote. On the Nokia 6610 reviews, of the opinions under it 11 of 88 match
the Hu & Liu annotation of their sentence (72 are on sentences it gives no such aspect),
against 185 of 338 above it: "we hardly ever have to charge them" (0.46) was quoted as
the battery's complaint."""


@dataclass
class Tally:
    """Opinions on one aspect (of one product, or of all): counts and the documents."""

    aspect: str
    counts: dict[str, int] = field(default_factory=dict)
    docs: set[str] = field(default_factory=set)

    @property
    def positive(self) -> int:
        return self.counts.get("positive", 0)

    @property
    def negative(self) -> int:
        return self.counts.get("negative", 0)

    @property
    def net(self) -> int:
        return self.positive - self.negative

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def score(self) -> float:
        """Mean polarity, shrunk toward 0 for few opinions (one rave is not a consensus)."""
        return self.net / (self.total + 1)


def tally(
    rows: Iterable[OpinionRow], by: Literal["aspect", "product"] = "aspect"
) -> dict[str, Tally]:
    """Per aspect (or per product): opinions per polarity and the documents they come from."""
    out: dict[str, Tally] = {}
    for row in rows:
        item = out.setdefault(getattr(row, by), Tally(row.aspect))
        item.counts[row.polarity] = item.counts.get(row.polarity, 0) + 1
        item.docs.add(row.doc)
    return out


def product_aspect(product: str, aspect: str) -> str:
    """ "Nokia 6610 phone battery", but "Lumix Z5 camera" for its camera, not "camera camera"."""
    if product.lower().split()[-1:] == [aspect.lower()]:
        return product
    return f"{product} {aspect}"


def mood(positive: int, negative: int) -> str:
    """How a count of opinions reads in words."""
    if positive + negative == 0:
        return "neutral"
    share = positive / (positive + negative)
    if share >= 0.8:
        return "positive"
    if share >= 0.6:
        return "mostly positive"
    if share > 0.4:
        return "mixed"
    if share > 0.2:
        return "mostly negative"
    return "negative"


def liked(tallies: dict[str, Tally], n: int = TOP_ASPECTS) -> list[Tally]:
    """Aspects praised more than criticised, by net polarity."""
    found = [t for t in tallies.values() if t.aspect != "overall" and t.net > 0]
    return sorted(found, key=lambda t: (-t.net, -t.positive, t.aspect))[:n]


def criticised(tallies: dict[str, Tally], n: int = TOP_ASPECTS) -> list[Tally]:
    """Aspects with complaints, most complaints first (ties: lower net first).

    By complaint count rather than net polarity: an aspect can be much praised and much
    criticised at once (a phone's sound: the speakerphone loved, the volume too low), and
    "what do people criticise" asks for the complaints."""
    found = [t for t in tallies.values() if t.aspect != "overall" and t.negative > 0]
    return sorted(found, key=lambda t: (-t.negative, t.net, t.aspect))[:n]


NAMING_SAMPLE = 30
"""Opinion sentences read per aspect to tell how the reviews name it."""


def counts_text(item: Tally) -> str:
    return f"{item.positive} positive, {item.negative} negative"


def listing(items: Sequence[Tally], called: dict[str, str] | None = None) -> str:
    """ "sound (40 positive, 10 negative), design (30, 3) and battery (12, 0)"; `called`:
    how the reviews name an aspect ("keyboard/buttons")."""
    names = called or {}
    parts = [f"{names.get(items[0].aspect, items[0].aspect)} ({counts_text(items[0])})"]
    parts += [f"{names.get(t.aspect, t.aspect)} ({t.positive}, {t.negative})" for t in items[1:]]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def reviews(n: int) -> str:
    return f"{n} review{'s' * (n != 1)}"


def clip_quote(text: str) -> str:
    """A quoted sentence as an answer shows it: at most `MAX_QUOTE_CHARS` characters."""
    return text if len(text) <= MAX_QUOTE_CHARS else text[: MAX_QUOTE_CHARS - 1] + "…"


def join_names(names: Sequence[str]) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


class Composer:
    """Builds one tool result's statements and evidence, numbering evidence as it goes.

    `snippet(doc, start, end)` returns the sentence an opinion was found in, as its
    source span and text (None when the index has no such document).
    """

    def __init__(
        self,
        tool: str,
        snippet: Callable[[str, int | None, int | None], tuple[Source, str] | None] | None,
    ) -> None:
        self.tool = tool
        self.snippet = snippet
        self.evidence: list[Evidence] = []
        self.statements: list[Statement] = []
        self._quoted: set[tuple[str, int | None]] = set()

    def fact(self, text: str, docs: Iterable[str], kind: str = "graph") -> int:
        """Add a graph (or catalog) fact as evidence; returns its index."""
        item = Evidence(
            kind=kind,  # type: ignore[arg-type]
            text=text,
            tool=self.tool,
            sources=[Source(doc_id=doc) for doc in sorted(set(docs))],
        )
        for index, existing in enumerate(self.evidence):
            if existing.text == item.text and existing.doc_ids == item.doc_ids:
                return index
        self.evidence.append(item)
        return len(self.evidence) - 1

    def aspect_fact(self, product: str, item: Tally) -> int:
        return self.fact(opinion_fact_text(product, item.aspect, item.counts), item.docs)

    def called(self, rows: Sequence[OpinionRow], aspects: Iterable[str]) -> dict[str, str]:
        """How the reviews name each aspect when they never use its label: "keyboard/
        buttons" for an MP3 player, "camera/picture" for a DVD player (the labels are
        the sentiment model's, shaped by phones). Read from up to `NAMING_SAMPLE` of each
        aspect's opinion sentences."""
        out: dict[str, str] = {}
        for aspect in aspects:
            if aspect == "overall" or self.snippet is None:
                continue
            said: Counter[str] = Counter()
            sample = [r for r in rows if r.aspect == aspect and r.start is not None]
            for row in sample[:NAMING_SAMPLE]:
                found = self.snippet(row.doc, row.start, row.end)
                if found is not None and re.search(rf"\b{re.escape(aspect)}", found[1], re.I):
                    break  # the reviews use the label itself
                if found is not None:
                    said[named_part(found[1], aspect)] += 1
            else:
                said.pop(aspect, None)
                if said:
                    out[aspect] = f"{aspect}/{said.most_common(1)[0][0]}"
        return out

    def say(self, text: str, evidence: Sequence[int] = (), basis: str = "graph") -> None:
        self.statements.append(Statement(text=text, evidence=list(evidence), basis=basis))  # type: ignore[arg-type]

    def quote(
        self,
        rows: Sequence[OpinionRow],
        polarity: str,
        terms: Iterable[str] = (),
        lead: str = "",
        topic: str | None = None,
        first: Iterable[str] = (),
    ) -> bool:
        """Quote the most representative sentence among `rows` with `polarity`: the one
        naming most of `first` (the words that matter most), then of `terms`, then the
        most confident; a document not quoted yet. An opinion the sentiment model is less
        sure of than `QUOTE_CONFIDENCE` is counted but never quoted as praise or complaint."""
        wanted = {t.lower() for t in terms if t}
        foremost = {t.lower() for t in first if t}
        candidates = [
            r
            for r in rows
            if r.polarity == polarity
            and r.start is not None
            and (r.confidence is None or r.confidence >= QUOTE_CONFIDENCE)
        ]
        scored = []
        for row in candidates if self.snippet is not None else []:
            found = self.snippet(row.doc, row.start, row.end)
            if found is None or (row.doc, found[0].char_start) in self._quoted:
                continue
            source, text = found
            if text.rstrip().endswith("?") or len(text.split()) < 4:
                continue  # a question or a fragment is no quote of an opinion
            hits = sum(1 for t in wanted if re.search(rf"\b{re.escape(t)}", text, re.I))
            top = sum(1 for t in foremost if re.search(rf"\b{re.escape(t)}", text, re.I))
            fresh = (row.doc, None) not in self._quoted
            length = abs(len(text) - 110)
            key = (-top, -hits, -fresh, -(row.confidence or 0.0), length)
            scored.append((key, row, source, text))
        if not scored:
            return False
        scored.sort(key=lambda item: item[0])
        _, row, source, text = scored[0]
        self._quoted |= {(row.doc, source.char_start), (row.doc, None)}
        self.evidence.append(Evidence(kind="passage", text=text, tool=self.tool, sources=[source]))
        shown = clip_quote(text)
        verb = {"positive": "praises", "negative": "criticises"}.get(polarity, "mentions")
        self.say(
            f'{lead or "A review"} ({row.doc}) {verb} {_what(topic, text, row.aspect)}: "{shown}"',
            [len(self.evidence) - 1],
            basis="quote",
        )
        return True


def _what(topic: str | None, text: str, aspect: str) -> str:
    """What a quote praises or criticises: the part asked about, else the part its sentence
    names; "it overall" for the product as a whole ("praises the overall" read wrong)."""
    if topic:
        return f"the {topic}"
    return "it overall" if aspect == "overall" else f"the {named_part(text, aspect)}"


def summarise(
    composer: Composer,
    display: str | None,
    rows: Sequence[OpinionRow],
    *,
    focus: Focus,
    aspect: str | None,
    terms: Sequence[str] = (),
    product_names: dict[str, str] | None = None,
    feature: str | None = None,
    topic: str | None = None,
) -> None:
    """Statements answering "overall / what do they like / criticise" about one product
    (`display`), or about all reviews (`display` None), optionally on one aspect;
    `feature`: the rows are the opinions whose sentence names this part of the aspect."""
    names = product_names or {}
    subject = f"the {display}" if display else "the reviewed products"
    scope = [r for r in rows if aspect is None or r.aspect == aspect]
    tallies = tally(rows)
    if not rows:
        composer.say(f"No review states an opinion on {subject}.", basis="absence")
        return
    if aspect:
        _aspect_summary(composer, display, rows, scope, aspect, focus, terms, names, feature, topic)
        return
    label = display or "all products"
    docs = {r.doc for r in rows}
    overall = tallies.get("overall")
    praised, complained = liked(tallies), criticised(tallies)
    if display is None and len({r.product for r in rows}) > 1 and focus != "overall":
        _pairs_summary(composer, rows, focus, names, terms)
        return
    if focus == "overall":
        if overall and overall.total:
            cite = composer.aspect_fact(label, overall)
            composer.say(
                f"Reviewers are {mood(overall.positive, overall.negative)} about {subject}: "
                f"{overall.positive} positive and {overall.negative} negative opinions of it "
                f"overall, in {reviews(len(overall.docs))}.",
                [cite],
            )
        else:
            positive = sum(t.positive for t in tallies.values())
            negative = sum(t.negative for t in tallies.values())
            cites = [composer.aspect_fact(label, t) for t in tallies.values()]
            composer.say(
                f"Reviewers are {mood(positive, negative)} about {subject}: {positive} positive "
                f"and {negative} negative opinions across {len(tallies)} aspect"
                f"{'s' * (len(tallies) != 1)}, in {reviews(len(docs))}.",
                cites,
            )
        called = composer.called(rows, {t.aspect for t in [*praised, *complained]})
        if praised:
            cites = [composer.aspect_fact(label, t) for t in praised]
            composer.say(f"Most praised: {listing(praised, called)}.", cites)
        if complained:
            cites = [composer.aspect_fact(label, t) for t in complained]
            composer.say(f"Most criticised: {listing(complained, called)}.", cites)
        if praised:
            composer.quote(_on(rows, praised[0].aspect), "positive", terms)
        if complained:
            composer.quote(_on(rows, complained[0].aspect), "negative", terms)
        return
    top = praised if focus == "liked" else complained
    polarity = "positive" if focus == "liked" else "negative"
    if not top:
        verb = "praises" if focus == "liked" else "criticises"
        total = sum(t.total for t in tallies.values())
        cites = [composer.aspect_fact(label, t) for t in tallies.values()]
        composer.say(
            f"No review {verb} any aspect of {subject}; its {total} opinion"
            f"{'s' * (total != 1)} lean the other way.",
            cites,
            basis="absence",
        )
        return
    cites = [composer.aspect_fact(label, t) for t in top]
    verb = "like" if focus == "liked" else "criticise"
    whose = f"the {display}'s" if display else "the products'"
    called = composer.called(rows, {t.aspect for t in top})
    name = called.get(top[0].aspect, top[0].aspect)
    first = f"Reviewers {verb} {whose} {name} most ({counts_text(top[0])})"
    rest = f", then {listing(top[1:], called).replace(' and ', ', ')}" if len(top) > 1 else ""
    composer.say(first + rest + ".", cites)
    quoted = 0
    for item in top[:2]:
        quoted += composer.quote(_on(rows, item.aspect), polarity, terms)
    if quoted < 2 and top:
        composer.quote(_on(rows, top[0].aspect), polarity, terms)


def _aspect_summary(
    composer: Composer,
    display: str | None,
    rows: Sequence[OpinionRow],
    scope: Sequence[OpinionRow],
    aspect: str,
    focus: Focus,
    terms: Sequence[str],
    names: dict[str, str],
    feature: str | None = None,
    topic: str | None = None,
) -> None:
    label = display or "all products"
    subject = f"the {product_aspect(display, aspect)}" if display else f"the {aspect}"
    whose = f" of the {display}" if display else ""
    if feature:  # a part in the question's words; the aspect label is the model's
        subject = (
            f"the {topic or feature}{whose} ({aspect} opinions in sentences that mention {feature})"
        )
        label += f" (sentences that mention {feature})"
    elif topic:  # the aspect, in the question's words ("the picture quality")
        subject = f"the {topic}{whose} ({aspect} opinions)"
    if not scope:
        others = tally(rows)
        cites = [composer.aspect_fact(label, t) for t in others.values()][:4]
        said = listing(sorted(others.values(), key=lambda t: -t.total)[:4])
        composer.say(f"No review states an opinion on {subject}.", basis="absence")
        composer.say(
            f"What reviewers do give opinions on{' for the ' + display if display else ''}: "
            f"{said}.",
            cites,
        )
        return
    item = tally(scope)[aspect]
    cite = composer.aspect_fact(label, item)
    opening = "Reviewers' opinions on" if display else "Across all reviews, opinions on"
    composer.say(
        f"{opening} {subject}: {counts_text(item)}, in {reviews(len(item.docs))} "
        f"({mood(item.positive, item.negative)}).",
        [cite],
    )
    products = {r.product for r in scope}
    if display is None and len(products) > 1:
        per = tally(scope, by="product")
        ranked = sorted(per.items(), key=lambda kv: (-kv[1].total, kv[0]))[:4]
        cites = [composer.aspect_fact(names.get(p, p), t) for p, t in ranked]
        composer.say(
            "By product: "
            + "; ".join(f"{names.get(p, p)} {t.positive} positive, {t.negative} negative"
                        for p, t in ranked)
            + ".",
            cites,
        )  # fmt: skip
    words = [*terms, *aspect_words(aspect)]
    major = "negative" if focus == "criticised" or item.negative > item.positive else "positive"
    minor = "positive" if major == "negative" else "negative"
    composer.quote(scope, major, words, topic=topic)
    composer.quote(scope, major, words, topic=topic)
    composer.quote(scope, minor, words, topic=topic)


def _pairs_summary(
    composer: Composer,
    rows: Sequence[OpinionRow],
    focus: Focus,
    names: dict[str, str],
    terms: Sequence[str],
) -> None:
    """No product named, several in the graph: the (product, aspect) pairs most praised or
    criticised."""
    pairs = []
    for product, items in tally_by_product_aspect(rows).items():
        pairs += [(product, t) for t in items.values() if t.aspect != "overall"]
    if focus == "liked":
        pairs = [p for p in pairs if p[1].net > 0]
        pairs.sort(key=lambda p: (-p[1].net, -p[1].positive, p[0]))
    else:
        pairs = [p for p in pairs if p[1].negative > 0]
        pairs.sort(key=lambda p: (-p[1].negative, p[1].net, p[0]))
    pairs = pairs[:TOP_ASPECTS]
    verb = "praise" if focus == "liked" else "criticise"
    if not pairs:
        composer.say(f"No review {verb}s any product.", basis="absence")
        return
    cites = [composer.aspect_fact(names.get(p, p), t) for p, t in pairs]
    listed = join_names(
        [f"the {names.get(p, p)}'s {t.aspect} ({counts_text(t)})" for p, t in pairs]
    )
    composer.say(f"Reviewers {verb} most: {listed}.", cites)
    polarity = "positive" if focus == "liked" else "negative"
    for product, item in pairs[:2]:
        scoped = [r for r in rows if r.product == product and r.aspect == item.aspect]
        composer.quote(scoped, polarity, terms)


def tally_by_product_aspect(rows: Iterable[OpinionRow]) -> dict[str, dict[str, Tally]]:
    grouped: dict[str, list[OpinionRow]] = {}
    for row in rows:
        grouped.setdefault(row.product, []).append(row)
    return {product: tally(items) for product, items in grouped.items()}


def compare(
    composer: Composer,
    products: Sequence[tuple[str, str]],
    rows: Sequence[OpinionRow],
    aspect: str | None,
    terms: Sequence[str] = (),
    mentioned: dict[str, set[str]] | None = None,
) -> bool:
    """Statements comparing 2–3 products (id, display) on `aspect`, or on every aspect
    they share; False when the graph cannot compare them (fewer than two have opinions)
    and no review weighs them against each other.
    `mentioned`: product id -> documents that name it, to find reviews comparing them."""
    per = tally_by_product_aspect(rows)
    shown = {pid: name for pid, name in products}
    if aspect:
        have = [(pid, per.get(pid, {}).get(aspect)) for pid, _ in products]
        with_data = [(pid, t) for pid, t in have if t is not None and t.total]
        if len(with_data) < 2:
            if with_data:
                pid, item = with_data[0]
                cite = composer.aspect_fact(shown[pid], item)
                missing = [shown[p] for p, t in have if t is None or not t.total]
                composer.say(
                    f"No review states an opinion on the {join_names(missing)} {aspect}; "
                    f"the {shown[pid]} has {counts_text(item)} opinions on its {aspect}.",
                    [cite],
                )
            return _quote_comparing(composer, products, rows, [aspect], terms, mentioned)
        ranked = sorted(with_data, key=lambda pt: (-pt[1].score(), -pt[1].total))
        cites = [composer.aspect_fact(shown[pid], t) for pid, t in ranked]
        best, rest = ranked[0], ranked[1:]
        if all(abs(best[1].score() - t.score()) < 1e-9 for _, t in rest):
            listed = join_names([f"the {shown[p]} ({counts_text(t)})" for p, t in ranked])
            composer.say(f"On {aspect}, reviewers rate {listed} alike.", cites)
        else:
            others = join_names([f"the {shown[p]} ({counts_text(t)})" for p, t in rest])
            composer.say(
                f"On {aspect}, reviewers rate the {shown[best[0]]} better "
                f"({counts_text(best[1])}) than {others}.",
                cites,
            )
        _compare_quotes(composer, products, rows, [aspect], terms, mentioned)
        return True
    shared = set.intersection(*(set(per.get(pid, {})) for pid, _ in products)) - {"overall"}
    if not shared:
        if _side_by_side(composer, products, per):
            return True
        every = sorted({r.aspect for r in rows})
        return _quote_comparing(composer, products, rows, every, terms, mentioned)
    thin = {name for name in shared if any(per[p][name].total < MIN_OPINIONS for p, _ in products)}
    if thin == shared:
        # one rave is not a consensus: too few opinions on every shared aspect to decide
        few = [
            f"the {shown[p]} has {sum(t.total for t in per[p].values())} opinion(s)"
            for p, _ in products
        ]
        composer.say(
            f"Too few opinions to compare the products aspect by aspect: {'; '.join(few)}.",
            [
                composer.aspect_fact(shown[p], per[p][a])
                for a in sorted(shared)
                for p, _ in products
            ],
        )
        # a review weighing them against each other answers it; without one, the model reads
        return _quote_comparing(
            composer, products, rows, sorted(shared | {"overall"}), terms, mentioned
        )
    shared = shared - thin
    wins: dict[str, list[str]] = {pid: [] for pid, _ in products}
    for name in sorted(shared):
        items = [(pid, per[pid][name]) for pid, _ in products]
        scores = sorted(items, key=lambda pt: -pt[1].score())
        if scores[0][1].score() - scores[1][1].score() > 1e-9:
            wins[scores[0][0]].append(name)
    decided = sorted({name for names in wins.values() for name in names})
    parts = [
        f"the {shown[pid]} better on {join_names(sorted(aspects))}"
        for pid, aspects in wins.items()
        if aspects
    ]
    if not parts:
        cites = [
            composer.aspect_fact(shown[p], per[p][a]) for a in sorted(shared) for p, _ in products
        ]
        composer.say(
            f"On {join_names(sorted(shared))}, reviewers rate "
            f"{join_names([f'the {n}' for _, n in products])} alike.",
            cites,
        )
        _compare_quotes(composer, products, rows, sorted(shared)[:2], terms, mentioned)
        return True
    # the sentence states the aspects where one product wins: it cites those counts only
    cites = [composer.aspect_fact(shown[p], per[p][a]) for a in decided for p, _ in products]
    detail = "; ".join(
        f"{name}: "
        + ", ".join(f"{shown[pid]} {per[pid][name].positive}+/{per[pid][name].negative}-"
                    for pid, _ in products)
        for name in decided
    )  # fmt: skip
    composer.say(f"Reviewers rate {'; '.join(parts)} ({detail}).", cites)
    _compare_quotes(composer, products, rows, decided[:2], terms, mentioned)
    return True


def _side_by_side(
    composer: Composer, products: Sequence[tuple[str, str]], per: dict[str, dict[str, Tally]]
) -> bool:
    parts, cites = [], []
    for pid, name in products:
        items = per.get(pid, {})
        if not items:
            parts.append(f"no opinions on the {name}")
            continue
        positive = sum(t.positive for t in items.values())
        negative = sum(t.negative for t in items.values())
        cites += [composer.aspect_fact(name, t) for t in items.values()]
        parts.append(f"the {name} {positive} positive, {negative} negative")
    with_data = [(pid, name) for pid, name in products if per.get(pid)]
    if len(with_data) < 2:
        missing = join_names([name for pid, name in products if not per.get(pid)])
        if not with_data:
            composer.say(f"No review states an opinion on the {missing}.", basis="absence")
            return False
        # what the other has, as when one product lacks the compared aspect
        pid, name = with_data[0]
        total = Tally(ALL_ASPECTS)
        for item in per[pid].values():
            for polarity, n in item.counts.items():
                total.counts[polarity] = total.counts.get(polarity, 0) + n
            total.docs |= item.docs
        composer.say(
            f"No review states an opinion on the {missing}; "
            f"the {name} has {counts_text(total)} opinions {ALL_ASPECTS}.",
            [composer.aspect_fact(name, total)],
        )
        return False
    composer.say(f"Reviewers' opinions share no aspect; in all: {'; '.join(parts)}.", cites)
    return True


def _compare_quotes(
    composer: Composer,
    products: Sequence[tuple[str, str]],
    rows: Sequence[OpinionRow],
    aspects: Sequence[str],
    terms: Sequence[str],
    mentioned: dict[str, set[str]] | None = None,
) -> None:
    """A review comparing them (`_quote_comparing`), else one sentence per product,
    preferring sentences that name the other product."""
    if _quote_comparing(composer, products, rows, aspects, terms, mentioned):
        return
    for pid, _ in products:
        others = [w for p, n in products if p != pid for w in n.lower().split()]
        words = [*terms, *others, *(w for a in aspects for w in aspect_words(a))]
        scoped = [r for r in rows if r.product == pid and r.aspect in aspects]
        counts = tally(scoped)
        positive = sum(t.positive for t in counts.values())
        negative = sum(t.negative for t in counts.values())
        polarity = "negative" if negative > positive else "positive"
        composer.quote(scoped, polarity, words)


def _quote_comparing(
    composer: Composer,
    products: Sequence[tuple[str, str]],
    rows: Sequence[OpinionRow],
    aspects: Sequence[str],
    terms: Sequence[str],
    mentioned: dict[str, set[str]] | None = None,
) -> bool:
    """A review with an opinion on the compared aspects of one product that also names
    another of them (or has opinions on both) compares them itself: quote it, once.
    True when one was quoted."""
    ids = {pid for pid, _ in products}
    scoped = [r for r in rows if r.product in ids and r.aspect in aspects]
    by_doc: dict[str, set[str]] = {}
    for row in scoped:
        by_doc.setdefault(row.doc, set()).add(row.product)
    for pid, docs in (mentioned or {}).items():
        for doc in docs & by_doc.keys():
            by_doc[doc].add(pid)
    comparing = [r for r in scoped if len(by_doc[r.doc] & ids) > 1]
    if comparing:
        # a sentence naming the products (by the words telling them apart: "phone" names
        # them all) shows the comparison; then the aspects' words
        named = [set(n.lower().split()) for _, n in products]
        names = sorted(set.union(*named) - set.intersection(*named))
        topics = [w for a in aspects for w in aspect_words(a)] if len(aspects) <= 2 else []
        words = [*terms, *topics]
        polarities = Counter(r.polarity for r in comparing).most_common()
        lead = "A review comparing them"
        return any(
            composer.quote(comparing, pol, words, lead=lead, first=names) for pol, _ in polarities
        )
    return False


def _on(rows: Sequence[OpinionRow], aspect: str) -> list[OpinionRow]:
    return [r for r in rows if r.aspect == aspect]
