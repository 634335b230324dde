"""The one error a reader raises: it names the file and, when known, the line."""

from __future__ import annotations

from pathlib import Path

from distill.errors import DistillError


class CorpusError(DistillError):
    """A data file is missing or malformed; the message says where and what to fix."""

    def __init__(self, path: str | Path, message: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")
