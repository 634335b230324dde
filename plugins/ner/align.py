"""Find where the LLM's entity strings are in the text: the LLM returns `[{text, label}]`,
never offsets (small models count characters badly), and we align them here.

Rules, in order, for each mention (in the order the LLM listed them):

1. candidates are case- and whitespace-insensitive matches (`New  York` ~ `new york`),
   always on word boundaries (`pan` never matches inside `pancakes`), not yet taken;
2. pick the first candidate at or after the previous mention's end (LLMs list in
   reading order), exact matches before inexact ones, else the first one anywhere;
3. a mention listed once but occurring several times verbatim is labelled at every
   occurrence (gold NER labels each one); a span already taken is never overlapped.

Mentions that cannot be found are returned separately, so the caller can report them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Aligned:
    start: int
    end: int
    label: str


def _pattern(mention: str, *, exact: bool) -> re.Pattern[str] | None:
    words = mention.split()
    if not words:
        return None
    body = r"\s+".join(re.escape(w) for w in words) if not exact else re.escape(mention.strip())
    flags = 0 if exact else re.IGNORECASE
    return re.compile(rf"(?<!\w){body}(?!\w)" if _wordy(mention) else body, flags)


def _wordy(mention: str) -> bool:
    stripped = mention.strip()
    return bool(stripped) and stripped[0].isalnum() and stripped[-1].isalnum()


def occurrences(text: str, mention: str, *, exact: bool = False) -> list[tuple[int, int]]:
    """Where `mention` occurs, on word boundaries; case/whitespace-insensitive unless `exact`."""
    pattern = _pattern(mention, exact=exact)
    return [(m.start(), m.end()) for m in pattern.finditer(text)] if pattern else []


def align(
    text: str, mentions: Iterable[tuple[str, str]], *, every_occurrence: bool = True
) -> tuple[list[Aligned], list[tuple[str, str]]]:
    """(aligned spans sorted by offset, mentions not found in `text`)."""
    taken: list[Aligned] = []
    missing: list[tuple[str, str]] = []
    cursor = 0

    def free(start: int, end: int) -> bool:
        return all(end <= s.start or start >= s.end for s in taken)

    listed = list(mentions)
    for mention, label in listed:
        found = occurrences(text, mention)
        spots = [spot for spot in found if free(*spot)]
        if not spots:
            if not found:  # found only inside a taken span: nested, not missing
                missing.append((mention, label))
            continue
        start, end = min(
            spots, key=lambda s: (s[0] < cursor, text[s[0] : s[1]] != mention.strip(), s[0])
        )
        taken.append(Aligned(start, end, label))
        cursor = end
    if every_occurrence:
        for mention, label in listed:
            for start, end in occurrences(text, mention, exact=True):
                if free(start, end):
                    taken.append(Aligned(start, end, label))
    return sorted(taken, key=lambda s: s.start), missing
