"""Property-based fuzzing of the readers and of `ingest()` (issue 12).

Random bytes, random JSON values, random CSV shapes and random file trees (symlinks,
FIFOs, folders named like files). The invariants, for every input:

- no traceback: reading and ingesting never raise;
- every bad item is reported with its location (file, and line for JSONL/CSV);
- every good item is read and written, once;
- the graph and the index agree: each written document is in both, nothing else is.

Each check is a plain function that raises `AssertionError` on a violation, so
`benchmarks/fuzz_bench.py` runs the same checks over many more examples and counts.
CI runs a bounded number of examples (`FUZZ_EXAMPLES`, default 60).
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fake_embedding import fake_embed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ingest import FakeLinker, FakeNER

from distill.config import Config, load_config
from distill.graph import open_store
from distill.ingest import index as index_module
from distill.ingest.index import DocumentIndex
from distill.ingest.pipeline import IngestReport, Pipeline, ingest, ingest_key
from distill.ingest.readers import LoadFailure, SourceDocument, read_documents
from distill.plugins import make_task

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

# strategies

# mostly ordinary characters; sometimes the ones that broke things: lone surrogates, NUL,
# control characters, markup-looking brackets, product names the fake NER finds
odd = st.characters(categories=["Cs", "Cc"]) | st.sampled_from(["[", "]", "/", "\\", "\ufeff"])
text = st.text(st.characters() | odd, max_size=24) | st.sampled_from(
    ["Orion 5 is lovely.", "The Nebula X2 has a bad battery.", "[/bold]", "  ", "", "x \ud800"]
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
ids = st.none() | st.integers(-3, 3) | st.sampled_from(["r1", "r2", "", " ", "[e1]"]) | json_values
records = st.fixed_dictionaries(
    {}, optional={"id": ids, "text": text | json_values, "title": json_values, "meta": json_values}
)
jsonl_lines = st.lists(
    st.one_of(
        records.map(lambda r: ("json", r)),
        json_values.map(lambda v: ("json", v)),
        st.binary(max_size=24).map(lambda b: ("bytes", b)),
        st.just(("bytes", b"")),
    ),
    max_size=8,
)
csv_cell = st.text(st.characters(exclude_categories=["Cs"]), max_size=12) | st.sampled_from(
    ["Orion 5 is lovely.", "", "a,b", '"q"', "two\nlines", "nul\x00", "r1"]
)
csv_shapes = st.tuples(
    st.lists(st.sampled_from(["id", "text", "title", "x"]) | csv_cell, min_size=1, max_size=4),
    st.lists(st.lists(csv_cell, max_size=5), max_size=6),
    st.sets(st.integers(0, 7), max_size=2),  # rows to corrupt with invalid UTF-8
)


@dataclass(frozen=True)
class Entry:
    path: str
    kind: str


PLACES = ["a", "b", "sub/a", "sub/c", "d.txt/a", "d.txt/sub/b", "e.md/f"]
SUFFIXES = [".txt", ".md", ".jsonl", ".csv", ".bin"]
KINDS = ["good", "good", "binary", "invalid", "empty", "folder", "dangling", "loop"]
KINDS += ["link", "dirlink", "fifo"]
trees = st.lists(
    st.builds(
        Entry,
        st.tuples(
            st.sampled_from(PLACES), st.sampled_from([".txt", ".md", ".jsonl", ".csv", ".bin"])
        ).map("".join),
        st.sampled_from(KINDS),
    ),
    max_size=8,
)


# shared fixtures for plain functions (hypothesis examples cannot use function fixtures)


@contextmanager
def workspace(
    store: str = "networkx", *, real_index: bool = False
) -> Iterator[tuple[Path, Config]]:
    """A fresh input folder and config (graph and index beside it); the index embeds with the
    fast fake unless `real_index`."""
    saved = index_module.default_embedder
    if not real_index:
        index_module.default_embedder = fake_embed
    try:
        with _workspace(store) as made:
            yield made
    finally:
        index_module.default_embedder = saved


@contextmanager
def _workspace(store: str) -> Iterator[tuple[Path, Config]]:
    with tempfile.TemporaryDirectory(prefix="distill-fuzz-") as folder:
        root = Path(folder)
        config = load_config(
            None,
            overrides=[
                f"graph.store={store}",
                f"graph.path={root / 'graph'}",
                f"index.path={root / 'index'}",
            ],
            environ={},
        ).config
        (root / "in").mkdir()
        yield root / "in", config


def fake_pipeline(config: Config) -> Pipeline:
    backends = {"ner": FakeNER(make_task("ner")), "linker": FakeLinker(make_task("linker"))}
    return Pipeline(config, tasks=["ner", "linker"], backends=backends, max_chars=200, overlap=40)


# oracles: what a reader must make of one item


def _encodes(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def expected_id(record: Any) -> str | None:
    """The id a good JSON record must get (None: derived from the text), or raise ValueError."""
    if not isinstance(record, dict) or not _encodes(record):
        raise ValueError("not an object of valid Unicode")
    value = record.get("id")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("bad id type")
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("NUL in id")
    return str(value)


def good_text(value: Any, max_chars: int) -> bool:
    return (
        isinstance(value, str)
        and bool(value.strip())
        and "\x00" not in value
        and len(value) <= max_chars
        and _encodes(value)
    )


def located(item: LoadFailure | SourceDocument, path: Path) -> int | None:
    """The line number in `item.source` when it names `path` and a line; None for the file."""
    source = item.source
    assert source == str(path) or source.startswith(f"{path}:"), source
    return None if source == str(path) else int(source.rsplit(":", 1)[1])


# checks (shared with benchmarks/fuzz_bench.py)


def check_jsonl(folder: Path, lines: list[tuple[str, Any]], max_chars: int) -> None:
    """Every non-blank line is one document or one failure at its line; good lines are read."""
    path = folder / "fuzz.jsonl"
    raw = []
    for kind, value in lines:
        if kind == "bytes":
            raw.append(value.replace(b"\n", b" "))
        else:
            ascii_only = not _encodes(value) or len(raw) % 2 == 0
            raw.append(json.dumps(value, ensure_ascii=ascii_only).encode("utf-8"))
    path.write_bytes(b"\n".join(raw))
    items = list(read_documents([path], max_chars=max_chars))
    by_line: dict[int, LoadFailure | SourceDocument] = {}
    for item in items:
        line = located(item, path)
        if line is None:
            assert isinstance(item, LoadFailure) and item.reason == "empty file"
            assert not any(r.strip() for r in raw)
            continue
        assert line not in by_line, f"line {line} reported twice"
        by_line[line] = item
    assert set(by_line) == {n for n, r in enumerate(raw, start=1) if r.strip()}
    seen: set[str] = set()
    for number, (kind, value) in enumerate(lines, start=1):
        item = by_line.get(number)
        if kind == "bytes" or item is None:
            continue
        try:
            doc_id = expected_id(value)
        except ValueError:
            assert isinstance(item, LoadFailure), (value, item)
            continue
        if not good_text(value.get("text"), max_chars):
            assert isinstance(item, LoadFailure), (value, item)
            continue
        if doc_id is None:
            assert isinstance(item, SourceDocument) or "duplicate id" in item.reason, item
            doc_id = item.doc_id if isinstance(item, LoadFailure) else item.id
        if doc_id in seen:
            assert isinstance(item, LoadFailure) and "duplicate id" in item.reason, (value, item)
            continue
        assert isinstance(item, SourceDocument), (value, item)
        assert (item.id, item.text) == (doc_id, value["text"])
        seen.add(doc_id)
    check_documents(items)


def check_csv(folder: Path, header: list[str], rows: list[list[str]], corrupt: set[int]) -> None:
    """Every data record is one document or one failure at its line; good rows are read."""
    path = folder / "fuzz.csv"
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    data = buffer.getvalue().encode("utf-8")
    lines = data.split(b"\n")
    for number in corrupt:  # an invalid UTF-8 byte, inside a line that has text
        if 1 <= number < len(lines) and lines[number]:
            lines[number] = lines[number][:1] + b"\xe9" + lines[number][1:]
    path.write_bytes(b"\n".join(lines))
    items = list(read_documents([path]))
    reread = list(csv.reader(io.StringIO(b"\n".join(lines).decode("utf-8", "replace"), newline="")))
    records = [r for r in reread if r]
    file_level = [i for i in items if located(i, path) is None]
    if not records or "text" not in records[0]:
        assert len(items) == 1 and file_level, items
        return
    if len(records) == 1:
        assert [i.reason for i in file_level] == ["no rows after the header"]
        return
    assert not file_level, file_level
    assert len(items) == len(records) - 1, (items, records)  # one item per data record
    lines_seen = [located(i, path) for i in items]
    assert len(set(lines_seen)) == len(lines_seen)
    if not corrupt:
        head = records[0]
        seen: set[str] = set()
        for row, item in zip(records[1:], items, strict=True):
            record = dict(zip(head, row, strict=False))
            good = len(row) <= len(head) and good_text(record.get("text"), 10**9)
            given = record.get("id") or ""
            key = given if given.strip() else "#" + str(record.get("text"))  # derived from text
            good = good and "\x00" not in given and key not in seen
            assert isinstance(item, SourceDocument) == good, (row, item)
            if good:
                assert item.text == record["text"]
                seen.add(key)
    check_documents(items)


def build_tree(folder: Path, entries: list[Entry]) -> tuple[set[str], set[str]]:
    """Make the entries under `folder`; returns (paths that must be read, paths that must fail)."""
    good: set[str] = set()
    bad: set[str] = set()
    regular: list[tuple[Path, str]] = []
    for number, entry in enumerate(entries):
        path = folder / entry.path
        parents = [p for p in path.parents if folder in p.parents]
        if os.path.lexists(path) or any(
            os.path.lexists(p) and (p.is_symlink() or not p.is_dir()) for p in parents
        ):
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        kind, suffix = entry.kind, path.suffix
        if kind == "link":
            candidates = [(p, k) for p, k in regular if p.suffix == suffix]
            if not candidates:
                continue
            target, kind = candidates[number % len(candidates)]
            path.symlink_to(target)
        elif kind in ("good", "binary", "invalid", "empty"):
            body = f"Orion 5 review number {number}."
            path.write_bytes(
                {
                    "good": {
                        ".jsonl": json.dumps({"text": body}),
                        ".csv": f"text\n{body}\n",
                    }.get(suffix, body).encode(),
                    "binary": b"\x00\x01\x02\xff binary",
                    "invalid": b"caf\xe9 latte",
                    "empty": b"",
                }[kind]
            )
            regular.append((path, kind))
        elif kind == "folder":
            path.mkdir()
            continue
        elif kind == "dangling":
            path.symlink_to(folder / "nowhere")
        elif kind == "loop":
            path.symlink_to(path)
        elif kind == "dirlink":
            path.symlink_to(folder)
        elif kind == "fifo":
            os.mkfifo(path)
        if suffix == ".bin":
            continue
        (good if kind == "good" else bad).add(str(path))
    return good, bad


def check_tree(folder: Path, config: Config, entries: list[Entry]) -> int:
    """Good files are written, each bad one is reported at its path; returns partial writes."""
    good, bad = build_tree(folder, entries)
    report = ingest([folder], config, pipeline=fake_pipeline(config))
    read = {f.source.split(":")[0] for f in report.failures}
    if not good and not bad:
        assert [f.reason for f in report.failures] == [
            "no .csv, .jsonl, .markdown, .md, .txt files in this folder"
        ]
        return 0
    assert read == bad, (read, bad)
    assert report.written == len(good), (report.written, good)
    return check_written(folder, config, report)


def check_ingest_jsonl(folder: Path, config: Config, lines: list[tuple[str, Any]]) -> int:
    """`ingest()` writes exactly the documents the reader accepts; returns partial writes."""
    path = folder / "fuzz.jsonl"
    path.write_bytes(
        b"\n".join(
            v.replace(b"\n", b" ") if k == "bytes" else json.dumps(v).encode() for k, v in lines
        )
    )
    report = ingest([path], config, pipeline=fake_pipeline(config))
    return check_written(folder, config, report)


def check_written(folder: Path, config: Config, report: IngestReport) -> int:
    """The report, the graph and the index agree with what the reader accepts.

    Returns the number of partial writes: documents in only one of the graph and the
    index, or stored although reported failed. A re-run with `--resume` writes nothing.
    """
    items = list(read_documents([folder]))
    documents = [d for d in items if isinstance(d, SourceDocument)]
    assert report.written == len(documents), (report, documents)
    assert report.documents == len(items)
    assert all(f.source and f.reason for f in report.failures)
    fingerprint = fake_pipeline(config).fingerprint()
    failed = {f.doc_id for f in report.failures if f.doc_id} - {d.id for d in documents}
    partial = 0
    if not documents:  # nothing written: the stores may not even exist
        return 0
    with (
        open_store(config.graph, read_only=True) as store,
        DocumentIndex.from_config(config.index, read_only=True) as index,
    ):
        assert store.stats().nodes.get("Document", 0) == len(documents)
        for document in documents:
            key = ingest_key(document, fingerprint)
            partial += store.has_document(document.id, key) != index.has(document.id, key)
            assert store.has_document(document.id, key)
        partial += sum(store.has_document(doc_id) for doc_id in failed)
    again = ingest([folder], config, pipeline=fake_pipeline(config), resume=True)
    assert again.written == 0 and again.skipped == len(documents)
    return partial


def check_documents(items: list[LoadFailure | SourceDocument]) -> None:
    """What every document the readers let through satisfies, whatever its format."""
    ids = [d.id for d in items if isinstance(d, SourceDocument)]
    assert len(ids) == len(set(ids)), "duplicate ids"
    for item in items:
        if isinstance(item, SourceDocument):
            assert item.text.strip() and "\x00" not in item.text and item.id
            item.text.encode("utf-8")
            item.id.encode("utf-8")
            json.dumps(item.meta)
        else:
            assert item.reason and item.source


# the tests


@FUZZ
@given(lines=jsonl_lines, small=st.booleans())
def test_jsonl_lines_are_each_a_document_or_a_located_failure(
    lines: list[tuple[str, Any]], small: bool
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        check_jsonl(Path(folder), lines, max_chars=8 if small else 2_000_000)


@FUZZ
@given(data=st.binary(max_size=200), suffix=st.sampled_from([".txt", ".md", ".jsonl", ".csv"]))
def test_random_bytes_in_any_format_never_raise(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"random{suffix}"
        path.write_bytes(data)
        items = list(read_documents([path]))
        for item in items:
            located(item, path)
        check_documents(items)
        if b"\x00" in data and suffix in (".txt", ".md"):
            [failure] = items
            assert isinstance(failure, LoadFailure) and failure.reason.startswith("binary")


@FUZZ
@given(shape=csv_shapes)
def test_csv_rows_are_each_a_document_or_a_located_failure(
    shape: tuple[list[str], list[list[str]], set[int]],
) -> None:
    header, rows, corrupt = shape
    with tempfile.TemporaryDirectory() as folder:
        check_csv(Path(folder), header, rows, corrupt)


@settings(FUZZ, max_examples=max(10, EXAMPLES // 2))
@given(entries=trees)
def test_file_trees_write_every_good_file_and_report_every_bad_one(entries: list[Entry]) -> None:
    with workspace() as (folder, config):
        assert check_tree(folder, config, entries) == 0


@settings(FUZZ, max_examples=max(10, EXAMPLES // 2))
@given(lines=jsonl_lines)
def test_ingest_writes_exactly_the_good_lines(lines: list[tuple[str, Any]]) -> None:
    with workspace() as (folder, config):
        assert check_ingest_jsonl(folder, config, lines) == 0


@pytest.mark.real
@settings(FUZZ, max_examples=8)
@given(entries=trees, lines=jsonl_lines)
def test_real_ingest_into_ladybug_with_the_real_index(
    entries: list[Entry], lines: list[tuple[str, Any]]
) -> None:
    """The real path: LadybugDB, the MiniLM document index, the real readers and driver."""
    with workspace("ladybug", real_index=True) as (folder, config):
        build_tree(folder, entries)
        path = folder / "lines.jsonl"
        path.write_bytes(b"\n".join(json.dumps(v).encode() for k, v in lines if k == "json"))
        report = ingest([folder], config, pipeline=fake_pipeline(config))
        assert check_written(folder, config, report) == 0
