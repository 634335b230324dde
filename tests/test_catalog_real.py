"""The real path of "your catalog": the shipped general NER model + the catalog gazetteer,
the `match` linker with MiniLM + faiss candidates, through the ingest pipeline, on a
small fixture catalog configured in a distill.toml."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from distill.config import load_config
from distill.ingest.pipeline import Pipeline
from distill.ingest.readers import SourceDocument
from distill.plugins.linker import match
from distill.plugins.linker.candidates import FAISS_FILE, LEXICAL_FILE, CandidateIndex
from distill.plugins.linker.catalog import Catalog
from distill.plugins.ner.trained import GENERAL_MODEL, TrainedNER

pytestmark = pytest.mark.real

PHONES = Path(__file__).parent / "fixtures" / "catalog" / "phones.jsonl"
REVIEW = (
    "great phone , i bought the nokia 6610 last month and the 6610 beats my old motorola "
    "and the samsung galaxy s21 my wife has . over the last 8 years i had # 38 phones , "
    "3.5 ) stars for amazon though ."
)


def document(text: str, doc_id: str = "r1") -> SourceDocument:
    return SourceDocument(id=doc_id, text=text, source="test")


def test_defaults_link_a_lowercase_review_against_the_configured_catalog(tmp_path: Path) -> None:
    toml = tmp_path / "distill.toml"
    toml.write_text(f'[catalog]\npath = "{PHONES}"\ncache = "{tmp_path / "cache"}"\n')
    pipeline = Pipeline(load_config(toml).config, tasks=("ner", "linker"))
    assert pipeline.describe() == {"ner": "trained", "linker": "match"}
    assert isinstance(pipeline.backends["ner"], TrainedNER)
    assert pipeline.backends["ner"].options.model_path == str(GENERAL_MODEL)
    (doc,), failures = pipeline.annotate([document(REVIEW)])
    assert not failures
    ents = {(e.text, e.label_): e.kb_id_ for e in doc.ents}
    assert ents[("nokia 6610", "PRODUCT")] == "nokia-6610"
    assert ents[("6610", "PRODUCT")] == "nokia-6610"
    assert ents[("samsung galaxy s21", "PRODUCT")] == "samsung-s21"
    assert ents[("motorola", "BRAND")] == ""
    for ent in doc.ents:  # no junk: every span has a letter or is a catalog name
        assert ent.kb_id_ or any(c.isalpha() for c in ent.text), ent.text
        assert ent.text not in ("last 8", "# 38", "3.5 )", "38")
    # the candidate index was built once and saved by catalog version
    folder = tmp_path / "cache" / Catalog.load(PHONES).digest
    assert (folder / LEXICAL_FILE).is_file() and (folder / FAISS_FILE).is_file()
    stamp = (folder / FAISS_FILE).stat().st_mtime_ns
    again = CandidateIndex(Catalog.load(PHONES), semantic=True, cache=tmp_path / "cache")
    assert (folder / FAISS_FILE).stat().st_mtime_ns == stamp
    (hit,) = again.generate(["nokia six six ten"], k=3)
    assert hit and all("semantic" in c.sources or "fuzzy" in c.sources for c in hit)


def test_no_catalog_ner_still_runs_and_the_linker_links_nothing(tmp_path: Path) -> None:
    toml = tmp_path / "distill.toml"
    toml.write_text("")
    pipeline = Pipeline(load_config(toml).config, tasks=("ner", "linker"))
    match._noted.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (doc,), failures = pipeline.annotate([document("I love my new iPhone from Apple .")])
    assert not failures
    assert all(not e.kb_id_ for e in doc.ents)
    assert any("no catalog configured" in str(w.message) for w in caught)
