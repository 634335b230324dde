"""Entity linking: which catalog entry each mentioned product is (or NIL: not in the catalog)."""

from __future__ import annotations

from collections.abc import Sequence

from distill.doc import get_confidence, set_confidence
from distill.plugins.registry import register_task
from distill.plugins.spec import Scores, TaskSpec
from pydantic import BaseModel, Field
from spacy.tokens import Doc, Span

NIL = None


class Link(BaseModel):
    text: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    kb_id: str | None = Field(description="catalog id, or null when the product is not in it")
    confidence: float | None = None


class Links(BaseModel):
    links: list[Link] = Field(default_factory=list)


@register_task
class LinkerTask(TaskSpec):
    name = "linker"
    description = (
        "Link each product mentioned in a text to its entry in the product catalog "
        "(or null when the catalog does not have it)."
    )
    output_schema = Links
    prompt = "linker"

    def read(self, doc: Doc) -> Links:
        return Links(
            links=[
                Link(
                    text=ent.text,
                    start=ent.start_char,
                    end=ent.end_char,
                    kb_id=ent.kb_id_ or NIL,
                    confidence=get_confidence(doc, self.name, ent.start_char, ent.end_char),
                )
                for ent in doc.ents
            ]
        )

    def write(self, doc: Doc, output: BaseModel) -> None:
        assert isinstance(output, Links)
        by_offsets = {(link.start, link.end): link for link in output.links}
        ents = []
        for ent in doc.ents:
            link = by_offsets.get((ent.start_char, ent.end_char))
            kb_id = (link.kb_id or "") if link else ent.kb_id_
            ents.append(Span(doc, ent.start, ent.end, label=ent.label_, kb_id=kb_id))
            if link and link.confidence is not None:
                set_confidence(doc, self.name, ent.start_char, ent.end_char, link.confidence)
        doc.ents = ents

    def score(self, gold: Sequence[Doc], predicted: Sequence[Doc]) -> Scores:
        """Accuracy@1 over gold mentions; NIL counts as an answer like any catalog id."""
        total = correct = 0
        for gold_doc, predicted_doc in zip(gold, predicted, strict=True):
            predicted_ids = {(e.start_char, e.end_char): e.kb_id_ for e in predicted_doc.ents}
            for ent in gold_doc.ents:
                total += 1
                correct += predicted_ids.get((ent.start_char, ent.end_char)) == ent.kb_id_
        return Scores(n=total, accuracy=correct / total if total else None)
