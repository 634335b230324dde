"""The agent on the real path: the embedded LLM chooses and phrases, MiniLM searches,
the demo's trained fact-checker guards. Runs in CI (about a minute)."""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_world import build_world

from distill.agent.chat import Agent
from distill.config import Config, TaskConfig
from distill.demo.run import train_models

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Config:
    root = tmp_path_factory.mktemp("agent-real")
    config = build_world(root, embedder=None)  # the real MiniLM index
    tasks = {**config.tasks, "factcheck": TaskConfig(model=str(root / "factcheck"))}
    config = config.model_copy(update={"tasks": tasks})
    train_models(config, tasks=("factcheck",), log=lambda message: None)
    return config


def test_the_embedded_model_answers_with_citations_and_verdicts(world: Config) -> None:
    """A routed question the graph cannot answer alone: no plan call, one drafting call
    after the sentence stated from the graph."""
    with Agent(world) as agent:
        response = agent.chat("Does the Aster A2 battery last two days?", thread="real")
    assert response.llm_calls == ["draft"]
    assert response.sentences[0].text.startswith("Reviewers' opinions on the Aster A2 battery")
    assert response.sentences[0].verdict is not None
    assert response.sentences[0].verdict.label == "supported"
    assert len(response.sentences) >= 1 and all(s.verdict for s in response.sentences)
    cited = {source.doc_id for c in response.citations for source in c.sources}
    assert cited and cited <= {"d3"}
    assert response.tool_calls and response.seconds["total"] > 0


def test_aggregates_are_stated_from_the_graph_with_real_quotes(world: Config) -> None:
    with Agent(world) as agent:
        overall = agent.chat("Overall, how do reviewers feel about the Aster A1?", thread="agg")
        ranking = agent.chat("Which phone has the worst battery reviews?", thread="rank")
    assert overall.llm_calls == [] and ranking.llm_calls == []
    assert overall.answer.startswith("Reviewers are mostly negative about the Aster A1")
    assert "Most criticised: battery (0 positive, 2 negative)" in overall.answer
    assert ranking.sentences[0].text.startswith("The Aster A1 has the worst battery reviews")
    assert all(s.supported for s in overall.sentences + ranking.sentences)


def test_the_real_model_shows_no_qualifier_the_sources_never_state(world: Config) -> None:
    """What the data cannot support is not shown: a rating it does not record is said to
    be missing without the model; a qualifier no source states ("on 5G") is not asserted."""
    with Agent(world, policy="remove") as agent:
        rating = agent.chat("What star rating do reviewers give the Aster A1?", thread="stars")
        drafted = agent.chat("Does the Aster A2 battery last two days on 5G?", thread="5g")
    assert rating.llm_calls == [] and "records no star ratings" in rating.answer
    assert "positive" not in rating.answer
    asserted = [s for s in drafted.sentences if s.kept and "5g" in s.text.lower()]
    assert all(s.verdict is None for s in asserted), asserted  # only "the data does not say"


def test_distill_chat_in_the_terminal(world: Config, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from distill.cli import app

    settings = [
        f"graph.store={world.graph.store}",
        f"graph.path={world.graph.path}",
        f"index.path={world.index.path}",
        f"agent.checkpoints={tmp_path / 'chat.sqlite'}",
        f"catalog.path={world.catalog.path}",
        f"tasks.factcheck.model={world.task('factcheck').model}",
    ]
    flags = [part for setting in settings for part in ("--set", setting)]
    script = "What do people say about the Aster A1 camera?\n/sources\n/quit\n"
    result = CliRunner().invoke(app, [*flags, "chat", "--thread", "cli"], input=script)
    assert result.exit_code == 0, result.output
    assert "camera" in result.output and "d1" in result.output
    assert "supported" in result.output or "unverified" in result.output or "⚠" in result.output


def test_a_review_added_in_the_chat_goes_through_the_real_tools(
    world: Config, tmp_path: Path
) -> None:
    """The configured ingest tools (shipped NER, catalog linker, general sentiment) run on
    the pasted review; nothing is written before the yes, everything after it."""
    from distill.graph import open_store

    config = world.model_copy(
        update={"agent": world.agent.model_copy(update={"checkpoints": str(tmp_path / "c.db")})}
    )
    with Agent(config, workdir=tmp_path) as agent:
        shown = agent.chat(
            "add this review about the Aster A2: The Aster A2 battery is superb, it lasts days.",
            thread="write",
        )
        assert shown.answer.startswith("I would add 1 document"), shown.answer
        pending = agent.graph.get_state({"configurable": {"thread_id": "write"}}).values["pending"]
        doc_id = pending["documents"][0]["id"]
        with open_store(config.graph, read_only=True) as store:
            assert store.document(doc_id) is None
        done = agent.chat("yes", thread="write")
        assert done.answer.startswith("Written: 1 document"), done.answer
    with open_store(config.graph, read_only=True) as store:
        assert store.document(doc_id) is not None
        rows = store.query(
            "MATCH (d:Document {id: $id})-[:EXPRESSES]->(o:Opinion) RETURN o.aspect AS aspect, "
            "o.tool AS tool, o.backend AS backend",
            {"id": doc_id},
        )
    assert any(r["aspect"] == "battery" and r["tool"] == "sentiment" for r in rows), rows


def test_the_names_alongside_a_product_come_from_a_real_ingest(
    world: Config, tmp_path: Path
) -> None:
    """Reviews we wrote, through the shipped NER, the catalog linker and the general
    sentiment model into an on-disk LadybugDB graph; the router's answer is stated from it
    and passes the trained fact-checker."""
    import json

    from distill.config import GraphConfig, IndexConfig
    from distill.ingest.pipeline import ingest

    reviews = {
        "n1": "I switched to the Aster A1 from a Brio Book 14. The battery is great.",
        "n2": "My Aster A1 replaced an old Aster A2, and the camera is much better.",
        "n3": "The Aster A1 screen is bright. My friend prefers her Brio Book 14.",
    }
    data = tmp_path / "reviews.jsonl"
    data.write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in reviews.items()))
    config = world.model_copy(
        update={
            "graph": GraphConfig(store="ladybug", path=str(tmp_path / "graph")),
            "index": IndexConfig(path=str(tmp_path / "index")),
            "agent": world.agent.model_copy(update={"checkpoints": str(tmp_path / "c.db")}),
        }
    )
    report = ingest([data], config)
    assert report.ok and report.written == 3, report
    with Agent(config) as agent:
        response = agent.chat("Which products do reviewers compare the Aster A1 with?", "alongside")
    assert response.llm_calls == []
    assert response.sentences[0].text.startswith(
        "Besides the Aster A1, its 3 reviews name the Brio Book 14 (2 reviews) and the Aster A2"
    ), response.answer
    assert all(s.supported for s in response.sentences), response.answer
    quoted = [c for c in response.citations if c.kind == "passage"]
    assert quoted and all(
        reviews[c.sources[0].doc_id][c.sources[0].char_start : c.sources[0].char_end] == c.text
        for c in quoted
    )
