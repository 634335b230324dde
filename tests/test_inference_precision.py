"""bfloat16 inference of the MiniLM encoders: when it is chosen, and that it decides the same."""

from __future__ import annotations

import pytest

from distill.plugins.linker.embed import BF16_ENV, bf16_hardware, bf16_is_fast, use_bf16


def test_an_explicit_option_wins_then_the_environment_then_the_cpu(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(BF16_ENV, raising=False)
    assert use_bf16(True) is True and use_bf16(False) is False
    assert use_bf16("false") is False and use_bf16("1") is True
    assert use_bf16() is bf16_is_fast() and use_bf16("auto") is bf16_is_fast()
    monkeypatch.setenv(BF16_ENV, "0")
    assert use_bf16() is False and use_bf16(True) is True
    monkeypatch.setenv(BF16_ENV, "1")
    assert use_bf16() is True and use_bf16(False) is False


@pytest.mark.parametrize(
    ("amx", "avx512_bf16", "fast"),
    [(True, False, True), (False, True, True), (False, False, False)],
)
def test_bfloat16_is_fast_with_amx_or_avx512_bf16(
    monkeypatch: pytest.MonkeyPatch, amx: bool, avx512_bf16: bool, fast: bool
) -> None:
    """Both kinds of bfloat16 hardware count (a Zen 4 EPYC has AVX512-BF16, no AMX)."""
    import torch

    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16, raising=False)
    bf16_hardware.cache_clear()
    try:
        assert bf16_is_fast() is fast
    finally:
        bf16_hardware.cache_clear()


@pytest.mark.real
def test_the_sentiment_backend_follows_the_option(monkeypatch: pytest.MonkeyPatch) -> None:
    from distill.backend import BackendOptions
    from distill.plugins.sentiment import SentimentTask
    from distill.plugins.sentiment.trained import TrainedSentiment

    monkeypatch.delenv(BF16_ENV, raising=False)
    off = TrainedSentiment(SentimentTask(), BackendOptions(extra={"bf16": False}))
    on = TrainedSentiment(SentimentTask(), BackendOptions(extra={"bf16": True}))
    int8 = TrainedSentiment(SentimentTask(), BackendOptions(extra={"int8": True, "bf16": True}))
    assert (off.model.bf16, on.model.bf16, int8.model.bf16) == (False, True, False)


@pytest.mark.real
def test_bf16_sentiment_and_index_vectors_agree_with_float32() -> None:
    """The shipped sentiment model's aspect decisions and the index's passage vectors barely
    move in bfloat16 (measured on SemEval-2014 laptops dev: same accuracy to the term)."""
    from distill.ingest.index import default_embedder
    from distill.plugins.sentiment.general import general_model_path
    from distill.plugins.sentiment.model import AbsaModel

    sentences = [
        "The battery lasts two full days, which is great.",
        "The screen is far too dim outdoors.",
        "I bought it last week.",
        "Calls sound muffled and the speaker is awful, but the price was fair.",
        "The camera takes lovely photos in low light.",
    ]
    model = AbsaModel.load(general_model_path())
    model.bf16 = False
    reference = model.predict(sentences).aspects
    model.bf16 = True
    fast = model.predict(sentences).aspects
    assert (model.decide(fast) == model.decide(reference)).float().mean() >= 0.98
    assert (fast - reference).abs().max() < 0.1

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(BF16_ENV, "0")
        exact = default_embedder(sentences)
        patch.setenv(BF16_ENV, "1")
        rounded = default_embedder(sentences)
    assert ((exact * rounded).sum(1) > 0.98).all()
