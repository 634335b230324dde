"""Read documents to ingest: plain text, Markdown, JSON Lines, CSV, or folders of them.

Reading never stops at a bad document: each one is either a `SourceDocument` or a
`LoadFailure` that says where (file and line) and why, so one broken line costs
one document, not the run.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from distill.errors import DistillError

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
SUFFIXES = TEXT_SUFFIXES | {".jsonl", ".csv"}
MAX_CHARS = 2_000_000
"""Longer documents are refused (they are chunked for the tools, but must fit in memory)."""


class SourceDocument(BaseModel):
    id: str
    text: str
    meta: dict[str, Any] = Field(default_factory=dict)
    source: str = Field(description="file, and line for JSONL/CSV")

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


class LoadFailure(BaseModel):
    source: str
    doc_id: str | None = None
    reason: str


def read_documents(
    paths: Iterable[str | Path],
    *,
    text_field: str = "text",
    id_field: str = "id",
    max_chars: int = MAX_CHARS,
) -> Iterator[SourceDocument | LoadFailure]:
    """Every document under `paths`, in a stable order (folders sorted, files in line order)."""
    for path in _expand(paths):
        suffix = path.suffix.lower()
        if suffix in TEXT_SUFFIXES:
            records = _text_file(path)
        elif suffix == ".jsonl":
            records = _jsonl_file(path, text_field, id_field)
        elif suffix == ".csv":
            records = _csv_file(path, text_field, id_field)
        else:
            yield LoadFailure(
                source=str(path),
                reason=f"unsupported file type {suffix!r}; use {', '.join(sorted(SUFFIXES))}",
            )
            continue
        for record in records:
            yield _checked(record, max_chars) if isinstance(record, SourceDocument) else record


def _expand(paths: Iterable[str | Path]) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES)
        elif path.exists():
            yield path
        else:
            raise DistillError(f"no such file or folder: {path}")


def _checked(document: SourceDocument, max_chars: int) -> SourceDocument | LoadFailure:
    if not document.text.strip():
        return LoadFailure(source=document.source, doc_id=document.id, reason="empty text")
    if len(document.text) > max_chars:
        return LoadFailure(
            source=document.source,
            doc_id=document.id,
            reason=f"text too long: {len(document.text):,} characters (limit {max_chars:,})",
        )
    return document


def _decode(data: bytes, source: str) -> str | LoadFailure:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return LoadFailure(
            source=source,
            reason=f"invalid UTF-8 at byte {exc.start} ({data[exc.start : exc.start + 4]!r})",
        )


def _text_file(path: Path) -> Iterator[SourceDocument | LoadFailure]:
    text = _decode(path.read_bytes(), str(path))
    if isinstance(text, LoadFailure):
        text.doc_id = path.stem
        yield text
        return
    yield SourceDocument(id=path.stem, text=text, meta={"path": str(path)}, source=str(path))


def _jsonl_file(
    path: Path, text_field: str, id_field: str
) -> Iterator[SourceDocument | LoadFailure]:
    with path.open("rb") as file:
        for number, raw in enumerate(file, start=1):
            source = f"{path}:{number}"
            if not raw.strip():
                continue
            line = _decode(raw, source)
            if isinstance(line, LoadFailure):
                yield line
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield LoadFailure(
                    source=source, reason=f"malformed JSON: {exc.msg} (column {exc.colno})"
                )
                continue
            yield _from_record(record, source, text_field, id_field, f"{path.stem}-{number}")


def _csv_file(path: Path, text_field: str, id_field: str) -> Iterator[SourceDocument | LoadFailure]:
    text = _decode(path.read_bytes(), str(path))
    if isinstance(text, LoadFailure):
        yield text
        return
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames is None or text_field not in reader.fieldnames:
        columns = ", ".join(reader.fieldnames or [])
        yield LoadFailure(
            source=str(path),
            reason=f"no column {text_field!r} (columns: {columns}); choose one with --text-field",
        )
        return
    for number, row in enumerate(reader, start=2):
        yield _from_record(row, f"{path}:{number}", text_field, id_field, f"{path.stem}-{number}")


def _from_record(
    record: Any, source: str, text_field: str, id_field: str, default_id: str
) -> SourceDocument | LoadFailure:
    if not isinstance(record, dict):
        return LoadFailure(
            source=source, reason=f"expected a JSON object, got {type(record).__name__}"
        )
    text = record.get(text_field)
    doc_id = str(record.get(id_field) or default_id)
    if not isinstance(text, str):
        found = "missing" if text is None else f"a {type(text).__name__}"
        return LoadFailure(source=source, doc_id=doc_id, reason=f"field {text_field!r} is {found}")
    meta = record.get("meta") if isinstance(record.get("meta"), dict) else {}
    extra = {k: v for k, v in record.items() if k not in (text_field, id_field, "meta")}
    return SourceDocument(id=doc_id, text=text, meta={**extra, **meta}, source=source)
