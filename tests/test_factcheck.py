"""Fact-checker: HaluEval reader, claims, features, graph-grounded check, scorer, trained path.

Fast: lexical features only, a tiny sklearn model; the real-model paths are in
test_factcheck_real.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from distill.corpora import halueval
from distill.corpora.errors import CorpusError
from distill.doc import make_doc
from distill.model_card import ModelCard
from distill.plugins import BackendOptions
from distill.plugins.factcheck.claims import claims_of, split_claims
from distill.plugins.factcheck.features import FEATURE_NAMES, feature_matrix
from distill.plugins.factcheck.graph import graph_check, parse_claim
from distill.plugins.factcheck.model import best_evidence
from distill.plugins.factcheck.task import FactCheckTask, LLMVerdicts, Verdict, Verdicts
from distill.plugins.factcheck.train import FactCheckTrainConfig, train
from distill.plugins.factcheck.trained import TrainedFactCheck

FIXTURES = Path(__file__).parent / "fixtures"


def cleared(task: FactCheckTask, docs: list) -> list:
    copies = [d.copy() for d in docs]
    for doc in copies:
        task.write(doc, Verdicts())
    return copies


# reader


def test_qa_reader_yields_both_answers_balanced() -> None:
    docs = list(halueval.read(FIXTURES / "factcheck_halueval_qa.jsonl"))
    assert [d.text for d in docs[:2]] == ["Arthur's Magazine", "First for Women was started first."]
    assert [d._.verdicts[0].label for d in docs] == ["supported", "contradicted"] * 2
    assert docs[0]._.meta["question"].startswith("Which magazine")
    assert docs[0]._.meta["evidence"][0].startswith("Arthur's Magazine (1844")
    assert claims_of(docs[1]) == ["First for Women was started first."]


def test_dialogue_and_general_keys() -> None:
    dialogue = list(halueval.read(FIXTURES / "factcheck_halueval_dialogue.jsonl"))
    assert dialogue[0]._.meta["question"] == "[Human]: Do you like Iron Man?"
    assert [d._.verdicts[0].label for d in dialogue] == ["supported", "contradicted"]
    general = list(halueval.read(FIXTURES / "factcheck_halueval_general.jsonl"))
    assert [d._.verdicts[0].label for d in general] == ["supported", "contradicted"]
    assert general[0]._.meta["evidence"] == []


def test_reader_error_names_file_and_line() -> None:
    with pytest.raises(CorpusError, match=r"factcheck_halueval_bad.jsonl:2: not a HaluEval record"):
        list(halueval.read(FIXTURES / "factcheck_halueval_bad.jsonl"))


# claims, features, evidence


def test_claims_are_sentences_unless_given() -> None:
    assert split_claims("The Nebula is light. Its battery lasts 2 days! Price: $5.") == [
        "The Nebula is light.",
        "Its battery lasts 2 days!",
        "Price: $5.",
    ]
    assert claims_of(make_doc("One. Two.", meta={"claims": ["One. Two."]})) == ["One. Two."]


def test_features_flag_numbers_and_names_missing_from_evidence() -> None:
    evidence = "The Oberoi Group has its head office in Delhi since 1934."
    x = feature_matrix(
        [("Delhi", evidence, "Where?"), ("It moved to Mumbai in 1999.", evidence, "")]
    )
    assert x.shape == (2, len(FEATURE_NAMES))
    names, numbers = FEATURE_NAMES.index("names_missing"), FEATURE_NAMES.index("numbers_missing")
    assert x[0, names] == 0 and x[1, names] == 1 and x[1, numbers] == 1


def test_best_evidence_points_at_the_matching_passage() -> None:
    index, span = best_evidence(
        "Delhi is the head office", ["Cats purr.", "The head office is in Delhi."]
    )
    assert index == 1 and "Delhi" in (span or "")


# graph-grounded check


def counts(product: str, aspect: str) -> dict[str, int] | None:
    table = {("nebula", "battery"): {"negative": 8, "positive": 2}}
    return table.get((product.lower(), aspect))


def test_graph_claims_are_parsed() -> None:
    assert parse_claim("Most reviewers hate the Nebula's battery.") == (
        "most", "negative", "Nebula", "battery")  # fmt: skip
    assert parse_claim("Many users love the screen of the Pixel 7") == (
        "many", "positive", "Pixel 7", "screen")  # fmt: skip
    assert parse_claim("The Nebula has a battery.") is None


def test_graph_check_compares_with_aggregates() -> None:
    supported = graph_check("Most reviewers hate the Nebula's battery", counts)
    contradicted = graph_check("Most reviewers love the Nebula's battery", counts)
    unknown = graph_check("Most reviewers love the Nebula's screen", counts)
    assert supported is not None and supported.label == "supported"
    assert "8 negative" in (supported.evidence or "")
    assert contradicted is not None and contradicted.label == "contradicted"
    assert unknown is not None and unknown.label == "not_enough_info"
    assert graph_check("The sky is blue.", counts) is None


# scorer and prompt hooks


def test_answer_level_scoring_counts_hallucinated_answers() -> None:
    task = FactCheckTask()
    gold = list(halueval.read(FIXTURES / "factcheck_halueval_qa.jsonl"))
    predicted = cleared(task, gold)
    for doc in predicted:  # everything supported: right answers correct, hallucinated missed
        task.write(doc, Verdicts(verdicts=[Verdict(claim=doc.text, label="supported",
                                                   confidence=1.0)]))  # fmt: skip
    scores = task.score(gold, predicted)
    assert scores.accuracy == 0.5 and scores.recall == 0.0


def test_from_llm_maps_numbers_to_claims_and_evidence() -> None:
    task = FactCheckTask()
    doc = make_doc("Delhi. Founded 1934.", meta={"evidence": ["Head office in Delhi."]})
    answer = LLMVerdicts.model_validate({"verdicts": [
        {"claim": 1, "label": "supported", "evidence": 1},
        {"claim": 2, "label": "not_enough_info", "evidence": 0},
    ]})  # fmt: skip
    verdicts = task.from_llm(doc, answer).verdicts
    assert [v.label for v in verdicts] == ["supported", "not_enough_info"]
    assert verdicts[0].evidence_index == 0 and verdicts[1].evidence is None
    with pytest.raises(ValueError, match="no verdict for claim"):
        task.from_llm(doc, LLMVerdicts(verdicts=answer.verdicts[:1]))


# trained backend


def test_train_and_check(tmp_path: Path) -> None:
    docs = list(halueval.read(FIXTURES / "factcheck_halueval_qa.jsonl")) * 10
    result = train(docs, docs[:4], tmp_path, [], FactCheckTrainConfig(max_iter=20))
    assert result["dev_scores"]["accuracy"] == 1.0
    ModelCard(task="factcheck", task_version="1", kind=result["kind"], labels=[]).save(tmp_path)
    backend = TrainedFactCheck(FactCheckTask(), BackendOptions(model_path=str(tmp_path)))
    predicted = backend.predict(cleared(backend.task, docs[:4]))
    assert backend.task.score(docs[:4], predicted).accuracy == 1.0
    verdict = predicted[1]._.verdicts[0]
    assert verdict.label != "supported" and verdict.evidence_index == 0


def test_trained_backend_uses_the_graph_when_given(tmp_path: Path) -> None:
    docs = list(halueval.read(FIXTURES / "factcheck_halueval_qa.jsonl")) * 10
    result = train(docs, [], tmp_path, [], FactCheckTrainConfig(max_iter=10))
    ModelCard(task="factcheck", task_version="1", kind=result["kind"], labels=[]).save(tmp_path)
    options = BackendOptions(model_path=str(tmp_path), extra={"aggregates": counts})
    backend = TrainedFactCheck(FactCheckTask(), options)
    doc = make_doc("Most reviewers hate the Nebula's battery. It is cheap.", meta={"evidence": []})
    backend.predict([doc])
    assert doc._.verdicts[0].label == "supported" and len(doc._.verdicts) == 2
