"""Reading line-based files the same way in every reader: numbered, UTF-8, errors that say where."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from distill.corpora.errors import CorpusError


def numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, line) for every non-blank line; a BOM and the newline are stripped."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(path, f"cannot read: {exc.strerror}") from None
    for number, raw in enumerate(data.splitlines(), start=1):
        try:
            line = raw.decode("utf-8").lstrip("\ufeff")
        except UnicodeDecodeError as exc:
            raise CorpusError(
                path, f"not UTF-8 ({exc.reason} at byte {exc.start})", number
            ) from None
        if line.strip():
            yield number, line


def json_records(path: Path, *, need_text: bool = False) -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON) per line; with `need_text`, each must be an object with text."""
    for number, line in numbered_lines(path):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusError(
                path, f"not valid JSON: {exc.msg} (column {exc.colno})", number
            ) from None
        if need_text and (not isinstance(record, dict) or not isinstance(record.get("text"), str)):
            raise CorpusError(path, "each line must be a JSON object with a string 'text'", number)
        yield number, record
