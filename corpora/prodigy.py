"""Prodigy / spaCy JSONL: one `{"text", "spans": [{start, end, label}], "tokens"?}` per line.

The same records carry what `distill annotate` suggests and `distill review export`
writes, so one format goes teacher → reviewer → student:

- `spans` may carry `kb_id` (a catalog id: entity linking),
- `opinions` (a distill extension Prodigy passes through) carries aspect sentiment,
- `meta.labels`, when present, is the label set the record was annotated with.

Prodigy's own `tokens` (with char offsets) are used when present, so spans always
fall on token boundaries; otherwise the text is tokenized like every other `Doc`.
Records answered `reject` or `ignore` are skipped (they are not annotations). A record
with a span outside its text or a label outside `meta.labels` is skipped with a
`CorpusWarning` naming the line: one bad line costs that line, and is never trained on.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from spacy.tokens import Doc
from spacy.util import filter_spans

from distill.corpora.errors import CorpusError, CorpusWarning
from distill.corpora.lines import json_records
from distill.doc import make_doc, tokenizer
from distill.plugins.sentiment import Opinion


class ProdigySpan(BaseModel):
    """One span; Prodigy's extra keys (`token_start`, `text`, …) pass through."""

    model_config = ConfigDict(extra="allow")

    start: int
    end: int
    label: str
    kb_id: str | None = None


class ProdigyRecord(BaseModel):
    """One line. `answer` is Prodigy's: only `accept` is an annotation."""

    model_config = ConfigDict(extra="allow")

    text: str
    spans: list[ProdigySpan] = Field(default_factory=list)
    opinions: list[Opinion] | None = None
    answer: Literal["accept", "reject", "ignore"] = "accept"
    meta: dict[str, Any] = Field(default_factory=dict)
    tokens: list[dict[str, Any]] | None = None


def read(path: Path) -> Iterator[Doc]:
    for number, raw in json_records(path, need_text=True):
        if raw.get("answer", "accept") != "accept":
            continue
        try:
            record = ProdigyRecord.model_validate(raw)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"])
            raise CorpusError(path, f"{where}: {error['msg']}", number) from None
        problem = check(record)
        if problem:
            warnings.warn(CorpusWarning(path, f"skipped: {problem}", number), stacklevel=2)
            continue
        yield to_doc(record, f"{path.name}:{number}", {"source": str(path), "line": number})


def check(record: ProdigyRecord, labels: set[str] | None = None) -> str | None:
    """Why this record must not be used (a span outside the text, an unknown label), or None."""
    allowed = labels if labels is not None else set(record.meta.get("labels") or []) or None
    for span in record.spans:
        if not 0 <= span.start < span.end <= len(record.text):
            return f"span [{span.start}, {span.end}) is outside the text ({len(record.text)} chars)"
        if allowed is not None and span.label not in allowed:
            return f"span label {span.label!r} is not one of {sorted(allowed)}"
    return None


def to_doc(record: ProdigyRecord, doc_id: str, meta: dict[str, Any] | None = None) -> Doc:
    """The gold `Doc` of a checked record: entities (with catalog ids) and opinions."""
    doc = _tokenized(record) or make_doc(record.text)
    doc._.doc_id = str(record.meta.get("id") or doc_id)
    doc._.meta = {**(meta or {}), **record.meta}
    doc._.results = {}
    spans = []
    for span in record.spans:
        found = doc.char_span(
            span.start, span.end, label=span.label, kb_id=span.kb_id or "", alignment_mode="expand"
        )
        if found is not None:
            spans.append(found)
    doc.ents = filter_spans(spans)
    if record.opinions is not None:
        doc._.opinions = list(record.opinions)
    return doc


def tokens_of(doc: Doc) -> list[dict[str, Any]]:
    """Prodigy's token list, so `ner.manual` and this reader keep the same tokenization."""
    return [
        {
            "text": t.text,
            "start": t.idx,
            "end": t.idx + len(t),
            "id": t.i,
            "ws": bool(t.whitespace_),
        }
        for t in doc
    ]


def span_of(doc: Doc, start: int, end: int, label: str, **extra: Any) -> dict[str, Any]:
    """A Prodigy span dict, with token indices when the offsets fall on tokens."""
    span: dict[str, Any] = {"start": start, "end": end, "label": label}
    found = doc.char_span(start, end)
    if found is not None:
        span |= {"token_start": found.start, "token_end": found.end - 1}
    return span | {k: v for k, v in extra.items() if v is not None}


def _tokenized(record: ProdigyRecord) -> Doc | None:
    if not record.tokens:
        return None
    text = record.text
    try:
        words = [text[t["start"] : t["end"]] for t in record.tokens]
        spaces = [
            bool(t.get("ws", next_t["start"] > t["end"]))
            for t, next_t in zip(
                record.tokens, [*record.tokens[1:], {"start": len(text)}], strict=True
            )
        ]
    except (KeyError, TypeError):
        return None
    doc = Doc(tokenizer().vocab, words=words, spaces=spaces)
    return doc if doc.text == text else None
