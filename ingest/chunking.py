"""Long documents in overlapping chunks, with character offsets preserved.

Tools see chunks of at most `max_chars`; consecutive chunks overlap by `overlap`
characters. Each chunk *owns* the middle of its overlaps, and a result is kept
only by the chunk that owns its start, so a mention cut by one chunk's border is
found whole by its neighbour, and nothing is counted twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from spacy.tokens import Doc
from spacy.util import filter_spans

from distill.doc import get_confidence, make_doc, set_confidence

BREAK = re.compile(r"(?<=[.!?…])\s+|\n\s*\n")


@dataclass(frozen=True)
class Chunk:
    start: int
    end: int
    own_start: int
    own_end: int
    """Results starting in [own_start, own_end) belong to this chunk."""


def chunk_bounds(text: str, max_chars: int = 4000, overlap: int = 300) -> list[Chunk]:
    """Cut `text` at sentence or blank-line breaks where possible, else at whitespace."""
    if overlap * 2 >= max_chars:
        raise ValueError("overlap must be less than half of max_chars")
    if len(text) <= max_chars:
        return [Chunk(0, len(text), 0, len(text))]
    bounds: list[tuple[int, int]] = []
    start = 0
    while True:
        end = min(start + max_chars, len(text))
        if end < len(text):
            end = _break_before(text, start + max_chars // 2, end)
        bounds.append((start, end))
        if end >= len(text):
            break
        start = max(end - overlap, start + 1)
    chunks = []
    for index, (start, end) in enumerate(bounds):
        own_start = 0 if index == 0 else (start + bounds[index - 1][1]) // 2
        own_end = len(text) if index == len(bounds) - 1 else (bounds[index + 1][0] + end) // 2
        chunks.append(Chunk(start, end, own_start, own_end))
    return chunks


def _break_before(text: str, lowest: int, end: int) -> int:
    """The last sentence break in text[lowest:end], else the last whitespace, else `end`."""
    window = text[lowest:end]
    breaks = [m.end() for m in BREAK.finditer(window)]
    if breaks:
        return lowest + breaks[-1]
    space = window.rfind(" ")
    return lowest + space + 1 if space > 0 else end


def split(doc: Doc, max_chars: int = 4000, overlap: int = 300) -> list[tuple[Chunk, Doc]]:
    """Chunk docs for the tools; a short doc is its own single chunk (no copy)."""
    chunks = chunk_bounds(doc.text, max_chars, overlap)
    if len(chunks) == 1:
        return [(chunks[0], doc)]
    return [
        (chunk, make_doc(doc.text[chunk.start : chunk.end], doc._.doc_id, doc._.meta))
        for chunk in chunks
    ]


@dataclass
class Extracts:
    """What the tools found in a document's chunks, in whole-document offsets.

    Collected chunk by chunk (each chunk's Doc can be dropped once collected), then
    applied to the whole `Doc` once: memory holds results, never all chunks at once.
    """

    ents: list[tuple[int, int, str, str]] = field(default_factory=list)
    """(start, end, label, kb_id) of each owned entity."""
    confidences: dict[tuple[str, int, int], float] = field(default_factory=dict)
    opinions: list[Any] = field(default_factory=list)
    verdicts: list[Any] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)

    def collect(self, chunk: Chunk, part: Doc) -> None:
        """Keep what `part` (the Doc of `chunk`) owns: results starting in its own range."""
        for ent in part.ents:
            start, end = ent.start_char + chunk.start, ent.end_char + chunk.start
            if not chunk.own_start <= start < chunk.own_end:
                continue
            self.ents.append((start, end, ent.label_, ent.kb_id_))
            for task in ("ner", "linker"):
                value = get_confidence(part, task, ent.start_char, ent.end_char)
                if value is not None:
                    self.confidences[(task, start, end)] = value
        for opinion in part._.opinions or []:
            start = getattr(opinion, "start", None)
            absolute = None if start is None else start + chunk.start
            if absolute is not None and not chunk.own_start <= absolute < chunk.own_end:
                continue
            if absolute is not None:
                end = opinion.end + chunk.start if opinion.end is not None else None
                opinion = opinion.model_copy(update={"start": absolute, "end": end})
            key = repr(opinion)  # a set, not a list scan: dense documents have thousands
            if key not in self._seen:
                self._seen.add(key)
                self.opinions.append(opinion)
        self.verdicts.extend(part._.verdicts or [])

    def apply(self, doc: Doc) -> Doc:
        """Put the collected results on the whole `doc`."""
        ents = []
        for start, end, label, kb_id in self.ents:
            span = doc.char_span(start, end, label=label, kb_id=kb_id)
            if span is not None:
                ents.append(span)
        for (task, start, end), value in self.confidences.items():
            set_confidence(doc, task, start, end, value)
        doc.ents = filter_spans(ents)
        doc._.opinions = list(self.opinions)
        doc._.verdicts = list(self.verdicts) or doc._.verdicts
        return doc


def merge(doc: Doc, pieces: list[tuple[Chunk, Doc]]) -> Doc:
    """Carry each chunk's owned entities, links, confidences and opinions back onto `doc`."""
    if len(pieces) == 1 and pieces[0][1] is doc:
        return doc
    extracts = Extracts()
    for chunk, part in pieces:
        extracts.collect(chunk, part)
    return extracts.apply(doc)
