"""The document index: SQLite truth, faiss cache, exact spans; fast with a fake embedder."""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from fake_embedding import fake_embed
from spacy.tokens import Doc

import distill.ingest.index as index_module
from distill.config import load_config
from distill.errors import DistillError
from distill.graph import open_store
from distill.ingest.index import (
    DocumentIndex,
    IndexedDocument,
    pool_sentences,
    sentence_spans,
    split_passages,
)
from distill.ingest.pipeline import Pipeline, ingest
from distill.plugins import Backend, make_task

REVIEWS = [
    IndexedDocument(
        id="battery",
        text="I bought this phone last month. The battery dies quickly, barely half a day. "
        "Otherwise the screen is fine.",
        content_hash="h-battery",
        source="reviews.jsonl:1",
        title="Battery woes",
    ),
    IndexedDocument(
        id="camera",
        text="The camera takes sharp photos at night.\nColours look natural too.",
        content_hash="h-camera",
    ),
    IndexedDocument(
        id="shipping",
        text="Shipping took three weeks and the box arrived dented.",
        content_hash="h-shipping",
    ),
]


PASSAGES = sum(len(split_passages(review.text)) for review in REVIEWS)


def open_index(path: Path, **options: bool) -> DocumentIndex:
    return DocumentIndex(path, embedder=fake_embed, **options)


@pytest.fixture
def filled(tmp_path: Path) -> Path:
    with open_index(tmp_path / "index") as index:
        index.add(REVIEWS)
    return tmp_path / "index"


# split_passages


def test_passage_spans_are_exact_stripped_bounded_and_cover_all_text() -> None:
    rng = random.Random(7)
    words = ["alpha", "beta.", "gamma!", "delta?", "x" * 90, "  ", "\n", "\n\n  ", "eps,", "é"]
    for trial in range(200):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(0, 120)))
        if trial % 5 == 0:
            text = "  \n" + text + " \t "
        max_chars = rng.choice([20, 60, 120, 400])
        spans = split_passages(text, max_chars=max_chars)
        covered = set()
        previous_end = 0
        for start, end in spans:
            passage = text[start:end]
            assert passage and passage == passage.strip()
            assert end - start <= max_chars
            assert start >= previous_end  # in order, never overlapping
            previous_end = end
            covered.update(range(start, end))
        assert {i for i, char in enumerate(text) if not char.isspace()} <= covered


def test_passage_vectors_pool_the_sentence_vectors_by_tokens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sentence vectors left by the sentiment pass become passage vectors (a token-weighted
    mean, normalised), and nothing is embedded; an index with its own embedder ignores them."""
    from distill.doc import SentenceVector

    def no_embedding(texts: Sequence[str]) -> np.ndarray:
        raise AssertionError(f"embedded {texts}")

    text = "Great battery. Awful screen, far too dim."
    first, second = np.eye(384, dtype=np.float32)[0], np.eye(384, dtype=np.float32)[1]
    sentences = [SentenceVector(0, 14, 1, first), SentenceVector(15, len(text), 3, second)]
    pooled = pool_sentences(sentences, 0, len(text))
    assert pooled is not None and np.allclose(pooled[:2], [0.25, 0.75])
    assert pool_sentences(sentences, 100, 120) is None

    monkeypatch.setattr(index_module, "default_embedder", no_embedding)
    document = IndexedDocument(id="d", text=text, sentence_vectors=sentences)
    with DocumentIndex(tmp_path / "pooled") as index:
        assert index.add([document]) == 1
        (blob,) = index._db.execute("SELECT vector FROM passages").fetchone()
    stored = np.frombuffer(blob, dtype=np.float32)
    assert np.allclose(stored[:2], np.array([1, 3]) / np.sqrt(10), atol=1e-6)
    with DocumentIndex(tmp_path / "own", embedder=fake_embed) as index:
        assert index.add([document]) == 1  # its own embedder: the sentence vectors are not its


def test_passages_group_whole_sentences() -> None:
    text = "One short sentence. Another one here! A question?\nA new line"
    assert [text[s:e] for s, e in split_passages(text, max_chars=40)] == [
        "One short sentence. Another one here!",
        "A question?\nA new line",
    ]
    assert [text[s:e] for s, e in sentence_spans(text)][-2:] == ["A question?", "A new line"]
    assert split_passages("") == [] and split_passages("   \n ") == []


def test_a_long_sentence_is_cut_at_whitespace() -> None:
    text = "word " * 50 + "unbrokenunbrokenunbroken" * 3
    spans = split_passages(text, max_chars=30)
    assert all(e - s <= 30 for s, e in spans)
    assert all(text[s:e].startswith(("word", "unbroken")) for s, e in spans[:-2])
    assert "".join(text[s:e] for s, e in spans).replace(" ", "") == text.replace(" ", "")


# add, search, replace, delete


def test_search_finds_the_matching_passage_with_exact_offsets(filled: Path) -> None:
    with open_index(filled, read_only=True) as index:
        assert index.documents() == 3 and len(index) == PASSAGES == 3
        [best, *_] = index.search("battery dies quickly", k=3)
        assert best.doc_id == "battery" and best.score is not None and 0 < best.score <= 1.0001
        assert index.document_text("battery")[best.char_start : best.char_end] == best.text
        assert "battery dies quickly" in best.text
        scores = [p.score for p in index.search("the night photos", k=5)]
        assert scores == sorted(scores, reverse=True)
        assert index.search("night photos", k=1)[0].doc_id == "camera"
        assert index.search("zebra unicorn", min_score=0.5) == []
        assert index.search("   ") == [] and index.search("battery", k=0) == []


def test_readding_replaces_never_duplicates(filled: Path) -> None:
    with open_index(filled) as index:
        assert index.add(REVIEWS) == PASSAGES
        assert index.documents() == 3 and len(index) == PASSAGES
        changed = REVIEWS[2].model_copy(update={"text": "Delivery was quick.", "content_hash": "2"})
        index.add([changed, changed])  # twice in one call: still one copy
        assert index.documents() == 3 and len(index) == PASSAGES
        hits = index.search("shipping delivery quick", k=10)
        spans = [(p.doc_id, p.char_start, p.char_end) for p in hits]
        assert len(spans) == len(set(spans)) == PASSAGES
        assert [p.text for p in hits if p.doc_id == "shipping"] == ["Delivery was quick."]
    with open_index(filled, read_only=True) as index:  # the saved cache agrees
        assert index.search("dented box", k=10, min_score=0.2) == []


def test_has_checks_the_content_hash(filled: Path) -> None:
    with open_index(filled, read_only=True) as index:
        assert index.has("battery") and index.has("battery", "h-battery")
        assert not index.has("battery", "stale") and not index.has("nope")


def test_delete_forgets_the_document_and_its_passages(filled: Path) -> None:
    with open_index(filled) as index:
        assert index.delete("battery") and not index.delete("battery")
        assert not index.has("battery") and index.document_text("battery") is None
        assert index.documents() == 2 and len(index) == PASSAGES - 1
        assert all(p.doc_id != "battery" for p in index.search("battery dies", k=5))
    with open_index(filled, read_only=True) as index:
        assert all(p.doc_id != "battery" for p in index.search("battery dies", k=5))


def test_doc_ids_restrict_the_search(filled: Path) -> None:
    with open_index(filled, read_only=True) as index:
        hits = index.search("battery dies quickly", k=5, doc_ids=["camera", "shipping"])
        assert hits and {p.doc_id for p in hits} <= {"camera", "shipping"}
        assert index.search("battery", doc_ids=[]) == []
        assert index.search("battery", doc_ids=["unknown"]) == []
        only = index.search("screen", k=5, doc_ids={"battery"})
        assert [p.doc_id for p in only] == ["battery"]


def test_empty_and_huge_documents(tmp_path: Path) -> None:
    huge = " ".join(f"Sentence number {i} talks about item{i}." for i in range(8000))
    with open_index(tmp_path / "index") as index:
        written = index.add(
            [IndexedDocument(id="empty", text=""), IndexedDocument(id="huge", text=huge)]
        )
        assert written == len(index) == len(split_passages(huge)) > 500
        assert index.has("empty") and index.documents() == 2
        assert index.snippet("empty", None, None) is not None
        start, end = split_passages(huge)[300]
        [hit] = index.search(huge[start:end], k=1)
        assert (hit.doc_id, hit.char_start, hit.char_end) == ("huge", start, end)


def test_a_bad_embedder_is_a_clear_error(tmp_path: Path) -> None:
    with DocumentIndex(tmp_path / "index", embedder=lambda texts: np.ones((1, 3))) as index:
        with pytest.raises(DistillError, match="expected"):
            index.add(REVIEWS)
        assert index.documents() == 0


# snippets


def test_snippet_is_the_sentence_around_the_span(filled: Path) -> None:
    with open_index(filled, read_only=True) as index:
        text = index.document_text("battery") or ""
        start = text.index("battery")
        snippet = index.snippet("battery", start, start + len("battery"))
        assert snippet is not None
        assert snippet.text == "The battery dies quickly, barely half a day."
        assert text[snippet.char_start : snippet.char_end] == snippet.text
        first = index.snippet("battery", None, None, max_chars=60)
        assert first is not None and first.text == "I bought this phone last month."
        assert index.snippet("nope", 0, 3) is None
        camera = index.snippet("camera", 0, 10)
        assert camera is not None and camera.text == "The camera takes sharp photos at night."


def test_snippet_trims_long_sentences_around_the_span(tmp_path: Path) -> None:
    text = ("lorem ipsum " * 60) + "the hinge cracked " + ("dolor sit amet " * 60) + "."
    with open_index(tmp_path / "index") as index:
        index.add([IndexedDocument(id="long", text=text)])
        start = text.index("hinge")
        snippet = index.snippet("long", start, start + 5, max_chars=80)
        assert snippet is not None and len(snippet.text) <= 80
        assert snippet.char_start <= start and snippet.char_end >= start + 5
        assert text[snippet.char_start : snippet.char_end] == snippet.text
        assert snippet.text.split()[0] in {"lorem", "ipsum"}  # whole words at the edges
        assert snippet.text.split()[-1] in {"dolor", "sit", "amet"}
        wide = index.snippet("long", start, start + 200, max_chars=50)
        assert wide is not None and wide.char_start == start and len(wide.text) <= 50


# read-only and missing


def test_read_only_refuses_writes_and_missing_index_says_what_to_run(
    tmp_path: Path, filled: Path
) -> None:
    with open_index(filled, read_only=True) as index:
        with pytest.raises(DistillError, match="read-only"):
            index.add(REVIEWS)
        with pytest.raises(DistillError, match="read-only"):
            index.delete("battery")
    with pytest.raises(DistillError, match="distill ingest"):
        open_index(tmp_path / "missing", read_only=True)
    assert not (tmp_path / "missing").exists()
    (tmp_path / "bogus").mkdir()
    (tmp_path / "bogus" / "index.sqlite").write_text("not a database")
    with pytest.raises(DistillError, match="not a distill document index"):
        open_index(tmp_path / "bogus", read_only=True)


# crash consistency: SQLite is the truth, the faiss file only a cache


def test_cache_is_saved_with_its_generation(filled: Path) -> None:
    stamp = json.loads((filled / "vectors.json").read_text())
    assert stamp["passages"] == PASSAGES and stamp["generation"] == 1
    assert (filled / "vectors.faiss").is_file()


@pytest.mark.parametrize("damage", ["delete", "garbage", "truncate", "stale stamp"])
def test_a_missing_or_damaged_cache_is_rebuilt(filled: Path, damage: str) -> None:
    cache = filled / "vectors.faiss"
    if damage == "delete":
        cache.unlink()
    elif damage == "garbage":
        cache.write_bytes(b"\x00garbage" * 100)
    elif damage == "truncate":
        cache.write_bytes(cache.read_bytes()[:200])
    else:
        stale = {"generation": 0, "passages": PASSAGES}
        (filled / "vectors.json").write_text(json.dumps(stale))
    with open_index(filled, read_only=True) as index:
        assert index.search("battery dies quickly", k=1)[0].doc_id == "battery"
    with open_index(filled) as index:  # a writer repairs the cache
        assert len(index.search("camera", k=10)) == PASSAGES
    assert json.loads((filled / "vectors.json").read_text())["generation"] == 1


def test_a_crash_before_saving_the_cache_loses_nothing(filled: Path) -> None:
    crashed = open_index(filled)
    crashed.add([IndexedDocument(id="late", text="The charger overheats badly.")])
    crashed.delete("shipping")
    crashed._db.close()  # the process dies: SQLite committed, vectors.faiss never saved
    with open_index(filled, read_only=True) as index:
        assert index.search("charger overheats", k=1)[0].doc_id == "late"
        assert all(p.doc_id != "shipping" for p in index.search("shipping box dented", k=10))


def test_writes_behind_the_cache_are_seen(filled: Path) -> None:
    """Raw SQLite writes (another process) bump the generation; the cache must not be trusted."""
    with sqlite3.connect(filled / "index.sqlite") as db:
        db.execute("DELETE FROM passages WHERE doc_id = 'battery'")
        db.execute("DELETE FROM documents WHERE id = 'battery'")
        db.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")
    db.close()
    with open_index(filled, read_only=True) as index:
        assert all(p.doc_id != "battery" for p in index.search("battery dies", k=10))


def test_a_reader_sees_another_writers_changes(filled: Path) -> None:
    with open_index(filled, read_only=True) as reader, open_index(filled) as writer:
        assert reader.search("charger overheats", k=1)[0].doc_id != "late"
        writer.add([IndexedDocument(id="late", text="The charger overheats badly.")])
        assert reader.search("charger overheats", k=1)[0].doc_id == "late"
        writer.delete("late")
        assert reader.search("charger overheats", k=1)[0].doc_id != "late"


def test_a_failed_add_writes_nothing(filled: Path) -> None:
    class Boom(Exception):
        pass

    with open_index(filled) as index:
        original = index._bump

        def crash(generation: int) -> None:
            original(generation)
            raise Boom  # mid-transaction, after every row went in

        index._bump = crash  # type: ignore[method-assign]
        extra = IndexedDocument(id="extra", text="More text here.")
        with pytest.raises(Boom):
            index.add([extra, REVIEWS[0].model_copy(update={"text": "Replaced."})])
        index._bump = original  # type: ignore[method-assign]
        assert not index.has("extra") and index.documents() == 3 and len(index) == PASSAGES
        assert index.search("battery dies quickly", k=1)[0].doc_id == "battery"


# ingest builds the index


class FakeNER(Backend):
    name = "fake-ner"

    def predict(self, docs: list[Doc]) -> list[Doc]:
        for doc in docs:
            if "EXPLODE" in doc.text:
                raise RuntimeError("ner crashed")
            span = doc.char_span(0, len(doc.text.split()[0]), label="PRODUCT")
            doc.ents = [span] if span is not None else []
        return docs


ROWS = [
    {"id": "r1", "text": "Nebula battery dies quickly.", "title": "Short battery"},
    {"id": "r2", "text": "Orion camera is sharp."},
    {"id": "boom", "text": "EXPLODE now."},
]


@pytest.fixture
def ingest_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(index_module, "default_embedder", fake_embed)
    config = load_config(
        None,
        overrides=[
            "graph.store=networkx",
            f"graph.path={tmp_path / 'graph'}",
            f"index.path={tmp_path / 'index'}",
        ],
        environ={},
    ).config
    pipeline = Pipeline(config, tasks=["ner"], backends={"ner": FakeNER(make_task("ner"))})
    path = tmp_path / "reviews.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    return config, pipeline, path


def test_ingest_indexes_written_documents_once(ingest_setup) -> None:  # type: ignore[no-untyped-def]
    config, pipeline, path = ingest_setup
    first = ingest([path], config, pipeline=pipeline, batch_size=2)
    assert first.written == 2 and first.indexed == 2
    assert {f.doc_id for f in first.failures} == {"boom"}
    again = ingest([path], config, pipeline=pipeline)
    assert again.indexed == 2
    with DocumentIndex.from_config(config.index, read_only=True) as index:
        assert index.documents() == 2 and len(index) == 2 and not index.has("boom")
        key = pipeline.fingerprint()
        assert index.has("r1") and index.has("r1", f"{_sha('Nebula battery dies quickly.')}:{key}")
        assert index.search("battery dies", k=1)[0].doc_id == "r1"
        row = index._db.execute("SELECT source, title FROM documents WHERE id = 'r1'").fetchone()
        assert row[0].endswith("reviews.jsonl:1") and row[1] == "Short battery"
    resumed = ingest([path], config, pipeline=pipeline, resume=True)
    assert resumed.skipped == 2 and resumed.indexed == 0


def test_resume_reindexes_what_the_index_lacks(ingest_setup) -> None:  # type: ignore[no-untyped-def]
    config, pipeline, path = ingest_setup
    ingest([path], config, pipeline=pipeline)
    with DocumentIndex.from_config(config.index) as index:
        index.delete("r2")
    resumed = ingest([path], config, pipeline=pipeline, resume=True)
    assert resumed.skipped == 1 and resumed.indexed == 1 and resumed.written == 1


def test_an_index_failure_is_reported_and_retried_by_resume(
    ingest_setup, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    config, pipeline, path = ingest_setup

    def broken(texts: Sequence[str]) -> np.ndarray:
        raise RuntimeError("embedder out of memory")

    monkeypatch.setattr(index_module, "default_embedder", broken)
    report = ingest([path], config, pipeline=pipeline)
    assert report.written == 2 and report.indexed == 0
    index_failures = {f.doc_id: f for f in report.failures if f.stage == "index"}
    assert set(index_failures) == {"r1", "r2"}
    assert "embedder out of memory" in index_failures["r1"].reason
    with open_store(config.graph, read_only=True) as store:
        assert store.has_document("r1") and store.has_document("r2")
    monkeypatch.setattr(index_module, "default_embedder", fake_embed)
    resumed = ingest([path], config, pipeline=pipeline, resume=True)
    assert resumed.skipped == 0 and resumed.indexed == 2


def test_dry_run_and_a_disabled_index_write_no_index(ingest_setup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config, pipeline, path = ingest_setup
    report = ingest([path], config, pipeline=pipeline, dry_run=True)
    assert report.indexed == 0 and not (tmp_path / "index").exists()
    disabled = config.model_copy(
        update={"index": config.index.model_copy(update={"enabled": False})}
    )
    report = ingest([path], disabled, pipeline=pipeline)
    assert report.written == 2 and report.indexed == 0 and not (tmp_path / "index").exists()


def _sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


# the real MiniLM


@pytest.mark.real
def test_real_minilm_finds_the_battery_review(tmp_path: Path) -> None:
    reviews = [
        IndexedDocument(id="screen", text="The screen is bright and colours are vivid."),
        IndexedDocument(id="battery", text="Battery life is awful; it is empty by lunchtime."),
        IndexedDocument(id="delivery", text="The parcel arrived two days late."),
    ]
    with DocumentIndex(tmp_path / "index") as index:
        index.add(reviews)
        hits = index.search("battery dies quickly", k=3)
        assert hits[0].doc_id == "battery" and hits[0].score is not None
        assert hits[0].score > hits[1].score


# hybrid search: keywords (BM25) fused with vectors


def orthogonal_embed(texts: Sequence[str]) -> np.ndarray:
    """An embedder under which no passage resembles any query: only keywords can find them."""
    vectors = np.zeros((len(texts), index_module.DIMENSION), dtype=np.float32)
    for row, text in enumerate(texts):
        vectors[row, zlib_slot(text)] = 1.0
    return vectors


def zlib_slot(text: str) -> int:
    import zlib

    return zlib.crc32(text.encode()) % index_module.DIMENSION


def test_keyword_matches_are_found_when_vectors_miss(tmp_path: Path) -> None:
    with DocumentIndex(tmp_path / "index", embedder=orthogonal_embed) as index:
        index.add(REVIEWS)
        found = index.search("worst battery reviews", k=3, min_score=0.5)
    assert found and found[0].doc_id == "battery"
    assert "battery" in found[0].text


def test_keyword_search_respects_the_document_filter_and_deletes(filled: Path) -> None:
    with open_index(filled) as index:
        assert {p.doc_id for p in index.search("battery", doc_ids={"camera"})} <= {"camera"}
        index.delete("battery")
        assert all(p.doc_id != "battery" for p in index.search("battery"))
        rows = index._db.execute("SELECT COUNT(*) FROM passage_words").fetchone()[0]
        assert rows == len(index)


def test_an_index_from_before_keyword_search_is_backfilled(filled: Path) -> None:
    db = sqlite3.connect(filled / index_module.DATABASE)
    db.execute("DELETE FROM passage_words")
    db.commit()
    db.close()
    with open_index(filled) as index:
        assert index._db.execute("SELECT COUNT(*) FROM passage_words").fetchone()[0] == PASSAGES
        assert index.search("dented box")[0].doc_id == "shipping"
