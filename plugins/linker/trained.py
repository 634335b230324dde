"""The `trained` linker backend: the scorer saved by `distill train linker`.

Pair docs (Ditto format) get MATCH or NIL on their one entity; mention docs get
the best-scoring candidate's catalog id, or NIL when it scores under the model's
threshold. Each decision carries the scorer's probability as its confidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from spacy.tokens import Doc

from distill.backend import Backend, BackendOptions
from distill.config import CatalogConfig
from distill.model_card import dir_size_mb, load_card
from distill.plugins.linker.catalog import catalog_option
from distill.plugins.linker.model import LinkerModel, record_side
from distill.plugins.linker.task import MATCH, Link, Links, is_pair
from distill.registry import register_backend
from distill.spec import TaskSpec


def predict_links(
    model: LinkerModel, docs: Sequence[Doc], catalog: str | CatalogConfig | None = None
) -> list[Links]:
    """Links per doc (shared with the dev scoring while training)."""
    outputs: dict[int, list[Link]] = {i: [] for i in range(len(docs))}
    pair_ids = [i for i, d in enumerate(docs) if is_pair(d)]
    if pair_ids:
        sides = [
            (record_side(docs[i]._.meta["left"]), record_side(docs[i]._.meta["right"]))
            for i in pair_ids
        ]
        probs = model.probabilities(model.pair_matrix(sides))
        for i, p in zip(pair_ids, probs, strict=True):
            match = p >= model.threshold
            for ent in docs[i].ents:
                outputs[i].append(_link(ent, MATCH if match else None, p if match else 1 - p))
    by_catalog: dict[str, tuple[str | CatalogConfig | None, list[int]]] = {}
    for i, doc in enumerate(docs):
        if not is_pair(doc):
            source = catalog or (doc._.meta or {}).get("catalog")
            key = source.model_dump_json() if isinstance(source, CatalogConfig) else str(source)
            by_catalog.setdefault(key, (source, []))[1].append(i)
    for path, ids in by_catalog.values():
        position = {id(docs[i]): i for i in ids}
        index = model.index(path)
        rows = model.link_rows([docs[i] for i in ids], path)
        matrices = [matrix for *_, matrix in rows]
        flat = model.probabilities(np.vstack(matrices)) if matrices else np.zeros(0)
        bounds = np.cumsum([0] + [len(m) for m in matrices])
        for (doc, ent, cands, _), lo, hi in zip(rows, bounds[:-1], bounds[1:], strict=True):
            probs = flat[lo:hi]
            best = int(probs.argmax()) if len(probs) else -1
            if best >= 0 and probs[best] >= model.threshold:
                entry = index.catalog.entries[cands[best].index]
                link = _link(ent, entry.id, float(probs[best]))
            else:
                link = _link(ent, None, 1 - (float(probs[best]) if best >= 0 else 0.0))
            outputs[position[id(doc)]].append(link)
    return [Links(links=outputs[i]) for i in range(len(docs))]


def _link(ent, kb_id: str | None, confidence: float) -> Link:
    return Link(
        text=ent.doc.text[ent.start_char : ent.end_char],
        start=ent.start_char,
        end=ent.end_char,
        kb_id=kb_id,
        confidence=round(float(confidence), 4),
    )


@register_backend("linker", "trained")
class TrainedLinker(Backend):
    def __init__(self, task: TaskSpec, options: BackendOptions | None = None) -> None:
        super().__init__(task, options)
        self.card = load_card(self.options.model_path, task.name)
        self.model = LinkerModel.load(Path(self.options.model_path or ""))
        extra = self.options.extra
        self.catalog = catalog_option(extra.get("catalog"), extra.get("columns"))

    def predict(self, docs: Sequence[Doc]) -> list[Doc]:
        for doc, output in zip(docs, predict_links(self.model, docs, self.catalog), strict=True):
            self.task.write(doc, output)
        return list(docs)

    def pending_setup(self) -> str | None:
        if self.model.mode != "link" or not (self.catalog or self.model.catalog_path):
            return None
        return self.model.pending_index(self.catalog)

    def warm_up(self) -> None:
        """Load the catalog and its candidate index (link mode) or the title vectors (pair
        mode: the static table, or the MiniLM encoder) now, so benchmarks time linking only."""
        if self.model.mode == "link" and (self.catalog or self.model.catalog_path):
            self.model.index(self.catalog)
        elif self.model.mode == "pair" and self.model.embeddings:
            if self.model.vectors == "static":
                from distill.plugins.linker.static_vectors import table

                table()
            else:
                from distill.plugins.linker.embed import encoder, use_bf16

                encoder(use_bf16())

    def size_mb(self) -> float | None:
        return dir_size_mb(self.options.model_path or ".")
