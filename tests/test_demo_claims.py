"""The demo's fact-check claims (agent/demo_claims.py) and the checker trained on them.

Generation is pure Python; training is the real trainer (gradient-boosted trees on
lexical features, a few seconds on one thread), done once per module.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from distill.agent.evidence import opinion_fact_text
from distill.config import Config
from distill.demo.claims import LABELS, claim_docs, claims, load_reviews
from distill.demo.run import (
    DEMO_MODELS,
    DEMO_TASKS,
    HELD_OUT,
    TaskScore,
    demo_config,
    evaluate_factcheck,
    train_models,
)
from distill.doc import make_doc
from distill.errors import DistillError
from distill.plugins.factory import make_backend

TRAIN_IDS = {review.id for review in load_reviews()} - HELD_OUT

# generation


def test_claims_are_deterministic_per_seed() -> None:
    first, again, other = claims(seed=0), claims(seed=0), claims(seed=1)
    assert first == again
    assert [c.text for c in first] != [c.text for c in other]


def test_labels_are_balanced_and_plentiful() -> None:
    counts = Counter(claim.label for claim in claims())
    assert set(counts) == set(LABELS)
    assert max(counts.values()) - min(counts.values()) <= 0.1 * min(counts.values())
    assert sum(counts.values()) >= 300


def test_every_claim_has_evidence_and_a_kind() -> None:
    for claim in claims():
        assert claim.evidence and all(e.strip() for e in claim.evidence), claim
        assert claim.kind and claim.source and claim.origin, claim


def test_faithful_claims_are_their_source_and_altered_ones_differ() -> None:
    for claim in claims():
        if claim.label == "supported":
            assert claim.text == claim.source, claim
        else:
            assert claim.text != claim.source, claim


def test_every_kind_of_alteration_is_present() -> None:
    kinds = {claim.kind for claim in claims()}
    assert {"passage", "aggregate", "direction-positive", "direction-negative"} <= kinds
    assert {"passage-flip", "passage-negation", "aggregate-count"} <= kinds
    assert {"passage-product", "passage-aspect", "aggregate-product", "invented"} <= kinds
    assert {"aggregate-aspect", "unrelated"} <= kinds


def test_aggregate_evidence_is_the_agents_fact_wording_over_the_split() -> None:
    train_facts = {e for claim in claims() for e in claim.evidence}
    nebula = opinion_fact_text("Nebula X2", "battery", {"positive": 0, "negative": 7})
    assert nebula == "Nebula X2 / battery: 0 positive, 7 negative (7 opinions)"
    assert nebula in train_facts  # r01, r02, r10, r27, r28, r33, r35
    held_out = claims(HELD_OUT)
    assert {c.origin for c in held_out if c.origin.startswith("r")} <= HELD_OUT
    held_facts = {e for claim in held_out for e in claim.evidence}
    assert not any(fact.startswith("Nebula X2 / battery") for fact in held_facts)
    assert "Nebula X2 Pro / camera: 3 positive, 0 negative (3 opinions)" in held_facts


def test_unsupported_aggregates_are_wrong_in_the_way_their_kind_says() -> None:
    for claim in claims():
        if claim.kind == "aggregate-count":
            assert claim.text != claim.source and claim.label == "contradicted"
        if claim.kind in {"aggregate-product", "passage-product"}:
            assert claim.label == "not_enough_info"


def test_claim_docs_carry_claim_evidence_and_gold_verdict() -> None:
    docs = claim_docs(TRAIN_IDS)
    assert len({doc._.doc_id for doc in docs}) == len(docs)
    for doc in docs[:50]:
        meta = doc._.meta
        assert meta["claims"] == [doc.text] and meta["evidence"]
        assert isinstance(meta["question"], str)
        (verdict,) = doc._.verdicts
        assert verdict.claim == doc.text and verdict.label in LABELS


# the demo's wiring


def test_the_demo_guards_with_the_shipped_fact_checker(tmp_path: Path) -> None:
    """The demo trains its three workers; the guardrail keeps the shipped cross-encoder
    (better on the demo's claims than a checker trained on them), unless configured."""
    assert DEMO_TASKS == ("ner", "linker", "sentiment")
    assert DEMO_MODELS == DEMO_TASKS
    config = demo_config(Config(), tmp_path)
    assert config.task("factcheck").model is None
    assert config.index.path == str(tmp_path / "index")
    mine = Config.model_validate({"tasks": {"factcheck": {"model": "my-checker"}}})
    assert demo_config(mine, tmp_path).task("factcheck").model == "my-checker"


def test_training_a_demo_model_needs_its_folder(tmp_path: Path) -> None:
    with pytest.raises(DistillError, match="tasks.factcheck.model"):
        train_models(demo_config(Config(), tmp_path), tasks=("factcheck",), log=lambda _: None)


# the trained checker


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Config:
    folder = tmp_path_factory.mktemp("demo")
    mine = Config.model_validate({"tasks": {"factcheck": {"model": str(folder / "factcheck")}}})
    config = demo_config(mine, folder)
    seconds = train_models(config, tasks=("factcheck",), log=lambda _: None)
    assert set(seconds) == {"factcheck"}
    return config


def test_held_out_accuracy_beats_the_majority_class(trained: Config) -> None:
    score = evaluate_factcheck(trained)
    assert isinstance(score, TaskScore) and score.task == "factcheck"
    gold = Counter(doc._.verdicts[0].label for doc in claim_docs(HELD_OUT))
    majority = max(gold.values()) / sum(gold.values())
    assert score.n == sum(gold.values())
    assert score.value is not None and score.value >= majority + 0.2, (score, majority)


def test_trained_checker_spot_checks(trained: Config) -> None:
    review = {r.id: r.text for r in load_reviews()}
    pro_camera = opinion_fact_text("Nebula X2 Pro", "camera", {"positive": 3, "negative": 0})
    x2_battery = opinion_fact_text("Nebula X2", "battery", {"positive": 0, "negative": 7})
    cases = [  # (claim, evidence, supported?)
        (
            "The mini-LED screen is spectacular though, and the speakers are the best "
            "I've heard on a laptop.",
            review["r44"],
            True,
        ),
        (
            "One reviewer says the Kestrel K7's camera is absolutely the highlight.",
            review["r45"],
            False,
        ),
        (
            "The Lumen Tab 11's camera gets no negative opinions and 3 positive ones.",
            pro_camera,
            False,
        ),
        (
            "The Nebula X2's battery gets 7 negative opinions and no positive ones.",
            x2_battery,
            True,
        ),
        (
            "The Nebula X2's battery gets 3 negative opinions and no positive ones.",
            x2_battery,
            False,
        ),
    ]
    backend = make_backend("factcheck", trained, backend="trained")
    docs = [make_doc(c, meta={"evidence": [e], "claims": [c]}) for c, e, _ in cases]
    for doc, (claim, _, supported) in zip(backend.predict(docs), cases, strict=True):
        assert (doc._.verdicts[0].label == "supported") == supported, (claim, doc._.verdicts)
