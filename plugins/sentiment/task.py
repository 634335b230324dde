"""Aspect sentiment: how people feel about each aspect (battery, camera…) of each product."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model
from spacy.tokens import Doc

from distill.plugins.sentiment.targets import attach_targets
from distill.registry import register_task
from distill.spec import Scores, TaskSpec, span_scores

DEFAULT_ASPECTS = (
    "overall",
    "battery",
    "camera",
    "screen",
    "performance",
    "design",
    "keyboard",
    "sound",
    "software",
    "price",
    "support",
)
"""What product reviews talk about; the shipped general model is built for these. A
custom set works zero-shot with the prompt backend, or after `distill train sentiment`."""

Polarity = Literal["positive", "negative", "neutral", "conflict"]
LLMPolarity = Literal["positive", "negative", "neutral"]
"""The LLM is not offered `conflict`: rare, and small models overuse it."""


def given_terms(doc: Doc) -> list[dict[str, Any]] | None:
    """Term-level mode: the aspect terms given as input (SemEval-2014), else None."""
    return (doc._.meta or {}).get("aspect_terms")


class Opinion(BaseModel):
    aspect: str = Field(description="aspect category, e.g. battery")
    polarity: Polarity
    target: str | None = Field(None, description="catalog id or text of the product it is about")
    term: str | None = Field(None, description="the words that express the aspect")
    start: int | None = Field(None, ge=0, description="where it is said: term or sentence")
    end: int | None = Field(None, ge=0)
    confidence: float | None = None
    anchor: int | None = Field(
        None,
        ge=0,
        description="where in its sentence the opinion is spoken of (the nearest product "
        "before it is its target), when the backend knows better than the span's start",
    )
    method: str | None = Field(
        None, description="how the target was chosen: same sentence, document subject, …"
    )


class Opinions(BaseModel):
    opinions: list[Opinion] = Field(default_factory=list)


@register_task
class SentimentTask(TaskSpec):
    name = "sentiment"
    description = (
        "Find the opinions a text expresses about product aspects (battery, camera, "
        "screen, price…): aspect, polarity and the product each one is about."
    )
    default_labels = DEFAULT_ASPECTS
    trainer = "distill.plugins.sentiment.train"
    output_schema = Opinions
    prompt = "sentiment"

    def read(self, doc: Doc) -> Opinions:
        return Opinions(opinions=list(doc._.opinions or []))

    def write(self, doc: Doc, output: BaseModel) -> None:
        """Store opinions, attaching each to the product it is about when NER found products."""
        assert isinstance(output, Opinions)
        doc._.opinions = attach_targets(doc, list(output.opinions))

    def score(self, gold: Sequence[Doc], predicted: Sequence[Doc]) -> Scores:
        """Term-level data (given aspect terms): polarity accuracy over the gold terms, n =
        terms. Otherwise micro P/R/F1 over (document, target, aspect, polarity) tuples."""
        if any(given_terms(doc) is not None for doc in gold):
            return self._term_accuracy(gold, predicted)

        def tuples(docs: Sequence[Doc]) -> set[tuple[int, str | None, str, str]]:
            return {
                (i, o.target, o.aspect, o.polarity)
                for i, doc in enumerate(docs)
                for o in self.read(doc).opinions
            }

        return span_scores(tuples(gold), tuples(predicted), n=len(gold))

    def _term_accuracy(self, gold: Sequence[Doc], predicted: Sequence[Doc]) -> Scores:
        """Accuracy over the gold terms, and macro-F1 over positive, negative and neutral
        (SemEval-2014's three-class figure; conflict terms count in accuracy only)."""
        pairs = []
        for g, p in zip(gold, predicted, strict=True):
            found = {(o.start, o.end): o.polarity for o in self.read(p).opinions}
            pairs += [(o.polarity, found.get((o.start, o.end))) for o in self.read(g).opinions]
        if not pairs:
            return Scores(n=0)
        f1s = []
        for label in ("positive", "negative", "neutral"):
            hits = sum(g == p == label for g, p in pairs)
            gold_n = sum(g == label for g, _ in pairs)
            predicted_n = sum(p == label for _, p in pairs)
            if gold_n + predicted_n:  # a class absent on both sides has no F1
                f1s.append(2 * hits / (gold_n + predicted_n))
        correct = sum(g == p for g, p in pairs)
        macro = sum(f1s) / len(f1s) if f1s else None
        return Scores(n=len(pairs), accuracy=correct / len(pairs), macro_f1=macro)

    # the prompt backend's hooks

    def prompt_variables(self, doc: Doc) -> dict[str, Any]:
        terms = given_terms(doc)
        return {
            "text": doc.text,
            "labels": list(self.labels),
            "products": list(_products(doc)) or None,
            "terms": [t["term"] for t in terms] if terms is not None else None,
            "marked": _marked(doc.text, terms) if terms is not None else None,
        }

    def answer_without_llm(self, doc: Doc) -> Opinions | None:
        """Term mode with no terms given: nothing to ask."""
        return Opinions() if given_terms(doc) == [] else None

    def llm_schema(self, doc: Doc | None = None) -> type[BaseModel]:
        """Short answers, no key names per item (a local model spends its time decoding):
        term mode, `{"opinions": [["term", polarity], …]}`, one pair per given term in order
        (the term is fixed by the schema; writing it before the polarity keeps a small model
        on the right term); else `[category, polarity]` pairs, each led by its product when
        NER found products."""
        if doc is not None and (terms := given_terms(doc)) is not None:
            return _term_schema(tuple(t["term"] for t in terms))
        products = tuple(_products(doc)) if doc is not None else ()
        return _category_schema(self.labels, products)

    def from_llm(self, doc: Doc, parsed: BaseModel) -> Opinions:
        terms = given_terms(doc)
        if terms is None:
            targets = _products(doc)
            unique = set()
            for answer in parsed.opinions:  # type: ignore[attr-defined]
                *product, aspect, polarity = answer
                unique.add((targets.get(product[0]) if product else None, aspect, polarity))
            return Opinions(
                opinions=[
                    Opinion(aspect=a, polarity=p, target=t)
                    for t, a, p in sorted(unique, key=lambda x: (x[0] or "", x[1], x[2]))
                ]
            )
        pairs = parsed.opinions  # type: ignore[attr-defined]
        expected = [None if _unsafe(t["term"]) else t["term"] for t in terms]
        if len(pairs) != len(expected) or any(
            e is not None and term != e for (term, _), e in zip(pairs, expected, strict=False)
        ):
            raise ValueError(f"expected one polarity for each of {[t['term'] for t in terms]}")
        return Opinions(
            opinions=[
                Opinion(
                    aspect=t["term"], polarity=p, term=t["term"], start=t["start"], end=t["end"]
                )
                for t, (_, p) in zip(terms, pairs, strict=True)
            ]
        )


def _marked(text: str, terms: list[dict[str, Any]]) -> str:
    """The sentence with each given term in brackets (`the [screen] is dim`): shorter than
    listing the terms after it, and the model sees where each one is (BENCHMARKS.md,
    "Teacher speed")."""
    for term in sorted(terms, key=lambda t: t["start"], reverse=True):
        start, end = term["start"], term["end"]
        text = f"{text[:start]}[{text[start:end]}]{text[end:]}"
    return text


def _products(doc: Doc) -> dict[str, str]:
    """Product mention text -> opinion target (catalog id when linked, else the text)."""
    found: dict[str, str] = {}
    for ent in doc.ents:
        if ent.label_ == "PRODUCT":
            found.setdefault(ent.text, ent.kb_id_ or ent.text)
    return found


@functools.lru_cache(maxsize=1024)
def _term_schema(terms: tuple[str, ...]) -> type[BaseModel]:
    """Each term fixed as a constant, except terms with a quote or backslash (`left "mouse"
    button`): llama.cpp's grammar parser fails on their escaped constant and the process dies,
    so those positions take any string."""
    pairs = tuple[tuple(tuple[_term_type(term), LLMPolarity] for term in terms)]  # type: ignore[misc,valid-type]
    return create_model("TermPolarities", opinions=(pairs, ...))


def _term_type(term: str) -> Any:
    return str if _unsafe(term) else Literal[term]  # type: ignore[valid-type]


def _unsafe(term: str) -> bool:
    return '"' in term or "\\" in term


@functools.cache
def _category_schema(labels: tuple[str, ...], products: tuple[str, ...] = ()) -> type[BaseModel]:
    """[category, polarity] pairs; with products on the doc, [product, category, polarity]."""
    aspect: Any = Literal[labels] if labels else str  # type: ignore[valid-type]
    item: Any = tuple[aspect, LLMPolarity]
    if products:
        item = tuple[Literal[products], aspect, LLMPolarity]  # type: ignore[valid-type]
    # at most one opinion per (product, category): a model repeating itself stops early
    most = len(labels) * max(1, len(products)) if labels else None
    return create_model("AspectOpinions", opinions=(list[item], Field(max_length=most)))
