"""Fact-checker: HaluEval reader, claims, features, graph-grounded check, scorer, trained path.

Fast: lexical features only, a tiny sklearn model, the entailment model's model-free parts;
the real-model paths (MiniLM, the shipped checker, the LLM judge) are in
test_factcheck_real.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from spacy.tokens import Doc

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
    result = train(docs, docs[:4], tmp_path, [], FactCheckTrainConfig(model="lexical", max_iter=20))
    assert result["dev_scores"]["accuracy"] == 1.0
    ModelCard(task="factcheck", task_version="1", kind=result["kind"], labels=[]).save(tmp_path)
    backend = TrainedFactCheck(FactCheckTask(), BackendOptions(model_path=str(tmp_path)))
    predicted = backend.predict(cleared(backend.task, docs[:4]))
    assert backend.task.score(docs[:4], predicted).accuracy == 1.0
    verdict = predicted[1]._.verdicts[0]
    assert verdict.label != "supported" and verdict.evidence_index == 0


def test_trained_backend_uses_the_graph_when_given(tmp_path: Path) -> None:
    docs = list(halueval.read(FIXTURES / "factcheck_halueval_qa.jsonl")) * 10
    result = train(docs, [], tmp_path, [], FactCheckTrainConfig(model="lexical", max_iter=10))
    ModelCard(task="factcheck", task_version="1", kind=result["kind"], labels=[]).save(tmp_path)
    options = BackendOptions(model_path=str(tmp_path), extra={"aggregates": counts})
    backend = TrainedFactCheck(FactCheckTask(), options)
    doc = make_doc("Most reviewers hate the Nebula's battery. It is cheap.", meta={"evidence": []})
    backend.predict([doc])
    assert doc._.verdicts[0].label == "supported" and len(doc._.verdicts) == 2


# the entailment checker's parts that need no model


def test_evidence_window_keeps_the_sentences_that_matter() -> None:
    from distill.plugins.factcheck.nli import evidence_window

    filler = "The box was plain and the delivery was quick. " * 20
    evidence = [filler, "The speakerphone is loud and clear in the car. " + filler]
    window = evidence_window("The speakerphone is loud.", evidence, budget=30)
    assert "speakerphone is loud and clear" in window and len(window.split()) <= 30
    assert evidence_window("short", ["A short passage."]) == "A short passage."
    glued = evidence_window(
        "Delhi office", ["Oberoi is a family." * 15 + "The office is in Delhi."]
    )
    assert "The office is in Delhi." in glued


def test_the_attention_kernel_is_switched_back_even_on_errors() -> None:
    from types import SimpleNamespace

    from distill.plugins.linker.embed import attention_kernel

    encoder = SimpleNamespace(config=SimpleNamespace(_attn_implementation="eager"))
    with attention_kernel(encoder, "sdpa"):
        assert encoder.config._attn_implementation == "sdpa"
    with pytest.raises(RuntimeError), attention_kernel(encoder, "sdpa"):
        raise RuntimeError
    assert encoder.config._attn_implementation == "eager"


def test_the_question_goes_before_the_claim() -> None:
    from distill.plugins.factcheck.model import Check
    from distill.plugins.factcheck.nli import hypothesis

    assert hypothesis(Check("Delhi", [], "Where is the head office?")) == (
        "Q: Where is the head office? A: Delhi"
    )
    assert hypothesis(Check("It is loud.", [])) == "It is loud."


def test_answer_level_loss_merges_the_unsupported_labels() -> None:
    import torch

    from distill.plugins.factcheck.nli_train import UNSUPPORTED, loss_of

    logits = torch.tensor([[0.0, 5.0, -5.0], [0.0, -5.0, 5.0], [0.0, 5.0, -5.0]])
    weights = torch.ones(1)
    merged = [loss_of(logits[i : i + 1], torch.tensor([UNSUPPORTED]), weights) for i in range(2)]
    assert abs(float(merged[0]) - float(merged[1])) < 1e-5  # either unsupported label is right
    exact = loss_of(logits[2:], torch.tensor([2]), weights)  # a claim-level label is exact
    assert float(exact) > 5 > float(merged[0])


def test_nli_examples_mark_halueval_answers_as_partial_labels() -> None:
    from distill.plugins.factcheck.nli_train import UNSUPPORTED, examples

    docs = list(halueval.read(FIXTURES / "factcheck_halueval_qa.jsonl"))
    claim = make_doc("It is loud.", meta={"evidence": ["Loud."], "claims": ["It is loud."]})
    claim._.verdicts = [Verdict(claim="It is loud.", label="contradicted", confidence=1.0)]
    claim._.meta["weight"] = 2.0
    checks, targets, weights = examples([*docs[:2], claim])
    assert targets == [0, UNSUPPORTED, 1] and weights == [1.0, 1.0, 2.0]
    assert checks[0].question.startswith("Which magazine")


def test_the_evidence_window_is_shortened_while_every_dev_group_holds() -> None:
    """choose_window walks 80 -> 64 -> 48 -> ... and stops before the first dev loss."""
    from distill.plugins.factcheck.nli_train import MIN_WINDOW_CHECKS, choose_window

    docs = list(halueval.read(FIXTURES / "factcheck_halueval_qa.jsonl"))
    gold = {v.claim: v.label for d in docs for v in d._.verdicts}

    class Checker:  # right down to 48 words, then it accepts every answer
        window = 80

        def verdicts(self, checks: list) -> list[Verdict]:
            return [
                Verdict(
                    claim=c.claim,
                    label=gold[c.claim] if self.window >= 48 else "supported",
                    confidence=1.0,
                )
                for c in checks
            ]

    checker = Checker()
    many = docs * (MIN_WINDOW_CHECKS // len(docs) + 1)
    tried = choose_window(checker, many)  # type: ignore[arg-type]
    assert checker.window == 48
    assert list(tried) == ["80", "64", "48", "40"]  # the walk stops at the first loss
    assert tried["48"]["qa"] == 1.0 and tried["40"]["qa"] == 0.5
    # a small dev set cannot show a loss: the trained window stays
    assert choose_window(checker, docs) == {} and checker.window == 80  # type: ignore[arg-type]


def test_init_must_be_a_checker_directory(tmp_path: Path) -> None:
    from distill.errors import ConfigError

    docs = list(halueval.read(FIXTURES / "factcheck_halueval_qa.jsonl"))
    with pytest.raises(ConfigError, match="init=.*layout.json"):
        train(docs, [], tmp_path, [], FactCheckTrainConfig(model="nli", init=str(tmp_path)))


def test_the_llm_teaches_only_where_writer_and_judge_agree(tmp_path: Path) -> None:
    from distill.plugins.factcheck.teach import Rewrites, read_taught, teach

    class Writer:
        def with_structured_output(self, schema: type) -> Writer:
            assert schema is Rewrites
            return self

        def invoke(self, prompt: str) -> Rewrites:
            assert "screen is bright" in prompt
            return Rewrites(paraphrase="The display is bright.", changed="The screen is dim.")

    judged: list[tuple[str, list[str]]] = []

    def judge(evidence: str, claims: list[str]) -> list:
        judged.append((evidence, claims))
        return ["supported", "supported"]  # the judge misses the change

    out = tmp_path / "taught.jsonl"
    items = [("The screen is bright.", "The screen is bright.", "r1:0")]
    records = teach(items, Writer(), judge, out, seconds=60, log=lambda _: None)
    assert [(r.intended, r.judge, r.kept) for r in records] == [
        ("supported", "supported", True),
        ("contradicted", "supported", False),
    ]
    assert judged == [("The screen is bright.", ["The display is bright.", "The screen is dim."])]
    assert read_taught(out) == records
    teach(items, Writer(), judge, out, seconds=60, log=lambda _: None)  # resumes: no new call
    assert len(judged) == 1 and len(read_taught(out)) == 2


def test_the_trained_backend_needs_a_model_when_none_is_shipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from distill.errors import PluginError
    from distill.plugins.factcheck import trained

    monkeypatch.setattr(trained, "general_model_path", lambda: None)
    with pytest.raises(PluginError, match="tasks.factcheck.model"):
        TrainedFactCheck(FactCheckTask(), BackendOptions())


def test_halueval_splits_by_record_and_matches_answer_lengths() -> None:
    from distill.corpora.halueval import answer_doc, length_bucket, length_matched, split_by_record

    docs = list(halueval.read(FIXTURES / "factcheck_halueval_qa.jsonl")) * 10
    train_docs, dev, test = split_by_record(docs)
    assert (len(train_docs), len(dev), len(test)) == (28, 4, 8)
    assert all(len(part) % 2 == 0 for part in (train_docs, dev, test))  # both answers together
    assert length_bucket("Delhi") == 0 and length_bucket("a b c d e") == 4
    assert length_bucket(" ".join("w" * 20)) == 6

    def answer(text: str, wrong: bool) -> Doc:
        return answer_doc(text, ["k"], "q", wrong, text, "qa")

    short_right = [answer(f"Delhi {i}", False) for i in range(3)]
    long_wrong = [answer(f"It is based in the city of Mumbai {i}", True) for i in range(3)]
    matched = length_matched([*short_right, *long_wrong, answer("Mumbai 9", True)])
    texts = [d.text for d in matched]  # one short right answer for the one short wrong one
    assert len(texts) == 2 and texts[0].startswith("Delhi ") and texts[1] == "Mumbai 9"


# training data and the stacked checker


def test_length_balance_weights_take_every_answer_and_hide_length() -> None:
    import sys

    from distill.corpora.halueval import answer_doc, length_bucket

    sys.path.insert(0, str(Path(__file__).parents[1]))
    from benchmarks.factcheck_data import length_balance_weights

    def answer(text: str, wrong: bool) -> Doc:
        return answer_doc(text, ["k"], "q", wrong, text, "qa")

    docs = [answer(f"Delhi {i}", False) for i in range(4)]
    docs += [answer("Mumbai 9", True), answer("It is based in the city of Mumbai", True)]
    docs += [answer("Chennai", False)]  # a bucket with one label only: left out
    weighted = length_balance_weights(docs, scale=3.0)
    assert [d.text for d in weighted] == [d.text for d in docs[:5]]
    totals: dict[tuple[int, bool], float] = {}
    for doc in weighted:
        key = (length_bucket(doc.text), doc._.verdicts[0].label == "supported")
        totals[key] = totals.get(key, 0.0) + doc._.meta["weight"]
    assert totals == {(1, True): 3.0, (1, False): 3.0}


class _Fixed:
    """A part of the stacked model that returns fixed outputs in check order."""

    def __init__(self, values: list) -> None:
        import numpy as np

        self.values = np.asarray(values, dtype=float)

    def probabilities(self, checks: list) -> object:
        values = self.values[: len(checks)]
        return (values, None) if values.ndim == 1 else values


def _claim_doc(claim: str, label: str, source: str) -> Doc:
    doc = make_doc(claim, meta={"evidence": ["e"], "claims": [claim], "source": source})
    doc._.verdicts = [Verdict(claim=claim, label=label, confidence=1.0)]
    return doc


def test_stacked_model_fits_its_combiner_on_dev_and_scores_out_of_fold() -> None:
    import numpy as np

    from distill.plugins.factcheck.model import Check
    from distill.plugins.factcheck.stacked import StackedModel, fit_stack

    rng = np.random.default_rng(0)
    labels = ["supported", "contradicted", "not_enough_info"] * 20
    docs = [_claim_doc(f"claim {i}", label, f"s{i}") for i, label in enumerate(labels)]
    # the lexical part is noise; the cross-encoder knows supported from not, and which
    lexical = rng.uniform(0.2, 0.8, len(docs))
    nli = np.asarray(
        [
            [0.8, 0.1, 0.1]
            if b == "supported"
            else [0.1, 0.6, 0.3]
            if b == "contradicted"
            else [0.1, 0.3, 0.6]
            for b in labels
        ]
    )
    model = StackedModel(_Fixed(lexical), _Fixed(nli))  # type: ignore[arg-type]
    fitted = fit_stack(model, docs)
    assert fitted["dev"]["claims"] == 1.0 and fitted["dev_cv"]["claims_binary"] == 1.0
    assert model.coef[1] < 0  # supported log-odds up: p(not supported) down
    [verdict] = model.verdicts([Check(docs[0].text, ["e"])])  # the first row: supported
    assert verdict.label == "supported" and verdict.evidence_index == 0


def test_stack_features_and_group_scores() -> None:
    import numpy as np

    from distill.plugins.factcheck.stacked import DevSet, group_scores, stack_features

    x = stack_features(
        np.asarray([0.5, 0.9]),
        np.asarray([[0.5, 0.25, 0.25], [0.1, 0.8, 0.1]]),
        np.asarray([0.0, 1.0]),
    )
    assert x.shape == (2, 7) and abs(x[0, 0]) < 1e-9 and abs(x[0, 1]) < 1e-9
    assert x[0, 3:].tolist() == [0.0, 0.0, 0.0, 0.0] and x[1, 4] == x[1, 0]
    dev = DevSet(
        gold=["supported", "contradicted", "supported", "not_enough_info"],
        group=["qa", "qa", "claims", "claims"],
        doc=[0, 1, 2, 3],
        answer_level=[True, True, False, False],
        record=["r0", "r0", "s2", "s3"],
    )
    nli = np.asarray([[0.1, 0.8, 0.1]] * 4)
    scores = group_scores(dev, np.asarray([0.2, 0.9, 0.2, 0.9]), nli, 0.5)
    # qa: both answers right; claims: supported right, "contradicted" for not_enough_info
    assert scores == {"accuracy": 0.75, "claims": 0.5, "qa": 1.0, "claims_binary": 1.0}
