"""Fact-checker with real models: MiniLM features, the embedded LLM as judge."""

from __future__ import annotations

from pathlib import Path

import pytest

from distill.corpora import halueval
from distill.plugins.factcheck.features import FEATURE_NAMES, feature_matrix
from distill.plugins.factcheck.task import Verdicts

FIXTURES = Path(__file__).parent / "fixtures"
pytestmark = pytest.mark.real


def test_embedding_features_are_cosines() -> None:
    evidence = "The Oberoi Group is a hotel company with its head office in Delhi."
    x = feature_matrix([("Delhi", evidence, "Where is the head office?")], embeddings=True)
    cosine = x[0, FEATURE_NAMES.index("emb_answer_evidence")]
    assert x.shape == (1, len(FEATURE_NAMES)) and 0.0 < cosine <= 1.0


def test_prompt_judge_with_the_embedded_llm() -> None:
    from distill.config import Config
    from distill.plugins.factory import make_backend

    backend = make_backend("factcheck", Config(), backend="prompt")
    doc = list(halueval.read(FIXTURES / "factcheck_halueval_qa.jsonl"))[3].copy()
    backend.task.write(doc, Verdicts())
    backend.predict([doc])
    assert backend.failures == []
    [verdict] = doc._.verdicts
    assert verdict.claim == doc.text and verdict.label in backend.task.labels
