"""`distill annotate <task>`: the teacher pre-annotates raw text for review (Prodigy JSONL)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from distill.cli.state import State

SHOWN_NOTES = 10


def annotate(
    ctx: typer.Context,
    task: Annotated[str, typer.Argument(help="task to annotate, e.g. ner")],
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            help="raw documents: JSONL (text, optional id/meta), or any file or folder "
            "`distill ingest` reads (.txt, Hu & Liu reviews, .md, .csv)",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="suggestions JSONL to write (Prodigy)")],
    source: Annotated[
        str,
        typer.Option(
            "--source",
            help="comma-separated: prompt (the LLM), gazetteer, patterns:FILE, model:DIR, "
            "or any backend of the task; several are combined by weighted vote",
        ),
    ] = "prompt",
    labels: Annotated[
        str | None,
        typer.Option(
            "--labels",
            help="comma-separated labels (default: the config's, or a model:DIR source's own)",
        ),
    ] = None,
    gold: Annotated[
        Path | None,
        typer.Option(
            "--gold", help="labelled data to estimate each source's accuracy (any format)"
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="annotate at most N items")] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="continue OUT: skip the items already in it")
    ] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="start OUT afresh")] = False,
    sort: Annotated[
        str,
        typer.Option(
            "--sort", help="input (file order) or uncertain (least confident, most disputed first)"
        ),
    ] = "input",
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", help="items per batch (default: 8)")
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Pre-annotate DATA with the teacher (and other sources) into OUT, resumably."""
    from rich.markup import escape

    from distill.cli import console, errors
    from distill.workflow.annotate import AnnotateError, annotate, make_sources, model_labels

    state: State = ctx.obj
    if sort not in ("input", "uncertain"):
        raise AnnotateError(f"--sort is input or uncertain, not {sort!r}")
    config = state.config
    if labels:
        chosen = [label.strip() for label in labels.split(",") if label.strip()]
        config = config.with_task(task, labels=chosen)
    else:
        config, chosen_note = model_labels(task, source, config)
        if chosen_note:
            errors.print(f"[yellow]note[/] {escape(chosen_note)}")
    built = make_sources(task, source, config)
    read = None if data.suffix.lower() == ".jsonl" and not data.is_dir() else _documents(data)
    with _Bar(f"{task} ← {source}") as bar:
        report = annotate(
            task,
            data,
            out,
            source,
            config,
            gold=gold,
            limit=limit,
            resume=resume,
            overwrite=overwrite,
            sort=_sort(sort),
            batch_size=batch_size,
            progress=bar,
            built=built,
            read=read,
        )
    for note in report.notes[:SHOWN_NOTES]:
        errors.print(f"[yellow]note[/] {escape(note)}")
    if len(report.notes) > SHOWN_NOTES:
        errors.print(f"[yellow]… {len(report.notes)} notes in all[/]")
    if json_:
        print(report.model_dump_json())
        return
    from rich.table import Table

    table = Table(title=f"sources · {report.task}", title_justify="left")
    columns = ("source", "items", "failed", "coverage", "votes", "agree", "conflicts",
               "accuracy", "words/s")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column == "source" else "right")
    for row in report.sources:
        accuracy = "—" if row.accuracy is None else f"{row.accuracy:.2f}"
        if row.accuracy is not None:
            accuracy += f" n={row.accuracy_n}" if row.accuracy_n else " EM"
        table.add_row(
            escape(row.name),
            str(row.items),
            str(row.failed),
            _num(row.coverage, 2),
            str(row.votes),
            _num(row.agreement, 2),
            str(row.conflicts),
            accuracy,
            _num(row.words_per_second, 1),
        )
    console.print(table)
    for row in report.sources:
        console.print(f"  {escape(row.name)}: {escape(row.model)}", highlight=False)
    rate = f", {report.items_per_second:.2f} items/s" if report.items_per_second else ""
    console.print(
        f"wrote {report.written} items to {escape(report.out)} ({report.failed} failed, "
        f"{report.already_done} already done) in {report.seconds:.1f} s{rate}",
        highlight=False,
    )
    if report.written:
        console.print(f"next: distill review {escape(task)} {escape(report.out)}", highlight=False)


def _documents(path: Path) -> tuple[list[Any], list[str]]:
    """The items of a file or folder as `distill ingest` reads it (a Hu & Liu review file
    is one item per review): one reader for every command that takes raw text."""
    from distill.ingest.readers import LoadFailure, read_documents
    from distill.workflow.annotate import Item

    items, problems = [], []
    for number, found in enumerate(read_documents([path]), 1):
        if isinstance(found, LoadFailure):
            problems.append(f"{found.source}: skipped: {found.reason}")
            continue
        record = {"id": found.id, "text": found.text, "meta": found.meta}
        items.append(Item(id=found.id, line=number, record=record))
    return items, problems


def _sort(value: str) -> Literal["input", "uncertain"]:
    return "uncertain" if value == "uncertain" else "input"


def _num(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


class _Bar:
    """A rich progress bar on stderr: items, items/s, ETA, failures."""

    def __init__(self, description: str) -> None:
        self.description = description

    def __enter__(self) -> _Bar:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        from distill.cli import errors

        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[failed]}"),
            console=errors,
        )
        self.bar.__enter__()
        self.task_id = self.bar.add_task(self.description, total=None, rate="", failed="")
        return self

    def __call__(self, done: int, total: int, failed: int) -> None:
        speed = self.bar.tasks[0].speed if self.bar.tasks else None
        self.bar.update(
            self.task_id,
            completed=done,
            total=total,
            rate=f"{speed:.2f} items/s" if speed else "",
            failed=f"{failed} failed" if failed else "",
        )

    def __exit__(self, *exc: Any) -> None:
        self.bar.__exit__(*exc)
