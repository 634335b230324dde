"""The trained fact-checker: a gradient-boosted classifier of p(claim is not supported).

A claim whose probability reaches the threshold (tuned on dev) is `contradicted`
when it talks about what the evidence covers (most of its content words occur
there) and `not_enough_info` when it mostly does not; otherwise `supported`. The
evidence span is the passage part that best matches the claim.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rapidfuzz import fuzz

from distill.plugins.factcheck.features import FEATURE_NAMES, feature_matrix
from distill.plugins.factcheck.task import Verdict
from distill.plugins.linker.catalog import normalize

MODEL_FILE = "factcheck.pkl"
INFO_FILE = "factcheck.json"
COVERED = FEATURE_NAMES.index("content_in_evidence")


@dataclass
class Check:
    claim: str
    evidence: list[str]
    question: str = ""


def best_evidence(claim: str, evidence: Sequence[str]) -> tuple[int | None, str | None]:
    """The passage that best matches the claim, and the sentence-sized part of it."""
    if not evidence:
        return None, None
    key = normalize(claim)
    scores = [fuzz.token_set_ratio(key, normalize(p)) for p in evidence]
    index = int(np.argmax(scores))
    passage = evidence[index]
    alignment = fuzz.partial_ratio_alignment(claim.lower(), passage.lower())
    if alignment is None:
        return index, passage[:300]
    start = passage.rfind(". ", 0, alignment.dest_start) + 1
    end = passage.find(". ", alignment.dest_end)
    span = passage[start : end + 1 if end >= 0 else len(passage)].strip()
    return index, span[:300]


@dataclass
class FactCheckModel:
    classifier: Any = None
    threshold: float = 0.5
    embeddings: bool = False
    words: Any = None
    """Optional bag-of-words model of the claim (TF-IDF + logistic regression): how
    hallucinated answers are phrased; its probability is one more feature."""

    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with (directory / MODEL_FILE).open("wb") as handle:
            pickle.dump({"classifier": self.classifier, "words": self.words}, handle)
        info = {"threshold": self.threshold, "embeddings": self.embeddings}
        (directory / INFO_FILE).write_text(json.dumps(info), encoding="utf-8")

    @classmethod
    def load(cls, directory: str | Path) -> FactCheckModel:
        directory = Path(directory)
        info = json.loads((directory / INFO_FILE).read_text(encoding="utf-8"))
        with (directory / MODEL_FILE).open("rb") as handle:
            stored = pickle.load(handle)
        return cls(classifier=stored["classifier"], words=stored["words"], **info)

    def matrix(self, checks: Sequence[Check], words: np.ndarray | None = None) -> np.ndarray:
        """Feature rows; the bag-of-words column is `words` when given (out-of-fold
        probabilities while training), else the words model's prediction."""
        items = [(c.claim, " ".join(c.evidence), c.question) for c in checks]
        x = feature_matrix(items, self.embeddings)
        if words is None and self.words is not None:
            words = self.words.predict_proba([c.claim for c in checks])[:, 1]
        return x if words is None else np.hstack([x, np.asarray(words).reshape(-1, 1)])

    def probabilities(self, checks: Sequence[Check]) -> tuple[np.ndarray, np.ndarray]:
        """p(not supported) per check, and the feature rows (for the label choice)."""
        if not checks:
            return np.zeros(0), np.zeros((0, len(FEATURE_NAMES)))
        from threadpoolctl import threadpool_limits

        x = self.matrix(checks)
        with threadpool_limits(1):  # OpenMP start-up outweighs small batches
            return self.classifier.predict_proba(x)[:, 1], x

    def verdicts(self, checks: Sequence[Check]) -> list[Verdict]:
        probs, x = self.probabilities(checks)
        out = []
        for check, p, row in zip(checks, probs, x, strict=True):
            index, span = best_evidence(check.claim, check.evidence)
            if p < self.threshold:
                label, confidence = "supported", 1 - p
            else:
                covered = row[COVERED] >= 0.5 and bool(check.evidence)
                label, confidence = ("contradicted" if covered else "not_enough_info"), p
            out.append(
                Verdict(
                    claim=check.claim,
                    label=label,  # type: ignore[arg-type]
                    confidence=round(float(confidence), 4),
                    evidence=span,
                    evidence_index=index,
                )
            )
        return out
