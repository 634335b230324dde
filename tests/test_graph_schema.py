"""Schema, normalization and the spaCy Doc → facts conversion."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from spacy.tokens import Span

from distill.doc import make_doc, set_confidence
from distill.graph.from_doc import content_hash, facts_from_doc
from distill.graph.resolve import entity_id, normalize, set_aliases
from distill.graph.schema import DocumentFacts, DocumentNode, MentionFact, Provenance
from distill.graph.testing import sample_facts
from distill.plugins.sentiment.task import Opinion


def test_normalize_case_whitespace_and_quotes() -> None:
    assert normalize("  The\u00a0iPhone   15 ") == "the iphone 15"
    assert normalize('"Pixel 8".') == "pixel 8"
    assert entity_id("product", "iPhone  15") == "PRODUCT:iphone 15"


def test_aliases_map_to_one_canonical_name() -> None:
    try:
        set_aliases({"iPhone Fifteen": "iPhone 15"})
        assert normalize("IPHONE   fifteen") == "iphone 15"
    finally:
        set_aliases({})
    assert normalize("iphone fifteen") == "iphone fifteen"


def test_facts_must_cite_their_own_document() -> None:
    prov = Provenance(doc_id="other", tool="ner")
    with pytest.raises(ValidationError, match="cites document 'other'"):
        DocumentFacts(
            document=DocumentNode(id="d1"),
            mentions=[MentionFact(text="x", label="PRODUCT", provenance=prov)],
        )
    with pytest.raises(ValidationError):
        Provenance(doc_id="d", tool="ner", char_start=5, char_end=2)
    with pytest.raises(ValidationError):
        Provenance(doc_id="d", tool="ner", confidence=1.5)


def test_records_carry_provenance_on_every_edge() -> None:
    records = sample_facts("d1").records()
    assert all(e.props["doc_id"] == "d1" and e.props["tool"] for e in records.edges)
    refers = [e for e in records.edges if e.type == "REFERS_TO"]
    assert refers[0].props["tool"] == "linker" and refers[0].props["char_start"] == 0


def test_facts_from_doc() -> None:
    doc = make_doc(
        "I love the Pixel 8 camera but Acme Z is meh.", doc_id="r1", meta={"source": "web"}
    )
    doc.ents = [
        Span(doc, 3, 5, label="PRODUCT", kb_id="P8"),
        Span(doc, 7, 9, label="BRAND"),
    ]
    set_confidence(doc, "linker", 11, 18, 0.75)
    doc._.opinions = [
        Opinion(aspect="camera", polarity="positive", target="P8", term="camera", start=19, end=25),
        Opinion(aspect="design", polarity="negative", target="pixel 8"),
        Opinion(aspect="price", polarity="neutral", target="Acme Z"),
    ]
    facts = facts_from_doc(doc, {"ner": "trained", "linker": "prompt"}, models={"ner": "ner-v1"})
    assert facts.document.content_hash == content_hash(doc.text)
    assert facts.document.source == "web"
    pixel, acme = facts.mentions
    assert (pixel.product_id, pixel.provenance.char_start, pixel.provenance.model) == (
        "P8",
        11,
        "ner-v1",
    )
    assert (
        pixel.link is not None and pixel.link.confidence == 0.75 and pixel.link.backend == "prompt"
    )
    assert acme.product_id is None and acme.link is None
    assert [(o.product_id, o.target) for o in facts.opinions] == [
        ("P8", None),
        ("P8", None),
        (None, "Acme Z"),
    ]
    assert facts.opinions[2].target_label == "BRAND"


def test_facts_from_doc_needs_an_id() -> None:
    from distill.graph.errors import GraphError

    with pytest.raises(GraphError, match="no id"):
        facts_from_doc(make_doc("x"), {})
