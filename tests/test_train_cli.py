"""`distill train` / `evaluate --compare` / `use`: checked settings, detected formats, skipped
bad lines, the teacher-vs-student table and learning curve, and the one config line."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import typer
from loop_fakes import EmptyChat, provider
from typer.testing import CliRunner

from distill.cli import evaluate_cmd, train_cmd, use_cmd
from distill.cli.state import State
from distill.errors import ConfigError
from distill.registry import register_llm_provider
from distill.workflow.train import detect_format, read_data, training_settings

FIXTURES = Path(__file__).parent / "fixtures"
register_llm_provider("fake-student-teacher")(provider(EmptyChat()))


def make_app(*overrides: str) -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _options(ctx: typer.Context) -> None:
        ctx.obj = State(overrides=list(overrides))

    app.command("train", cls=train_cmd.TrainCommand)(train_cmd.train)
    app.command("evaluate")(evaluate_cmd.evaluate)
    app.command("use")(use_cmd.use)
    return app


# ---------------------------------------------------------------- train: settings, formats, help


def test_misspelt_setting_is_an_error_with_a_suggestion() -> None:
    with pytest.raises(ConfigError, match=r"'max_minute'.*did you mean 'max_minutes'"):
        training_settings("ner", {"max_minute": 5})
    with pytest.raises(ConfigError, match="max_epochs"):
        training_settings("ner", {"max_epochs": "many"})
    assert training_settings("ner", {"max_minutes": 5}).max_minutes == 5
    result = CliRunner().invoke(
        make_app(),
        ["train", "ner", "--data", str(FIXTURES / "iob2.conll"), "--out", "/nowhere",
         "--set", "max_minute=5"],
    )  # fmt: skip
    assert result.exit_code != 0 and "did you mean 'max_minutes'" in str(result.exception)


def test_help_lists_every_trainable_task_format_and_setting() -> None:
    result = CliRunner().invoke(make_app(), ["train", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for text in ("linker", "linking", "ditto", "ner", "conll", "prodigy", "sentiment",
                 "semeval16", "max_minutes=", "patience="):  # fmt: skip
        assert text in result.output, text


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("iob2.conll", "conll"),
        ("cooking.jsonl", "prodigy"),
        ("laptops14.xml", "semeval14"),
        ("laptops16.xml", "semeval16"),
        ("linker_mentions.jsonl", "linking"),
        ("linker_pairs.txt", "ditto"),
        ("factcheck_halueval_qa.jsonl", "halueval"),
        ("huliu_sample.txt", "huliu"),
    ],
)
def test_format_is_detected(name: str, expected: str) -> None:
    from distill.corpora import READERS

    if expected not in READERS or not (FIXTURES / name).exists():
        pytest.skip(f"no {expected} reader here")
    assert detect_format(FIXTURES / name) == expected


def test_distill_jsonl_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "labelled.jsonl"
    path.write_text(json.dumps({"id": "r1", "text": "ok", "entities": [], "opinions": []}) + "\n")
    assert detect_format(path) == "distill"


def reviewed(tmp_path: Path, n: int = 24) -> Path:
    """Reviewed suggestions: n good lines, then a span outside its text and an unknown label."""
    rows = []
    for i in range(n):
        text = f"I cooked pasta with garlic in pan number {i}."
        rows.append({
            "text": text, "answer": "accept",
            "spans": [{"start": 9, "end": 14, "label": "DISH"},
                      {"start": 20, "end": 26, "label": "INGREDIENT"}],
            "meta": {"id": f"r{i}", "labels": ["DISH", "INGREDIENT"],
                     "review": {"decision": "accept"}},
        })  # fmt: skip
    rows.append({"text": "Too short.", "spans": [{"start": 4, "end": 40, "label": "DISH"}]})
    rows.append({"text": "Soup again.", "spans": [{"start": 0, "end": 4, "label": "DSIH"}],
                 "meta": {"labels": ["DISH", "INGREDIENT"]}})  # fmt: skip
    rows.append({"text": "Rejected.", "spans": [], "answer": "reject"})
    path = tmp_path / "reviewed.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_bad_lines_are_reported_and_skipped(tmp_path: Path) -> None:
    data = read_data(reviewed(tmp_path), "ner")
    assert data.format == "prodigy" and len(data.docs) == 24
    assert len(data.skipped) == 2
    assert "reviewed.jsonl:25: skipped: span [4, 40) is outside the text" in data.skipped[0]
    assert "reviewed.jsonl:26: skipped: span label 'DSIH'" in data.skipped[1]
    narrowed = read_data(reviewed(tmp_path), "ner", labels=["DISH"])
    assert narrowed.docs == [] and "'INGREDIENT' is not one of ['DISH']" in narrowed.skipped[2]


# ---------------------------------------------------------------- use: the one config line


@pytest.fixture(params=["tomlkit", "line edit"])
def editor(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "line edit":
        monkeypatch.setattr(use_cmd, "_with_tomlkit", lambda *args: None)
    else:
        pytest.importorskip("tomlkit")
    return request.param


def test_use_writes_the_one_line(tmp_path: Path, editor: str) -> None:
    path = tmp_path / "distill.toml"
    use_cmd.write_task_settings(path, "ner", {"backend": "prompt"})
    assert tomllib.loads(path.read_text()) == {"tasks": {"ner": {"backend": "prompt"}}}
    path.write_text(
        '# my settings\n[llm]\nprovider = "local"  # keep me\n\n'
        '[tasks.ner]\nbackend = "prompt"\nlabels = ["DISH"]\n\n[graph]\nstore = "networkx"\n'
    )
    use_cmd.write_task_settings(path, "ner", {"backend": "trained", "model": "models/ner"})
    use_cmd.write_task_settings(path, "sentiment", {"backend": "prompt"})
    text = path.read_text()
    assert "# my settings" in text and "# keep me" in text
    assert tomllib.loads(text) == {
        "llm": {"provider": "local"},
        "tasks": {
            "ner": {"backend": "trained", "labels": ["DISH"], "model": "models/ner"},
            "sentiment": {"backend": "prompt"},
        },
        "graph": {"store": "networkx"},
    }


def test_use_refuses_what_it_cannot_edit_safely(tmp_path: Path) -> None:
    path = tmp_path / "distill.toml"
    path.write_text('tasks = { ner = { backend = "prompt" } }\n')
    before = path.read_text()
    with pytest.raises(ConfigError):
        use_cmd._with_line_edit(path, before, "ner", {"backend": "trained"})
    path.write_text("[llm\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        use_cmd.write_task_settings(path, "ner", {"backend": "trained"})


def test_use_checks_the_backend_and_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(make_app(), ["use", "ner", "magic"])
    assert result.exit_code != 0 and "no backend 'magic'" in str(result.exception)
    result = runner.invoke(make_app(), ["use", "ner", "trained", "--model", str(tmp_path)])
    assert result.exit_code != 0 and "not a distill model directory" in str(result.exception)
    assert not (tmp_path / "distill.toml").exists()
    result = runner.invoke(make_app(), ["use", "ner", "prompt"])
    assert result.exit_code == 0, result.output
    assert 'backend = "prompt"' in (tmp_path / "distill.toml").read_text()


# ---------------------------------------------------------------- real training and comparison


@pytest.mark.real
def test_reviewed_file_trains_compares_and_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app, runner = make_app("llm.provider=fake-student-teacher", "llm.cache=false"), CliRunner()
    data, model = reviewed(tmp_path), tmp_path / "models" / "ner"
    trained = runner.invoke(
        app, ["train", "ner", "--data", str(data), "--out", str(model), "--set", "max_epochs=2"]
    )
    assert trained.exit_code == 0, trained.output
    assert "reviewed.jsonl:25" in trained.output and "prodigy" in trained.output
    card = json.loads((model / "distill-model.json").read_text())
    assert card["labels"] == ["DISH", "INGREDIENT"] and card["train_data"]["skipped"] == 2

    result = runner.invoke(
        app,
        ["evaluate", "ner", "--data", str(data), "--compare", "prompt,trained", "--model",
         str(model), "--limit", "6", "--curve", str(data), "--curve-points", "2",
         "--curve-out", str(tmp_path / "curve.png"), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    comparison = json.loads(result.stdout.strip().splitlines()[-1])
    rows = {row["backend"]: row for row in comparison["rows"]}
    assert set(rows) == {"prompt", "trained"} and comparison["docs"] == 6
    assert rows["prompt"]["f1"] == 0.0  # the fake teacher finds nothing
    assert rows["trained"]["cost_per_1k_docs"] >= 0 and rows["trained"]["cpu_seconds"] >= 0
    assert "CPU-hour" in rows["trained"]["cost_basis"]
    assert "trained vs prompt" in comparison["agreement"]
    assert Path(comparison["curve"]).stat().st_size > 1000
    # the student trained on this very file: the figures are in-sample, and it says so
    assert "in-sample" in rows["trained"]["caution"] and rows["prompt"]["caution"] is None

    held_out = runner.invoke(
        app, ["evaluate", "ner", "--data", str(data), "--model", str(model), "--split", "dev",
              "--json"],
    )  # fmt: skip
    assert held_out.exit_code == 0, held_out.output
    assert json.loads(held_out.stdout.strip().splitlines()[-1])["caution"] is None

    table = runner.invoke(
        app, ["evaluate", "ner", "--data", str(data), "--compare", "prompt,trained",
              "--model", str(model), "--limit", "3"],
    )  # fmt: skip
    assert table.exit_code == 0, table.output
    assert "$ per 1,000 docs" in table.output and "agreement" in table.output
    assert "note: this ner model trained on reviewed.jsonl" in " ".join(table.output.split())

    used = runner.invoke(app, ["use", "ner", "trained", "--model", "models/ner"])
    assert used.exit_code == 0, used.output
    settings = tomllib.loads((tmp_path / "distill.toml").read_text())
    assert settings["tasks"]["ner"] == {"backend": "trained", "model": "models/ner"}


@pytest.mark.real
def test_term_polarity_evaluation_reports_macro_f1_beside_accuracy() -> None:
    """SemEval-2014 style terms with the shipped sentiment model: accuracy alone hides the
    neutral class, so macro-F1 is in the JSON and in the table."""
    app, runner = make_app(), CliRunner()
    args = ["evaluate", "sentiment", "--data", str(FIXTURES / "laptops14.xml")]
    result = runner.invoke(app, [*args, "--format", "semeval14", "--json"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout.strip().splitlines()[-1])
    assert row["n"] == 3 and 0.0 <= row["macro_f1"] <= 1.0 and 0.0 <= row["accuracy"] <= 1.0
    table = runner.invoke(app, [*args, "--format", "semeval14"], env={"COLUMNS": "120"})
    assert table.exit_code == 0 and "macro_f1" in table.output
