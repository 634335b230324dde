"""The Cypher attack suite (issue 12): every hostile query in `distill.graph.attacks`,
against every store and through the agent's query tool with a scripted model.

Invariants, checked after each query: refused with a clear error or a harmless read; no
file outside the graph read into the output or written; the attack library's constructor
never runs and the library is never mapped; the graph's fingerprint is unchanged. One
store per kind for the whole module keeps it fast.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from distill.agent.cypher import generate_and_run
from distill.agent.router import ProductResolver
from distill.agent.tools import Toolbox
from distill.cli.graph_cmd import app
from distill.cli.state import State
from distill.errors import DistillError
from distill.graph.attacks import (
    ATTACKS,
    ISSUE,
    READS,
    TARGETS,
    Attack,
    AttackWorld,
    ScriptedCypherModel,
    check,
    fingerprint,
    open_target,
    run_on_store,
)
from distill.graph.guard import QueryRefused
from distill.graph.store import GraphStore


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> AttackWorld:
    return AttackWorld(tmp_path_factory.mktemp("attack-world"))


@pytest.fixture(
    scope="module",
    params=[
        *(kind for kind in TARGETS if kind != "falkordb"),
        pytest.param("falkordb", marks=pytest.mark.real),
    ],
)
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[GraphStore, str]]:
    """(store, fingerprint before any attack), one per kind for the whole module."""
    with contextlib.ExitStack() as stack:
        try:
            store = stack.enter_context(
                open_target(request.param, tmp_path_factory.mktemp(request.param))
            )
        except RuntimeError as exc:
            pytest.skip(f"{request.param} could not start: {exc}")
        before = fingerprint(store)
        yield store, before
        assert fingerprint(store) == before  # after every attack of the module, once more


def _id(attack: Attack) -> str:
    return attack.id


def test_the_suite_is_large_enough() -> None:
    assert len(ATTACKS) >= 100
    assert len({a.id for a in ATTACKS}) == len(ATTACKS)


@pytest.mark.parametrize("attack", ATTACKS, ids=_id)
def test_attack_on_store(
    target: tuple[GraphStore, str], world: AttackWorld, attack: Attack
) -> None:
    store, before = target
    outcome = run_on_store(store, world, attack, before=before)
    assert not outcome.breaches, outcome
    if attack in ISSUE:  # the issue's own bypasses never reach a database
        assert (outcome.verdict, outcome.by) == ("refused", "guard"), outcome
    if attack in READS and store.kind == "ladybug":  # legit reads still work
        assert outcome.verdict == "read", outcome


@pytest.mark.parametrize("attack", ATTACKS, ids=_id)
def test_attack_through_the_agent_tool(
    target: tuple[GraphStore, str], world: AttackWorld, attack: Attack
) -> None:
    """The model writes the attack as its query; the tool reports an error or harmless rows."""
    store, before = target
    model = ScriptedCypherModel(world.text(attack))
    toolbox = Toolbox(
        store=lambda: contextlib.nullcontext(store),
        index=lambda: None,
        resolver=ProductResolver([]),
        cypher=lambda question, opened: generate_and_run(question, opened, model, timeout=0.5),
    )

    def run() -> list[str]:
        result = toolbox.run("query_graph", {"question": "what is in the graph?"})
        if result.error:
            raise DistillError(result.error)
        return [e.text for e in result.evidence] + result.notes

    outcome = check(world, attack, run, store=store, before=before)
    assert not outcome.breaches, outcome
    if outcome.verdict == "refused":
        assert model.calls == 2  # the refusal went back to the model once


@pytest.fixture(scope="module")
def cli_state(tmp_path_factory: pytest.TempPathFactory) -> State:
    path = tmp_path_factory.mktemp("cli")
    with open_target("ladybug-read-write", path):
        pass
    return State(overrides=[f"graph.path={path / 'graph'}"])


@pytest.mark.parametrize("attack", ISSUE, ids=_id)
def test_issue_attacks_through_the_cli(
    cli_state: State, world: AttackWorld, attack: Attack
) -> None:
    result = CliRunner().invoke(app, ["query", world.text(attack)], obj=cli_state)
    assert isinstance(result.exception, QueryRefused), result.output
    assert not world.written() and world.canary not in result.output


def test_cli_prints_values_as_text_not_markup(cli_state: State) -> None:
    """Values come from documents: `[/bold]` is shown, not parsed (it used to crash)."""
    result = CliRunner().invoke(app, ["query", "RETURN '[/bold] [red]x' AS `[b]v`"], obj=cli_state)
    assert result.exit_code == 0, result.output
    assert "[/bold] [red]x" in result.output and "[b]v" in result.output


@pytest.mark.real
def test_file_table_function_is_a_clear_error_not_a_crash(
    cli_state: State, world: AttackWorld, tmp_path: Path
) -> None:
    """`CALL read_csv_serial(…)` used to kill the process with SIGSEGV (exit 139)."""
    graph = next(o for o in cli_state.overrides if o.startswith("graph.path=")).split("=", 1)[1]
    query = f"CALL read_csv_serial('{world.secret}') RETURN *"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "distill.cli",
            "--set",
            f"graph.path={graph}",
            "graph",
            "query",
            query,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stderr
    assert "read_csv_serial() is not allowed" in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr and world.canary not in done.stdout + done.stderr


def test_multi_statement_input_is_a_clear_error(target: tuple[GraphStore, str]) -> None:
    store, _ = target
    with pytest.raises(QueryRefused, match="one statement at a time"):
        store.query("MATCH (p:Product) RETURN p.id; MATCH (a:Aspect) RETURN a.id")


def test_huge_unwind_is_a_clear_error(target: tuple[GraphStore, str]) -> None:
    store, _ = target
    with pytest.raises(QueryRefused, match="range"):
        store.query("UNWIND range(1, 3000000000) AS x RETURN count(*)")
