"""Aspect sentiment: how people feel about each aspect (battery, camera…) of each product."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from distill.plugins.registry import register_task
from distill.plugins.spec import Scores, TaskSpec, span_scores
from pydantic import BaseModel, Field
from spacy.tokens import Doc

Polarity = Literal["positive", "negative", "neutral", "conflict"]


class Opinion(BaseModel):
    aspect: str = Field(description="aspect category, e.g. battery")
    polarity: Polarity
    target: str | None = Field(None, description="catalog id or text of the product it is about")
    term: str | None = Field(None, description="the words that express the aspect")
    start: int | None = Field(None, ge=0)
    end: int | None = Field(None, ge=0)
    confidence: float | None = None


class Opinions(BaseModel):
    opinions: list[Opinion] = Field(default_factory=list)


@register_task
class SentimentTask(TaskSpec):
    name = "sentiment"
    description = (
        "Find the opinions a text expresses about product aspects (battery, camera, "
        "screen, price…): aspect, polarity and the product each one is about."
    )
    default_labels = (
        "battery",
        "camera",
        "screen",
        "performance",
        "design",
        "price",
        "software",
        "sound",
    )
    output_schema = Opinions
    prompt = "sentiment"

    def read(self, doc: Doc) -> Opinions:
        return Opinions(opinions=list(doc._.opinions or []))

    def write(self, doc: Doc, output: BaseModel) -> None:
        assert isinstance(output, Opinions)
        doc._.opinions = list(output.opinions)

    def score(self, gold: Sequence[Doc], predicted: Sequence[Doc]) -> Scores:
        """Micro P/R/F1 over (document, target, aspect, polarity) tuples."""

        def tuples(docs: Sequence[Doc]) -> set[tuple[int, str | None, str, str]]:
            return {
                (i, o.target, o.aspect, o.polarity)
                for i, doc in enumerate(docs)
                for o in self.read(doc).opinions
            }

        return span_scores(tuples(gold), tuples(predicted), n=len(gold))
