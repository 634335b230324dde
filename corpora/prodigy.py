"""Prodigy / spaCy JSONL: one `{"text", "spans": [{start, end, label}], "tokens"?}` per line.

Prodigy's own `tokens` (with char offsets) are used when present, so spans always
fall on token boundaries; otherwise the text is tokenized like every other `Doc`.
Records answered `reject` or `ignore` are skipped (they are not annotations).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from spacy.tokens import Doc
from spacy.util import filter_spans

from distill.corpora.errors import CorpusError
from distill.corpora.lines import json_records
from distill.doc import make_doc, tokenizer


def read(path: Path) -> Iterator[Doc]:
    for number, record in json_records(path, need_text=True):
        if record.get("answer", "accept") != "accept":
            continue
        yield _make(path, number, record)


def _make(path: Path, number: int, record: dict) -> Doc:
    text: str = record["text"]
    meta = {"source": str(path), "line": number, **(record.get("meta") or {})}
    doc = _tokenized(path, number, record) or make_doc(text)
    doc._.doc_id = f"{path.name}:{number}"
    doc._.meta = meta
    doc._.results = {}
    spans = []
    for span in record.get("spans") or []:
        try:
            start, end, label = int(span["start"]), int(span["end"]), str(span["label"])
        except (KeyError, TypeError, ValueError):
            raise CorpusError(
                path, f"span {span!r} needs integer start/end and a label", number
            ) from None
        if not 0 <= start < end <= len(text):
            raise CorpusError(path, f"span [{start}, {end}) is outside the text", number)
        found = doc.char_span(start, end, label=label, alignment_mode="expand")
        if found is not None:
            spans.append(found)
    doc.ents = filter_spans(spans)
    return doc


def _tokenized(path: Path, number: int, record: dict) -> Doc | None:
    tokens = record.get("tokens")
    if not tokens:
        return None
    text: str = record["text"]
    try:
        words = [text[t["start"] : t["end"]] for t in tokens]
        spaces = [
            bool(t.get("ws", next_t["start"] > t["end"]))
            for t, next_t in zip(tokens, [*tokens[1:], {"start": len(text)}], strict=True)
        ]
    except (KeyError, TypeError) as exc:
        raise CorpusError(path, f"'tokens' entries need start/end ({exc})", number) from None
    doc = Doc(tokenizer().vocab, words=words, spaces=spaces)
    return doc if doc.text == text else None
