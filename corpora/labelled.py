"""distill's own labelled JSONL: one review per line with everything the tools predict.

    {"id": "r01", "text": "...",
     "entities": [{"start": 20, "end": 29, "label": "PRODUCT", "kb_id": "nebula-x1"}],
     "opinions": [{"target": "nebula-x1", "aspect": "battery", "polarity": "negative"}]}

One file trains and evaluates NER (spans), linking (`kb_id`, null = not in the catalog)
and aspect sentiment (opinions per product), so a demo corpus is labelled once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError
from spacy.tokens import Doc

from distill.corpora.errors import CorpusError
from distill.corpora.lines import json_records
from distill.doc import make_doc
from distill.plugins.sentiment import Opinion


def read(path: Path) -> Iterator[Doc]:
    for number, record in json_records(path, need_text=True):
        yield _doc(record, path, number)


def _doc(record: dict, path: Path, number: int) -> Doc:
    doc = make_doc(record["text"], str(record.get("id") or f"{path.stem}-{number}"))
    spans = []
    for entity in record.get("entities") or []:
        try:
            start, end, label = entity["start"], entity["end"], entity["label"]
        except (KeyError, TypeError):
            raise CorpusError(
                path, f"entity needs start, end and label: {entity!r}", number
            ) from None
        span = doc.char_span(start, end, label=label, kb_id=entity.get("kb_id") or "")
        if span is None:
            raise CorpusError(
                path,
                f"entity [{start}, {end}) {doc.text[start:end]!r} is not on token boundaries",
                number,
            )
        spans.append(span)
    try:
        doc.ents = spans
    except ValueError as exc:
        raise CorpusError(path, f"overlapping entities: {exc}", number) from None
    try:
        doc._.opinions = [Opinion.model_validate(o) for o in record.get("opinions") or []]
    except ValidationError as exc:
        raise CorpusError(path, f"invalid opinion: {exc.errors()[0]['msg']}", number) from None
    return doc
