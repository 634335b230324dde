"""`distill train` / `distill evaluate` end to end on fixtures (registered on a local app)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from distill.cli import evaluate_cmd, train_cmd
from distill.cli.state import State

FIXTURES = Path(__file__).parent / "fixtures"
KEYS = {
    "task", "backend", "model", "n", "precision", "recall", "f1", "accuracy", "macro_f1",
    "words_per_second", "seconds", "model_size_mb", "llm_calls", "caution",
}  # fmt: skip


def make_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _options(ctx: typer.Context) -> None:
        ctx.obj = State()

    app.command("train")(train_cmd.train)
    app.command("evaluate")(evaluate_cmd.evaluate)
    return app


def test_malformed_data_is_one_clear_error() -> None:
    result = CliRunner().invoke(
        make_app(),
        ["evaluate", "ner", "--data", str(FIXTURES / "malformed.conll"), "--format", "conll"],
    )
    assert result.exit_code != 0
    assert "malformed.conll:3" in str(result.exception)


@pytest.mark.real
def test_train_then_evaluate_prints_exactly_one_json_object(tmp_path: Path) -> None:
    app, runner = make_app(), CliRunner()
    data = str(FIXTURES / "iob2.conll")
    trained = runner.invoke(
        app,
        ["train", "ner", "--data", data, "--dev", data, "--format", "conll",
         "--out", str(tmp_path), "--set", "max_epochs=3"],
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    card = json.loads((tmp_path / "distill-model.json").read_text())
    assert card["task"] == "ner" and card["labels"] == ["LOC", "MISC", "ORG", "PER"]
    result = runner.invoke(
        app,
        ["evaluate", "ner", "--data", data, "--format", "conll", "--backend", "trained",
         "--model", str(tmp_path), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)
    assert set(row) == KEYS
    assert row["backend"] == "trained" and row["n"] == 3 and row["llm_calls"] == 0
    assert "in-sample" in row["caution"]  # trained (and early-stopped) on this very file
