"""Ditto / Magellan entity-matching pairs: `COL a VAL x COL b VAL y ⇥ COL … VAL … ⇥ 0|1`.

One gold `Doc` per pair, so the linker's own output carries the match decision:
the doc's text is the left record, one `PRODUCT` entity spans all of it, and its
`kb_id_` is `MATCH` when the right record (in `doc._.meta["right"]`) is the same
product, empty (NIL) when not. `doc._.meta["pair"]` tells the linker and its scorer
they are matching records, not linking mentions to a catalog.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from spacy.tokens import Doc, Span

from distill.corpora.errors import CorpusError
from distill.corpora.lines import numbered_lines
from distill.doc import make_doc
from distill.plugins.linker.task import render

MATCH = "MATCH"
_COL = re.compile(r"COL (\S+) VAL")


def parse_record(text: str) -> dict[str, str] | None:
    """`COL name VAL sony … COL price VAL 9.99` -> {"name": "sony …", "price": "9.99"}."""
    parts = _COL.split(text.strip())
    if len(parts) < 3 or parts[0].strip():
        return None
    return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


def pair_doc(left: dict[str, str], right: dict[str, str], label: int | None, doc_id: str) -> Doc:
    text = render(left) or "(empty record)"
    doc = make_doc(text, doc_id=doc_id, meta={"pair": True, "left": left, "right": right})
    kb_id = MATCH if label == 1 else ""
    doc.ents = [Span(doc, 0, len(doc), label="PRODUCT", kb_id=kb_id)]
    return doc


def read(path: Path) -> Iterator[Doc]:
    for number, line in numbered_lines(path):
        fields = line.split("\t")
        if len(fields) != 3:
            found = len(fields)
            message = f"expected 3 tab-separated fields (left, right, label), got {found}"
            raise CorpusError(path, message, number)
        left, right = parse_record(fields[0]), parse_record(fields[1])
        if left is None or right is None:
            raise CorpusError(path, "a record must be `COL <attribute> VAL <value> …`", number)
        if fields[2].strip() not in {"0", "1"}:
            raise CorpusError(path, f"label must be 0 or 1, got {fields[2].strip()!r}", number)
        yield pair_doc(left, right, int(fields[2]), f"{path.stem}:{number}")
