"""The `trained` aspect-sentiment backend: the fine-tuned MiniLM saved by `distill train sentiment`.

Term mode classifies each given aspect term (`doc._.meta["aspect_terms"]`) in its
sentence; category mode reports every category whose most likely class is not
`none`, with that polarity. Output goes through the task spec (`write`), which
attaches opinions to products found by NER.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from spacy.tokens import Doc

from distill.backend import Backend, BackendOptions
from distill.model_card import dir_size_mb, load_card
from distill.plugins.sentiment.model import NONE, AbsaModel
from distill.plugins.sentiment.targets import product_contexts
from distill.plugins.sentiment.task import Opinion, Opinions, given_terms
from distill.registry import register_backend
from distill.spec import TaskSpec


def predict_opinions(model: AbsaModel, docs: Sequence[Doc], batch_size: int = 64) -> list[Opinions]:
    """Opinions per doc (also used on the dev split while training)."""
    results: list[Opinions] = []
    if model.mode == "term":
        items = [(i, t) for i, d in enumerate(docs) for t in given_terms(d) or []]
        probs = model.probabilities(
            [t["term"] for _, t in items], [docs[i].text for i, _ in items], batch_size
        )
        per_doc: list[list[Opinion]] = [[] for _ in docs]
        for (i, term), p in zip(items, probs, strict=True):
            best = int(p[0].argmax())
            per_doc[i].append(
                Opinion(
                    aspect=term["term"],
                    polarity=model.classes[best],  # type: ignore[arg-type]
                    term=term["term"],
                    start=term["start"],
                    end=term["end"],
                    confidence=round(float(p[0][best]), 4),
                )
            )
        results = [Opinions(opinions=o) for o in per_doc]
    elif model.mode == "product":
        items = [
            (i, target, mention, context)
            for i, d in enumerate(docs)
            for target, mention, context in product_contexts(d)
        ]
        probs = model.probabilities(
            [m for _, _, m, _ in items], [c for _, _, _, c in items], batch_size
        )
        per_doc = [[] for _ in docs]
        for (i, target, _, _), p in zip(items, probs, strict=True):
            per_doc[i].extend(_slot_opinions(model, p, target))
        results = [Opinions(opinions=o) for o in per_doc]
    else:
        probs = model.probabilities([d.text for d in docs], None, batch_size)
        results = [Opinions(opinions=_slot_opinions(model, p, None)) for p in probs]
    for doc, output in zip(docs, results, strict=True):
        doc._.opinions = list(output.opinions)
    return results


def _slot_opinions(model: AbsaModel, probs: object, target: str | None) -> list[Opinion]:
    """One opinion per aspect slot whose most likely class is not 'none'."""
    opinions = []
    for slot, row in zip(model.slots, probs, strict=True):  # type: ignore[call-overload]
        best = int(row.argmax())
        if model.classes[best] != NONE:
            opinions.append(
                Opinion(
                    aspect=slot,
                    polarity=model.classes[best],  # type: ignore[arg-type]
                    target=target,
                    confidence=round(float(row[best]), 4),
                )
            )
    return opinions


@register_backend("sentiment", "trained")
class TrainedSentiment(Backend):
    def __init__(self, task: TaskSpec, options: BackendOptions | None = None) -> None:
        super().__init__(task, options)
        self.card = load_card(self.options.model_path, task.name)
        self.model = AbsaModel.load(Path(self.options.model_path or ""))

    def predict(self, docs: Sequence[Doc]) -> list[Doc]:
        outputs = predict_opinions(self.model, docs, batch_size=min(64, self.options.batch_size))
        for doc, output in zip(docs, outputs, strict=True):
            self.task.write(doc, output)
        return list(docs)

    def model_name(self) -> str:
        return str(self.options.model_path)

    def size_mb(self) -> float | None:
        return dir_size_mb(self.options.model_path or ".")
