"""Aligning the LLM's entity strings to character offsets."""

from __future__ import annotations

from distill.plugins.ner.align import Aligned, align


def test_repeated_substrings_map_to_successive_occurrences() -> None:
    text = "Apple sued Apple Records; apple pie is not Apple."
    spans, missing = align(text, [("Apple", "ORG"), ("Apple Records", "ORG")])
    assert missing == []
    assert [(text[s.start : s.end], s.start) for s in spans] == [
        ("Apple", 0),
        ("Apple Records", 11),
        ("Apple", 43),  # listed once, labelled at every verbatim occurrence
    ]


def test_reading_order_cursor() -> None:
    text = "Paris Hilton visited Paris."
    spans, _ = align(text, [("Paris Hilton", "PER"), ("Paris", "LOC")])
    assert spans == [Aligned(0, 12, "PER"), Aligned(21, 26, "LOC")]


def test_case_and_whitespace_differences() -> None:
    text = "I love NEW  York and the\tbig apple."
    spans, missing = align(text, [("New York", "LOC"), ("Big Apple", "LOC")])
    assert missing == []
    assert [text[s.start : s.end] for s in spans] == ["NEW  York", "big apple"]


def test_word_boundaries_and_missing_mentions() -> None:
    text = "Pancakes in a pan."
    spans, missing = align(text, [("pan", "EQUIPMENT"), ("waffle iron", "EQUIPMENT")])
    assert [(s.start, s.end) for s in spans] == [(14, 17)]
    assert missing == [("waffle iron", "EQUIPMENT")]


def test_never_overlaps_and_ignores_empty() -> None:
    text = "New York City"
    spans, missing = align(text, [("New York City", "LOC"), ("York", "LOC"), ("  ", "LOC")])
    assert spans == [Aligned(0, 13, "LOC")]
    assert missing == [("  ", "LOC")]
