"""The demo corpus in examples/demo: files parse, labels are consistent, and they match the
builder script that generates them."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo"
ASPECTS = {"battery", "camera", "screen", "performance", "design", "price", "software", "sound"}
POLARITIES = {"positive", "negative", "neutral"}
KINDS = {"aggregate", "lookup", "compare", "unanswerable", "tempting"}


def read_jsonl(name: str) -> list[dict]:
    lines = (DEMO / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def catalog() -> dict[str, dict]:
    return {p["id"]: p for p in read_jsonl("catalog.jsonl")}


@pytest.fixture(scope="module")
def reviews() -> list[dict]:
    return read_jsonl("reviews.jsonl")


@pytest.fixture(scope="module")
def questions() -> list[dict]:
    return read_jsonl("questions.jsonl")


def test_catalog_entries_are_well_formed(catalog: dict[str, dict]) -> None:
    assert len(catalog) >= 25
    assert len(catalog) == len(read_jsonl("catalog.jsonl")), "duplicate ids"
    for pid, product in catalog.items():
        assert set(product) == {
            "id",
            "name",
            "brand",
            "category",
            "aliases",
            "release_date",
            "attributes",
        }
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", pid)
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", product["release_date"])
        assert isinstance(product["aliases"], list)
        assert product["attributes"]["price_usd"] > 0


def test_reviews_have_consistent_offsets_and_ids(
    reviews: list[dict], catalog: dict[str, dict]
) -> None:
    assert len(reviews) >= 40
    assert [r["id"] for r in reviews] == [f"r{i:02d}" for i in range(1, len(reviews) + 1)]
    for review in reviews:
        text = review["text"]
        previous_end = 0
        for ent in review["entities"]:
            assert 0 <= ent["start"] < ent["end"] <= len(text), review["id"]
            assert ent["start"] >= previous_end, f"{review['id']}: overlapping entities"
            previous_end = ent["end"]
            mention = text[ent["start"] : ent["end"]]
            assert mention == mention.strip() and mention, review["id"]
            assert ent["label"] in {"PRODUCT", "BRAND"}
            if ent["label"] == "BRAND":
                assert ent["kb_id"] is None
            elif ent["kb_id"] is not None:
                assert ent["kb_id"] in catalog, f"{review['id']}: {ent['kb_id']}"


def test_offsets_align_with_spacy_tokens(reviews: list[dict]) -> None:
    spacy = pytest.importorskip("spacy")
    nlp = spacy.blank("en")
    for review in reviews:
        doc = nlp.make_doc(review["text"])
        for ent in review["entities"]:
            assert doc.char_span(ent["start"], ent["end"]) is not None, review["id"]


def test_opinions_are_valid_and_target_mentioned_products(reviews: list[dict]) -> None:
    for review in reviews:
        text = review["text"]
        linked = {e["kb_id"] for e in review["entities"] if e["kb_id"]}
        nil = {
            text[e["start"] : e["end"]]
            for e in review["entities"]
            if e["label"] == "PRODUCT" and e["kb_id"] is None
        }
        for opinion in review["opinions"]:
            assert opinion["aspect"] in ASPECTS
            assert opinion["polarity"] in POLARITIES
            assert opinion["target"] in linked | nil, f"{review['id']}: {opinion['target']}"


def test_every_catalog_entry_is_mentioned(reviews: list[dict], catalog: dict[str, dict]) -> None:
    mentioned = {e["kb_id"] for r in reviews for e in r["entities"] if e["kb_id"]}
    assert mentioned == set(catalog)


def test_corpus_covers_the_hard_cases(reviews: list[dict]) -> None:
    ents = [e for r in reviews for e in r["entities"]]
    assert any(e["label"] == "PRODUCT" and e["kb_id"] is None for e in ents), "NIL mentions"
    assert any(e["label"] == "BRAND" for e in ents)
    assert any(not r["entities"] for r in reviews), "a review without products"
    assert {o["aspect"] for r in reviews for o in r["opinions"]} == ASPECTS


def test_questions_are_valid(questions: list[dict], reviews: list[dict]) -> None:
    assert len(questions) >= 30
    ids = {r["id"] for r in reviews}
    assert [q["id"] for q in questions] == [f"q{i:02d}" for i in range(1, len(questions) + 1)]
    for q in questions:
        assert set(q) == {"id", "question", "expected_answer", "expected_docs", "kind"}
        assert q["kind"] in KINDS
        assert q["question"].strip() and q["expected_answer"].strip()
        assert set(q["expected_docs"]) <= ids, q["id"]
    kinds = {q["kind"] for q in questions}
    assert kinds == KINDS


def test_generated_files_match_the_builder() -> None:
    """reviews.jsonl, catalog.jsonl and questions.jsonl are what build_corpus.py produces."""
    pytest.importorskip("spacy")

    def load(name: str):
        spec = importlib.util.spec_from_file_location(f"demo_{name}", DEMO / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    builder, question_builder = load("build_corpus"), load("build_questions")
    catalog, reviews = builder.build()
    assert catalog == read_jsonl("catalog.jsonl")
    assert reviews == read_jsonl("reviews.jsonl")
    assert question_builder.build(catalog, reviews) == read_jsonl("questions.jsonl")
