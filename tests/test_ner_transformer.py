"""The transformer NER option (`distill train ner --set arch=minilm`): BIO layout, windows,
settings, a tiny random BERT trained end to end, and one real MiniLM run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from distill.doc import make_doc
from distill.errors import ConfigError
from distill.plugins.ner import transformer
from distill.plugins.ner.transformer import CharSpan, best_tags, char_spans, decode, word_tags

LABELS = ["DISH", "INGREDIENT", "EQUIPMENT"]

SENTENCES: list[tuple[str, list[CharSpan]]] = [
    # written for this test; offsets checked by `_spans`
    ("I fried the eggs in a cast iron pan.", [(12, 16, "INGREDIENT"), (22, 35, "EQUIPMENT")]),
    (
        "Lasagna needs ricotta and basil.",
        [(0, 7, "DISH"), (14, 21, "INGREDIENT"), (26, 31, "INGREDIENT")],
    ),
    (
        "Whisk the eggs in a bowl, then add butter.",
        [(10, 14, "INGREDIENT"), (35, 41, "INGREDIENT")],
    ),
    (
        "My wok makes great fried rice with garlic.",
        [(3, 6, "EQUIPMENT"), (19, 29, "DISH"), (35, 41, "INGREDIENT")],
    ),
]


def _docs() -> list:
    docs = []
    for text, spans in SENTENCES:
        doc = make_doc(text)
        doc.ents = char_spans(doc, spans)
        assert [(e.start_char, e.end_char, e.label_) for e in doc.ents] == spans, text
        docs.append(doc)
    return docs


def test_decode_turns_bio_words_into_character_spans() -> None:
    words = [
        (0, 4, "B-EQUIPMENT"),
        (5, 9, "I-EQUIPMENT"),
        (10, 13, "O"),
        (14, 18, "I-INGREDIENT"),  # a stray I- starts a span
        (19, 23, "I-DISH"),  # a label change ends one and starts another
        (24, 28, "B-DISH"),
    ]
    assert decode(words) == [
        (0, 9, "EQUIPMENT"),
        (14, 18, "INGREDIENT"),
        (19, 23, "DISH"),
        (24, 28, "DISH"),
    ]


def test_best_tags_keep_a_span_whole_where_word_by_word_argmax_splits_it() -> None:
    tags = ["O", "B-EQUIPMENT", "I-EQUIPMENT", "B-DISH", "I-DISH"]
    logits = np.log(
        np.array(
            [
                [0.1, 0.8, 0.0, 0.1, 0.0],  # "immersion": B-EQUIPMENT
                [0.1, 0.0, 0.4, 0.05, 0.45],  # "blender": argmax I-DISH, invalid after B-EQ
                [0.9, 0.0, 0.05, 0.0, 0.05],  # "works": O
            ]
        )
        + 1e-9
    )
    assert [tags[int(row.argmax())] for row in logits] == ["B-EQUIPMENT", "I-DISH", "O"]
    assert best_tags(logits, tags) == ["B-EQUIPMENT", "I-EQUIPMENT", "O"]
    # a text never starts inside a span, and an empty text has no tags
    assert best_tags(np.log(np.array([[0.2, 0.1, 0.7, 0.0, 0.0]]) + 1e-9), tags) == ["O"]
    assert best_tags(np.zeros((0, 5)), tags) == []


def test_word_tags_mark_the_first_word_of_each_span() -> None:
    bounds = {0: [0, 4], 1: [5, 9], 2: [10, 13], 3: [14, 18]}
    spans = [(0, 9, "EQUIPMENT"), (14, 18, "DISH")]
    assert word_tags(bounds, spans) == {0: "B-EQUIPMENT", 1: "I-EQUIPMENT", 2: "O", 3: "B-DISH"}


def test_char_spans_snap_to_the_docs_tokens() -> None:
    doc = make_doc("cast-iron pans rock")
    spans = char_spans(doc, [(0, 4, "EQUIPMENT"), (0, 14, "EQUIPMENT")])  # overlap resolved
    assert [(s.text, s.label_) for s in spans] == [("cast-iron pans", "EQUIPMENT")]


def test_arch_setting_defaults_to_spacy_and_minilm_gets_its_own_defaults() -> None:
    from distill.plugins.ner.train import NERTrainConfig
    from distill.workflow.train import training_settings

    assert NERTrainConfig().arch == "spacy" and NERTrainConfig().learn_rate == 0.001
    minilm = training_settings("ner", {"arch": "minilm"})
    assert (minilm.arch, minilm.learn_rate, minilm.patience) == ("minilm", 5e-5, 4)
    assert training_settings("ner", {"arch": "minilm", "learn_rate": 1e-4}).learn_rate == 1e-4
    with pytest.raises(ConfigError, match="arch=spacy only"):
        training_settings("ner", {"arch": "minilm", "preset": "accurate"})
    with pytest.raises(ConfigError, match="arch"):
        training_settings("ner", {"arch": "bert"})
    with pytest.raises(ConfigError, match="no config.json"):
        training_settings("ner", {"arch": "minilm", "encoder": "/no/such/encoder"})
    with pytest.raises(ConfigError, match="arch=minilm only"):
        training_settings("ner", {"autocast": True})


@pytest.fixture
def tiny_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A random 1-layer BERT and a WordPiece tokenizer over the test's words, standing in
    for the bundled MiniLM (same classes, nothing pretrained, milliseconds to run)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    words = sorted(
        {
            w.lower()
            for text, _ in SENTENCES
            for w in text.replace(".", " ").replace(",", " ").split()
        }
    )
    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", ",", ".", *words])}
    backend = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    base = tmp_path / "tiny-base"
    PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]", model_max_length=512
    ).save_pretrained(base)
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=512,
    )  # fmt: skip
    BertModel(config).save_pretrained(base)
    monkeypatch.setattr(transformer, "base_model_path", lambda: base)
    return base


def test_windows_cover_long_texts_and_targets_score_first_pieces(
    tiny_base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transformer, "MAX_PIECES", 8)
    monkeypatch.setattr(transformer, "STRIDE", 2)
    model = transformer.TokenNER(LABELS)
    text, spans = SENTENCES[0]
    windows = transformer.Windows(model.tokenizer, [text])
    assert len(windows) > 1  # 10 words + 2 specials in windows of 8
    assert sorted(windows.bounds[0]) == list(range(10))  # every word read somewhere
    targets = model.targets(windows, [spans])
    tagged = {
        windows.bounds[0][word][0]: model.tags[targets[w][j]]
        for w in range(len(windows))
        for j, word in windows.first_pieces(w)
    }
    assert (
        tagged[12] == "B-INGREDIENT" and tagged[22] == "B-EQUIPMENT" and tagged[27] == "I-EQUIPMENT"
    )
    assert model.predict([text, ""])[1] == []  # an empty text has no words, no spans


def test_label_offsets_shift_decoding_and_are_saved_with_the_model(
    tiny_base: Path, tmp_path: Path
) -> None:
    model = transformer.TokenNER(LABELS)
    # one word "stew": DISH scores a little above INGREDIENT
    logits = np.zeros((1, len(model.tags)))
    logits[0, model.tags.index("B-DISH")] = 2.0
    logits[0, model.tags.index("B-INGREDIENT")] = 1.5
    scored = [([(0, 4)], logits)]
    assert model.spans(scored, {}) == [[(0, 4, "DISH")]]
    assert model.spans(scored, {"DISH": -1.0}) == [[(0, 4, "INGREDIENT")]]
    model.offsets = {"DISH": -1.0}
    model.save(tmp_path)
    assert transformer.TokenNER.load(tmp_path).offsets == {"DISH": -1.0}


def test_tune_offsets_keeps_zero_where_no_offset_scores_better(tiny_base: Path) -> None:
    model = transformer.TokenNER(LABELS)
    docs = _docs()[:2]
    chosen = transformer.tune_offsets(model, docs)
    assert set(chosen) <= set(LABELS) and all(v in transformer.OFFSETS for v in chosen.values())
    assert 0.0 not in chosen.values()  # only offsets that change something are kept


def test_train_save_and_load_through_the_trained_backend(tiny_base: Path, tmp_path: Path) -> None:
    from distill.model_card import load_card
    from distill.plugins import BackendOptions
    from distill.plugins.ner import NERTask
    from distill.plugins.ner.trained import TrainedNER
    from distill.workflow.train import fit, training_settings

    docs = _docs()
    out = tmp_path / "model"
    settings = {"arch": "minilm", "max_epochs": 40, "patience": 40, "learn_rate": 0.01}
    settings |= {"batch_size": 4, "dropout": 0.0, "threads": 1}
    fit("ner", docs, docs, out, LABELS, training_settings("ner", settings))
    card = load_card(out, "ner")
    assert card.kind == transformer.KIND and card.training["config"]["arch"] == "minilm"
    assert (out / "transformer" / "head.pt").is_file()
    for bf16 in (False, True):
        runner = TrainedNER(NERTask(labels=LABELS), BackendOptions(model_path=str(out)))
        runner.transformer.bf16 = bf16  # type: ignore[union-attr]
        predicted = runner.predict([make_doc(d.text) for d in docs])
        assert NERTask(labels=LABELS).score(docs, predicted).f1 > 0.8  # memorises 4 sentences


def test_encoder_setting_fine_tunes_another_encoder_folder_in_autocast(
    tiny_base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`encoder=DIR` trains from that folder, not the bundled MiniLM; the saved model is
    self-contained (encoder and tokenizer copied), so loading needs neither."""
    from distill.plugins import BackendOptions
    from distill.plugins.ner import NERTask
    from distill.plugins.ner.trained import TrainedNER
    from distill.workflow.train import fit, training_settings

    monkeypatch.setattr(transformer, "base_model_path", lambda: tmp_path / "no-such-model")
    docs = _docs()
    out = tmp_path / "model"
    settings = {"arch": "minilm", "max_epochs": 40, "patience": 40, "learn_rate": 0.01}
    settings |= {"batch_size": 4, "dropout": 0.0, "threads": 1, "autocast": True}
    fit(
        "ner",
        docs,
        docs,
        out,
        LABELS,
        training_settings("ner", settings | {"encoder": str(tiny_base)}),
    )
    runner = TrainedNER(NERTask(labels=LABELS), BackendOptions(model_path=str(out)))
    predicted = runner.predict([make_doc(d.text) for d in docs])
    assert NERTask(labels=LABELS).score(docs, predicted).f1 > 0.8


@pytest.mark.real
def test_real_minilm_trains_and_predicts_through_the_trained_backend(tmp_path: Path) -> None:
    """A few steps of the bundled MiniLM on the test's sentences; spans come back on tokens."""
    from distill.config import Config, TaskConfig
    from distill.plugins import make_backend
    from distill.workflow.train import fit, training_settings

    docs = _docs()
    settings = {"arch": "minilm", "max_epochs": 12, "patience": 12, "learn_rate": 3e-4}
    settings |= {"batch_size": 4, "dropout": 0.0, "threads": 1}
    fit("ner", docs, docs, tmp_path, LABELS, training_settings("ner", settings))
    task = TaskConfig(backend="trained", model=str(tmp_path), labels=LABELS)
    backend = make_backend("ner", Config(tasks={"ner": task}))
    predicted = backend.predict([make_doc(d.text) for d in docs])
    found = {(e.text, e.label_) for d in predicted for e in d.ents}
    assert {("eggs", "INGREDIENT"), ("cast iron pan", "EQUIPMENT"), ("Lasagna", "DISH")} <= found
