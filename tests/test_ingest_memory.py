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


def test_the_index_embeds_in_the_precision_use_bf16_chooses(monkeypatch) -> None:
    """`embed` chooses its precision from its own `bf16` argument: the index must pass it (an
    outer autocast was undone, which left the index in float32, 2.2x slower, from 19:52 to
    22:45 on 2026-12-01)."""
    import numpy as np

    import distill.plugins.linker.embed as embed_module
    from distill.ingest.index import default_embedder

    seen: list[bool] = []

    def fake(texts, batch_size=128, max_length=64, bf16=False):  # type: ignore[no-untyped-def]
        seen.append(bf16)
        return np.zeros((len(texts), 384), np.float32)

    monkeypatch.setattr(embed_module, "embed", fake)
    for choice in (True, False):
        monkeypatch.setattr(embed_module, "use_bf16", lambda option=None, c=choice: c)
        default_embedder(["a passage"])
    assert seen == [True, False]
