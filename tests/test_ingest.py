"""Ingest: documents to tools to graph; failures isolated per document (fake tools)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from spacy.tokens import Doc, Span

from distill.config import load_config
from distill.graph import open_store
from distill.ingest.pipeline import Pipeline, ingest
from distill.plugins import Backend, make_task
from distill.plugins.sentiment import Opinion

PRODUCTS = {"Nebula X2": "nebula-x2", "Orion 5": "orion-5"}


class FakeNER(Backend):
    name = "fake-ner"

    def predict(self, docs: list[Doc]) -> list[Doc]:
        for doc in docs:
            spans = []
            for name in PRODUCTS:
                for match in re.finditer(re.escape(name), doc.text):
                    spans.append(doc.char_span(match.start(), match.end(), label="PRODUCT"))
            doc.ents = [s for s in spans if s is not None]
        return docs


class FakeLinker(Backend):
    name = "fake-linker"

    def predict(self, docs: list[Doc]) -> list[Doc]:
        for doc in docs:
            doc.ents = [
                Span(doc, e.start, e.end, label=e.label_, kb_id=PRODUCTS.get(e.text, ""))
                for e in doc.ents
            ]
        return docs


class FakeSentiment(Backend):
    name = "fake-sentiment"

    def predict(self, docs: list[Doc]) -> list[Doc]:
        for doc in docs:
            if "EXPLODE" in doc.text:
                raise RuntimeError("sentiment model crashed")
            if "GARBAGE" in doc.text:  # what the prompt backend records after a failed retry
                doc._.meta.setdefault("errors", {})["sentiment"] = "not valid JSON"
                continue
            opinions = []
            for ent in doc.ents:
                polarity = "negative" if "bad battery" in doc.text else "positive"
                opinions.append(Opinion(aspect="battery", polarity=polarity, target=ent.kb_id_))
            doc._.opinions = opinions
        return docs


@pytest.fixture
def config(tmp_path: Path):  # type: ignore[no-untyped-def]
    return load_config(
        None,
        overrides=[
            "graph.store=networkx",
            f"graph.path={tmp_path / 'graph'}",
            f"index.path={tmp_path / 'index'}",
        ],
        environ={},
    ).config


@pytest.fixture
def pipeline(config):  # type: ignore[no-untyped-def]
    backends = {
        "ner": FakeNER(make_task("ner")),
        "linker": FakeLinker(make_task("linker")),
        "sentiment": FakeSentiment(make_task("sentiment")),
    }
    return Pipeline(config, backends=backends)


def reviews(tmp_path: Path, rows: list[dict]) -> Path:
    path = tmp_path / "reviews.jsonl"
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in rows))
    return path


GOOD = [
    {"id": "r1", "text": "The Nebula X2 has a bad battery."},
    {"id": "r2", "text": "Orion 5 is lovely, better than the Nebula X2."},
]


def test_documents_become_facts_with_provenance(tmp_path: Path, config, pipeline) -> None:  # type: ignore[no-untyped-def]
    report = ingest([reviews(tmp_path, GOOD)], config, pipeline=pipeline)
    assert report.ok and report.written == 2 and report.mentions == 3 and report.opinions == 3
    with open_store(config.graph, read_only=True) as store:
        summary = {(s.product_id, s.aspect): s for s in store.opinion_summary()}
        assert summary[("nebula-x2", "battery")].count == 2
        mentions = store.mentions("nebula-x2")
        assert {m.doc_id for m in mentions} == {"r1", "r2"}
        first = next(m for m in mentions if m.doc_id == "r1")
        assert (first.char_start, first.char_end) == (4, 13)


def test_reingesting_is_idempotent_and_resume_skips(tmp_path: Path, config, pipeline) -> None:  # type: ignore[no-untyped-def]
    path = reviews(tmp_path, GOOD)
    ingest([path], config, pipeline=pipeline)
    with open_store(config.graph, read_only=True) as store:
        before = store.stats()
    again = ingest([path], config, pipeline=pipeline)
    assert again.written == 2
    resumed = ingest([path], config, pipeline=pipeline, resume=True)
    assert resumed.skipped == 2 and resumed.written == 0
    with open_store(config.graph, read_only=True) as store:
        assert store.stats().total_nodes == before.total_nodes
        assert store.stats().total_edges == before.total_edges


def test_failures_are_isolated_and_reported(tmp_path: Path, config, pipeline) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(
        b'{"id": "r1", "text": "The Nebula X2 has a bad battery."}\n'
        b'{"id": "boom", "text": "Orion 5 EXPLODE"}\n'
        b'{"id": "junk", "text": "Orion 5 GARBAGE"}\n'
        b'{"id": "empty", "text": ""}\n'
        b'{"id": "latin1", "text": "caf\xe9 Orion 5"}\n'
        b"not json at all\n"
        b'{"id": "r2", "text": "Orion 5 is lovely."}\n'
    )
    report = ingest([path], config, pipeline=pipeline, batch_size=10)
    assert report.written == 2 and not report.ok
    stages = {(f.doc_id, f.stage) for f in report.failures}
    assert ("boom", "sentiment") in stages and ("junk", "sentiment") in stages
    assert ("empty", "read") in stages
    reasons = " | ".join(f.reason for f in report.failures)
    assert "sentiment model crashed" in reasons and "invalid UTF-8" in reasons
    assert "malformed JSON" in reasons and "invalid LLM output: not valid JSON" in reasons
    with open_store(config.graph, read_only=True) as store:
        assert store.has_document("r1") and store.has_document("r2")
        assert not store.has_document("boom") and not store.has_document("junk")


def test_dry_run_writes_nothing(tmp_path: Path, config, pipeline) -> None:  # type: ignore[no-untyped-def]
    report = ingest([reviews(tmp_path, GOOD)], config, pipeline=pipeline, dry_run=True)
    assert report.written == 2 and report.planned[0]["document"] == "r1"
    assert ("Nebula X2", "PRODUCT", "nebula-x2") in [
        tuple(m) for m in report.planned[0]["mentions"]
    ]
    assert not (tmp_path / "graph").exists() or not any((tmp_path / "graph").iterdir())


def test_long_documents_are_chunked_without_losing_mentions(tmp_path: Path, config) -> None:  # type: ignore[no-untyped-def]
    backends = {"ner": FakeNER(make_task("ner")), "linker": FakeLinker(make_task("linker"))}
    pipeline = Pipeline(
        config, tasks=["ner", "linker"], backends=backends, max_chars=300, overlap=60
    )
    text = ("Some filler sentence about nothing much. " * 7 + "Then the Orion 5 arrived. ") * 20
    report = ingest([reviews(tmp_path, [{"id": "long", "text": text}])], config, pipeline=pipeline)
    assert report.ok and report.mentions == text.count("Orion 5") == 20
