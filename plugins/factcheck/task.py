"""Guardrail fact-checking: is each claim of an answer supported by the evidence?"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from distill.doc import make_doc
from distill.plugins.registry import register_task
from distill.plugins.spec import Scores, TaskSpec
from pydantic import BaseModel, Field
from spacy.tokens import Doc

Label = Literal["supported", "contradicted", "not_enough_info"]


class FactCheckInput(BaseModel):
    answer: str = Field(description="the answer whose claims are checked")
    evidence: list[str] = Field(description="passages or graph facts the answer should rest on")


class Verdict(BaseModel):
    claim: str
    label: Label
    confidence: float = Field(ge=0, le=1)
    evidence: str | None = Field(None, description="the evidence text the verdict rests on")
    evidence_index: int | None = Field(None, ge=0, description="which evidence passage")


class Verdicts(BaseModel):
    verdicts: list[Verdict] = Field(default_factory=list)


@register_task
class FactCheckTask(TaskSpec):
    name = "factcheck"
    description = (
        "Check each claim of an answer against evidence passages: supported, "
        "contradicted or not enough info."
    )
    default_labels = ("supported", "contradicted", "not_enough_info")
    output_schema = Verdicts
    input_schema = FactCheckInput
    prompt = "factcheck"

    def to_doc(self, tool_input: BaseModel) -> Doc:
        assert isinstance(tool_input, FactCheckInput)
        return make_doc(tool_input.answer, meta={"evidence": list(tool_input.evidence)})

    def read(self, doc: Doc) -> Verdicts:
        return Verdicts(verdicts=list(doc._.verdicts or []))

    def write(self, doc: Doc, output: BaseModel) -> None:
        assert isinstance(output, Verdicts)
        doc._.verdicts = list(output.verdicts)

    def score(self, gold: Sequence[Doc], predicted: Sequence[Doc]) -> Scores:
        """Accuracy over claims, in order."""
        pairs = [
            (g.label, p.label)
            for gold_doc, predicted_doc in zip(gold, predicted, strict=True)
            for g, p in zip(
                self.read(gold_doc).verdicts, self.read(predicted_doc).verdicts, strict=False
            )
        ]
        correct = sum(g == p for g, p in pairs)
        return Scores(n=len(pairs), accuracy=correct / len(pairs) if pairs else None)
