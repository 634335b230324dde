"""The review store: durable one-by-one decisions, undo, progress, export; the terminal review."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from distill.corpora import read_corpus
from distill.workflow.review import Decision, ReviewError, ReviewStore

LABELS = ["DISH", "INGREDIENT"]


def suggestion(i: int, text: str, spans: list[tuple[int, int, str]]) -> dict:
    return {
        "text": text,
        "spans": [{"start": s, "end": e, "label": label} for s, e, label in spans],
        "answer": "accept",
        "meta": {"id": f"item-{i}", "labels": LABELS, "confidence": 0.7},
    }


SUGGESTIONS = [
    suggestion(0, "Lasagna needs ricotta.", [(0, 7, "DISH"), (14, 21, "DISH")]),
    suggestion(1, "Fry the eggs.", [(8, 12, "INGREDIENT")]),
    suggestion(2, "Nothing here.", []),
    suggestion(3, "Pho with basil.", [(0, 3, "DISH")]),
]


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_decide_undo_progress_export(tmp_path: Path) -> None:
    with ReviewStore(tmp_path / "r.sqlite", "ner") as store:
        assert store.add(SUGGESTIONS) == 4 and store.add(SUGGESTIONS) == 0  # idempotent
        first = store.next()
        assert first is not None and first.id == "item-0" and first.labels == LABELS
        store.decide(
            "item-0",
            Decision(action="edit", spans=[{"start": 14, "end": 21, "label": "INGREDIENT"},
                                           {"start": 0, "end": 7, "label": "DISH"}], who="ana"),
        )  # fmt: skip
        store.decide("item-1", Decision(action="accept", who="ana"))
        store.decide("item-2", Decision(action="reject", who="ana"))
        assert store.next().id == "item-3"
        undone = store.undo()
        assert undone is not None and undone.item_id == "item-2" and undone.undone_at
        assert store.next().id == "item-2"  # back in the queue
        store.decide("item-2", Decision(action="ignore", who="bo"))
        progress = store.progress()
        assert (progress.total, progress.decided, progress.remaining) == (4, 3, 1)
        assert (progress.accepted, progress.edited, progress.ignored) == (1, 1, 1)
        assert [d.action for d in store.history("item-2")] == ["reject", "ignore"]
        report = store.export(tmp_path / "reviewed.jsonl")
    assert (report.written, report.accepted, report.edited) == (2, 1, 1)
    rows = [json.loads(line) for line in (tmp_path / "reviewed.jsonl").read_text().splitlines()]
    assert [r["meta"]["id"] for r in rows] == ["item-0", "item-1"]
    assert (
        rows[0]["meta"]["review"]["decision"] == "edit" and rows[0]["meta"]["review"]["by"] == "ana"
    )
    docs = read_corpus(tmp_path / "reviewed.jsonl", "prodigy", "ner")
    assert [(e.text, e.label_) for e in docs[0].ents] == [
        ("Lasagna", "DISH"),
        ("ricotta", "INGREDIENT"),
    ]


def test_bad_edits_are_refused(tmp_path: Path) -> None:
    with ReviewStore(tmp_path / "r.sqlite", "ner") as store:
        store.add(SUGGESTIONS)
        with pytest.raises(ReviewError, match="outside the text"):
            store.decide(
                "item-1", Decision(action="edit", spans=[{"start": 5, "end": 99, "label": "DISH"}])
            )
        with pytest.raises(ReviewError, match="not one of"):
            store.decide(
                "item-1", Decision(action="edit", spans=[{"start": 8, "end": 12, "label": "DSH"}])
            )
        with pytest.raises(ReviewError, match="no ner item"):
            store.decide("item-9", Decision(action="accept"))
        with pytest.raises(ValueError, match="corrected spans"):
            Decision(action="edit")
        assert store.progress().decided == 0


KILLED = """
import os, sys
from distill.workflow.review import Decision, ReviewStore
store = ReviewStore(sys.argv[1], "ner")
store.decide("item-1", Decision(action="accept", who="ana"))
os.kill(os.getpid(), 9)  # killed: no close, no cleanup
"""


def test_a_killed_process_loses_nothing_decided(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    with ReviewStore(path, "ner") as store:
        store.add(SUGGESTIONS)
    done = subprocess.run([sys.executable, "-c", KILLED, str(path)], timeout=120)
    assert done.returncode == -9
    with ReviewStore(path, "ner") as store:
        assert store.progress().accepted == 1
        assert store.history("item-1")[0].who == "ana"


def make_app() -> typer.Typer:
    from distill.cli import review_cmd

    app = typer.Typer()
    app.add_typer(review_cmd.app, name="review")

    @app.callback()
    def _options() -> None: ...

    return app


def test_terminal_review_keys_and_export(tmp_path: Path) -> None:
    data = write(tmp_path / "s.jsonl", SUGGESTIONS)
    db = str(tmp_path / "r.sqlite")
    runner = CliRunner()
    # accept · reject · undo (the reject) · accept · skip · edit (a typed line); then done
    keys = "axua " + "e" + "pho=DISH; basil=INGREDIENT\n"
    result = runner.invoke(
        make_app(), ["review", "ner", str(data), "--db", db, "--who", "ana"], input=keys
    )
    assert result.exit_code == 0, result.output
    assert "undone: reject of item-1" in result.output
    assert "reviewed 4/4: 2 accepted, 1 edited, 0 rejected, 1 skipped" in result.output
    out = tmp_path / "reviewed.jsonl"
    exported = runner.invoke(make_app(), ["review", "export", "--out", str(out), "--db", db])
    assert exported.exit_code == 0, exported.output
    assert "3 reviewed ner items" in exported.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["meta"]["review"]["decision"] for r in rows] == ["accept", "accept", "edit"]
    assert [(s["start"], s["end"], s["label"]) for s in rows[2]["spans"]] == [
        (0, 3, "DISH"),
        (9, 14, "INGREDIENT"),
    ]
    progress = runner.invoke(make_app(), ["review", "progress", "--db", db, "--json"])
    assert json.loads(progress.stdout)["remaining"] == 0
