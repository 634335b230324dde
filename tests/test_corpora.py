"""Readers on tiny fixtures: formats, tag schemes, and errors that name file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from distill.corpora import CorpusError, labels_of, read_corpus
from distill.corpora.conll import entity_spans
from distill.model_card import split_dev

FIXTURES = Path(__file__).parent / "fixtures"


def ents(doc) -> list[tuple[str, str]]:
    return [(e.text, e.label_) for e in doc.ents]


def test_conll_iob2_documents_and_sentences() -> None:
    docs = read_corpus(FIXTURES / "iob2.conll", "conll", "ner")
    assert [d.text for d in docs] == [
        "EU rejects German call .",
        "Peter Blackburn",
        "BRUSSELS 1996-08-22",
    ]
    assert ents(docs[0]) == [("EU", "ORG"), ("German", "MISC")]
    assert ents(docs[1]) == [("Peter Blackburn", "PER")]
    assert [d._.meta["document"] for d in docs] == [1, 1, 2]
    assert docs[0]._.meta["line"] == 3


def test_conll_iob1_and_stray_bom() -> None:
    docs = read_corpus(FIXTURES / "iob1.conll", "conll")
    assert ents(docs[0]) == [("John Smith", "PER"), ("Jane", "PER"), ("New York", "LOC")]
    assert ents(docs[1]) == [("Apple", "ORG"), ("Juice", "ORG")]
    assert all("\ufeff" not in d.text for d in docs)


@pytest.mark.parametrize(
    ("tags", "spans"),
    [
        (["B-X", "I-X", "B-X"], [(0, 2, "X"), (2, 3, "X")]),  # IOB2
        (["I-X", "I-X", "B-X"], [(0, 2, "X"), (2, 3, "X")]),  # IOB1
        (["I-X", "I-Y", "O", "I-Y"], [(0, 1, "X"), (1, 2, "Y"), (3, 4, "Y")]),
        (["S-X", "B-Y", "E-Y", "I-Y"], [(0, 1, "X"), (1, 3, "Y"), (3, 4, "Y")]),  # BIOES
    ],
)
def test_entity_spans_decodes_tag_schemes(tags, spans) -> None:
    assert entity_spans(tags) == spans


def test_malformed_conll_names_file_and_line() -> None:
    with pytest.raises(CorpusError, match=r"malformed\.conll:3: expected 'token ... tag'"):
        read_corpus(FIXTURES / "malformed.conll", "conll")


def test_prodigy_spans_and_rejects_skipped() -> None:
    docs = read_corpus(FIXTURES / "cooking.jsonl", "prodigy", "ner")
    assert len(docs) == 2
    assert ents(docs[0]) == [("eggs", "INGREDIENT"), ("cast iron pan", "EQUIPMENT")]
    assert labels_of(docs, "ner") == ["DISH", "EQUIPMENT", "INGREDIENT"]


def test_malformed_jsonl_names_line() -> None:
    with pytest.raises(CorpusError, match=r"malformed\.jsonl:2: not valid JSON"):
        read_corpus(FIXTURES / "malformed.jsonl", "prodigy")


def test_docbin_round_trip(tmp_path: Path) -> None:
    from spacy.tokens import DocBin

    docs = read_corpus(FIXTURES / "cooking.jsonl", "prodigy")
    path = tmp_path / "cooking.spacy"
    DocBin(docs=docs).to_disk(path)
    again = read_corpus(path, "docbin", "ner")
    assert [ents(d) for d in again] == [ents(d) for d in docs]


def test_not_a_docbin(tmp_path: Path) -> None:
    path = tmp_path / "x.spacy"
    path.write_text("hello")
    with pytest.raises(CorpusError, match="not a spaCy DocBin"):
        read_corpus(path, "docbin")


def test_semeval14_terms_are_opinions_and_inputs() -> None:
    docs = read_corpus(FIXTURES / "laptops14.xml", "semeval14", "sentiment")
    assert len(docs) == 3
    first = docs[0]
    assert [(o.term, o.polarity, first.text[o.start : o.end]) for o in first._.opinions] == [
        ("battery life", "positive", "battery life"),
        ("screen", "negative", "screen"),
    ]
    assert first._.meta["aspect_terms"][1] == {"term": "screen", "start": 34, "end": 40}
    assert docs[1]._.opinions == [] and docs[1]._.meta["aspect_terms"] == []


def test_semeval16_categories_crlf_and_out_of_scope() -> None:
    docs = read_corpus(FIXTURES / "laptops16.xml", "semeval16", "sentiment")
    assert [d.text for d in docs] == ["Great laptop, awful battery.", "The screen is too dim."]
    assert [(o.aspect, o.polarity) for o in docs[0]._.opinions] == [
        ("LAPTOP#GENERAL", "positive"),
        ("BATTERY#OPERATION_PERFORMANCE", "negative"),
    ]
    assert "aspect_terms" not in docs[0]._.meta
    assert labels_of(docs, "sentiment") == [
        "BATTERY#OPERATION_PERFORMANCE",
        "DISPLAY#QUALITY",
        "LAPTOP#GENERAL",
    ]


def test_semeval_bad_polarity_names_line() -> None:
    with pytest.raises(CorpusError, match=r"bad_polarity14\.xml:6: <aspectTerm> polarity 'great'"):
        read_corpus(FIXTURES / "bad_polarity14.xml", "semeval14")


def test_broken_xml_names_line() -> None:
    with pytest.raises(CorpusError, match=r"broken\.xml:5: not well-formed XML"):
        read_corpus(FIXTURES / "broken.xml", "semeval14")


def test_unknown_format_missing_file_and_wrong_task() -> None:
    with pytest.raises(CorpusError, match="unknown format 'csv'"):
        read_corpus(FIXTURES / "iob2.conll", "csv")
    with pytest.raises(CorpusError, match="no such file"):
        read_corpus(FIXTURES / "nope.conll", "conll")
    with pytest.raises(CorpusError, match="holds ner labels, not sentiment"):
        read_corpus(FIXTURES / "iob2.conll", "conll", "sentiment")


def test_limit_and_dev_split_are_deterministic() -> None:
    docs = read_corpus(FIXTURES / "iob2.conll", "conll", limit=2)
    assert len(docs) == 2
    train, dev = split_dev(read_corpus(FIXTURES / "iob2.conll", "conll"), fraction=0.34)
    _, dev2 = split_dev(read_corpus(FIXTURES / "iob2.conll", "conll"), fraction=0.34)
    assert [d.text for d in dev] == [d.text for d in dev2] and dev and train
    # by -DOCSTART- document, never by sentence: no document on both sides
    documents = [{d._.meta["document"] for d in part} for part in (train, dev)]
    assert documents[0].isdisjoint(documents[1])


def test_the_dev_split_keeps_a_review_whole_and_items_without_documents_are_drawn() -> None:
    docs = read_corpus(FIXTURES / "huliu_sample.txt", "huliu", "sentiment")
    train, dev = split_dev(docs, fraction=0.3)
    reviews = [{d._.meta["review"] for d in part} for part in (train, dev)]
    assert dev and train and reviews[0].isdisjoint(reviews[1])
    records = read_corpus(FIXTURES / "laptops14.xml", "semeval14")  # no document: sentences
    _, drawn = split_dev(records, fraction=0.34)
    assert len(drawn) == max(1, int(len(records) * 0.34))


HAND_TAGGED = """[t]good camera , some quirks
camera[+2]##this camera takes lovely pictures .
[cs]##my older vela was slower to start .
zoom[+2##the zoom is smooth .
[+2]##i would buy it again .
lens[+]##the lens cap falls off .
size[+1][u], weight[-1]##it fits in a coat pocket but it is heavy .
"""


def test_a_hu_and_liu_annotation_that_cannot_be_read_costs_that_opinion_only(
    tmp_path: Path,
) -> None:
    """The files are hand-tagged ("errors and inconsistencies are inevitable", their
    Readme): an unclosed bracket, a sign with no strength or an opinion with no feature
    is skipped with a warning naming the line; the sentences and other opinions stay."""
    from distill.corpora.errors import CorpusWarning

    path = tmp_path / "Vela V3 camera.txt"
    path.write_text(HAND_TAGGED)
    with pytest.warns(CorpusWarning) as caught:
        docs = read_corpus(path, "huliu", "sentiment")
    assert sorted(str(w.message).split(":")[1] for w in caught) == ["4", "5", "6"]
    assert "unclosed bracket" in str(caught[0].message)
    assert len(docs) == 6  # every sentence kept
    found = [(o.term, o.polarity) for d in docs for o in d._.opinions]
    assert found == [("camera", "positive"), ("size", "positive"), ("weight", "negative")]
