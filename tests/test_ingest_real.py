"""Ingest on the real path: trained spaCy NER + trained linker, the embedded LadybugDB, Ray."""

from __future__ import annotations

from pathlib import Path

import pytest

from distill.config import Config
from distill.demo.run import demo_config, demo_dir, train_models
from distill.graph import open_store
from distill.ingest.pipeline import Pipeline, ingest

pytestmark = pytest.mark.real
FAST = {"ner": {"max_epochs": 12, "patience": 12}, "linker": {"max_iter": 60}}


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    workdir = tmp_path_factory.mktemp("demo")
    config = demo_config(Config(), workdir)
    train_models(config, tasks=("ner", "linker"), settings=FAST, log=lambda _: None)
    return config


def with_general_sentiment(config: Config) -> Config:
    """`config` with the shipped general sentiment model (the fixture trains no demo one)."""
    tasks = {
        **config.tasks,
        "sentiment": config.task("sentiment").model_copy(update={"model": None}),
    }
    return config.model_copy(update={"tasks": tasks})


@pytest.fixture
def first_reviews(tmp_path: Path) -> Path:
    lines = (demo_dir() / "reviews.jsonl").read_text().splitlines()[:10]
    path = tmp_path / "reviews.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_trained_pipeline_writes_linked_products_once(config: Config, first_reviews: Path) -> None:
    pipeline = Pipeline(config, tasks=["ner", "linker"])
    report = ingest([first_reviews], config, pipeline=pipeline)
    assert report.ok and report.written == 10 and report.mentions > 10
    assert report.backends == {"ner": "trained", "linker": "trained"}
    with open_store(config.graph, read_only=True) as store:
        first = store.stats()
        linked = {p.id for p in store.products()}
    assert "nebula-x2" in linked
    again = ingest([first_reviews], config, pipeline=pipeline)
    assert again.written == 10
    with open_store(config.graph, read_only=True) as store:
        assert store.stats() == first  # re-ingesting replaces, never duplicates


def test_a_hu_and_liu_file_is_ingested_as_reviews_of_the_product_it_is_named_after(
    config: Config, tmp_path: Path
) -> None:
    path = tmp_path / "Nebula X2.txt"
    path.write_text(
        "[t]love it\r\ncamera[+2]##the camera takes lovely photos .\r\n"
        "battery[-2]##but the battery dies by lunch every day .\r\n"
        "[t]meh\r\n##returned it after a week .\r\nscreen[+1]##the screen was nice though .\r\n"
    )
    graph = config.graph.model_copy(update={"path": str(tmp_path / "graph")})
    here = with_general_sentiment(config).model_copy(update={"graph": graph})
    report = ingest([path], here, pipeline=Pipeline(here))
    assert report.ok and report.written == 2
    with open_store(here.graph, read_only=True) as store:
        rows = store.query(
            "MATCH (o:Opinion)-[:ABOUT]->(p:Product) RETURN p.id AS p, o.aspect AS a, "
            "o.polarity AS pol ORDER BY a"
        )
    about = {(r["p"], r["a"], r["pol"]) for r in rows}
    assert ("nebula-x2", "camera", "positive") in about
    assert ("nebula-x2", "battery", "negative") in about


def test_ray_engine_gives_the_same_facts(config: Config, first_reviews: Path) -> None:
    pytest.importorskip("ray")
    pipeline = Pipeline(config, tasks=["ner", "linker"])
    local = ingest([first_reviews], config, pipeline=pipeline, dry_run=True)
    on_ray = ingest(
        [first_reviews], config, pipeline=pipeline, dry_run=True, engine="ray", batch_size=4
    )
    key = lambda plan: plan["document"]  # noqa: E731
    assert sorted(on_ray.planned, key=key) == sorted(local.planned, key=key)


def test_worker_processes_give_the_same_facts_and_index(
    config: Config, first_reviews: Path, tmp_path: Path
) -> None:
    """`workers=2`: the tools (trained NER, linker, the shipped sentiment model) run in two
    processes; graph and index end up as a one-process run leaves them, and again no
    duplicates on a second run."""
    import numpy as np

    from distill.ingest.index import DocumentIndex

    tasks = ["ner", "linker", "sentiment"]
    config = with_general_sentiment(config)
    runs = {}
    for name, workers in (("local", 1), ("workers", 2)):
        settings = config.model_copy(
            update={
                "graph": config.graph.model_copy(update={"path": str(tmp_path / name / "g")}),
                "index": config.index.model_copy(update={"path": str(tmp_path / name / "i")}),
            }
        )
        pipeline = Pipeline(settings, tasks=tasks)
        for _ in range(2):
            report = ingest([first_reviews], settings, pipeline=pipeline, workers=workers)
            assert report.ok and report.written == report.indexed == 10
        with open_store(settings.graph, read_only=True) as store:
            stats = store.stats()
        with DocumentIndex.from_config(settings.index, read_only=True) as index:
            rows = index._db.execute(
                "SELECT doc_id, char_start, char_end, vector FROM passages"
                " ORDER BY doc_id, char_start"
            ).fetchall()
        runs[name] = (stats.nodes, stats.edges, report.mentions, report.opinions, rows)
    assert runs["workers"][:4] == runs["local"][:4]
    local, workers = runs["local"][4], runs["workers"][4]
    assert [r[:3] for r in workers] == [r[:3] for r in local]
    for a, b in zip(local, workers, strict=True):
        cosine = float(np.frombuffer(a[3], np.float32) @ np.frombuffer(b[3], np.float32))
        assert cosine > 0.999


def test_a_killed_worker_fails_the_run_clearly_and_resume_finishes(
    config: Config, first_reviews: Path, tmp_path: Path
) -> None:
    """A worker that dies (SIGKILL, out of memory) stops the run with an error that says
    what to do; nothing of its batches is written, and `--resume` completes the graph."""
    import os
    import signal

    from distill.errors import DistillError
    from distill.ingest.processes import WorkerPool

    config = config.model_copy(
        update={
            "graph": config.graph.model_copy(update={"path": str(tmp_path / "g")}),
            "index": config.index.model_copy(update={"path": str(tmp_path / "i")}),
        }
    )
    pipeline = Pipeline(config, tasks=["ner", "linker"])
    with WorkerPool(config, pipeline.tasks, 2) as pool:
        pool.warm_up()
        os.kill(pool.pids()[0], signal.SIGKILL)
        with pytest.raises(DistillError, match="--resume"):
            ingest([first_reviews], config, pipeline=pipeline, workers=pool, batch_size=2)
    resumed = ingest([first_reviews], config, pipeline=pipeline, resume=True)
    assert resumed.ok and resumed.written + resumed.skipped == 10
    with open_store(config.graph, read_only=True) as store:
        assert store.stats().nodes["Document"] == 10
    again = ingest([first_reviews], config, pipeline=pipeline, resume=True)
    assert again.skipped == 10


def test_workers_leave_when_their_parent_is_killed(config: Config, tmp_path: Path) -> None:
    """SIGKILL runs no clean-up: the worker processes notice they are orphaned and exit
    instead of holding their models' memory forever."""
    import json
    import signal
    import subprocess
    import sys
    import time

    import psutil

    script = (
        "import sys, json\n"
        "from distill.config import Config\n"
        "from distill.ingest.processes import WorkerPool\n"
        "pool = WorkerPool(Config.model_validate_json(sys.argv[1]), ['ner'], 2)\n"
        "pool.warm_up()\n"
        "print(json.dumps(pool.pids()), flush=True)\n"
        "import time; time.sleep(600)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script, config.model_dump_json()],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    pids = json.loads(parent.stdout.readline())
    assert len(pids) == 2 and all(psutil.pid_exists(pid) for pid in pids)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in pids)


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_the_index_reuses_the_sentiment_pass(config: Config, first_reviews: Path) -> None:
    """With the index on, the sentiment pass leaves MiniLM's sentence vectors and the index
    pools them: a one-sentence passage gets what embedding it alone gives."""
    import numpy as np

    from distill.ingest.index import default_embedder, split_passages
    from distill.ingest.readers import read_documents

    config = with_general_sentiment(config)
    pipeline = Pipeline(config, tasks=["sentiment"])
    documents = list(read_documents([first_reviews]))[:4]
    result = pipeline.run_batch(documents)  # type: ignore[arg-type]
    assert result.vectors and set(result.vectors) == {d.id for d in documents}
    for document in documents:
        sentences = result.vectors[document.id]
        assert [s.end for s in sentences] == sorted(s.end for s in sentences)
        alone = [s for s in sentences if (s.start, s.end) in split_passages(document.text)]
        for sentence in alone:
            reference = default_embedder([document.text[sentence.start : sentence.end]])[0]
            vector = sentence.vector / np.linalg.norm(sentence.vector)
            assert float(vector @ reference) > 0.99
    off = config.model_copy(
        update={"index": config.index.model_copy(update={"reuse_sentence_vectors": False})}
    )
    assert not Pipeline(off, tasks=["sentiment"]).run_batch(documents).vectors  # type: ignore[arg-type]


def test_ray_actors_write_a_server_graph_themselves(config: Config, first_reviews: Path) -> None:
    """FalkorDB takes several writers: each Ray actor writes its batches; the graph is the
    same as a local run's, and a second run replaces rather than duplicates."""
    pytest.importorskip("ray")
    from distill.graph.testing import falkordb_server
    from distill.ingest import ray_engine

    try:
        server = falkordb_server()
        url = server.__enter__()
    except (RuntimeError, ImportError) as exc:
        pytest.skip(f"FalkorDB server could not start: {exc}")
    try:
        base = url.rsplit("/", 1)[0]
        index = config.index.model_copy(update={"enabled": False})
        graphs = {
            name: config.model_copy(
                update={
                    "graph": config.graph.model_copy(
                        update={"store": "falkordb", "path": f"{base}/{name}"}
                    ),
                    "index": index,
                }
            )
            for name in ("local", "ray")
        }
        pipeline = Pipeline(config, tasks=["ner", "linker"])
        local = ingest([first_reviews], graphs["local"], pipeline=pipeline)
        writes: list[bool] = []
        original = ray_engine.run_batches

        def spy(*args: object, **kwargs: object) -> object:
            writes.append(bool(kwargs.get("write")))
            return original(*args, **kwargs)  # type: ignore[arg-type]

        ray_engine.run_batches = spy  # type: ignore[assignment]
        try:
            for _ in range(2):
                on_ray = ingest(
                    [first_reviews], graphs["ray"], pipeline=pipeline, engine="ray", batch_size=3
                )
                assert on_ray.ok and on_ray.written == local.written == 10
        finally:
            ray_engine.run_batches = original  # type: ignore[assignment]
        assert writes == [True, True]
        stats = {}
        for name, settings in graphs.items():
            with open_store(settings.graph, read_only=True) as store:
                graph = store.stats()
                products = sorted(repr(product) for product in store.products())
                stats[name] = (graph.nodes, graph.edges, products)
        assert stats["ray"] == stats["local"]
    finally:
        server.__exit__(None, None, None)


def test_the_demo_retrains_a_linker_model_this_version_cannot_load(tmp_path: Path) -> None:
    """A demo model saved by an older distill (here: the linker's pair-feature count of
    before) is trained again instead of failing at load."""
    import json

    from distill.plugins.linker.model import LinkerModel

    config = demo_config(Config(), tmp_path)
    assert train_models(config, tasks=("linker",), settings=FAST, log=lambda _: None)
    folder = Path(config.task("linker").model or "")
    info = json.loads((folder / "linker.json").read_text())
    info["features"] = 27  # what every model saved before the count was recorded
    (folder / "linker.json").write_text(json.dumps(info))
    said: list[str] = []
    assert set(train_models(config, tasks=("linker",), settings=FAST, log=said.append)) == {
        "linker"
    }
    assert any("older distill" in line for line in said)
    assert LinkerModel.is_current(folder)
    assert not train_models(config, tasks=("linker",), settings=FAST, log=lambda _: None)


def test_with_no_catalog_the_general_model_finds_products_and_the_subject_keeps_its_own(
    tmp_path: Path,
) -> None:
    """No catalog and no trained NER: the shipped general model finds the products a
    lower-cased review names ("canon s30"), and "the v3" in a review of the "Vela V3"
    is that product, not another one beside it."""
    path = tmp_path / "Vela V3.txt"
    path.write_text(
        "[t]a big step up\ncamera[+2]##the v3 takes lovely pictures in low light .\n"
        "##i moved up from a canon s30 and before that a nikon 880 .\n"
        "battery[-2]##the battery of the v3 dies after an afternoon .\n"
    )
    graph = Config().graph.model_copy(update={"path": str(tmp_path / "graph")})
    config = Config().model_copy(update={"graph": graph})
    report = ingest([path], config, pipeline=Pipeline(config))
    assert report.ok and report.written == 1
    with open_store(config.graph, read_only=True) as store:
        mentioned = {
            r["m"] for r in store.query("MATCH (:Document)-[:MENTIONS]->(e) RETURN e.name AS m")
        }
        about = {
            (r["p"], r["a"], r["pol"])
            for r in store.query(
                "MATCH (o:Opinion)-[:ABOUT]->(p) RETURN p.name AS p, o.aspect AS a, "
                "o.polarity AS pol"
            )
        }
    assert {"canon s30", "nikon 880"} <= mentioned
    assert ("Vela V3", "camera", "positive") in about
    assert ("Vela V3", "battery", "negative") in about


def test_reviews_of_a_product_that_is_no_phone_are_answered_in_their_own_words(
    config: Config, tmp_path: Path
) -> None:
    """The real path for this session's user findings: the MP3-player file we wrote (Hu &
    Liu format, a product in no catalog), ingested with the shipped models, then asked
    what a user asks; every answer is stated from the graph, with no model call."""
    from agent_world import ScriptedLLM, word_checker

    from distill.agent.chat import Agent

    source = Path(__file__).parents[1] / "benchmarks" / "data" / "mp3_player_reviews_huliu.txt"
    path = tmp_path / "Sonata MX40 MP3 player.txt"
    path.write_bytes(source.read_bytes())
    graph = config.graph.model_copy(update={"path": str(tmp_path / "graph")})
    index = config.index.model_copy(update={"path": str(tmp_path / "index")})
    # the shipped general model with its own aspects (the demo's list has no keyboard)
    general = config.task("sentiment").model_copy(update={"model": None, "labels": None})
    here = config.model_copy(
        update={"graph": graph, "index": index, "tasks": {**config.tasks, "sentiment": general}}
    )
    report = ingest([path], here, pipeline=Pipeline(here, tasks=["ner", "linker", "sentiment"]))
    assert report.ok and report.written == 28
    llm = ScriptedLLM(plan=lambda m: pytest.fail("routed"), answer=lambda p: pytest.fail("stated"))  # type: ignore[arg-type,return-value]
    with Agent(here, chat_model=llm, checker=word_checker) as agent:  # type: ignore[arg-type]
        reviewed = agent.chat("Which products are reviewed?")
        mx40 = agent.chat("What do people think of the MX40?")
        wheel = agent.chat("How is the scroll wheel?")
    assert reviewed.sentences[0].text.startswith(
        "Reviewers give opinions on 1 product: the Sonata MX40 MP3 player"
    )
    assert mx40.sentences[0].text.startswith("Reviewers are mostly positive about the Sonata")
    assert wheel.sentences[0].text.startswith(
        "Reviewers' opinions on the scroll wheel of the Sonata MX40 MP3 player (keyboard"
    )
    assert "praises the scroll wheel" in wheel.answer
