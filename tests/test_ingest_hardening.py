"""Issue 12, items 4-9: one bad item costs only itself, ids are unique and stable, user data is
printed as text, long documents stream through the tools chunk window by chunk window."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from fake_embedding import fake_embed
from rich.console import Console
from spacy.tokens import Doc
from test_ingest import FakeLinker, FakeNER, FakeSentiment
from typer.testing import CliRunner

from distill.config import Config, load_config
from distill.graph import open_store
from distill.ingest import index as index_module
from distill.ingest import pipeline as pipeline_module
from distill.ingest.pipeline import IngestReport, Pipeline, batched, ingest
from distill.ingest.readers import LoadFailure, SourceDocument, read_documents
from distill.plugins import make_task


@pytest.fixture(autouse=True)
def _fast_index(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_module, "default_embedder", fake_embed)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load_config(
        None,
        overrides=[
            "graph.store=networkx",
            f"graph.path={tmp_path / 'graph'}",
            f"index.path={tmp_path / 'index'}",
        ],
        environ={},
    ).config


def fake_pipeline(config: Config, **options: int) -> Pipeline:
    backends = {
        "ner": FakeNER(make_task("ner")),
        "linker": FakeLinker(make_task("linker")),
        "sentiment": FakeSentiment(make_task("sentiment")),
    }
    return Pipeline(config, backends=backends, **options)


def split(items: list) -> tuple[dict[str, SourceDocument], dict[str, LoadFailure]]:
    docs = {d.source: d for d in items if isinstance(d, SourceDocument)}
    failures = {f.source: f for f in items if isinstance(f, LoadFailure)}
    return docs, failures


def assert_stored(config: Config, expected: set[str]) -> None:
    """The graph holds exactly the documents `expected`."""
    with open_store(config.graph, read_only=True) as store:
        assert store.stats().nodes.get("Document", 0) == len(expected)
        assert all(store.has_document(doc_id) for doc_id in expected)


def document_ids(path: Path) -> set[str]:
    return {d.id for d in read_documents([path]) if isinstance(d, SourceDocument)}


# item 4: one bad item costs only itself, with file and line


def test_bad_jsonl_lines_and_csv_rows_fail_alone(tmp_path: Path) -> None:
    lines = tmp_path / "reviews.jsonl"
    lines.write_text(
        '{"id": "ok1", "text": "fine"}\n'
        '{"id": "sur", "text": "x \\ud800"}\n'  # a lone surrogate: no UTF-8 can hold it
        '{"id": "ok2", "text": "also fine"}\n'
    )
    table = tmp_path / "tickets.csv"
    table.write_text('id,text\nc1,good\nc2,too,many,fields\nc3,"multi\nline"\n')
    docs, failures = split(list(read_documents([lines, table])))
    assert sorted(d.id for d in docs.values()) == ["c1", "c3", "ok1", "ok2"]
    surrogate = failures[f"{lines}:2"].reason
    assert "lone surrogate" in surrogate and "'text'" in surrogate
    assert failures[f"{table}:3"].reason == "row has 4 fields, the header has 2"
    assert docs[f"{table}:4"].text == "multi\nline"  # a quoted newline is one row


def test_odd_files_in_a_folder_are_reported_and_never_opened(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("The Orion 5 is lovely.")
    (tmp_path / "folder.txt").mkdir()
    (tmp_path / "folder.txt" / "inside.md").write_text("A folder named like a file is a folder.")
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    (tmp_path / "loop.txt").symlink_to(tmp_path / "loop.txt")
    os.mkfifo(tmp_path / "pipe.txt")  # opening it would block forever
    (tmp_path / "random.txt").write_bytes(b"\x8f\x00\x13binary\x00\xff")
    docs, failures = split(list(read_documents([tmp_path])))
    assert sorted(d.id for d in docs.values()) == ["folder.txt/inside.md", "good.txt"]
    reasons = {Path(source).name: f.reason for source, f in failures.items()}
    assert reasons["dangling.txt"].startswith("dangling symlink")
    assert reasons["loop.txt"] == "symlink loop; skipped"
    assert reasons["pipe.txt"] == "not a regular file (a FIFO); skipped"
    assert reasons["random.txt"].startswith("binary, not text")


def test_a_looping_symlink_given_by_name_is_a_loop_not_a_missing_file(tmp_path: Path) -> None:
    loop = tmp_path / "loop.txt"
    loop.symlink_to(loop)
    [failure] = read_documents([loop])
    assert isinstance(failure, LoadFailure) and failure.reason == "symlink loop; skipped"


def test_one_bad_item_never_costs_the_good_documents(tmp_path: Path, config: Config) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jsonl").write_text(
        '{"id": "r1", "text": "The Nebula X2 has a bad battery."}\n'
        '{"id": "r2", "text": "x \\ud800 Orion 5"}\n'
        '{"id": "r3", "text": "Orion 5 is lovely."}\n'
    )
    (folder / "b.csv").write_text("id,text\nc1,Orion 5 rocks\nc2,a,b,c\n")
    (folder / "dir.txt").mkdir()
    (folder / "loop.txt").symlink_to(folder / "loop.txt")
    os.mkfifo(folder / "fifo.txt")
    report = ingest([folder], config, pipeline=fake_pipeline(config))
    assert report.written == 3
    assert_stored(config, {"r1", "r3", "c1"})
    located = {Path(f.source).name for f in report.failures}
    assert located == {"a.jsonl:2", "b.csv:3", "loop.txt", "fifo.txt"}
    assert all(f.stage == "read" for f in report.failures)


# item 5: ids are unique; a duplicate is an error for its line


def test_same_named_files_in_different_folders_keep_their_own_ids(
    tmp_path: Path, config: Config
) -> None:
    folder = tmp_path / "notes"
    for relative in ("a.txt", "sub/a.txt", "other/a.md"):
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(f"Orion 5, written in {relative}.")
    report = ingest([folder], config, pipeline=fake_pipeline(config))
    assert report.ok and report.written == 3
    assert_stored(config, {"a.txt", "sub/a.txt", "other/a.md"})


def test_a_duplicate_id_is_reported_and_the_first_kept(tmp_path: Path, config: Config) -> None:
    path = tmp_path / "reviews.jsonl"
    path.write_text(
        '{"id": "r1", "text": "The first Orion 5 review."}\n'
        '{"id": "r1", "text": "A different review, same id."}\n'
    )
    report = ingest([path], config, pipeline=fake_pipeline(config))
    assert report.written == 1
    [failure] = report.failures
    assert failure.source == f"{path}:2" and failure.doc_id == "r1"
    assert f"duplicate id 'r1', first used at {path}:1" in failure.reason
    with open_store(config.graph, read_only=True) as store:
        assert store.document("r1")["source"] == f"{path}:1"


# item 6: id-less JSONL is idempotent


def test_id_less_lines_are_not_duplicated_when_a_line_is_inserted(
    tmp_path: Path, config: Config
) -> None:
    path = tmp_path / "reviews.jsonl"
    rows = [{"text": "The Nebula X2 has a bad battery."}, {"text": "Orion 5 is lovely."}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    pipeline = fake_pipeline(config)
    first = ingest([path], config, pipeline=pipeline)
    assert first.ok and first.written == 2
    before = document_ids(path)
    assert_stored(config, before)
    path.write_text("\n" + json.dumps({"text": "A new Orion 5 review."}) + "\n" + path.read_text())
    again = ingest([path], config, pipeline=pipeline, resume=True)
    assert again.ok and again.written == 1 and again.skipped == 2
    after = document_ids(path)
    assert_stored(config, after)
    assert before < after and len(after) == 3
    assert all(doc_id.startswith("reviews.jsonl#") for doc_id in after)


def test_the_same_text_twice_without_ids_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "reviews.jsonl"
    path.write_text('{"text": "same"}\n{"text": "same"}\n')
    [doc, failure] = read_documents([path])
    assert isinstance(failure, LoadFailure) and failure.doc_id == doc.id
    assert "the same text twice" in failure.reason


# item 9: the smaller ones


def test_id_zero_is_kept_and_null_text_is_not_missing(tmp_path: Path) -> None:
    path = tmp_path / "reviews.jsonl"
    path.write_text(
        '{"id": 0, "text": "zero"}\n{"id": "n", "text": null}\n{"id": "m"}\n'
        '{"id": [1], "text": "list id"}\n{"id": false, "text": "bool id"}\n'
    )
    [zero, *failures] = read_documents([path])
    assert isinstance(zero, SourceDocument) and zero.id == "0"
    reasons = [f.reason for f in failures]
    assert reasons == [
        "field 'text' is null",
        "field 'text' is missing",
        "field 'id' is an array; use a string or a number",
        "field 'id' is a boolean; use a string or a number",
    ]


@pytest.mark.parametrize("name", ["empty.jsonl", "empty.txt", "empty.csv", "blank.jsonl"])
def test_empty_files_of_every_format_fail_the_same_way(
    tmp_path: Path, config: Config, name: str
) -> None:
    path = tmp_path / name
    path.write_text("\n\n" if name.startswith("blank") else "")
    [failure] = read_documents([path])
    assert isinstance(failure, LoadFailure) and failure.reason == "empty file"
    report = ingest([path], config, pipeline=fake_pipeline(config))
    assert not report.ok and report.written == 0  # so `distill ingest` exits 1 for each


def test_an_empty_folder_says_so(tmp_path: Path) -> None:
    [failure] = read_documents([tmp_path])
    assert isinstance(failure, LoadFailure) and "no .csv, .jsonl, .markdown, .md, .txt" in (
        failure.reason
    )


def test_nul_characters_are_binary_not_text(tmp_path: Path) -> None:
    path = tmp_path / "reviews.jsonl"
    path.write_text('{"id": "j", "text": "a\\u0000b"}\n')
    [failure] = read_documents([path])
    assert isinstance(failure, LoadFailure) and failure.reason.startswith("binary, not text")


# item 7: user data printed as text, never markup


def test_ids_and_reasons_that_look_like_markup_are_printed_verbatim() -> None:
    report = IngestReport(documents=2)
    report.failures.append(
        pipeline_module.Failure(
            source="x.jsonl:1", doc_id="[/bold]", stage="read", reason="field [e1] is [red]bad"
        )
    )
    out, err = io.StringIO(), io.StringIO()
    from distill.cli.ingest_cmd import print_report

    print_report(report, Console(file=out, width=200), Console(file=err, width=200))
    assert "failed x.jsonl:1 [[/bold]] at read: field [e1] is [red]bad" in err.getvalue()


def test_the_ingest_command_prints_markup_like_ids_and_exits_1(
    tmp_path: Path, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distill.cli import app

    path = tmp_path / "reviews.jsonl"
    path.write_text(
        '{"id": "[e1]", "text": "Orion 5 is lovely."}\n'
        '{"id": "[/bold]", "text": "Orion 5 EXPLODE"}\n'
    )
    monkeypatch.setattr(pipeline_module, "Pipeline", lambda _config: fake_pipeline(config))
    result = CliRunner().invoke(
        app,
        [
            "--set",
            "graph.store=networkx",
            "--set",
            f"graph.path={tmp_path / 'graph'}",
            "--set",
            f"index.path={tmp_path / 'index'}",
            "ingest",
            str(path),
        ],
    )
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "[/bold]] at sentiment: RuntimeError: sentiment model crashed" in result.output
    assert_stored(config, {"[e1]"})


# item 8: long documents stream through the tools in bounded windows


def record_sizes(pipeline: Pipeline) -> list[int]:
    """Characters each tool's predict call is given, in call order."""
    seen: list[int] = []
    for backend in pipeline.backends.values():

        def predict(docs: list[Doc], inner=backend.predict) -> list[Doc]:  # type: ignore[no-untyped-def]
            seen.append(sum(len(doc.text) for doc in docs))
            return inner(docs)

        backend.predict = predict  # type: ignore[method-assign]
    return seen


def test_a_long_document_goes_through_the_tools_window_by_window(
    tmp_path: Path, config: Config
) -> None:
    sentence = (
        "Some filler about nothing much. The Orion 5 arrived. The Nebula X2 has a bad battery. "
    )
    text = sentence * 400  # ~34,000 characters
    path = tmp_path / "long.jsonl"
    path.write_text(
        json.dumps({"id": "short", "text": "Orion 5 is lovely."})
        + "\n"
        + json.dumps({"id": "long", "text": text})
        + "\n"
    )
    windowed = fake_pipeline(config, max_chars=600, overlap=100, window_chars=3000)
    whole = fake_pipeline(config, max_chars=600, overlap=100, window_chars=10**9)
    seen = record_sizes(windowed)
    streamed = ingest([path], config, pipeline=windowed, dry_run=True)
    assert max(seen) <= 3000 + 600 and len(seen) > 30
    at_once = ingest([path], config, pipeline=whole, dry_run=True)
    assert streamed.planned == at_once.planned  # windows change memory, never results
    plan = next(p for p in streamed.planned if p["document"] == "long")
    assert len(plan["mentions"]) == text.count("Orion 5") + text.count("Nebula X2") == 800


def test_a_document_failing_in_a_later_window_fails_once_and_alone(
    tmp_path: Path, config: Config
) -> None:
    text = "The Orion 5 arrived. " * 300 + "EXPLODE " + "The Orion 5 arrived. " * 10
    path = tmp_path / "long.jsonl"
    path.write_text(
        json.dumps({"id": "long", "text": text}) + "\n" + '{"id": "ok", "text": "Orion 5."}\n'
    )
    pipeline = fake_pipeline(config, max_chars=600, overlap=100, window_chars=2000)
    report = ingest([path], config, pipeline=pipeline)
    assert report.written == 1
    assert_stored(config, {"ok"})
    assert [(f.doc_id, f.stage) for f in report.failures] == [("long", "sentiment")]


def test_batches_end_at_a_character_budget() -> None:
    docs = [
        SourceDocument(id=str(i), text="x" * size, source="s")
        for i, size in enumerate([10, 10, 50, 200, 10])
    ]
    sizes = [[len(d.text) for d in batch] for batch in batched(docs, size=3, max_chars=100)]
    assert sizes == [[10, 10, 50], [200], [10]]


def test_documents_are_read_as_the_batches_need_them(
    tmp_path: Path, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "many.jsonl"
    path.write_text(
        "".join(json.dumps({"id": f"r{i}", "text": "Orion 5."}) + "\n" for i in range(10))
    )
    pipeline = fake_pipeline(config)
    read_before_batch: list[int] = []
    run = pipeline.run_batch

    def spy(batch: list[SourceDocument]):  # type: ignore[no-untyped-def]
        read_before_batch.append(int(batch[-1].id[1:]))
        return run(batch)

    monkeypatch.setattr(pipeline, "run_batch", spy)
    report = ingest([path], config, pipeline=pipeline, batch_size=3)
    assert report.written == 10 and read_before_batch == [2, 5, 8, 9]


def test_a_missing_path_fails_before_anything_is_loaded(config: Config, tmp_path: Path) -> None:
    from distill.errors import DistillError

    with pytest.raises(DistillError, match="no such file or folder"):
        ingest([tmp_path / "nope.jsonl"], config)  # no pipeline given: models would load
    assert not (tmp_path / "graph").exists()
