"""Named-entity recognition: which things are mentioned, where, and of what kind."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field
from spacy.tokens import Doc
from spacy.util import filter_spans

from distill.plugins.registry import register_task
from distill.plugins.spec import Scores, TaskSpec, span_scores


class Entity(BaseModel):
    text: str
    label: str
    start: int = Field(ge=0, description="character offset of the first character")
    end: int = Field(ge=0, description="character offset after the last character")


class Entities(BaseModel):
    entities: list[Entity] = Field(default_factory=list)


@register_task
class NERTask(TaskSpec):
    name = "ner"
    description = (
        "Find the products, brands and other named entities mentioned in a text, "
        "with their character offsets."
    )
    default_labels = ("PRODUCT", "BRAND")
    output_schema = Entities
    prompt = "ner"

    def read(self, doc: Doc) -> Entities:
        return Entities(
            entities=[
                Entity(text=ent.text, label=ent.label_, start=ent.start_char, end=ent.end_char)
                for ent in doc.ents
            ]
        )

    def write(self, doc: Doc, output: BaseModel) -> None:
        assert isinstance(output, Entities)
        spans = [
            doc.char_span(e.start, e.end, label=e.label, alignment_mode="expand")
            for e in output.entities
        ]
        doc.ents = filter_spans([span for span in spans if span is not None])

    def score(self, gold: Sequence[Doc], predicted: Sequence[Doc]) -> Scores:
        """Exact-span micro P/R/F1, the CoNLL convention."""

        def spans(docs: Sequence[Doc]) -> set[tuple[int, int, int, str]]:
            return {
                (i, ent.start_char, ent.end_char, ent.label_)
                for i, doc in enumerate(docs)
                for ent in doc.ents
            }

        return span_scores(spans(gold), spans(predicted), n=len(gold))
