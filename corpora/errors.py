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


class CorpusWarning(UserWarning):
    """One record was skipped (a span outside the text, a label not in the set); the rest is read.

    Readers warn instead of failing when a single bad line should cost that line only;
    callers collect these with `warnings.catch_warnings(record=True)` to report them."""

    def __init__(self, path: str | Path, message: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")
