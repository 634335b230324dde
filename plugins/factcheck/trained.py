"""The `trained` fact-check backend: the shipped entailment model, or one from `distill train`.

The model directory's card says which model it holds: the MiniLM cross-encoder
(`factcheck-nli-*`, `nli.py`), the lexical classifier (`factcheck-hgb*`, `model.py`)
or both combined (`factcheck-stacked-*`, `stacked.py`). Every
claim of every doc (given claims, else the answer's sentences) is checked in one
batch against the doc's evidence; claims about products and aspects that a graph
can answer go through `graph_check` first when the backend has an aggregate lookup
(`BackendOptions.extra["aggregates"]`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from spacy.tokens import Doc

from distill.backend import Backend, BackendOptions
from distill.errors import PluginError
from distill.model_card import dir_size_mb, load_card
from distill.plugins.factcheck.claims import claims_of, evidence_of, question_of
from distill.plugins.factcheck.general import general_model_path
from distill.plugins.factcheck.graph import graph_check
from distill.plugins.factcheck.model import Check, FactCheckModel
from distill.plugins.factcheck.task import Verdict, Verdicts
from distill.registry import register_backend
from distill.spec import TaskSpec

if TYPE_CHECKING:
    from distill.plugins.factcheck.nli import NliModel


class Checker(Protocol):
    def verdicts(self, checks: Sequence[Check]) -> list[Verdict]: ...


def check_docs(model: Checker, docs: Sequence[Doc], aggregates=None) -> list[Verdicts]:
    """Verdicts per doc (shared with the dev scoring while training)."""
    slots: list[list[Verdict | None]] = []
    pending: list[tuple[int, int, Check]] = []
    for d, doc in enumerate(docs):
        claims = claims_of(doc)
        slots.append([None] * len(claims))
        for c, claim in enumerate(claims):
            verdict = graph_check(claim, aggregates) if aggregates else None
            if verdict is not None:
                slots[d][c] = verdict
            else:
                pending.append((d, c, Check(claim, evidence_of(doc), question_of(doc))))
    for (d, c, _), verdict in zip(pending, model.verdicts([p for *_, p in pending]), strict=True):
        slots[d][c] = verdict
    return [Verdicts(verdicts=[v for v in row if v is not None]) for row in slots]


@register_backend("factcheck", "trained")
class TrainedFactCheck(Backend):
    def __init__(self, task: TaskSpec, options: BackendOptions | None = None) -> None:
        super().__init__(task, options)
        path = self.options.model_path or general_model_path()
        if path is None:
            raise PluginError(
                "no fact-check model: set tasks.factcheck.model (train one with `distill train "
                "factcheck ...`), or build the shipped one: "
                "`python -m benchmarks.factcheck_bench train`"
            )
        self.path = Path(path)
        self.card = load_card(self.path, task.name)
        self.model: Checker
        if self.card.kind.startswith("factcheck-stacked"):
            from distill.plugins.factcheck.stacked import StackedModel

            stacked = StackedModel.load(self.path)
            self._speed_up(stacked.nli)
            self.model = stacked
        elif self.card.kind.startswith("factcheck-nli"):
            from distill.plugins.factcheck.nli import NliModel

            nli = NliModel.load(self.path)
            self._speed_up(nli)
            self.model = nli
        else:
            self.model = FactCheckModel.load(self.path)
        self.aggregates = self.options.extra.get("aggregates")

    def _speed_up(self, nli: NliModel) -> None:
        """`quantize` option: True (default) bfloat16 where the CPU has it, else float32;
        "int8" int8 Linear layers (faster, less accurate); False float32 everywhere."""
        mode = self.options.extra.get("quantize", True)
        if mode == "int8":
            nli.quantize()
        elif mode:
            nli.fast()

    def warm_up(self) -> None:
        """One small batch through the cross-encoder now: the first pass sets up torch's
        thread pool and the kernels of the model's precision, which would otherwise land
        in the first batch a benchmark times."""
        if isinstance(self.model, FactCheckModel):
            return
        claim = "The battery lasts two days."
        evidence = ["I charge it every other night; the battery easily lasts two days."]
        self.model.verdicts([Check(claim, evidence)] * 2)

    def predict(self, docs: Sequence[Doc]) -> list[Doc]:
        for doc, output in zip(docs, check_docs(self.model, docs, self.aggregates), strict=True):
            self.task.write(doc, output)
        return list(docs)

    def size_mb(self) -> float | None:
        return dir_size_mb(self.path)
