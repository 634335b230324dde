"""CoNLL column files: `token ... tag` per line, blank line between sentences.

The tag is the last column, the token the first. IOB1 and IOB2 (and BIOES/BILOU)
are decoded by one rule: an entity starts at `B-`/`S-`/`U-`, or at an `I-`/`E-`/`L-`
whose type differs from the previous tag's. `-DOCSTART-` lines separate documents;
a stray U+FEFF (WNUT-17) is stripped. One gold `Doc` per sentence, text = tokens
joined by spaces, so character offsets are exact.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from spacy.tokens import Doc, Span

from distill.corpora.errors import CorpusError
from distill.doc import tokenizer

TAG = re.compile(r"^(O|[BIESLU]-\S+)$")
_STARTS = ("B", "S", "U")
_ENDS = ("E", "L", "S", "U")


def read(path: Path) -> Iterator[Doc]:
    tokens: list[str] = []
    tags: list[str] = []
    first_line = 0
    document = 0
    with _open(path) as lines:
        for number, raw in enumerate(lines, start=1):
            line = raw.replace("\ufeff", "").strip()
            if not line or line.startswith("-DOCSTART-"):
                if tokens:
                    yield _make(path, tokens, tags, first_line, document)
                    tokens, tags = [], []
                document += line.startswith("-DOCSTART-")
                continue
            columns = line.split()
            if len(columns) < 2:
                raise CorpusError(path, f"expected 'token ... tag', got {line!r}", number)
            tag = columns[-1]
            if not TAG.match(tag):
                raise CorpusError(
                    path, f"tag {tag!r} is not O or B-/I-/E-/S- followed by a type", number
                )
            if not tokens:
                first_line = number
            tokens.append(columns[0])
            tags.append(tag)
    if tokens:
        yield _make(path, tokens, tags, first_line, document)


def _open(path: Path):
    try:
        return path.open(encoding="utf-8")
    except OSError as exc:
        raise CorpusError(path, f"cannot read: {exc.strerror}") from None


def entity_spans(tags: list[str]) -> list[tuple[int, int, str]]:
    """(start token, end token, label) from IOB1/IOB2/BIOES tags."""
    spans: list[tuple[int, int, str]] = []
    start, label, previous = None, None, "O"
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, kind = tag.partition("-")
        continues = (
            label is not None and kind == label and prefix not in _STARTS and previous not in _ENDS
        )
        previous = prefix
        if continues:
            continue
        if label is not None:
            spans.append((start, i, label))  # type: ignore[arg-type]
            start, label = None, None
        if prefix != "O":
            start, label = i, kind
    return spans


def _make(path: Path, tokens: list[str], tags: list[str], line: int, document: int) -> Doc:
    doc = Doc(tokenizer().vocab, words=tokens, spaces=[True] * (len(tokens) - 1) + [False])
    doc.ents = [Span(doc, s, e, label=label) for s, e, label in entity_spans(tags)]
    doc._.doc_id = f"{path.name}:{line}"
    doc._.meta = {"source": str(path), "line": line, "document": document}
    doc._.results = {}
    return doc
