"""Features of (claim, evidence, question) for the trained fact-checker.

Hallucinated answers tend to bring in words, names and numbers the evidence does
not contain, to restate the question instead of answering from the evidence, and
to run longer; these lexical signals (plus, optionally, MiniLM cosines) are cheap
enough to check hundreds of answers per second on a CPU.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

import numpy as np
from rapidfuzz import fuzz

from distill.plugins.linker.catalog import normalize

_STOPWORDS = """
a an the of in on at to for from by with and or but is are was were be been being it its
this that these those he she they them his her their i you we me my your our as which who
whom what when where why how do does did has have had not no yes so than then there here
also very can could would should will shall may might must about into over after before
"""
STOPWORDS = frozenset(_STOPWORDS.split())
HEDGES = (
    "however",
    "actually",
    "but",
    "although",
    "not",
    "no",
    "never",
    "instead",
    "i think",
    "i believe",
    "i'm not sure",
    "i don't",
)
_CAPITALIZED = re.compile(r"\b[A-Z][a-zA-Z]+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")

FEATURE_NAMES = (
    "answer_tokens",
    "answer_chars",
    "answer_sentences",
    "content_in_evidence",
    "content_missing",
    "content_in_question",
    "content_in_either",
    "numbers_missing",
    "numbers_total",
    "names_missing",
    "names_total",
    "answer_in_evidence",
    "partial_ratio",
    "token_set_ratio",
    "bigrams_in_evidence",
    "hedges",
    "evidence_tokens",
    "question_tokens",
    "answer_question_ratio",
    "emb_answer_evidence",
    "emb_answer_question",
    "emb_qa_evidence",
)


def _content(text: str) -> list[str]:
    return [t for t in normalize(text).split() if t not in STOPWORDS]


def _share(tokens: Sequence[str], pool: set[str]) -> float:
    return sum(t in pool for t in tokens) / len(tokens) if tokens else 1.0


def claim_features(claim: str, evidence: str, question: str) -> list[float]:
    """Lexical features (order: FEATURE_NAMES without the three embedding ones)."""
    norm_claim, norm_evidence = normalize(claim), normalize(evidence)
    tokens = norm_claim.split()
    content = _content(claim)
    evidence_set, question_set = set(norm_evidence.split()), set(normalize(question).split())
    numbers = set(_NUMBER.findall(claim))
    names = {n.lower() for n in _CAPITALIZED.findall(claim)} - {"i"}
    evidence_lower = f"{evidence} {question}".lower()
    bigrams = list(itertools.pairwise(tokens))
    evidence_bigrams = set(zip(norm_evidence.split(), norm_evidence.split()[1:], strict=False))
    lowered = claim.lower()
    return [
        float(len(tokens)),
        float(len(claim)),
        float(max(1, len(re.findall(r"[.!?](\s|$)", claim)))),
        _share(content, evidence_set),
        float(sum(t not in evidence_set for t in content)),
        _share(content, question_set),
        _share(content, evidence_set | question_set),
        float(sum(n not in evidence_lower for n in numbers)),
        float(len(numbers)),
        float(sum(n not in evidence_lower for n in names)),
        float(len(names)),
        float(bool(norm_claim) and norm_claim in norm_evidence),
        fuzz.partial_ratio(norm_claim, norm_evidence) / 100 if norm_evidence else 0.0,
        fuzz.token_set_ratio(norm_claim, norm_evidence) / 100 if norm_evidence else 0.0,
        _share(bigrams, evidence_bigrams) if bigrams else 0.0,
        float(sum(h in lowered for h in HEDGES)),
        float(len(evidence_set)),
        float(len(question_set)),
        len(tokens) / max(1, len(question_set)),
    ]


def feature_matrix(items: Sequence[tuple[str, str, str]], embeddings: bool = False) -> np.ndarray:
    """Rows for (claim, evidence, question) items; MiniLM cosines appended (0 when off)."""
    rows = [claim_features(c, e, q) for c, e, q in items]
    cosines = np.zeros((len(items), 3), dtype=np.float32)
    if embeddings and items:
        from distill.plugins.linker.embed import embed

        texts = sorted({t for c, e, q in items for t in (c, e, q, f"{q} {c}")})
        vectors = dict(zip(texts, embed(texts, batch_size=64, max_length=128), strict=True))
        for i, (c, e, q) in enumerate(items):
            cosines[i] = [
                vectors[c] @ vectors[e],
                vectors[c] @ vectors[q],
                vectors[f"{q} {c}"] @ vectors[e],
            ]
    return np.hstack([np.asarray(rows, dtype=np.float32).reshape(len(items), -1), cosines])
