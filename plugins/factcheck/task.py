"""Guardrail fact-checking: is each claim of an answer supported by the evidence?"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field
from spacy.tokens import Doc

from distill.doc import make_doc
from distill.registry import register_task
from distill.spec import Scores, TaskSpec, span_scores

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


class LLMVerdict(BaseModel):
    """What the LLM answers per claim: short fields a small model fills reliably."""

    claim: int = Field(ge=1, description="claim number")
    label: Label
    evidence: int = Field(0, ge=0, description="evidence number it rests on, 0 for none")


class LLMVerdicts(BaseModel):
    verdicts: list[LLMVerdict]


def hallucinated(verdicts: Verdicts) -> bool:
    """An answer is hallucinated when any of its claims is not supported."""
    return any(v.label != "supported" for v in verdicts.verdicts)


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
    trainer = "distill.plugins.factcheck.train"

    def to_doc(self, tool_input: BaseModel) -> Doc:
        assert isinstance(tool_input, FactCheckInput)
        return make_doc(tool_input.answer, meta={"evidence": list(tool_input.evidence)})

    def read(self, doc: Doc) -> Verdicts:
        return Verdicts(verdicts=list(doc._.verdicts or []))

    def write(self, doc: Doc, output: BaseModel) -> None:
        assert isinstance(output, Verdicts)
        doc._.verdicts = list(output.verdicts)

    def score(self, gold: Sequence[Doc], predicted: Sequence[Doc]) -> Scores:
        """Accuracy over claims, in order.

        Answer-level data (HaluEval: `doc._.meta["answer_level"]`) is scored per answer
        instead: accuracy of hallucinated-or-not, with precision/recall/F1 of the
        hallucinated class, since that is what the labels say.
        """
        if gold and all((d._.meta or {}).get("answer_level") for d in gold):
            gold_pos = {(i,) for i, d in enumerate(gold) if hallucinated(self.read(d))}
            pred_pos = {(i,) for i, d in enumerate(predicted) if hallucinated(self.read(d))}
            scores = span_scores(gold_pos, pred_pos, len(gold))
            agree = sum(((i,) in gold_pos) == ((i,) in pred_pos) for i in range(len(gold)))
            return scores.model_copy(update={"accuracy": agree / len(gold)})
        pairs = [
            (g.label, p.label)
            for gold_doc, predicted_doc in zip(gold, predicted, strict=True)
            for g, p in zip(
                self.read(gold_doc).verdicts, self.read(predicted_doc).verdicts, strict=False
            )
        ]
        correct = sum(g == p for g, p in pairs)
        return Scores(n=len(pairs), accuracy=correct / len(pairs) if pairs else None)

    # the prompt backend's hooks

    def prompt_variables(self, doc: Doc) -> dict[str, Any]:
        from distill.plugins.factcheck.claims import claims_of, evidence_of, question_of

        return {
            "claims": claims_of(doc),
            "evidence": [e[:1500] for e in evidence_of(doc)],
            "question": question_of(doc),
        }

    def llm_schema(self, doc: Doc) -> type[BaseModel]:
        return LLMVerdicts

    def from_llm(self, doc: Doc, parsed: Any) -> Verdicts:
        from distill.plugins.factcheck.claims import claims_of, evidence_of

        claims, evidence = claims_of(doc), evidence_of(doc)
        by_claim = {v.claim: v for v in parsed.verdicts}
        missing = [n for n in range(1, len(claims) + 1) if n not in by_claim]
        if missing:
            raise ValueError(f"no verdict for claim(s) {missing}")
        verdicts = []
        for n, claim in enumerate(claims, 1):
            answer = by_claim[n]
            index = answer.evidence - 1 if 0 < answer.evidence <= len(evidence) else None
            verdicts.append(
                Verdict(
                    claim=claim,
                    label=answer.label,
                    confidence=0.8,  # the LLM gives no probability; a fixed, honest guess
                    evidence=evidence[index][:300] if index is not None else None,
                    evidence_index=index,
                )
            )
        return Verdicts(verdicts=verdicts)
