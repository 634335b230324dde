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


def test_ray_engine_gives_the_same_facts(config: Config, first_reviews: Path) -> None:
    pytest.importorskip("ray")
    pipeline = Pipeline(config, tasks=["ner", "linker"])
    local = ingest([first_reviews], config, pipeline=pipeline, dry_run=True)
    on_ray = ingest(
        [first_reviews], config, pipeline=pipeline, dry_run=True, engine="ray", batch_size=4
    )
    key = lambda plan: plan["document"]  # noqa: E731
    assert sorted(on_ray.planned, key=key) == sorted(local.planned, key=key)
