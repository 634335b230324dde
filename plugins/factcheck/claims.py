"""Claims of an answer: given ones (`doc._.meta["claims"]`), else its sentences.

Sentence splitting is rule-based on purpose: claims are short, and a regex keeps
the fact-checker free of a parser dependency and fast.
"""

from __future__ import annotations

import re

from spacy.tokens import Doc

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")


def split_claims(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def claims_of(doc: Doc) -> list[str]:
    given = (doc._.meta or {}).get("claims")
    return [str(c) for c in given] if given else split_claims(doc.text)


def evidence_of(doc: Doc) -> list[str]:
    return [str(e) for e in (doc._.meta or {}).get("evidence") or []]


def question_of(doc: Doc) -> str:
    return str((doc._.meta or {}).get("question") or "")
