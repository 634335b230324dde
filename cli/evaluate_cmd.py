"""`distill evaluate <task>`: score backends on labelled data with the task's own scorer.

Every backend sees the same documents (gold copies with the task's output cleared,
inputs such as given aspect terms kept) and is scored by the same `TaskSpec.score`, so
prompt and trained rows are comparable. `--compare prompt,trained` runs both in one go
and adds cost, agreement and the speed ratio; `--curve reviewed.jsonl` adds the
learning-curve picture.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from distill.cli.state import State


def evaluate(
    ctx: typer.Context,
    task: Annotated[str, typer.Argument(help="task to evaluate, e.g. ner or sentiment")],
    data: Annotated[Path, typer.Option("--data", help="labelled (gold) data file")],
    format: Annotated[
        str | None, typer.Option("--format", help="data format (default: detected)")
    ] = None,
    backend: Annotated[str, typer.Option("--backend", help="prompt or trained")] = "trained",
    compare: Annotated[
        str | None,
        typer.Option("--compare", help="several backends on the same data, e.g. prompt,trained"),
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option("--model", help="trained model directory (sets tasks.<task>.model)"),
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="evaluate the first N docs")] = None,
    split: Annotated[
        str, typer.Option("--split", help="all, or dev/train: the split `distill train` carves")
    ] = "all",
    curve: Annotated[
        Path | None,
        typer.Option(
            "--curve",
            help="reviewed training data: train students on growing parts of it and plot "
            "their score against the number of examples (with --compare)",
        ),
    ] = None,
    curve_out: Annotated[
        Path, typer.Option("--curve-out", help="learning-curve PNG to write")
    ] = Path("learning-curve.png"),
    curve_points: Annotated[int, typer.Option("--curve-points", help="students to train")] = 5,
    usd_per_cpu_hour: Annotated[
        float, typer.Option("--usd-per-cpu-hour", help="price of one CPU-hour (local models)")
    ] = 0.05,
    usd_per_mtok_in: Annotated[
        float, typer.Option("--usd-per-mtok-in", help="remote LLM price per 1M input tokens")
    ] = 0.15,
    usd_per_mtok_out: Annotated[
        float, typer.Option("--usd-per-mtok-out", help="remote LLM price per 1M output tokens")
    ] = 0.60,
    json_: Annotated[
        bool, typer.Option("--json", help="print one JSON object, nothing else")
    ] = False,
) -> None:
    """Score BACKEND (or --compare several) of TASK on DATA; a table, or JSON with --json."""
    from distill.cli import console, errors
    from distill.cli.train_cmd import report_skipped
    from distill.model_card import split_dev
    from distill.workflow.evaluate import Pricing, run_evaluation
    from distill.workflow.evaluate import compare as run_compare
    from distill.workflow.train import read_data

    state: State = ctx.obj
    gold_data = read_data(data, task, format)
    report_skipped(gold_data.skipped)
    gold = gold_data.docs
    if split != "all":
        train_docs, dev_docs = split_dev(gold)
        gold = {"dev": dev_docs, "train": train_docs}.get(split, gold)
    gold = gold[:limit] if limit is not None else gold
    if compare:
        backends = [name.strip() for name in compare.split(",") if name.strip()]
        pricing = Pricing(
            usd_per_cpu_hour=usd_per_cpu_hour,
            usd_per_mtok_in=usd_per_mtok_in,
            usd_per_mtok_out=usd_per_mtok_out,
        )
        comparison, _ = run_compare(
            task,
            gold,
            backends,
            state.config,
            model=model,
            pricing=pricing,
            data=str(data),
            progress=not json_,
            split=split,
        )
        if curve is not None:
            comparison.curve = str(
                _curve(state, task, curve, format, gold, model, comparison, curve_out, curve_points)
            )
        for name, failures in comparison.failures.items():
            _failures(errors, f"{name}: ", failures)
        for row in comparison.rows:
            _caution(errors, row.caution)
        if json_:
            print(comparison.model_dump_json())
        else:
            _print_comparison(console, comparison)
        return
    result, failures = run_evaluation(
        task, gold, backend, state.config, model=model, progress=not json_, data=data, split=split
    )
    _failures(errors, "", failures)
    _caution(errors, result.caution)
    if json_:
        print(result.model_dump_json())
        return
    from rich.table import Table

    table = Table(title=f"{task} · {backend} · {data}", title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in result.model_dump(exclude={"caution"}).items():
        table.add_row(key, _shown(value))
    console.print(table)


def _curve(
    state: State,
    task: str,
    curve: Path,
    format: str | None,
    gold: list,
    model: Path | None,
    comparison: Any,
    out: Path,
    points: int,
) -> Path:
    """Students trained on growing prefixes of the reviewed data, plotted against the teacher."""
    import tempfile

    from distill.cli import errors
    from distill.cli.train_cmd import report_skipped
    from distill.corpora import labels_of
    from distill.model_card import load_card
    from distill.workflow.evaluate import curve_sizes, learning_curve, plot_learning_curve
    from distill.workflow.train import read_data, training_settings

    labels = state.config.task(task).labels
    settings = None
    if model is not None or state.config.task(task).model:
        card = load_card(model or state.config.task(task).model, task)
        labels = labels or card.labels
        settings = training_settings(task, (card.training or {}).get("config") or {})
    reviewed = read_data(curve, task, format, labels=labels)
    report_skipped(reviewed.skipped)
    labels = labels or labels_of(reviewed.docs, task)
    metric = comparison.metric
    teacher = next((getattr(r, metric) for r in comparison.rows if r.backend == "prompt"), None)
    with tempfile.TemporaryDirectory(prefix="distill-curve-") as workdir:
        found = learning_curve(
            task,
            reviewed.docs,
            gold,
            Path(workdir),
            sizes=curve_sizes(len(reviewed.docs), points),
            labels=labels,
            settings=settings,
            config=state.config,
            metric=metric,
            on_point=lambda p: errors.print(
                f"student on {p.examples} examples: {metric} {p.score} ({p.seconds} s)",
                highlight=False,
            ),
        )
    return plot_learning_curve(
        found, out, teacher=teacher, metric=metric, title=f"{task}: student vs teacher"
    )


def _caution(errors: Any, caution: str | None) -> None:
    """A trained model scored on data it learnt from: say so before the figures (stderr,
    so `--json` output stays one object)."""
    if caution:
        from rich.markup import escape

        errors.print(f"[yellow]note:[/] {escape(caution)}")


def _print_comparison(console: Any, comparison: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        title=f"{comparison.task} · {escape(comparison.data)} · {comparison.docs} docs, "
        f"{comparison.words} words",
        title_justify="left",
    )
    table.add_column("metric")
    for row in comparison.rows:
        table.add_column(escape(row.backend), justify="right")
    shown = [
        ("model", "model"),
        ("n", "n"),
        ("precision", "precision"),
        ("recall", "recall"),
        ("f1", "F1"),
        ("accuracy", "accuracy"),
        ("macro_f1", "macro-F1"),
        ("words_per_second", "words/s"),
        ("model_size_mb", "model MB"),
        ("seconds", "seconds"),
        ("cpu_seconds", "CPU-seconds"),
        ("input_tokens", "LLM tokens in"),
        ("output_tokens", "LLM tokens out"),
        ("cost_per_1k_docs", "$ per 1,000 docs"),
    ]
    for key, label in shown:
        values = [getattr(row, key) for row in comparison.rows]
        if all(v is None for v in values):
            continue
        table.add_row(label, *(escape(_shown(v)) for v in values))
    console.print(table)
    for row in comparison.rows:
        console.print(f"  cost of {escape(row.backend)}: {escape(row.cost_basis)}", highlight=False)
    for pair, value in comparison.agreement.items():
        console.print(
            f"agreement ({comparison.metric}, {escape(pair)}): {_shown(value)}", highlight=False
        )
    for pair, value in comparison.speedup.items():
        console.print(f"speed ({escape(pair)}): {_shown(value)}×", highlight=False)
    if comparison.curve:
        console.print(f"learning curve: {escape(comparison.curve)}", highlight=False)


def _failures(errors: Any, prefix: str, failures: list[str]) -> None:
    from rich.markup import escape

    for failure in failures[:5]:
        errors.print(f"[yellow]invalid LLM output[/] {escape(prefix + failure)}")
    if len(failures) > 5:
        errors.print(f"… {len(failures)} invalid LLM outputs in all", highlight=False)


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 100 else f"{value:,.1f}"
    return str(value)
