"""Evaluate a backend on labelled data with the task's own scorer.

Both backends see the same documents (gold copies with the task's output cleared,
inputs such as given aspect terms kept) and are scored by the same `TaskSpec.score`,
so prompt and trained rows are comparable.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from spacy.tokens import Doc

from distill.config import Config, TaskConfig


class EvaluationResult(BaseModel):
    """The one JSON object `distill evaluate --json` prints."""

    task: str
    backend: str
    model: str | None
    n: int
    precision: float | None
    recall: float | None
    f1: float | None
    accuracy: float | None
    words_per_second: float | None
    seconds: float
    model_size_mb: float | None
    llm_calls: int


def run_evaluation(
    task: str,
    gold: list[Doc],
    backend: str,
    config: Config | None = None,
    *,
    model: Path | str | None = None,
    batch_size: int | None = None,
    progress: bool = False,
) -> tuple[EvaluationResult, list[str]]:
    """Predict on cleared copies of `gold`, score with the task spec; shared with benchmarks."""
    from distill.corpora import labels_of
    from distill.model_card import load_card
    from distill.plugins import make_backend

    config = config or Config()
    settings = config.task(task)
    model_path = str(model) if model else settings.model
    labels = settings.labels
    if labels is None:  # the model's labels, else the label set the data uses
        if backend == "trained" and model_path:
            labels = load_card(model_path, task).labels or None
        else:
            labels = labels_of(gold, task) or None
    settings = settings.model_copy(update={"model": model_path, "labels": labels})
    config = config.model_copy(
        update={"tasks": {**config.tasks, task: TaskConfig(**settings.model_dump())}}
    )
    runner = make_backend(task, config, backend=backend)
    if hasattr(runner, "max_concurrency"):
        runner.max_concurrency = config.llm.max_concurrency
    spec = runner.task
    predicted = [_cleared(spec, doc) for doc in gold]
    size = batch_size or (8 if backend == "prompt" else runner.options.batch_size)
    if hasattr(runner, "warm_up"):
        runner.warm_up()
    started = time.perf_counter()
    for batch in _batches(predicted, size, progress, f"{task}/{backend}"):
        runner.predict(batch)
    seconds = time.perf_counter() - started
    scores = spec.score(gold, predicted)
    words = sum(len(doc) for doc in gold)
    failures = [f"{f.doc_id}: {f.error}" for f in getattr(runner, "failures", [])]
    result = EvaluationResult(
        task=task,
        backend=backend,
        model=runner.model_name(),
        n=scores.n,
        precision=scores.precision,
        recall=scores.recall,
        f1=scores.f1,
        accuracy=scores.accuracy,
        words_per_second=round(words / seconds, 1) if seconds > 0 else None,
        seconds=round(seconds, 3),
        model_size_mb=runner.size_mb(),
        llm_calls=int(getattr(runner, "llm_calls", 0)),
    )
    return result, failures


def _cleared(spec: Any, doc: Doc) -> Doc:
    """A copy of a gold doc holding its input only: the task's output emptied."""
    copy = doc.copy()
    spec.write(copy, spec.output_schema())
    return copy


def _batches(docs: list[Doc], size: int, progress: bool, label: str) -> Iterator[list[Doc]]:
    chunks = [docs[i : i + size] for i in range(0, len(docs), size)]
    if not progress:
        yield from chunks
        return
    from rich.console import Console
    from rich.progress import track

    yield from track(chunks, description=label, console=Console(stderr=True), transient=True)
