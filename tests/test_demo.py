"""The demo's wiring (config, held-out split, template sentences) and the whole run (slow)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from distill.config import load_config
from distill.demo.run import HELD_OUT, catalog_sentences, demo_config, gold_docs


def test_demo_config_fills_models_and_keeps_user_choices(tmp_path: Path) -> None:
    user = load_config(None, backends=["ner=prompt"], environ={}).config
    config = demo_config(user, tmp_path)
    assert config.task("ner").backend == "prompt"  # the user's flag wins
    assert config.task("ner").model == str(tmp_path / "models" / "ner")
    assert config.catalog.path.endswith("examples/demo/catalog.jsonl")  # [catalog], the one place
    assert config.task("linker").backend == "trained"  # the demo trains its linker
    assert config.graph.path == str(tmp_path / "graph-ladybug")


def test_held_out_reviews_are_not_trained_on() -> None:
    ids = {doc._.doc_id for doc in gold_docs()}
    assert ids >= HELD_OUT and len(HELD_OUT) == 12


def test_catalog_sentences_are_labelled_with_catalog_ids() -> None:
    docs = catalog_sentences()
    assert len(docs) >= 30
    for doc in docs:
        assert doc.ents, doc.text
        for ent in doc.ents:
            assert ent.label_ == "PRODUCT" and ent.kb_id_


@pytest.mark.slow
def test_demo_end_to_end_is_idempotent(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "distill.cli", "demo", "--workdir", str(tmp_path)]
    first = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    assert first.returncode == 0, first.stderr
    second = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    assert second.returncode == 0, second.stderr
    graph_line = [line for line in first.stdout.splitlines() if line.startswith("graph:")]
    assert graph_line and graph_line == [
        line for line in second.stdout.splitlines() if line.startswith("graph:")
    ]
    assert "ner f1" in first.stdout and (tmp_path / "graph-nebula-x2.png").exists()
