"""`distill graph …` through its typer app, and the exports it writes."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest
from typer.testing import CliRunner

from distill.cli.graph_cmd import app
from distill.cli.state import State
from distill.graph.errors import GraphError
from distill.graph.export import to_jsonl
from distill.graph.ladybug_store import LadybugStore
from distill.graph.testing import sample_facts

runner = CliRunner()


@pytest.fixture
def state(tmp_path: Path) -> State:
    with LadybugStore(tmp_path / "g") as store:
        store.write_document(sample_facts("d1"))
        store.write_document(sample_facts("d2", seed=1))
    return State(overrides=[f"graph.path={tmp_path / 'g'}"])


def test_query_json(state: State) -> None:
    result = runner.invoke(
        app,
        [
            "query",
            "MATCH (p:Product) WHERE p.id = $id RETURN p.name AS name",
            "-p",
            "id=P1",
            "--json",
        ],
        obj=state,
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip()) == {"name": "Phone P1"}


def test_query_table(state: State) -> None:
    result = runner.invoke(app, ["query", "MATCH (p:Product) RETURN count(p) AS n"], obj=state)
    assert result.exit_code == 0 and "│ 4 │" in result.output


def test_query_refuses_writes(state: State) -> None:
    result = runner.invoke(app, ["query", "match (n) /* x */ DeTaCh dElEtE n"], obj=state)
    assert isinstance(result.exception, GraphError)
    assert "read-only" in str(result.exception)


def test_stats(state: State) -> None:
    result = runner.invoke(app, ["stats", "--json"], obj=state)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["nodes"]["Document"] == 2
    assert "Document" in runner.invoke(app, ["stats"], obj=state).output


def test_show_writes_png_and_html(state: State, tmp_path: Path) -> None:
    result = runner.invoke(app, ["show", "P1", "--out", str(tmp_path / "p1")], obj=state)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p1.png").read_bytes()[:4] == b"\x89PNG"
    assert "P1" in (tmp_path / "p1.html").read_text()
    missing = runner.invoke(app, ["show", "P404", "--out", str(tmp_path / "x")], obj=state)
    assert isinstance(missing.exception, GraphError)
    assert "closest" in str(missing.exception)  # the error names products that exist


def test_show_finds_the_product_by_its_name(state: State, tmp_path: Path) -> None:
    """A user types the name they know ("Nokia 6610"), not the catalog id."""
    for typed in ("Phone P1", "phone p1"):
        result = runner.invoke(app, ["show", typed, "--out", str(tmp_path / "n")], obj=state)
        assert result.exit_code == 0, result.output
        assert "P1" in (tmp_path / "n.html").read_text()
    several = runner.invoke(app, ["show", "Phone", "--out", str(tmp_path / "x")], obj=state)
    assert "several products match" in str(several.exception)


def test_the_picture_puts_each_opinion_on_its_aspects_spoke(tmp_path: Path) -> None:
    """The PNG is read, not decoded: an opinion carries its polarity (drawn in its colour)
    and sits nearest its own aspect."""
    import math

    from distill.graph.export import neighbourhood, spoke_layout

    with LadybugStore(tmp_path / "g") as store:
        store.write_document(sample_facts("d1"))
        graph = neighbourhood(store, store.products()[0].id, depth=2)
    polarities = [d["polarity"] for _, d in graph.nodes(data=True) if d["_label"] == "Opinion"]
    assert polarities and set(polarities) <= {"positive", "negative", "neutral"}

    drawn = nx.MultiDiGraph()
    drawn.add_node("Product:p", _label="Product")
    for aspect in ("battery", "camera", "screen"):
        drawn.add_node(f"Aspect:{aspect}", _label="Aspect")
        for n in range(3):
            opinion = f"Opinion:{aspect}{n}"
            drawn.add_node(opinion, _label="Opinion")
            drawn.add_edge(opinion, "Product:p")
            drawn.add_edge(opinion, f"Aspect:{aspect}")
    kinds = nx.get_node_attributes(drawn, "_label")
    pos = spoke_layout(drawn, kinds)
    aspects = [n for n, kind in kinds.items() if kind == "Aspect"]
    for opinion in (n for n, kind in kinds.items() if kind == "Opinion"):
        nearest = min(aspects, key=lambda a: math.dist(pos[a], pos[opinion]))
        assert nearest == f"Aspect:{opinion.split(':')[1][:-1]}"


def test_export_graphml_and_jsonl(state: State, tmp_path: Path) -> None:
    for name in ("g.graphml", "g.jsonl"):
        result = runner.invoke(app, ["export", str(tmp_path / name)], obj=state)
        assert result.exit_code == 0, result.output
    graph = nx.read_graphml(tmp_path / "g.graphml")
    lines = [json.loads(line) for line in (tmp_path / "g.jsonl").read_text().splitlines()]
    assert graph.number_of_nodes() == sum(r["kind"] == "node" for r in lines)
    assert graph.number_of_edges() == sum(r["kind"] == "edge" for r in lines)
    edge = next(r for r in lines if r["kind"] == "edge" and r["_type"] == "MENTIONS")
    assert edge["doc_id"] and edge["tool"] == "ner"
    bad = runner.invoke(app, ["export", str(tmp_path / "g.csv")], obj=state)
    assert isinstance(bad.exception, GraphError)


def test_jsonl_of_an_empty_graph(tmp_path: Path) -> None:
    assert to_jsonl(nx.MultiDiGraph(), tmp_path / "e.jsonl").read_text() == ""
