"""The command line: help that teaches, tools listing, config sources, clean errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from distill.cli import app

runner = CliRunner()


def distill(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real console script, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "distill.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_help_teaches_the_first_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for text in ("distill tools", "distill config show", "distill llm ping", "--backend"):
        assert text in result.output


def test_help_prose_wraps_at_the_terminal_width_and_examples_keep_their_lines() -> None:
    """A docstring's line breaks would wrap raggedly on an 80-column terminal: prose
    paragraphs are reflowed to one line each, example and list paragraphs are kept."""
    from distill.cli import reflow

    text = """Summary line.

    A long paragraph that was
    broken for the source file.

    Examples:
      distill ingest a.jsonl
      distill ingest b.csv

    - one item
    - another item
    """
    assert reflow(text) == (
        "Summary line.\n\nA long paragraph that was broken for the source file.\n\n"
        "Examples:\n  distill ingest a.jsonl\n  distill ingest b.csv\n\n"
        "- one item\n- another item"
    )
    result = runner.invoke(app, ["ingest", "--help"], terminal_width=80)
    assert result.exit_code == 0
    lines = [line.strip() for line in result.output.splitlines()]
    # the prose reads as one wrapped paragraph: no line of it ends after a word or two
    at = lines.index(next(line for line in lines if line.startswith("Each document")))
    assert all(len(line) > 60 for line in lines[at : at + 3]), lines[at : at + 4]
    assert "distill ingest big.jsonl --workers 2" in lines


def test_tools_lists_builtin_tasks_and_the_example_plugin(tmp_path: Path) -> None:
    result = distill("tools", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for name in ("ner", "linker", "sentiment", "factcheck", "prices", "distill-prices", "local"):
        assert name in result.stdout


def test_tools_shows_the_backend_flag(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--backend", "prices=rules", "tools"])
    assert result.exit_code == 0
    assert "rules (active)" in result.output


def test_config_show_names_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "distill.toml").write_text('[llm]\nprovider = "ollama"\n')
    monkeypatch.setenv("DISTILL_LLM__TEMPERATURE", "0.3")
    result = runner.invoke(app, ["--set", "llm.max_tokens=99", "config", "show", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["llm.provider"] == {"value": "ollama", "source": "distill.toml"}
    assert shown["llm.temperature"] == {"value": 0.3, "source": "env DISTILL_LLM__TEMPERATURE"}
    assert shown["llm.max_tokens"]["source"] == "--set llm.max_tokens=99"
    assert shown["llm.n_ctx"]["source"] == "default"


def test_bad_config_is_one_line_of_help_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "distill.toml").write_text('[llm]\nprovidr = "local"\n')
    result = distill("config", "show", cwd=tmp_path)
    assert result.returncode == 1
    assert "did you mean 'provider'" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_provider_in_ping_is_a_clear_error(tmp_path: Path) -> None:
    result = distill("--set", "llm.provider=olama", "llm", "ping", cwd=tmp_path)
    assert result.returncode == 1
    assert "unknown LLM provider 'olama'. Did you mean 'ollama'" in result.stderr
    assert "Traceback" not in result.stderr
