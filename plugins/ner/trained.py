"""The `trained` NER backend: a spaCy pipeline saved by `distill train ner`.

The pipeline's components run on a copy of each input doc's tokens (same words,
same spaces), so the input tokenization is kept: gold CoNLL tokens stay gold, and
entities transfer back by token index without any offset guesswork.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import spacy
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from distill.backend import Backend, BackendOptions
from distill.model_card import dir_size_mb, load_card
from distill.registry import register_backend
from distill.spec import TaskSpec


@register_backend("ner", "trained")
class TrainedNER(Backend):
    def __init__(self, task: TaskSpec, options: BackendOptions | None = None) -> None:
        super().__init__(task, options)
        self.card = load_card(self.options.model_path, task.name)
        path = Path(self.options.model_path or "") / "pipeline"
        self.nlp = spacy.load(path)

    def predict(self, docs: Sequence[Doc]) -> list[Doc]:
        copies = (
            Doc(self.nlp.vocab, words=[t.text for t in d], spaces=[bool(t.whitespace_) for t in d])
            for d in docs
        )
        for doc, annotated in zip(
            docs, self.nlp.pipe(copies, batch_size=self.options.batch_size), strict=True
        ):
            doc.ents = filter_spans(
                [Span(doc, e.start, e.end, label=e.label_) for e in annotated.ents]
            )
        return list(docs)

    def model_name(self) -> str:
        return str(self.options.model_path)

    def size_mb(self) -> float | None:
        return dir_size_mb(self.options.model_path or ".")
