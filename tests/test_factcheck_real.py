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


# the entailment checker (MiniLM cross-encoder)

PARAPHRASES = FIXTURES / "factcheck_paraphrases.jsonl"


def _cases(*wanted: str) -> list[dict]:
    """Items of the hand-written paraphrase set, by claim prefix."""
    import json

    items = [json.loads(line) for line in PARAPHRASES.read_text().splitlines()]
    return [next(i for i in items if i["claim"].startswith(w)) for w in wanted]


def _docs(cases: list[dict]) -> list:
    from distill.doc import make_doc
    from distill.plugins.factcheck.task import Verdict

    docs = []
    for case in cases:
        meta = {"evidence": case["evidence"], "claims": [case["claim"]]}
        doc = make_doc(case["claim"], meta=meta)
        doc._.verdicts = [Verdict(claim=case["claim"], label=case["label"], confidence=1.0)]
        docs.append(doc)
    return docs


def test_nli_checker_learns_paraphrase_from_flip(tmp_path: Path) -> None:
    """The whole real path: MiniLM cross-encoder fine-tuned on a few claims, saved, loaded
    by the backend, accepting the paraphrases and rejecting the flipped ones it
    was taught (what a shipped model must do on unseen claims is the next test)."""
    from distill.model_card import ModelCard
    from distill.plugins import BackendOptions
    from distill.plugins.factcheck.task import FactCheckTask
    from distill.plugins.factcheck.train import FactCheckTrainConfig, train
    from distill.plugins.factcheck.trained import TrainedFactCheck

    cases = _cases(
        "The speakerphone is loud and clear.",
        "The speakerphone is quiet",
        "The Pods 3 sound better",
        "The Pods 3 last longer",
    )
    gold = _docs(cases)
    config = FactCheckTrainConfig(
        model="nli", init="base", epochs=25, batch_size=4, learn_rate=3e-4, head_learn_rate=1e-2
    )
    result = train(gold, gold, tmp_path, [], config)
    assert result["dev_scores"]["accuracy"] == 1.0, result["dev_scores"]
    ModelCard(task="factcheck", task_version="1", kind=result["kind"], labels=[]).save(tmp_path)
    # float weights: what was tuned on dev (int8 moves borderline probabilities)
    options = BackendOptions(model_path=str(tmp_path), extra={"quantize": False})
    backend = TrainedFactCheck(FactCheckTask(), options)
    predicted = [d.copy() for d in gold]
    for doc in predicted:
        backend.task.write(doc, Verdicts())
    for doc, case in zip(backend.predict(predicted), cases, strict=True):
        [verdict] = doc._.verdicts
        assert (verdict.label == "supported") == (case["label"] == "supported"), (case, verdict)
    from distill.plugins.linker.embed import use_bf16

    default = TrainedFactCheck(FactCheckTask(), BackendOptions(model_path=str(tmp_path)))
    assert default.model.quantized == use_bf16() and not backend.model.quantized
    int8 = BackendOptions(model_path=str(tmp_path), extra={"quantize": "int8"})
    assert TrainedFactCheck(FactCheckTask(), int8).model.quantized


def _shipped_verdicts(cases: list[dict], quantize: bool = True) -> list:
    """The shipped checker's verdicts: its default inference path (bfloat16 or float32), or
    with `quantize=False` the float32 weights its threshold was tuned with."""
    from distill.config import Config
    from distill.doc import make_doc
    from distill.plugins import BackendOptions
    from distill.plugins.factcheck.general import general_model_path
    from distill.plugins.factcheck.task import FactCheckTask
    from distill.plugins.factcheck.trained import TrainedFactCheck
    from distill.plugins.factory import make_backend

    backend = (
        make_backend("factcheck", Config(), backend="trained")
        if quantize
        else TrainedFactCheck(FactCheckTask(), BackendOptions(extra={"quantize": False}))
    )
    if general_model_path() is None or not backend.card.kind.startswith("factcheck-nli"):
        pytest.skip("the shipped checker is not the cross-encoder")
    docs = [
        make_doc(c["claim"], meta={"evidence": c["evidence"], "claims": [c["claim"]]})
        for c in cases
    ]
    return [doc._.verdicts[0] for doc in backend.predict(docs)]


SHIPPED_CASES = (
    "The speakerphone is loud and clear.",  # issue 16: a correct sentence called contradicted
    "The speakerphone is quiet",
    "The Pods 3 sound better",
    "The 6 Plus has a larger screen",
    "The One S speaker is loud",
    "The Zephyr Pro 16 has a sharp 4K webcam",
)


@pytest.mark.parametrize("quantize", [False, True], ids=["float32", "default"])
def test_the_shipped_checker_accepts_paraphrases_and_rejects_flips(quantize: bool) -> None:
    """Float32 (what the threshold was tuned on) and the default path (bfloat16 where the
    CPU has it) get all six. int8, which was the default on CPUs without bfloat16, let
    "the speakerphone is quiet" through on an AVX2 CPU (p(supported) 0.31 against the 0.25
    threshold; 0.09 in float32), which is why it is only used on request."""
    cases = _cases(*SHIPPED_CASES)
    for verdict, case in zip(_shipped_verdicts(cases, quantize), cases, strict=True):
        assert (verdict.label == "supported") == (case["label"] == "supported"), (case, verdict)
        assert verdict.evidence_index == 0 and 0.0 <= verdict.confidence <= 1.0


@pytest.mark.xfail(
    reason="known misses of the shipped cross-encoder (BENCHMARKS.md, Fact-checking: it "
    "accepts most faithful paraphrases but rejects only about a third of the altered claims)"
)
def test_the_shipped_checker_on_its_known_misses() -> None:
    cases = _cases(
        "The Zephyr Air 13's keyboard felt mushy",
        "The Zephyr Air 13 has an excellent webcam",
        "The Pods 3 last longer",
    )
    for verdict, case in zip(_shipped_verdicts(cases), cases, strict=True):
        assert (verdict.label == "supported") == (case["label"] == "supported"), (case, verdict)


def test_nli_checker_trains_saves_and_loads(tmp_path: Path) -> None:
    from distill.model_card import ModelCard
    from distill.plugins import BackendOptions
    from distill.plugins.factcheck.task import FactCheckTask
    from distill.plugins.factcheck.train import FactCheckTrainConfig, train
    from distill.plugins.factcheck.trained import TrainedFactCheck

    docs = list(halueval.read(FIXTURES / "factcheck_halueval_qa.jsonl"))
    config = FactCheckTrainConfig(model="nli", init="base", epochs=1, batch_size=2)
    result = train(docs * 2, docs, tmp_path, [], config)
    assert result["kind"] == "factcheck-nli-minilm" and result["steps"] == 4
    assert set(result["dev_scores"]) == {"accuracy", "qa"}
    # the evidence window is chosen on dev after training, saved and read back
    from distill.plugins.factcheck.nli import EVIDENCE_WORDS, NliModel

    assert result["check_words"] == EVIDENCE_WORDS  # 2 dev answers: too few to shorten it
    assert NliModel.load(tmp_path).window == result["check_words"]
    card = ModelCard(task="factcheck", task_version="1", kind=result["kind"], labels=[])
    card.save(tmp_path)
    backend = TrainedFactCheck(FactCheckTask(), BackendOptions(model_path=str(tmp_path)))
    assert backend.size_mb() is not None and backend.size_mb() < 20  # top layers + head only
    gold = docs[:2]
    predicted = [d.copy() for d in gold]
    for doc in predicted:
        backend.task.write(doc, Verdicts())
    backend.predict(predicted)
    assert all(len(d._.verdicts) == 1 for d in predicted)
    assert {d._.verdicts[0].label for d in predicted} <= set(backend.task.labels)


def test_nli_checker_averaging_scores_the_running_mean_beside_each_epoch(tmp_path: Path) -> None:
    """With average_from=1 each epoch end is scored twice: its own weights, then the mean."""
    from distill.plugins.factcheck.train import FactCheckTrainConfig, train

    docs = list(halueval.read(FIXTURES / "factcheck_halueval_qa.jsonl"))
    config = FactCheckTrainConfig(model="nli", init="base", epochs=2, batch_size=4, average_from=1)
    events: list[dict] = []
    result = train(docs, docs, tmp_path, [], config, lambda kind, info: events.append(info))
    scored = [e for e in events if "dev" in e]
    averaged = [e["dev"].get("averaged_epochs") for e in scored]
    assert averaged == [None, None, 1, None, 2]  # start, epoch 1 own + mean, epoch 2 own + mean
    assert result["steps"] == 2 and (tmp_path / "weights.pt").is_file()
    # max_steps stops a run where a time budget stopped it, on any machine (dev scored last)
    config = config.model_copy(update={"average_from": None, "max_steps": 1})
    events.clear()
    assert train(docs, docs, tmp_path, [], config, lambda k, i: events.append(i))["steps"] == 1
    assert [e["step"] for e in events if "dev" in e] == [0, 1]


def test_the_shipped_checker_runs_with_nothing_configured() -> None:
    """A fresh machine: the guardrail's checker loads from the package, no training, no path."""
    from distill.config import Config
    from distill.doc import make_doc
    from distill.plugins.factory import make_backend

    backend = make_backend("factcheck", Config(), backend="trained")
    backend.warm_up()  # one small batch, before the timed ones (benchmarks call it)
    evidence = ["The battery easily lasts two days.", "The screen is dim outdoors."]
    claims = ["The battery lasts two days.", "The screen is bright outdoors."]
    docs = [make_doc(c, meta={"evidence": evidence, "claims": [c]}) for c in claims]
    for doc in backend.predict(docs):
        [verdict] = doc._.verdicts
        assert verdict.label in {"supported", "contradicted", "not_enough_info"}
        assert 0.0 <= verdict.confidence <= 1.0


def test_stacked_checker_trains_loads_and_checks(tmp_path: Path) -> None:
    """`model=stacked`: the lexical checker and the cross-encoder trained, the combiner fitted
    on dev, the directory loaded by the backend (bfloat16 or float32) and run."""
    from distill.model_card import ModelCard
    from distill.plugins import BackendOptions
    from distill.plugins.factcheck.stacked import STACK
    from distill.plugins.factcheck.task import FactCheckTask
    from distill.plugins.factcheck.train import FactCheckTrainConfig, train
    from distill.plugins.factcheck.trained import TrainedFactCheck

    docs = list(halueval.read(FIXTURES / "factcheck_halueval_qa.jsonl"))
    claims = _docs(_cases("The speakerphone is loud and clear.", "The speakerphone is quiet"))
    config = FactCheckTrainConfig(model="stacked", init="base", epochs=1, batch_size=2)
    result = train(docs * 2 + claims, docs + claims, tmp_path, [], config)
    assert result["kind"] == "factcheck-stacked-minilm" and (tmp_path / STACK).is_file()
    assert {"qa", "claims", "accuracy"} <= set(result["dev_scores"]) and "dev_cv" in result
    ModelCard(task="factcheck", task_version="1", kind=result["kind"], labels=[]).save(tmp_path)
    backend = TrainedFactCheck(FactCheckTask(), BackendOptions(model_path=str(tmp_path)))
    predicted = [d.copy() for d in docs + claims]
    for doc in predicted:
        backend.task.write(doc, Verdicts())
    backend.predict(predicted)
    assert all(len(d._.verdicts) == 1 for d in predicted)
    assert {d._.verdicts[0].label for d in predicted} <= set(backend.task.labels)


def test_inference_gives_the_eager_probabilities_of_one_padded_batch() -> None:
    """`probabilities` (sdpa, short length-sorted batches) against the plain path it
    replaced (eager attention, all pairs padded in one batch): float noise only."""
    import json

    import numpy as np
    import torch

    from distill.plugins.factcheck.general import general_model_path
    from distill.plugins.factcheck.model import Check
    from distill.plugins.factcheck.nli import NliModel

    path = general_model_path()
    if path is None or not (path / "layout.json").is_file():
        pytest.skip("the shipped checker is not the cross-encoder")
    model = NliModel.load(path)
    model.train(False)
    lines = (FIXTURES / "factcheck_paraphrases.jsonl").read_text(encoding="utf-8").splitlines()
    items = [json.loads(line) for line in lines[:20]]
    checks = [Check(item["claim"], item["evidence"]) for item in items]
    with torch.inference_mode():
        ids = model.tokenize(model.pairs(checks))
        plain = model.logits(model.batch(ids)).softmax(-1).numpy()
    assert len({len(i) for i in ids}) > 5  # lengths vary: padding is exercised
    assert np.abs(model.probabilities(checks) - plain).max() < 1e-4
    assert model.encoder.config._attn_implementation == "eager"  # training's kernel stays


def test_the_claim_is_never_cut_only_the_evidence_and_the_question() -> None:
    from distill.plugins.factcheck.model import Check
    from distill.plugins.factcheck.nli import MAX_TOKENS, NliModel, hypothesis

    model = NliModel()
    claim = "and the battery died after exactly seventeen minutes of calls"
    check = Check(claim, ["The phone is fine. " * 60], "[Human]: " + "tell me more " * 30)
    [ids] = model.tokenize(model.pairs([check]))
    text = model.tokenizer.decode(ids)
    assert len(ids) == MAX_TOKENS and f"{claim} [SEP]" in text
    assert hypothesis(check).endswith(claim)


def test_train_factcheck_cli_says_which_evidence_window_the_checker_reads(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tests.test_ner_cli import make_app

    qa = str(FIXTURES / "factcheck_halueval_qa.jsonl")
    result = CliRunner().invoke(
        make_app(),
        ["train", "factcheck", "--data", qa, "--format", "halueval", "--out", str(tmp_path),
         "--set", "model=nli", "--set", "init=base", "--set", "epochs=1",
         "--set", "batch_size=2"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    # a few dev answers cannot show a loss: the trained window stays
    assert "checks read 80 evidence words (dev too small to shorten it)" in result.output
