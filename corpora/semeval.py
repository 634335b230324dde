"""SemEval ABSA XML: 2014 (aspectTerms with polarity) and 2016 (Opinion category + polarity).

One gold `Doc` per sentence, gold opinions on `doc._.opinions`.

- 2014 (term level): the task is the polarity of *given* aspect terms, so the terms
  also go to `doc._.meta["aspect_terms"]`, where every backend reads them and the
  scorer recognises term-level evaluation (accuracy). Restaurant categories go to
  `meta["aspect_categories"]`.
- 2016 (sentence level): opinions are (category, polarity); implicit targets (`NULL`)
  have no term. `OutOfScope` sentences are skipped, as in the official evaluation.

Parsed with expat so errors name the line (ElementTree keeps no line numbers).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from spacy.tokens import Doc

from distill.corpora.errors import CorpusError
from distill.doc import make_doc

POLARITIES = {"positive", "negative", "neutral", "conflict"}

# SemEval categories -> the default product-review aspects (distill.plugins.sentiment).
# 2016 categories are ENTITY#ATTRIBUTE: a PRICE(S) attribute is `price`; else the entity
# decides, and for the whole product (LAPTOP, RESTAURANT) the attribute does. None: no
# default aspect fits (food, drinks, ambience, location, the company, ports…).
ENTITY_ASPECTS: dict[str, str | None] = {
    "BATTERY": "battery",
    "POWER_SUPPLY": "battery",
    "DISPLAY": "screen",
    "KEYBOARD": "keyboard",
    "MOUSE": "keyboard",
    "MULTIMEDIA_DEVICES": "sound",
    "CPU": "performance",
    "MEMORY": "performance",
    "HARD_DISC": "performance",
    "MOTHERBOARD": "performance",
    "GRAPHICS": "performance",
    "FANS_COOLING": "performance",
    "OPTICAL_DRIVES": "performance",
    "HARDWARE": "design",
    "SOFTWARE": "software",
    "OS": "software",
    "SUPPORT": "support",
    "WARRANTY": "support",
    "SHIPPING": "support",
    "SERVICE": "support",
}
PRODUCT_ATTRIBUTES: dict[str, str | None] = {
    "GENERAL": "overall",
    "QUALITY": "overall",
    "MISCELLANEOUS": "overall",
    "USABILITY": "overall",
    "OPERATION_PERFORMANCE": "performance",
    "CONNECTIVITY": "performance",
    "DESIGN_FEATURES": "design",
    "PORTABILITY": "design",
}
CATEGORIES_2014 = {"price": "price", "service": "support", "anecdotes/miscellaneous": "overall"}
"""SemEval-2014 restaurant categories; food and ambience have no product aspect."""


def category_aspect(category: str) -> str | None:
    """The default aspect of a SemEval-2014 or -2016 category, or None."""
    if "#" not in category:
        return CATEGORIES_2014.get(category)
    entity, _, attribute = category.partition("#")
    if attribute.startswith("PRICE"):
        return "price"
    if entity in ("LAPTOP", "RESTAURANT"):
        return PRODUCT_ATTRIBUTES.get(attribute)
    return ENTITY_ASPECTS.get(entity)


@dataclass
class _Element:
    tag: str
    attrs: dict[str, str]
    line: int
    text: str = ""
    children: list[_Element] = field(default_factory=list)

    def find_all(self, tag: str) -> Iterator[_Element]:
        for child in self.children:
            if child.tag == tag:
                yield child
            yield from child.find_all(tag)


def parse(path: Path) -> _Element:
    """The whole XML tree with a line number on every element."""
    root = _Element("", {}, 0)
    stack = [root]
    parser = expat.ParserCreate()

    def start(tag: str, attrs: dict[str, str]) -> None:
        element = _Element(tag, attrs, parser.CurrentLineNumber)
        stack[-1].children.append(element)
        stack.append(element)

    def end(tag: str) -> None:
        stack.pop()

    def text(data: str) -> None:
        stack[-1].text += data

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.ParseFile(path.open("rb"))
    except OSError as exc:
        raise CorpusError(path, f"cannot read: {exc.strerror}") from None
    except expat.ExpatError as exc:
        raise CorpusError(
            path, f"not well-formed XML: {expat.ErrorString(exc.code)}", exc.lineno
        ) from None
    return root


def dev_split_2014(docs: list[Doc], fraction: float = 0.1) -> tuple[list[Doc], list[Doc]]:
    """(train, dev): dev = the sentences with the highest `fraction` of ids. Consecutive
    SemEval-2014 ids are sentences of one review, so this carves by review (only the
    review at the border is cut), never by random sentence."""
    ids = sorted(int(d._.doc_id) for d in docs)
    cut = ids[int(len(ids) * (1 - fraction))]
    return [d for d in docs if int(d._.doc_id) < cut], [d for d in docs if int(d._.doc_id) >= cut]


def review_id(doc: Doc) -> str:
    """The review of a SemEval-2016 sentence (its id is `<review>:<n>`)."""
    return str(doc._.doc_id).split(":")[0]


def dev_split_2016(docs: list[Doc], every: int = 10) -> tuple[list[Doc], list[Doc]]:
    """(train, dev): dev = every `every`-th review id (sorted), all its sentences."""
    dev_reviews = set(sorted({review_id(d) for d in docs})[::every])
    return [d for d in docs if review_id(d) not in dev_reviews], [
        d for d in docs if review_id(d) in dev_reviews
    ]


def read_2014(path: Path) -> Iterator[Doc]:
    from distill.plugins.sentiment import Opinion

    for sentence in parse(path).find_all("sentence"):
        text = _text(path, sentence)
        terms, opinions = [], []
        for term in sentence.find_all("aspectTerm"):
            start, end = _offsets(path, term, text)
            polarity = _polarity(path, term)
            name = term.attrs.get("term", text[start:end])
            terms.append({"term": name, "start": start, "end": end})
            opinions.append(
                Opinion(aspect=name, polarity=polarity, term=name, start=start, end=end)
            )
        categories = [
            {"category": c.attrs.get("category", ""), "polarity": _polarity(path, c)}
            for c in sentence.find_all("aspectCategory")
        ]
        doc = _make(path, sentence, text, aspect_terms=terms, aspect_categories=categories)
        doc._.opinions = opinions
        yield doc


def read_2016(path: Path) -> Iterator[Doc]:
    from distill.plugins.sentiment import Opinion

    for sentence in parse(path).find_all("sentence"):
        if sentence.attrs.get("OutOfScope", "").upper() == "TRUE":
            continue
        text = _text(path, sentence)
        opinions = []
        for opinion in sentence.find_all("Opinion"):
            category = opinion.attrs.get("category")
            if not category:
                raise CorpusError(path, "<Opinion> has no category", opinion.line)
            target = opinion.attrs.get("target")
            start = end = None
            if target and target != "NULL":
                start, end = _offsets(path, opinion, text)
            opinions.append(
                Opinion(
                    aspect=category,
                    polarity=_polarity(path, opinion),
                    term=target if target and target != "NULL" else None,
                    start=start,
                    end=end,
                )
            )
        doc = _make(path, sentence, text)
        doc._.meta["document"] = review_id(doc)  # dev splits keep a review whole
        doc._.opinions = _unique(opinions)
        yield doc


def _unique(opinions: list) -> list:
    """2016 repeats (category, polarity) once per target; sentence level counts it once."""
    seen, kept = set(), []
    for o in opinions:
        if (o.aspect, o.polarity) not in seen:
            seen.add((o.aspect, o.polarity))
            kept.append(o)
    return kept


def _make(path: Path, sentence: _Element, text: str, **meta: object) -> Doc:
    return make_doc(
        text,
        doc_id=sentence.attrs.get("id") or f"{path.name}:{sentence.line}",
        meta={"source": str(path), "line": sentence.line, **meta},
    )


def _text(path: Path, sentence: _Element) -> str:
    texts = [child for child in sentence.children if child.tag == "text"]
    if not texts:
        raise CorpusError(path, "<sentence> has no <text>", sentence.line)
    return texts[0].text


def _polarity(path: Path, element: _Element) -> str:
    polarity = element.attrs.get("polarity", "")
    if polarity not in POLARITIES:
        raise CorpusError(
            path,
            f"<{element.tag}> polarity {polarity!r} is not one of {sorted(POLARITIES)}",
            element.line,
        )
    return polarity


def _offsets(path: Path, element: _Element, text: str) -> tuple[int, int]:
    try:
        start, end = int(element.attrs["from"]), int(element.attrs["to"])
    except (KeyError, ValueError):
        raise CorpusError(path, f"<{element.tag}> needs integer from/to", element.line) from None
    if not 0 <= start <= end <= len(text):
        raise CorpusError(
            path, f"<{element.tag}> offsets {start}-{end} fall outside the text", element.line
        )
    return start, end
