"""Ingest memory that does not grow with the store: the index keeps no vectors in memory
while it is only written, and freed heap goes back to the system after every batch."""

from __future__ import annotations

import json
from pathlib import Path

from fake_embedding import fake_embed

from distill.config import Config, GraphConfig, IndexConfig
from distill.ingest import pipeline
from distill.ingest.index import VECTORS_STAMP, DocumentIndex, IndexedDocument


def _doc(i: int) -> IndexedDocument:
    return IndexedDocument(
        id=f"d{i}", text=f"Review {i}. The battery of phone {i} lasts long.", content_hash=f"h{i}"
    )


def test_writing_holds_no_vectors_and_close_saves_a_current_cache(tmp_path: Path) -> None:
    with DocumentIndex(tmp_path / "ix", embedder=fake_embed) as index:
        index.add([_doc(i) for i in range(5)])
        index.add([_doc(5)])
        assert index.delete("d0")
        assert index._vectors is None  # nothing searched: nothing held
        passages = len(index)
    stamp = json.loads((tmp_path / "ix" / VECTORS_STAMP).read_text())
    assert stamp["passages"] == passages
    with DocumentIndex(tmp_path / "ix", read_only=True, embedder=fake_embed) as reader:
        assert reader._load_cache(reader._generation()) is not None  # no rebuild needed
        hits = reader.search("battery of phone 3", k=3)
        assert "d3" in {hit.doc_id for hit in hits}
        assert "d0" not in {hit.doc_id for hit in reader.search("phone 0", k=10)}


def test_after_a_search_writes_keep_the_loaded_vectors_current(tmp_path: Path) -> None:
    with DocumentIndex(tmp_path / "ix", embedder=fake_embed) as index:
        index.add([_doc(i) for i in range(3)])
        index.search("battery", k=1)
        loaded = index._vectors
        index.add([_doc(3)])
        assert index._vectors is loaded and loaded.ntotal == len(index)
        assert "d3" in {hit.doc_id for hit in index.search("phone 3", k=5)}


def test_freed_memory_goes_back_after_a_batch(monkeypatch, tmp_path: Path) -> None:
    assert pipeline._malloc_trim() is not None  # glibc on the machines we run on
    calls: list[int] = []
    monkeypatch.setattr(pipeline, "_malloc_trim", lambda: calls.append)
    config = Config(
        graph=GraphConfig(store="networkx", path=str(tmp_path / "g")),
        index=IndexConfig(enabled=False),
    )
    data = tmp_path / "in.jsonl"
    data.write_text("".join(json.dumps({"id": f"r{i}", "text": "Fine."}) + "\n" for i in range(5)))
    no_tools = pipeline.Pipeline(config, tasks=())  # only the write path is under test
    report = pipeline.ingest([data], config, batch_size=2, pipeline=no_tools)
    assert report.written == 5 and calls == [0, 0, 0]  # one trim per batch
