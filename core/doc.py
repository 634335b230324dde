"""The one object every tool reads and writes: a spaCy `Doc`.

Entities live in `doc.ents` (catalog ids in `ent.kb_id_`); everything spaCy has no
slot for lives in extensions registered here, once: `doc._.doc_id`, `doc._.meta`,
`doc._.opinions`, `doc._.verdicts`, `doc._.results` (a plugin task's typed output), and
`doc._.sentence_vectors` (what a tool that already ran the index's MiniLM leaves for it).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import spacy
from spacy.language import Language
from spacy.tokens import Doc

from distill.errors import DistillError

_EXTENSIONS: dict[str, Any] = {
    "doc_id": None,
    "meta": None,
    "opinions": None,
    "verdicts": None,
    "results": None,
    "sentence_vectors": None,
}


@dataclass(frozen=True)
class SentenceVector:
    """all-MiniLM-L6-v2's mean-pooled (not normalised) vector of `text[start:end]`, read
    alone, and its token count: the document index pools these into passage vectors."""

    start: int
    end: int
    tokens: int
    vector: np.ndarray


def register_extensions() -> None:
    """Idempotent: safe to call from every module that needs the extensions."""
    for name, default in _EXTENSIONS.items():
        if not Doc.has_extension(name):
            Doc.set_extension(name, default=default)


@lru_cache(maxsize=1)
def tokenizer() -> Language:
    """A blank English pipeline: tokenization only, fast, no model files."""
    register_extensions()
    return spacy.blank("en")


def make_doc(text: str, doc_id: str | None = None, meta: dict[str, Any] | None = None) -> Doc:
    """Tokenize `text` into a `Doc` with its id and metadata attached."""
    if not isinstance(text, str):
        raise DistillError(f"document {doc_id or '?'}: text must be a string, got {type(text)}")
    doc = tokenizer().make_doc(text)
    doc._.doc_id = doc_id
    doc._.meta = dict(meta or {})
    doc._.results = {}
    return doc


register_extensions()


def set_confidence(doc: Doc, task: str, start: int, end: int, value: float) -> None:
    """Confidence of one task's decision about the span [start, end) of `doc`."""
    doc.user_data[("distill.confidence", task, start, end)] = value


def get_confidence(doc: Doc, task: str, start: int, end: int) -> float | None:
    return doc.user_data.get(("distill.confidence", task, start, end))
