"""Reading documents to ingest, and chunking long ones without losing mentions."""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

import pytest

from distill.doc import make_doc
from distill.errors import DistillError
from distill.ingest.chunking import chunk_bounds, merge, split
from distill.ingest.readers import LoadFailure, SourceDocument, read_documents


def test_every_format_and_folders(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("The Nebula X2 camera is great.")
    (tmp_path / "b.md").write_text("# Review\nBattery died by noon.")
    (tmp_path / "c.jsonl").write_text(
        json.dumps({"id": "r1", "text": "One.", "meta": {"stars": 4}})
        + "\n\n"
        + json.dumps({"text": "Two."})
        + "\n"
    )
    (tmp_path / "d.csv").write_text('id,body\nx1,"Great, really."\nx2,Bad\n')
    (tmp_path / "ignored.bin").write_bytes(b"\x00")
    found = list(read_documents([tmp_path], text_field="text"))
    ids = [d.id for d in found if isinstance(d, SourceDocument)]
    # ids: paths relative to the folder; an id-less line gets its file and a hash of its text
    two = hashlib.sha256(b"Two.").hexdigest()[:12]
    assert ids == ["a.txt", "b.md", "r1", f"c.jsonl#{two}"]
    assert found[2].meta == {"stars": 4}
    failures = {Path(d.source).name: d.reason for d in found if isinstance(d, LoadFailure)}
    assert failures["d.csv"].startswith("no column 'text' (columns: id, body)")


def test_a_hu_and_liu_review_file_is_read_as_its_reviews(tmp_path: Path) -> None:
    """`[t]` titles and `##` sentences: one document per review, annotations cut, about
    the product the file is named after; a stray byte does not refuse the file."""
    sample = (Path(__file__).parent / "fixtures" / "huliu_sample.txt").read_bytes()
    path = tmp_path / "Aster A1.txt"
    path.write_bytes(sample.replace(b"bought it", b"bought it \xe9"))  # not UTF-8
    found = list(read_documents([path]))
    assert all(isinstance(d, SourceDocument) for d in found), found
    assert [d.id for d in found] == ["Aster A1.txt#1", "Aster A1.txt#2"]
    first, second = found
    assert first.text.startswith("this phone is great , i love it . the battery life is long")
    assert "[+" not in first.text and "##" not in second.text
    assert first.meta["product"] == "Aster A1" and first.meta["title"] == "great little phone"
    assert "at & t" in second.text  # an HTML entity of the crawl, decoded
    assert second.source.endswith("Aster A1.txt:10")  # the review's first sentence line

    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n\n## Battery\n[t]ime to charge\n## Screen\nbright\n")
    (plain,) = read_documents([notes])
    assert isinstance(plain, SourceDocument) and plain.id == "notes.md"


def test_a_hu_and_liu_file_with_annotations_that_cannot_be_read_is_still_ingested(
    tmp_path: Path,
) -> None:
    """Ingest cuts the annotations, so a hand-tagging slip ("zoom[+2", "[+2]") never
    refuses the file (it did: one odd line failed every review of it)."""
    from tests.test_corpora import HAND_TAGGED

    path = tmp_path / "Vela V3 camera.txt"
    path.write_text(HAND_TAGGED + "[t]second thoughts\n##it is fine .\n")
    found = list(read_documents([path]))
    assert [d.id for d in found if isinstance(d, SourceDocument)] == [
        "Vela V3 camera.txt#1",
        "Vela V3 camera.txt#2",
    ]
    assert "the zoom is smooth . i would buy it again ." in found[0].text
    assert "[" not in found[0].text


def test_a_hu_and_liu_file_without_titles_is_one_review(tmp_path: Path) -> None:
    """No `[t]` line but annotated `##` sentences: still the format (annotations cut),
    its sentences one review."""
    path = tmp_path / "Vela V3.txt"
    path.write_text("battery[+2]##the battery lasts .\n##it is fine .\nscreen[-1]##dim screen .\n")
    (found,) = read_documents([path])
    assert isinstance(found, SourceDocument) and found.id == "Vela V3.txt#1"
    assert found.text == "the battery lasts . it is fine . dim screen ."


def test_csv_column_is_chosen_by_flag(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text('id,body\nx1,"Great, really."\n')
    docs = list(read_documents([path], text_field="body"))
    assert [(d.id, d.text) for d in docs] == [("x1", "Great, really.")]
    [failure] = read_documents([path])
    assert isinstance(failure, LoadFailure) and "--text-field" in failure.reason


def test_bad_documents_fail_alone_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(
        b'{"id": "ok1", "text": "fine"}\n'
        b'{"id": "bad-json", "text": \n'
        b'{"id": "utf", "text": "caf\xe9"}\n'
        b'{"id": "empty", "text": "   "}\n'
        b'{"id": "nottext", "text": 42}\n'
        b'["a list"]\n'
        b'{"id": "ok2", "text": "also fine"}\n'
    )
    results = list(read_documents([path]))
    assert [r.id for r in results if isinstance(r, SourceDocument)] == ["ok1", "ok2"]
    reasons = {r.source.rsplit(":", 1)[1]: r.reason for r in results if isinstance(r, LoadFailure)}
    assert reasons["2"].startswith("malformed JSON")
    assert reasons["3"].startswith("invalid UTF-8 at byte")
    assert reasons["4"] == "empty text"
    assert reasons["5"] == "field 'text' is a number, not a string"
    assert reasons["6"] == "expected a JSON object, got an array"


def test_too_long_and_missing(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("word " * 100)
    [failure] = read_documents([path], max_chars=50)
    assert isinstance(failure, LoadFailure) and "too long" in failure.reason
    with pytest.raises(DistillError, match="no such file"):
        list(read_documents([tmp_path / "nope.txt"]))


def test_chunks_cover_the_text_and_own_disjoint_ranges() -> None:
    text = " ".join(f"Sentence {i} mentions the Nebula X{i}." for i in range(400))
    chunks = chunk_bounds(text, max_chars=500, overlap=100)
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    assert all(len(text[c.start : c.end]) <= 500 for c in chunks)
    owned = [(c.own_start, c.own_end) for c in chunks]
    assert owned[0][0] == 0 and owned[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(owned))
    assert all(b.start < a.end for a, b in itertools.pairwise(chunks))  # overlap


def test_mentions_across_chunk_borders_are_kept_once() -> None:
    """A toy 'tool' finds every 'Nebula X2' in each chunk; merged, each is found exactly once."""
    text = ("filler words here. " * 30 + "I love the Nebula X2 so much. ") * 8
    doc = make_doc(text, "long")
    pieces = split(doc, max_chars=400, overlap=120)
    assert len(pieces) > 5
    for _chunk, part in pieces:
        spans = []
        start = part.text.find("Nebula X2")
        while start != -1:
            span = part.char_span(start, start + 9, label="PRODUCT", kb_id="nebula-x2")
            if span is not None:
                spans.append(span)
            start = part.text.find("Nebula X2", start + 1)
        part.ents = spans
    merged = merge(doc, pieces)
    expected = [i for i in range(len(text)) if text.startswith("Nebula X2", i)]
    assert [e.start_char for e in merged.ents] == expected
    assert {e.kb_id_ for e in merged.ents} == {"nebula-x2"}
