"""`distill evaluate <task>`: score a backend on labelled data with the task's own scorer.

Both backends see the same documents (gold copies with the task's output cleared,
inputs such as given aspect terms kept) and are scored by the same `TaskSpec.score`,
so prompt and trained rows are comparable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from distill.cli.state import State


def evaluate(
    ctx: typer.Context,
    task: Annotated[str, typer.Argument(help="task to evaluate: ner or sentiment")],
    data: Annotated[Path, typer.Option("--data", help="labelled data file")],
    format: Annotated[
        str, typer.Option("--format", help="conll|prodigy|docbin|semeval14|semeval16")
    ],
    backend: Annotated[str, typer.Option("--backend", help="prompt or trained")] = "trained",
    model: Annotated[
        Path | None,
        typer.Option("--model", help="trained model directory (sets tasks.<task>.model)"),
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="evaluate the first N docs")] = None,
    split: Annotated[
        str, typer.Option("--split", help="all, or dev/train: the split `distill train` carves")
    ] = "all",
    json_: Annotated[
        bool, typer.Option("--json", help="print one JSON object, nothing else")
    ] = False,
) -> None:
    """Score BACKEND of TASK on DATA; prints a table, or one JSON object with --json."""
    from distill.cli import console, errors
    from distill.corpora import read_corpus
    from distill.model_card import split_dev
    from distill.workflow.evaluate import run_evaluation

    state: State = ctx.obj
    gold = read_corpus(data, format, task)
    if split != "all":
        train_docs, dev_docs = split_dev(gold)
        gold = {"dev": dev_docs, "train": train_docs}.get(split, gold)
    gold = gold[:limit] if limit is not None else gold
    result, failures = run_evaluation(
        task, gold, backend, state.config, model=model, progress=not json_
    )
    for failure in failures[:5]:
        errors.print(f"[yellow]invalid LLM output[/] {failure}", highlight=False)
    if len(failures) > 5:
        errors.print(f"… {len(failures)} invalid LLM outputs in all", highlight=False)
    if json_:
        print(result.model_dump_json())
        return
    from rich.table import Table

    table = Table(title=f"{task} · {backend} · {data}", title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in result.model_dump().items():
        shown = "—" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)
        table.add_row(key, shown)
    console.print(table)
