"""Read documents to ingest: plain text, Markdown, JSON Lines, CSV, or folders of them.

Reading never stops at a bad item: each one is either a `SourceDocument` or a
`LoadFailure` that says where (file, and line for JSONL/CSV) and why, so one broken
line, file or symlink costs only itself. Files are streamed (JSONL and CSV line by
line), only regular files are opened (a FIFO named `x.txt` is reported, never read),
and sizes are checked before reading, so memory stays bounded by one document.

Ids are stable and unique within a run: a `.txt`/`.md` file's id is its path relative
to the folder given (`sub/a.txt`), or its name when the file itself is given; a JSONL
line or CSV row without an id gets `<file>#<hash of its text>`, so inserting a line
does not rename the others. A second document with an id already seen in the run is a
failure naming where the first one came from (the first is kept).

A `.txt` file in Hu & Liu's annotated review format (`[t]` titles, `##` sentences) is read
as one document per review (`<file>#<n>`), about the product the file is named after.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import os
import stat
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, Field

from distill.errors import DistillError

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
SUFFIXES = TEXT_SUFFIXES | {".jsonl", ".csv"}
MAX_CHARS = 2_000_000
"""Longer documents are refused (they are processed chunk by chunk, but stored whole)."""
UTF8_MAX = 4
"""Bytes per character at most in UTF-8: a file larger than 4 x the limit is refused unread."""
JSON_ESCAPE_MAX = 6
"""Bytes per character at most in a JSON string (`\\uXXXX`): bounds one JSONL line."""
LINE_SLACK = 1 << 16
"""Room on a JSONL line for the id and metadata besides the text."""


class SourceDocument(BaseModel):
    id: str
    text: str
    meta: dict[str, Any] = Field(default_factory=dict)
    source: str = Field(description="file, and line for JSONL/CSV")

    @property
    def content_hash(self) -> str:
        return text_hash(self.text)


class LoadFailure(BaseModel):
    source: str
    doc_id: str | None = None
    reason: str


def text_hash(text: str) -> str:
    """SHA-256 of the UTF-8 text; readers guarantee the text encodes (no lone surrogates)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def printable(value: str) -> str:
    """`value` safe to print and store: lone surrogates (undecodable file names) as `\\udcXX`."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass(frozen=True)
class _File:
    path: Path
    name: str
    """The id base: the path relative to the folder given, or the file's own name."""

    @property
    def source(self) -> str:
        return printable(str(self.path))


def read_documents(
    paths: Iterable[str | Path],
    *,
    text_field: str = "text",
    id_field: str = "id",
    max_chars: int = MAX_CHARS,
) -> Iterator[SourceDocument | LoadFailure]:
    """Every document under `paths`, in a stable order (folders sorted, files in line order).

    A path that does not exist is a `DistillError` raised here, before anything is read;
    everything after that is reported item by item.
    """
    roots = [Path(raw) for raw in paths]
    for root in roots:
        if not os.path.lexists(root):
            raise DistillError(f"no such file or folder: {printable(str(root))}")
    return _read(roots, text_field, id_field, max_chars)


def _read(
    roots: list[Path], text_field: str, id_field: str, max_chars: int
) -> Iterator[SourceDocument | LoadFailure]:
    seen: dict[str, str] = {}
    for item in _files(roots):
        if isinstance(item, LoadFailure):
            yield item
            continue
        suffix = item.path.suffix.lower()
        if suffix in TEXT_SUFFIXES:
            records = _text_file(item, max_chars)
        elif suffix == ".jsonl":
            records = _jsonl_file(item, text_field, id_field, max_chars)
        elif suffix == ".csv":
            records = _csv_file(item, text_field, id_field, max_chars)
        else:
            yield LoadFailure(
                source=item.source,
                reason=f"unsupported file type {suffix!r}; use {', '.join(sorted(SUFFIXES))}",
            )
            continue
        for record in _guarded(records, item):
            if isinstance(record, SourceDocument):
                record = _checked(record, max_chars)
            if isinstance(record, SourceDocument):
                first = seen.setdefault(record.id, record.source)
                if first != record.source:
                    record = _duplicate(record, first)
            yield record


def _guarded(
    records: Iterator[SourceDocument | LoadFailure], file: _File
) -> Iterator[SourceDocument | LoadFailure]:
    """`records`, ending with a failure for the file if reading it breaks off (an I/O error)."""
    try:
        yield from records
    except OSError as exc:
        yield LoadFailure(source=file.source, reason=f"reading stopped: {_why(exc)}")


def _duplicate(document: SourceDocument, first: str) -> LoadFailure:
    """A second document with an id seen earlier in the run; the hint depends on the id's origin."""
    if document.id.endswith("#" + document.content_hash[:12]):
        hint = "the same text twice, without ids"
    elif "path" in document.meta:
        hint = "files given one by one share a name; ingest their common folder instead"
    else:
        hint = "give each document its own id"
    return LoadFailure(
        source=document.source,
        doc_id=document.id,
        reason=f"duplicate id {document.id!r}, first used at {first}; only the first is "
        f"ingested ({hint})",
    )


# files and folders


def _files(roots: list[Path]) -> Iterator[_File | LoadFailure]:
    """Regular files to read, or a failure for each entry that cannot be one."""
    for root in roots:
        if _is_dir(root):  # a symlink given explicitly is followed
            found = False
            for item in _walk(root, root):
                found = True
                yield item
            if not found:
                yield LoadFailure(
                    source=printable(str(root)),
                    reason=f"no {', '.join(sorted(SUFFIXES))} files in this folder",
                )
        else:
            problem = _not_regular(root)
            yield (
                LoadFailure(source=printable(str(root)), reason=problem)
                if problem
                else _File(root, printable(root.name))
            )


def _is_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(path.stat().st_mode)
    except OSError:
        return False


def _walk(folder: Path, root: Path) -> Iterator[_File | LoadFailure]:
    """Files under `folder`, sorted; symlinks to folders are not followed (no loops)."""
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as exc:
        yield LoadFailure(source=printable(str(folder)), reason=f"cannot list folder: {_why(exc)}")
        return
    for entry in entries:
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(path, root)
            continue
        if path.suffix.lower() not in SUFFIXES:
            continue
        problem = _not_regular(path)
        if problem:
            yield LoadFailure(source=printable(str(path)), reason=problem)
        else:
            yield _File(path, printable(path.relative_to(root).as_posix()))


def _not_regular(path: Path) -> str | None:
    """Why `path` is not a regular file we can read, or None when it is one."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symlink loop; skipped"
        if path.is_symlink() and exc.errno == errno.ENOENT:
            target = printable(os.readlink(path))
            return f"dangling symlink (its target {target} does not exist); skipped"
        return f"cannot read: {_why(exc)}"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a symlink to a folder (not followed); pass the folder itself"
    return f"not a regular file ({_kind(mode)}); skipped"


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a file"


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _open(file: _File, max_bytes: int) -> IO[bytes] | LoadFailure:
    """The file opened for binary reading, if it is (still) a regular file of a sane size.

    `O_NONBLOCK` plus the `fstat` check mean a file swapped for a FIFO after listing is
    reported, never waited on.
    """
    try:
        fd = os.open(file.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        return LoadFailure(source=file.source, doc_id=file.name, reason=f"cannot read: {_why(exc)}")
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        reason = f"not a regular file ({_kind(info.st_mode)}); skipped"
        return LoadFailure(source=file.source, doc_id=file.name, reason=reason)
    if info.st_size > max_bytes:
        os.close(fd)
        return LoadFailure(
            source=file.source,
            doc_id=file.name,
            reason=f"file too long: {info.st_size:,} bytes (limit {max_bytes:,})",
        )
    return os.fdopen(fd, "rb")


# formats


def _text_file(file: _File, max_chars: int) -> Iterator[SourceDocument | LoadFailure]:
    max_bytes = max_chars * UTF8_MAX
    opened = _open(file, max_bytes)
    if isinstance(opened, LoadFailure):
        yield opened
        return
    with opened:
        data = opened.read(max_bytes + 1)  # bounded even if the file grows meanwhile
    if not data:
        yield LoadFailure(source=file.source, doc_id=file.name, reason="empty file")
        return
    from distill.corpora import huliu  # here: the corpora load spaCy

    text = _decode(data)
    if not isinstance(text, str):
        latin = data.decode("latin-1")  # the format's files are ASCII with a few stray bytes
        text = latin if huliu.looks_like(latin) else text
    if not isinstance(text, str):
        yield LoadFailure(source=file.source, doc_id=file.name, reason=text.reason)
        return
    if huliu.looks_like(text):
        yield from _huliu_reviews(file, text)
        return
    yield SourceDocument(id=file.name, text=text, meta={"path": file.source}, source=file.source)


def _huliu_reviews(file: _File, text: str) -> Iterator[SourceDocument | LoadFailure]:
    """A Hu & Liu annotated review file ("Nokia 6610.txt": `[t]` titles, `##` sentences):
    one document per review, the annotations cut, about the product the file is named
    after (its stem: the opinions of sentences that name no product attach to it)."""
    from distill.corpora import huliu
    from distill.corpora.errors import CorpusWarning

    try:
        with warnings.catch_warnings():  # an unreadable annotation: cut like the others
            warnings.simplefilter("ignore", CorpusWarning)
            found = huliu.parse(text.splitlines(), file.path)
    except DistillError as exc:
        yield LoadFailure(source=file.source, doc_id=file.name, reason=str(exc))
        return
    for n, review in enumerate(found, start=1):
        if not review.sentences:
            continue  # a title alone: nothing to read
        line = review.sentences[0].line
        meta = {"path": file.source, "product": file.path.stem, "title": review.title}
        yield SourceDocument(
            id=f"{file.name}#{n}", text=review.text, meta=meta, source=f"{file.source}:{line}"
        )


class _Problem(BaseModel):
    reason: str


def _decode(data: bytes) -> str | _Problem:
    """UTF-8 text (a BOM is dropped), or why the bytes are not text."""
    nul = data.find(b"\x00")
    if nul >= 0:
        return _Problem(reason=f"binary, not text (NUL byte at offset {nul})")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return _Problem(
            reason=f"invalid UTF-8 at byte {exc.start} ({data[exc.start : exc.start + 4]!r})"
        )


def _jsonl_file(
    file: _File, text_field: str, id_field: str, max_chars: int
) -> Iterator[SourceDocument | LoadFailure]:
    limit = max_chars * JSON_ESCAPE_MAX + LINE_SLACK
    opened = _open(file, 1 << 62)  # streamed: only each line is bounded
    if isinstance(opened, LoadFailure):
        yield opened
        return
    any_line = False
    with opened:
        for number, raw in enumerate(iter(lambda: opened.readline(limit + 1), b""), start=1):
            source = f"{file.source}:{number}"
            if len(raw) > limit:
                while raw and not raw.endswith(b"\n"):  # skip the rest of the line
                    raw = opened.readline(limit)
                yield LoadFailure(source=source, reason=f"line longer than {limit:,} bytes")
                any_line = True
                continue
            if not raw.strip():
                continue
            any_line = True
            line = _decode(raw)
            if not isinstance(line, str):
                yield LoadFailure(source=source, reason=line.reason)
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield LoadFailure(
                    source=source, reason=f"malformed JSON: {exc.msg} (column {exc.colno})"
                )
                continue
            except (ValueError, RecursionError) as exc:  # 5,000-digit numbers, deep nesting
                yield LoadFailure(source=source, reason=f"malformed JSON: {exc}")
                continue
            yield _from_record(record, source, text_field, id_field, file.name)
    if not any_line:
        yield LoadFailure(source=file.source, reason="empty file")


def _csv_file(
    file: _File, text_field: str, id_field: str, max_chars: int
) -> Iterator[SourceDocument | LoadFailure]:
    opened = _open(file, 1 << 62)  # streamed row by row
    if isinstance(opened, LoadFailure):
        yield opened
        return
    # undecodable bytes become lone surrogates, reported per row rather than per file
    text = io.TextIOWrapper(opened, encoding="utf-8-sig", errors="surrogateescape", newline="")
    csv.field_size_limit(max(csv.field_size_limit(), max_chars + 1))
    with text:
        rows = csv.reader(text)
        header: list[str] | None = None
        any_row = False
        end = 0
        while True:
            start = end + 1
            try:
                row = next(rows)
            except StopIteration:
                break
            except csv.Error as exc:
                end = rows.line_num
                yield LoadFailure(source=f"{file.source}:{start}", reason=f"malformed CSV: {exc}")
                continue
            end = rows.line_num
            source = f"{file.source}:{start}"
            if not row:
                continue
            if header is None:
                header = row
                if text_field not in header:
                    columns = printable(", ".join(header))
                    yield LoadFailure(
                        source=file.source,
                        reason=f"no column {text_field!r} (columns: {columns}); "
                        "choose one with --text-field",
                    )
                    return
                continue
            any_row = True
            if len(row) > len(header):
                yield LoadFailure(
                    source=source,
                    reason=f"row has {len(row)} fields, the header has {len(header)}",
                )
                continue
            undecodable = _undecodable(row)
            if undecodable:
                yield LoadFailure(source=source, reason=undecodable)
                continue
            record = dict(zip(header, row, strict=False))
            if text_field not in record:
                yield LoadFailure(
                    source=source,
                    reason=f"row has {len(row)} fields, the header has {len(header)} "
                    f"(no {text_field!r})",
                )
                continue
            yield _from_record(record, source, text_field, id_field, file.name)
    if header is None:
        yield LoadFailure(source=file.source, reason="empty file")
    elif not any_row:
        yield LoadFailure(source=file.source, reason="no rows after the header")


def _undecodable(row: list[str]) -> str | None:
    """Invalid UTF-8 in a CSV row (decoded with `surrogateescape`), as a message."""
    for column, value in enumerate(row, start=1):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            byte = ord(value[exc.start]) - 0xDC00
            return f"invalid UTF-8 in field {column} (byte 0x{byte:02x})"
    return None


def _from_record(
    record: Any, source: str, text_field: str, id_field: str, file_name: str
) -> SourceDocument | LoadFailure:
    """One JSON object or CSV row as a document, or why it cannot be one."""
    if not isinstance(record, dict):
        return LoadFailure(
            source=source, reason=f"expected a JSON object, got {_article(_type_name(record))}"
        )
    problem = _invalid_unicode(record)
    if problem:
        return LoadFailure(source=source, reason=problem)
    text = record.get(text_field)
    doc_id = _record_id(record.get(id_field), id_field)
    if isinstance(doc_id, _Problem):
        return LoadFailure(source=source, reason=doc_id.reason)
    if not isinstance(text, str):
        if text_field not in record:
            found = "missing"
        elif text is None:
            found = "null"
        else:
            found = f"{_article(_type_name(text))}, not a string"
        return LoadFailure(source=source, doc_id=doc_id, reason=f"field {text_field!r} is {found}")
    doc_id = doc_id or f"{file_name}#{text_hash(text)[:12]}"
    meta = record.get("meta") if isinstance(record.get("meta"), dict) else {}
    extra = {k: v for k, v in record.items() if k not in (text_field, id_field, "meta")}
    meta = {**extra, **meta}
    if meta.get("title") is not None and not isinstance(meta["title"], str):
        meta["title"] = json.dumps(meta["title"])
    return SourceDocument(id=doc_id, text=text, meta=meta, source=source)


def _record_id(value: Any, id_field: str) -> str | _Problem | None:
    """The id as a string (`0` stays "0"); None when absent or blank, so it is derived."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return _Problem(
            reason=f"field {id_field!r} is {_article(_type_name(value))}; use a string or a number"
        )
    if isinstance(value, str) and "\x00" in value:
        return _Problem(reason=f"field {id_field!r} contains a NUL character")
    return str(value)


def _invalid_unicode(record: dict[str, Any]) -> str | None:
    """Where a lone surrogate (`"\\ud800"` in JSON) hides in a record: no UTF-8 can hold it."""
    stack: list[tuple[str, Any]] = [(f"field {printable(k)!r}", v) for k, v in record.items()]
    stack += [("a field name", k) for k in record]
    while stack:  # iterative: JSON may nest as deep as the parser allowed
        where, value = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                return (
                    f"{where} has a lone surrogate {value[exc.start]!r} at character {exc.start}: "
                    "not valid Unicode"
                )
        elif isinstance(value, dict):
            stack += [(where, k) for k in value] + [(where, v) for v in value.values()]
        elif isinstance(value, list):
            stack += [(where, item) for item in value]
    return None


def _article(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def _type_name(value: Any) -> str:
    names = {
        dict: "object",
        list: "array",
        str: "string",
        bool: "boolean",
        int: "number",
        float: "number",
    }
    return names.get(type(value), "null" if value is None else type(value).__name__)


def _checked(document: SourceDocument, max_chars: int) -> SourceDocument | LoadFailure:
    """Rules every document obeys whatever its format: some text, not binary, not too long."""
    text = document.text
    reason = None
    if not text.strip():
        reason = "empty text"
    elif "\x00" in text:
        reason = f"binary, not text (NUL character at {text.index(chr(0))})"
    elif len(text) > max_chars:
        reason = f"text too long: {len(text):,} characters (limit {max_chars:,})"
    if reason:
        return LoadFailure(source=document.source, doc_id=document.id, reason=reason)
    return document
