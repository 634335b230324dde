"""Plugins all the way: a plugin task named in `[pipeline] tasks` runs at ingest, its
output lands in the graph as `Fact` nodes with provenance, Cypher reads them, and the
agent answers from them and can write them from the chat. Uses the example plugin
(`examples/distill-prices`, a regular expression: no model, so these tests are fast and
run the real path)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from agent_world import ScriptedLLM, build_world, fake_embed, word_checker

import distill.ingest.index as index_module
from distill.agent.chat import Agent
from distill.config import Config, PipelineConfig
from distill.graph import open_store
from distill.graph.from_doc import plugin_items
from distill.ingest.pipeline import Pipeline, ingest
from distill.registry import registry

pytestmark = pytest.mark.skipif(
    "prices" not in registry().tasks,
    reason="the example plugin is not installed: pip install -e examples/distill-prices",
)

REVIEWS = [
    {"id": "p1", "text": "Paid $899 for the Aster A1, now it is €749 elsewhere."},
    {"id": "p2", "text": "The Aster A2 battery lasts two days."},
]
FACTS = (
    "MATCH (d:Document)-[h:HAS_FACT]->(f:Fact {task: 'prices'}) "
    "RETURN d.id AS doc, f.payload AS payload, f.text AS text, f.char_start AS start, "
    "f.char_end AS stop, f.backend AS backend, h.tool AS tool ORDER BY doc, start"
)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setattr(index_module, "default_embedder", fake_embed)
    config = build_world(tmp_path)
    return config.model_copy(update={"pipeline": PipelineConfig(tasks=["prices"])})


def test_a_list_output_is_one_fact_per_item_with_its_span() -> None:
    output = {"prices": [{"text": "$5", "amount": 5.0, "start": 3, "end": 5}]}
    assert plugin_items(output, 10) == [(output["prices"][0], 3, 5, None)]
    assert plugin_items({"prices": [{"start": 3, "end": 99}]}, 10)[0][1:3] == (None, None)
    assert plugin_items({"label": "warranty", "confidence": 0.8}, 10) == [
        ({"label": "warranty", "confidence": 0.8}, None, None, 0.8)
    ]


@pytest.mark.parametrize("store", ["networkx", "ladybug"])
def test_ingest_with_the_plugin_in_the_pipeline_writes_facts_once(
    world: Config, tmp_path: Path, store: str
) -> None:
    config = world.model_copy(
        update={
            "graph": world.graph.model_copy(update={"store": store, "path": str(tmp_path / store)})
        }
    )
    assert Pipeline(config).tasks == ["prices"]  # from [pipeline] tasks
    source = tmp_path / "reviews.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in REVIEWS) + "\n")
    for _ in range(2):  # re-ingesting replaces the facts, never duplicates them
        report = ingest([source], config)
        assert report.ok and report.written == 2
    with open_store(config.graph, read_only=True) as graph:
        rows = graph.query(FACTS)
        assert graph.stats().nodes["Fact"] == 2
    assert [(r["doc"], r["text"], r["backend"], r["tool"]) for r in rows] == [
        ("p1", "$899", "rules", "prices"),
        ("p1", "€749", "rules", "prices"),
    ]
    first = rows[0]
    assert REVIEWS[0]["text"][first["start"] : first["stop"]] == "$899"
    assert json.loads(first["payload"])["currency"] == "USD"


def test_the_agent_answers_from_plugin_facts(world: Config, tmp_path: Path) -> None:
    source = tmp_path / "reviews.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in REVIEWS) + "\n")
    assert ingest([source], world).ok
    llm = ScriptedLLM(answer=lambda p: pytest.fail("stated from the facts"))  # type: ignore[arg-type,return-value]
    with Agent(world, chat_model=llm, checker=word_checker) as agent:  # type: ignore[arg-type]
        assert agent.fact_tasks == ["prices"]
        assert "plugin_facts" in agent.toolbox.names
        response = agent.chat("Which prices do reviewers mention?", thread="p")
    assert response.answer == ("The prices tool found 2 facts in 1 review: $899 (p1), €749 (p1).")
    spans = [(s.doc_id, s.char_start, s.char_end) for c in response.citations for s in c.sources]
    assert ("p1", 5, 9) in spans


def test_a_review_added_in_the_chat_runs_the_plugin_and_writes_its_facts(
    world: Config, tmp_path: Path
) -> None:
    with Agent(world, chat_model=ScriptedLLM(), checker=word_checker, workdir=tmp_path) as agent:  # type: ignore[arg-type]
        shown = agent.chat("Add this review: Got my Aster A2 for $499, great deal.", thread="w")
        assert "prices (rules)" in shown.answer and "1 prices fact(s)" in shown.answer
        with open_store(world.graph, read_only=True) as graph:
            assert graph.query(FACTS) == []
        assert agent.chat("yes", thread="w").answer.startswith("Written: 1 document")
        assert agent.fact_tasks == ["prices"]  # the agent sees the new facts at once
    with open_store(world.graph, read_only=True) as graph:
        rows = graph.query(FACTS)
    assert [(r["text"], r["tool"]) for r in rows] == [("$499", "prices")]
    assert rows[0]["doc"].startswith("chat-")
