"""Aspect sentiment: the scorer's two modes and attaching opinions to products."""

from __future__ import annotations

from pathlib import Path

import pytest
from spacy.tokens import Span

from distill.corpora import read_corpus
from distill.doc import make_doc
from distill.plugins.sentiment import Opinion, Opinions, SentimentTask

FIXTURES = Path(__file__).parent / "fixtures"


def cleared(docs):
    copies = [d.copy() for d in docs]
    for c in copies:
        c._.opinions = []
    return copies


def test_term_mode_scores_polarity_accuracy_over_gold_terms() -> None:
    gold = read_corpus(FIXTURES / "laptops14.xml", "semeval14")
    predicted = cleared(gold)
    predicted[0]._.opinions = [
        Opinion(aspect="battery life", polarity="positive", term="battery life", start=4, end=16),
        Opinion(aspect="screen", polarity="positive", term="screen", start=34, end=40),
    ]
    scores = SentimentTask().score(gold, predicted)
    assert scores.n == 3 and scores.accuracy == pytest.approx(1 / 3)
    assert scores.f1 is None
    # F1 positive 2/3 (1 right of 2 said, 1 gold), negative 0, neutral 0 (never said)
    assert scores.macro_f1 == pytest.approx((2 / 3) / 3)


def test_category_mode_scores_prf() -> None:
    gold = read_corpus(FIXTURES / "laptops16.xml", "semeval16")
    predicted = cleared(gold)
    predicted[0]._.opinions = [Opinion(aspect="LAPTOP#GENERAL", polarity="positive")]
    predicted[1]._.opinions = [Opinion(aspect="DISPLAY#QUALITY", polarity="positive")]
    scores = SentimentTask().score(gold, predicted)
    assert scores.precision == pytest.approx(0.5)
    assert scores.recall == pytest.approx(1 / 3)
    assert scores.accuracy is None


def test_opinions_attach_to_the_nearest_product_in_the_sentence() -> None:
    doc = make_doc("The Pixel 7 camera is great. The iPhone 15 battery is weak.")
    doc.ents = [
        Span(doc, 1, 3, label="PRODUCT", kb_id="google-pixel-7"),
        Span(doc, 8, 10, label="PRODUCT"),
    ]
    battery = doc.text.index("battery")
    output = Opinions(
        opinions=[
            Opinion(aspect="camera", polarity="positive", term="camera", start=12, end=18),
            Opinion(
                aspect="battery",
                polarity="negative",
                term="battery",
                start=battery,
                end=battery + 7,
            ),
            Opinion(aspect="price", polarity="neutral"),  # no term, two products: unknown
        ]
    )
    SentimentTask().write(doc, output)
    assert [o.target for o in doc._.opinions] == ["google-pixel-7", "iPhone 15", None]


def test_single_product_takes_termless_opinions() -> None:
    doc = make_doc("Love my Pixel 7.")
    doc.ents = [Span(doc, 2, 4, label="PRODUCT")]
    SentimentTask().write(doc, Opinions(opinions=[Opinion(aspect="design", polarity="positive")]))
    assert doc._.opinions[0].target == "Pixel 7"


@pytest.mark.real
def test_real_train_and_predict_tiny_sentiment(tmp_path: Path) -> None:
    """Fine-tune MiniLM for one epoch on three sentences; the trained backend predicts."""
    from distill.model_card import ModelCard
    from distill.plugins import BackendOptions
    from distill.plugins.sentiment.train import SentimentTrainConfig, train
    from distill.plugins.sentiment.trained import TrainedSentiment

    docs = read_corpus(FIXTURES / "laptops14.xml", "semeval14")
    result = train(docs, docs, tmp_path, [], SentimentTrainConfig(max_epochs=1, batch_size=4))
    ModelCard(task="sentiment", task_version="1", kind=result["kind"], labels=[]).save(tmp_path)
    runner = TrainedSentiment(SentimentTask(), BackendOptions(model_path=str(tmp_path)))
    predicted = runner.predict(cleared(docs))
    assert [len(d._.opinions) for d in predicted] == [2, 0, 1]
    assert SentimentTask().score(docs, predicted).n == 3


def test_checkpoint_average_is_the_running_mean_and_swaps_back() -> None:
    """Averaging keeps the mean of the epoch-end weights; two swaps restore the model's own."""
    import torch

    from distill.plugins.averaging import WeightAverage

    top, heads = torch.nn.Linear(2, 2), torch.nn.Linear(2, 1)
    average = WeightAverage([top, heads])
    for value in (1.0, 2.0, 6.0):
        with torch.no_grad():
            top.weight.fill_(value)
            heads.bias.fill_(-value)
        average.add()
    average.swap()
    assert torch.allclose(top.weight, torch.full((2, 2), 3.0))
    assert torch.allclose(heads.bias, torch.tensor([-3.0]))
    average.swap()
    assert torch.allclose(top.weight, torch.full((2, 2), 6.0))


@pytest.mark.real
def test_real_training_with_averaging_and_neutral_weight(tmp_path: Path) -> None:
    """Two epochs, the averaged weights scored and kept from epoch 1; the model predicts."""
    from distill.model_card import ModelCard
    from distill.plugins import BackendOptions
    from distill.plugins.sentiment.train import SentimentTrainConfig, train
    from distill.plugins.sentiment.trained import TrainedSentiment

    docs = read_corpus(FIXTURES / "laptops14.xml", "semeval14")
    config = SentimentTrainConfig(max_epochs=2, batch_size=4, average_from=1, neutral_weight=2.0)
    result = train(docs, docs, tmp_path, [], config)
    # epoch 0: the model it started from (the shipped general one), scored on dev too
    assert [row["epoch"] for row in result["history"]] == [0, 1, 2]
    assert [row.get("averaged_epochs") for row in result["history"][1:]] == [1, 2]
    assert result["best_epoch"] in (0, 1, 2)
    ModelCard(task="sentiment", task_version="1", kind=result["kind"], labels=[]).save(tmp_path)
    runner = TrainedSentiment(SentimentTask(), BackendOptions(model_path=str(tmp_path)))
    assert SentimentTask().score(docs, runner.predict(cleared(docs))).n == 3


@pytest.mark.real
def test_order_seed_changes_the_run_but_not_the_start(tmp_path: Path) -> None:
    """Same `seed`, another `order_seed`: the heads start alike, training differs."""
    import torch

    from distill.plugins.sentiment.model import WEIGHTS
    from distill.plugins.sentiment.train import SentimentTrainConfig, train

    docs = read_corpus(FIXTURES / "laptops14.xml", "semeval14")
    heads = {}
    for order in (None, 1):
        base = dict(max_epochs=1, batch_size=2, init="base", frozen=5, order_seed=order)
        start = tmp_path / f"start-{order}"
        train(
            docs,
            docs,
            start,
            [],
            SentimentTrainConfig(**base, learn_rate=1e-12, head_learn_rate=1e-12),
        )
        run = tmp_path / f"run-{order}"
        train(docs, docs, run, [], SentimentTrainConfig(**base))
        heads[order] = [torch.load(d / WEIGHTS)["heads"] for d in (start, run)]
    for key, value in heads[None][0].items():  # the start: equal
        assert torch.allclose(value.float(), heads[1][0][key].float(), atol=1e-3), key
    assert any(  # the run: not equal
        not torch.equal(value, heads[1][1][key]) for key, value in heads[None][1].items()
    )


@pytest.mark.real
def test_real_training_keeps_the_base_sentence_vectors_when_asked(tmp_path: Path) -> None:
    """With `vector_weight`, training holds the fine-tuned top's mean-pooled output to the
    base model's sentence vector, measures how close it stays, and the model says it can
    stand in for the base vector only when it does; without it, the model never says so."""
    from distill.plugins.sentiment.model import AbsaModel
    from distill.plugins.sentiment.train import (
        OWN_VECTORS_MIN,
        SentimentTrainConfig,
        start_model,
        train,
    )

    docs = read_corpus(FIXTURES / "laptops14.xml", "semeval14")
    kept = SentimentTrainConfig(max_epochs=1, batch_size=4, init="base", frozen=5)
    result = train(
        docs, docs, tmp_path / "kept", [], kept.model_copy(update={"vector_weight": 1.0})
    )
    cosine = result["history"][-1]["vector_cosine"]
    # one epoch from the base model's own top layer barely moves it away from them
    assert cosine > OWN_VECTORS_MIN
    assert AbsaModel.load(tmp_path / "kept").own_vectors
    assert result["config"]["own_vectors"] is True
    plain = train(docs, docs, tmp_path / "plain", [], kept.model_copy(update={"vector_weight": 0}))
    assert "vector_cosine" not in plain["history"][-1]
    assert not AbsaModel.load(tmp_path / "plain").own_vectors
    # asking for the loss does not make a start model that lacks them claim them (its
    # epoch 0 can be the one kept)
    asked_of_plain = kept.model_copy(update={"vector_weight": 1.0, "init": tmp_path / "plain"})
    assert not start_model([], [], asked_of_plain).own_vectors
    # a fine-tune from a model that keeps them keeps them too (the loss is inherited)
    again = SentimentTrainConfig(max_epochs=1, batch_size=4, init=tmp_path / "kept")
    assert train(docs, docs, tmp_path / "again", [], again)["config"]["vector_weight"] == 1.0


@pytest.mark.real
def test_own_sentence_vectors_stand_in_for_minilms(tmp_path: Path) -> None:
    """A model that keeps the base sentence vectors gives the document index vectors that
    point where all-MiniLM-L6-v2's do, from the pass it makes anyway; with `own_vectors`
    off, the base model's top layers give exactly MiniLM's."""
    import numpy as np

    from distill.ingest.index import default_embedder
    from distill.plugins.sentiment.model import AbsaModel
    from distill.plugins.sentiment.train import SentimentTrainConfig, train

    docs = read_corpus(FIXTURES / "laptops14.xml", "semeval14")
    config = SentimentTrainConfig(max_epochs=1, batch_size=4, init="base", vector_weight=1.0)
    train(docs, docs, tmp_path, [], config)
    texts = [
        "The battery easily lasts two days, even with the screen at full brightness.",
        "Customer support never answered my emails about the cracked hinge.",
        "For the price, the keyboard feels cheap and the trackpad is jumpy.",
        "We returned it after a week.",
    ]
    reference = default_embedder(texts)
    model = AbsaModel.load(tmp_path)
    assert model.own_vectors
    for own, floor in ((True, 0.8), (False, 0.99)):
        model.own_vectors = own
        pooled = model.predict(texts, pooled=True).pooled
        assert pooled is not None
        vectors = pooled[0].numpy()
        cosines = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True) * reference).sum(1)
        assert cosines.min() > floor, (own, cosines)


@pytest.mark.real
def test_a_dev_set_of_a_few_opinions_keeps_the_models_aspect_threshold(tmp_path: Path) -> None:
    """A threshold picked from a handful of dev opinions is one or two of them: training on
    such a dev set keeps the threshold of the model it starts from (the shipped one here)."""
    from distill.plugins.sentiment.general import GENERAL_DIR
    from distill.plugins.sentiment.model import AbsaModel
    from distill.plugins.sentiment.train import MIN_TUNING_OPINIONS, SentimentTrainConfig, train

    docs = read_corpus(FIXTURES / "laptops16.xml", "semeval16")
    assert 0 < sum(len(d._.opinions) for d in docs) < MIN_TUNING_OPINIONS
    shipped = AbsaModel.load(GENERAL_DIR).threshold
    result = train(docs, docs, tmp_path, [], SentimentTrainConfig(max_epochs=1, batch_size=4))
    assert [row["aspect_threshold"] for row in result["history"]] == [shipped, shipped]
    assert AbsaModel.load(tmp_path).threshold == shipped
