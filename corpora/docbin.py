"""spaCy DocBin files (`.spacy`), as written by `spacy convert` or `DocBin.to_disk`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from spacy.tokens import Doc, DocBin

from distill.corpora.errors import CorpusError
from distill.doc import tokenizer


def read(path: Path) -> Iterator[Doc]:
    try:
        docbin = DocBin().from_disk(path)
    except OSError as exc:
        raise CorpusError(path, f"cannot read: {exc.strerror or exc}") from None
    except Exception as exc:  # msgpack/zlib errors: the file is not a DocBin
        raise CorpusError(path, f"not a spaCy DocBin file ({type(exc).__name__})") from None
    for i, doc in enumerate(docbin.get_docs(tokenizer().vocab)):
        doc._.doc_id = doc._.doc_id or f"{path.name}#{i}"
        doc._.meta = {"source": str(path), "index": i, **(doc._.meta or {})}
        doc._.results = doc._.results or {}
        yield doc
