"""Evaluate a backend on labelled data with the task's own scorer.

Both backends see the same documents (gold copies with the task's output cleared,
inputs such as given aspect terms kept) and are scored by the same `TaskSpec.score`,
so prompt and trained rows are comparable. `compare` runs several backends on the same
docs (cost, agreement, relative speed); `learning_curve` trains students on growing
prefixes of the reviewed data.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from spacy.tokens import Doc

from distill.config import Config


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
    macro_f1: float | None = None
    words_per_second: float | None
    seconds: float
    model_size_mb: float | None
    llm_calls: int
    caution: str | None = None
    """Set when the model trained or chose its settings on the scored file (`seen_data`)."""


@dataclass
class Evaluation:
    """One backend's run on gold: the scored row plus what comparisons need."""

    result: EvaluationResult
    predicted: list[Doc]
    failures: list[str]
    cpu_seconds: float
    input_tokens: int
    output_tokens: int


def run_evaluation(
    task: str,
    gold: list[Doc],
    backend: str,
    config: Config | None = None,
    *,
    model: Path | str | None = None,
    batch_size: int | None = None,
    progress: bool = False,
    data: Path | str | None = None,
    split: str = "all",
) -> tuple[EvaluationResult, list[str]]:
    """Predict on cleared copies of `gold`, score with the task spec; shared with benchmarks.
    `data` (the file `gold` came from) and `split` let a trained model's card say whether
    the scores are in-sample (`EvaluationResult.caution`)."""
    run = evaluate_backend(
        task,
        gold,
        backend,
        config,
        model=model,
        batch_size=batch_size,
        progress=progress,
        data=data,
        split=split,
    )
    return run.result, run.failures


def evaluate_backend(
    task: str,
    gold: list[Doc],
    backend: str,
    config: Config | None = None,
    *,
    model: Path | str | None = None,
    batch_size: int | None = None,
    progress: bool = False,
    data: Path | str | None = None,
    split: str = "all",
) -> Evaluation:
    """`run_evaluation` keeping the predictions, CPU-seconds and LLM token counts."""
    from langchain_core.callbacks import get_usage_metadata_callback

    from distill.corpora import labels_of
    from distill.model_card import load_card, seen_data
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
    config = config.with_task(task, model=model_path, labels=labels)
    runner = make_backend(task, config, backend=backend)
    if hasattr(runner, "max_concurrency"):
        runner.max_concurrency = config.llm.max_concurrency
    spec = runner.task
    predicted = [_cleared(spec, doc) for doc in gold]
    size = batch_size or (8 if backend == "prompt" else runner.options.batch_size)
    if hasattr(runner, "warm_up"):
        runner.warm_up()
    started, cpu_started = time.perf_counter(), time.process_time()
    with get_usage_metadata_callback() as usage:
        for batch in _batches(predicted, size, progress, f"{task}/{backend}"):
            runner.predict(batch)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    scores = spec.score(gold, predicted)
    words = sum(len(doc) for doc in gold)
    card = getattr(runner, "card", None)  # trained backends: what their model saw
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
        macro_f1=scores.macro_f1,
        words_per_second=round(words / seconds, 1) if seconds > 0 else None,
        seconds=round(seconds, 3),
        model_size_mb=runner.size_mb(),
        llm_calls=int(getattr(runner, "llm_calls", 0)),
        caution=seen_data(card, data, split) if data and card else None,
    )
    tokens = list(usage.usage_metadata.values())
    return Evaluation(
        result=result,
        predicted=predicted,
        failures=failures,
        cpu_seconds=round(cpu_seconds, 3),
        input_tokens=sum(t.get("input_tokens", 0) for t in tokens),
        output_tokens=sum(t.get("output_tokens", 0) for t in tokens),
    )


# ---------------------------------------------------------------- teacher vs student


class Pricing(BaseModel):
    """What a run costs: local CPU time at an hourly price, remote tokens at a per-token price."""

    usd_per_cpu_hour: float = Field(
        0.05, ge=0, description="one vCPU-hour (a 2-vCPU cloud VM is ~$0.08-0.10/hour)"
    )
    usd_per_mtok_in: float = Field(0.15, ge=0, description="remote LLM, per million input tokens")
    usd_per_mtok_out: float = Field(0.60, ge=0, description="remote LLM, per million output tokens")


class CompareRow(EvaluationResult):
    cpu_seconds: float
    input_tokens: int
    output_tokens: int
    cost_per_1k_docs: float
    cost_basis: str
    """How the cost was computed, e.g. "cpu 12.1 s x $0.05/h" or "tokens x $0.15/$0.60 per M"."""


class Comparison(BaseModel):
    """`distill evaluate TASK --compare prompt,trained`: one table, one JSON object."""

    task: str
    data: str
    docs: int
    words: int
    metric: str
    rows: list[CompareRow]
    agreement: dict[str, float | None]
    """"b vs a": b's score taking a's predictions as the reference (F1 or accuracy)."""
    speedup: dict[str, float | None]
    """"b vs a": b's words/s over a's."""
    curve: str | None = None
    failures: dict[str, list[str]] = Field(default_factory=dict)


def compare(
    task: str,
    gold: list[Doc],
    backends: Sequence[str],
    config: Config | None = None,
    *,
    model: Path | str | None = None,
    pricing: Pricing | None = None,
    data: str = "",
    progress: bool = False,
    split: str = "all",
) -> tuple[Comparison, dict[str, Evaluation]]:
    """Every backend on the same gold docs, with cost, agreement and relative speed."""
    from distill.plugins import make_task

    config = config or Config()
    pricing = pricing or Pricing()
    runs = {
        name: evaluate_backend(
            task, gold, name, config, model=model, progress=progress, data=data, split=split
        )
        for name in backends
    }
    spec = make_task(task, config)
    metric = "f1" if any(r.result.f1 is not None for r in runs.values()) else "accuracy"
    rows = [_priced(name, run, config, pricing, len(gold)) for name, run in runs.items()]
    agreement: dict[str, float | None] = {}
    speedup: dict[str, float | None] = {}
    names = list(runs)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            scores = spec.score(runs[first].predicted, runs[second].predicted)
            value = getattr(scores, metric)
            agreement[f"{second} vs {first}"] = round(value, 4) if value is not None else None
            a, b = runs[first].result.words_per_second, runs[second].result.words_per_second
            speedup[f"{second} vs {first}"] = round(b / a, 1) if a and b else None
    comparison = Comparison(
        task=task,
        data=data,
        docs=len(gold),
        words=sum(len(doc) for doc in gold),
        metric=metric,
        rows=rows,
        agreement=agreement,
        speedup=speedup,
        failures={name: run.failures for name, run in runs.items() if run.failures},
    )
    return comparison, runs


def _priced(name: str, run: Evaluation, config: Config, pricing: Pricing, docs: int) -> CompareRow:
    remote = name == "prompt" and config.llm.provider != "local"
    if remote:
        cost = (
            run.input_tokens * pricing.usd_per_mtok_in
            + run.output_tokens * pricing.usd_per_mtok_out
        ) / 1e6
        basis = f"tokens x ${pricing.usd_per_mtok_in}/${pricing.usd_per_mtok_out} per M in/out"
    else:
        cost = run.cpu_seconds * pricing.usd_per_cpu_hour / 3600
        basis = f"{run.cpu_seconds:.1f} CPU-s x ${pricing.usd_per_cpu_hour}/CPU-hour"
    return CompareRow(
        **run.result.model_dump(),
        cpu_seconds=run.cpu_seconds,
        input_tokens=run.input_tokens,
        output_tokens=run.output_tokens,
        cost_per_1k_docs=round(cost * 1000 / docs, 6) if docs else 0.0,
        cost_basis=basis,
    )


# ---------------------------------------------------------------- learning curve


class CurvePoint(BaseModel):
    examples: int
    score: float | None
    seconds: float


def curve_sizes(total: int, points: int = 5, smallest: int = 10) -> list[int]:
    """Roughly geometric sizes from `smallest` up to `total` (always included)."""
    if total <= smallest:
        return [total]
    ratio = (total / smallest) ** (1 / max(points - 1, 1))
    sizes = {min(total, round(smallest * ratio**i)) for i in range(points)}
    return sorted(sizes | {total})


def learning_curve(
    task: str,
    train_docs: list[Doc],
    gold: list[Doc],
    workdir: Path,
    *,
    sizes: Sequence[int],
    labels: Sequence[str],
    settings: Any = None,
    config: Config | None = None,
    metric: str = "f1",
    on_point: Any = None,
) -> list[CurvePoint]:
    """Train a student on the first n reviewed examples for each n; score each on `gold`."""
    from distill.model_card import split_dev
    from distill.workflow.train import fit

    points = []
    for size in sizes:
        started = time.perf_counter()
        subset, dev = split_dev(train_docs[:size])
        out = workdir / f"n{size}"
        fit(task, subset, dev, out, list(labels), settings)
        run = evaluate_backend(task, gold, "trained", config, model=out)
        value = getattr(run.result, metric)
        point = CurvePoint(
            examples=size,
            score=round(value, 4) if value is not None else None,
            seconds=round(time.perf_counter() - started, 1),
        )
        points.append(point)
        if on_point:
            on_point(point)
    return points


def plot_learning_curve(
    points: Sequence[CurvePoint],
    out: Path,
    *,
    teacher: float | None = None,
    metric: str = "f1",
    title: str = "",
) -> Path:
    """The student's score against reviewed examples, the teacher as a horizontal line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4), dpi=120)
    xs = [p.examples for p in points if p.score is not None]
    ys = [p.score for p in points if p.score is not None]
    axes.plot(xs, ys, marker="o", label="student (trained)")
    if teacher is not None:
        axes.axhline(
            teacher, color="tab:red", linestyle="--", label=f"teacher (prompt) {teacher:.3f}"
        )
    axes.set_xlabel("reviewed examples")
    axes.set_ylabel(metric.upper() if metric == "f1" else metric)
    axes.set_ylim(0, 1)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    axes.set_title(title or "student vs teacher")
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out)
    plt.close(figure)
    return out


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
