"""Mention-to-catalog linking data, one JSON object per line:

    {"text": "my old iphone 13 died", "span": [7, 16], "kb_id": null,
     "catalog": "phones.csv", "id": "r17"}

`span` is [start, end) in characters; `kb_id` is the gold catalog id, or null for
NIL (the product is not in the catalog). A line may instead hold several mentions:
`"mentions": [{"start": 7, "end": 16, "kb_id": null}, …]`. `catalog` is optional
(the catalog these ids refer to, relative to the data file); the linker also finds
it in its model directory or its options.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from spacy.tokens import Doc

from distill.corpora.errors import CorpusError
from distill.corpora.lines import json_records
from distill.doc import make_doc


def read(path: Path) -> Iterator[Doc]:
    for number, record in json_records(path, need_text=True):
        yield _doc(path, number, record)


def _mentions(path: Path, number: int, record: dict[str, Any]) -> list[tuple[int, int, Any]]:
    if "mentions" in record:
        items = record["mentions"]
        if not isinstance(items, list):
            raise CorpusError(path, '"mentions" must be a list', number)
        raw = [(m.get("start"), m.get("end"), m.get("kb_id")) for m in items if isinstance(m, dict)]
        if len(raw) != len(items):
            raise CorpusError(path, "each mention must be an object", number)
        return raw
    span = record.get("span")
    if not (isinstance(span, list) and len(span) == 2):
        raise CorpusError(path, 'expected "span": [start, end] or "mentions": [...]', number)
    if "kb_id" not in record:
        raise CorpusError(path, 'missing "kb_id" (use null for NIL)', number)
    return [(span[0], span[1], record["kb_id"])]


def _doc(path: Path, number: int, record: dict[str, Any]) -> Doc:
    text = record["text"]
    meta: dict[str, Any] = {}
    if record.get("catalog"):
        meta["catalog"] = str((path.parent / record["catalog"]).resolve())
    doc = make_doc(text, doc_id=str(record.get("id", f"{path.stem}:{number}")), meta=meta)
    ents = []
    for start, end, kb_id in _mentions(path, number, record):
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
            raise CorpusError(path, f"span [{start}, {end}] is not inside the text", number)
        if kb_id is not None and not isinstance(kb_id, str | int):
            raise CorpusError(path, f"kb_id must be a string or null, got {kb_id!r}", number)
        span = doc.char_span(
            start, end, label="PRODUCT", kb_id=str(kb_id or ""), alignment_mode="expand"
        )
        if span is None:
            raise CorpusError(path, f"span [{start}, {end}] does not align with tokens", number)
        ents.append(span)
    try:
        doc.ents = sorted(ents, key=lambda s: s.start)
    except ValueError:
        raise CorpusError(path, "mentions overlap", number) from None
    return doc
