"""Read labelled data in its native format into gold `Doc`s: no conversion step for the user.

`read_corpus(path, format)` serves `distill train` / `distill evaluate` and the
benchmarks; every reader reports malformed input as a `CorpusError` naming the file
and line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from spacy.tokens import Doc

from distill.corpora import (
    conll,
    ditto,
    docbin,
    halueval,
    huliu,
    labelled,
    linking,
    prodigy,
    semeval,
)
from distill.corpora.errors import CorpusError

READERS: dict[str, Callable[[Path], Iterator[Doc]]] = {
    "conll": conll.read,
    "prodigy": prodigy.read,
    "docbin": docbin.read,
    "semeval14": semeval.read_2014,
    "semeval16": semeval.read_2016,
    "huliu": huliu.read,
    "ditto": ditto.read,
    "linking": linking.read,
    "halueval": halueval.read,
    "distill": labelled.read,
}
TASKS = {
    "conll": "ner",
    "semeval14": "sentiment",
    "semeval16": "sentiment",
    "huliu": "sentiment",
    "ditto": "linker",
    "linking": "linker",
    "halueval": "factcheck",
}
"""The task each format carries labels for (DocBin, Prodigy, `distill` JSONL: maybe several)."""


def read_corpus(
    path: str | Path, format: str, task: str | None = None, limit: int | None = None
) -> list[Doc]:
    """All gold docs of `path` (the first `limit`), checking the format suits `task`."""
    path = Path(path)
    if format not in READERS:
        raise CorpusError(path, f"unknown format {format!r}; known: {', '.join(READERS)}")
    if task is not None and TASKS.get(format, task) != task:
        raise CorpusError(path, f"format {format!r} holds {TASKS[format]} labels, not {task}")
    if not path.is_file():
        raise CorpusError(path, "no such file")
    docs: list[Doc] = []
    for doc in READERS[format](path):
        if limit is not None and len(docs) >= limit:
            break
        docs.append(doc)
    return docs


def labels_of(docs: list[Doc], task: str) -> list[str]:
    """The label set the gold data uses: entity labels, or aspect categories (not terms)."""
    if task == "ner":
        return sorted({ent.label_ for doc in docs for ent in doc.ents})
    if any("aspect_terms" in (doc._.meta or {}) for doc in docs):
        return []
    return sorted({o.aspect for doc in docs for o in doc._.opinions or []})


__all__ = ["READERS", "CorpusError", "labels_of", "read_corpus"]
