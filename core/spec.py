"""A task, written once: its name, labels, typed output, prompt and scorer.

Backends (`prompt`, `trained`, `rules`, a plugin's) differ only in how they
predict; they read and write the task's output on the shared `Doc` through the
spec, so the schema and the scoring never exist twice.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, Field
from spacy.tokens import Doc

from distill.doc import make_doc


class TextInput(BaseModel):
    """What most tools take: one piece of text."""

    text: str = Field(description="the text to analyse, e.g. one product review")


class Scores(BaseModel):
    """One scorer's figures; fields that do not apply to a task stay None."""

    n: int
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    accuracy: float | None = None
    macro_f1: float | None = None
    """Mean F1 over the classes (term polarity: a rare class such as neutral weighs as much
    as the common ones, where accuracy hides it)."""


class TaskSpec(ABC):
    """Subclass once per task and register it with `@register_task`.

    Class attributes describe the task; an instance may narrow the labels
    (`NERTask(labels=["PRODUCT"])`), which is how one task serves many label sets.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    """One sentence for `distill tools` and for the agent deciding which tool to call."""
    default_labels: ClassVar[tuple[str, ...]] = ()
    output_schema: ClassVar[type[BaseModel]]
    input_schema: ClassVar[type[BaseModel]] = TextInput
    prompt: ClassVar[str | None] = None
    """Template name in `distill.prompts`; None when the task has no prompt backend."""
    version: ClassVar[str] = "1"
    default_backend: ClassVar[str] = "trained"
    trainer: ClassVar[str | None] = None
    """Module with `CONFIG` and `train(...)` that trains the `trained` backend (`distill train`)."""

    def __init__(self, labels: Sequence[str] | None = None) -> None:
        self.labels: tuple[str, ...] = tuple(labels) if labels else self.default_labels

    @abstractmethod
    def read(self, doc: Doc) -> BaseModel:
        """The task's output as stored on `doc` by whichever backend ran."""

    @abstractmethod
    def write(self, doc: Doc, output: BaseModel) -> None:
        """Store `output` on `doc`, replacing what this task stored before."""

    def to_doc(self, tool_input: BaseModel) -> Doc:
        """Turn the tool's input into the `Doc` backends work on."""
        return make_doc(getattr(tool_input, "text", ""))

    def score(self, gold: Sequence[Doc], predicted: Sequence[Doc]) -> Scores:
        """Default scorer: exact match of the whole output, as accuracy."""
        pairs = list(zip(gold, predicted, strict=True))
        correct = sum(self.read(g) == self.read(p) for g, p in pairs)
        return Scores(n=len(pairs), accuracy=correct / len(pairs) if pairs else None)

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "labels": list(self.labels), "version": self.version}


def span_scores(gold: set[tuple[Any, ...]], predicted: set[tuple[Any, ...]], n: int) -> Scores:
    """Micro precision/recall/F1 over sets of hashable items (spans, links, opinions)."""
    true_positives = len(gold & predicted)
    precision = true_positives / len(predicted) if predicted else 0.0
    recall = true_positives / len(gold) if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(n=n, precision=precision, recall=recall, f1=f1)
