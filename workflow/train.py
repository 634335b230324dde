"""Train a task's `trained` backend: the trainer module its spec names, plus a model card.

A trainer module exposes `CONFIG` (a pydantic settings class) and
`train(train_docs, dev_docs, out, labels, settings, progress) -> dict`; the task spec
names it in `TaskSpec.trainer`, so a plugin's task is trainable the same way.
"""

from __future__ import annotations

import difflib
import importlib
import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from spacy.tokens import Doc

from distill.errors import ConfigError
from distill.model_card import ModelCard


def trainer_for(task: str) -> ModuleType:
    """The trainer module of `task`, or a ConfigError listing the trainable tasks."""
    from distill.registry import registry

    reg = registry()
    module = reg.task(task).obj.trainer
    if module is None:
        trainable = sorted(name for name, entry in reg.tasks.items() if entry.obj.trainer)
        raise ConfigError(f"no trainer for task {task!r}; trainable: {', '.join(trainable)}")
    return importlib.import_module(module)


def fit(
    task: str,
    train_docs: list,
    dev_docs: list,
    out: Path,
    labels: list[str],
    settings: Any = None,
    *,
    train_info: dict[str, Any] | None = None,
    dev_info: dict[str, Any] | None = None,
    progress: Any = None,
) -> Any:
    """Train TASK's model into `out` and write its card; shared with the benchmarks."""
    from distill.registry import registry

    trainer = trainer_for(task)
    settings = settings if settings is not None else trainer.CONFIG()
    out.mkdir(parents=True, exist_ok=True)
    result = trainer.train(train_docs, dev_docs, out, labels, settings, progress=progress)
    card = ModelCard(
        task=task,
        task_version=registry().task(task).obj.version,
        kind=result.pop("kind", f"spacy-{task}"),
        labels=result.pop("labels", labels),
        train_data=train_info or {"docs": len(train_docs)},
        dev_data=dev_info or {"docs": len(dev_docs)},
        training=result,
        dev_scores=result.get("dev_scores", {}),
    )
    card.save(out)
    return card


# ---------------------------------------------------------------- data and settings, checked


class TrainingData(BaseModel):
    """Gold docs read for training or evaluation, and the lines skipped on the way."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    docs: list[Doc]
    format: str
    skipped: list[str] = Field(default_factory=list)
    """`file:line: why` for each record left out (span outside the text, unknown label)."""


def detect_format(path: str | Path) -> str:
    """The corpus format of `path` from its suffix and first records; an error says to pass it."""
    from distill.corpora import READERS, CorpusError

    path = Path(path)
    if not path.is_file():
        raise CorpusError(path, "no such file")
    suffix = path.suffix.lower()
    if suffix == ".spacy":
        return "docbin"
    head = path.read_bytes()[:20000].decode("utf-8", errors="replace").lstrip("\ufeff")
    if suffix == ".xml" or head.lstrip().startswith("<"):
        if "<aspectTerm" in head:
            return "semeval14"
        if "<Opinion" in head or "<Review" in head:
            return "semeval16"
    lines = [line for line in head.splitlines() if line.strip()][:20]
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break
    if records and all(isinstance(r, dict) for r in records):
        keys = set().union(*(r.keys() for r in records))
        if {"span", "mentions"} & keys:
            return "linking"
        if {"knowledge", "right_answer", "right_response", "hallucination"} & keys:
            return "halueval"
        if {"entities", "opinions"} & keys and "spans" not in keys:
            return "distill"
        if "text" in keys:
            return "prodigy"
    if lines and lines[0].startswith("COL ") and "\t" in lines[0]:
        return "ditto"
    if "huliu" in READERS and any("##" in line or line.startswith("[t]") for line in lines):
        return "huliu"  # Hu & Liu: `feature[+2]##sentence`
    if lines and all(len(line.split()) >= 2 or line.startswith("-DOCSTART-") for line in lines):
        return "conll"
    raise CorpusError(path, f"cannot tell the data format; pass --format ({', '.join(READERS)})")


def formats_for(task: str) -> list[str]:
    """The corpus formats that can carry `task`'s labels."""
    from distill.corpora import READERS, TASKS

    return [name for name in READERS if TASKS.get(name, task) == task]


def read_data(
    path: str | Path,
    task: str,
    format: str | None = None,
    *,
    labels: Sequence[str] | None = None,
    limit: int | None = None,
) -> TrainingData:
    """Read gold docs, skipping (and reporting) records a reader rejects or whose labels
    are not in `labels` (when given): those are never trained or scored on."""
    from distill.corpora import read_corpus
    from distill.corpora.errors import CorpusWarning

    format = format or detect_format(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CorpusWarning)
        docs = read_corpus(path, format, task, limit=limit)
    skipped = [str(w.message) for w in caught if issubclass(w.category, CorpusWarning)]
    for other in (w for w in caught if not issubclass(w.category, CorpusWarning)):
        warnings.warn_explicit(other.message, other.category, other.filename, other.lineno)
    if labels:
        allowed = set(labels)
        kept = []
        for doc in docs:
            unknown = sorted(_labels_in(doc, task) - allowed)
            if unknown:
                meta = doc._.meta or {}
                where = f"{meta.get('source', path)}:{meta.get('line', doc._.doc_id)}"
                skipped.append(
                    f"{where}: skipped: label {unknown[0]!r} is not one of {sorted(allowed)}"
                )
            else:
                kept.append(doc)
        docs = kept
    return TrainingData(docs=docs, format=format, skipped=skipped)


def _labels_in(doc: Doc, task: str) -> set[str]:
    if task in ("ner", "linker"):
        return {ent.label_ for ent in doc.ents}
    if task == "sentiment" and "aspect_terms" not in (doc._.meta or {}):
        return {o.aspect for o in doc._.opinions or []}
    return set()


def training_settings(task: str, values: dict[str, Any]) -> BaseModel:
    """Validate `--set` / `--config` values against the trainer's declared settings.

    A misspelt key is an error with a suggestion (never silently ignored)."""
    settings_class = trainer_for(task).CONFIG
    known = list(settings_class.model_fields)
    for key in values:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"unknown training setting {key!r} for {task}{hint} "
                f"(known: {', '.join(known)}; see `distill train --help`)"
            )
    try:
        return settings_class.model_validate(values)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in e['loc'])} = {e.get('input')!r}: {e['msg']}"
            for e in exc.errors()
        ]
        raise ConfigError(f"invalid training setting for {task}: {'; '.join(problems)}") from None


def describe_training() -> str:
    """Every trainable task with its formats and settings (name, default, meaning): the
    text `distill train --help` shows, built from the registry so plugins appear too."""
    from distill.registry import registry

    lines = []
    for name, entry in sorted(registry().tasks.items()):
        if not entry.obj.trainer:
            continue
        try:
            settings_class = trainer_for(name).CONFIG
        except Exception as exc:  # a plugin's broken trainer must not break --help
            lines.append(f"{name}: trainer unavailable ({type(exc).__name__})")
            continue
        lines.append(f"{name}  (formats: {', '.join(formats_for(name))})")
        for key, field in settings_class.model_fields.items():
            default = field.get_default(call_default_factory=True)
            about = f"  {field.description}" if field.description else ""
            lines.append(f"    {key}={json.dumps(default)}{about}")
    return "\n".join(lines)
