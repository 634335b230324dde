"""`distill ingest PATH...`: documents through the configured tools into the knowledge graph."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from distill.cli.state import State

if TYPE_CHECKING:
    from rich.console import Console

    from distill.config import Config
    from distill.ingest.pipeline import Pipeline
    from distill.ingest.processes import WorkerPool


def ingest(
    ctx: typer.Context,
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="files (.txt .md .jsonl .csv) or folders of them; a Hu & Liu annotated "
            "review file (.txt) is read as one document per review"
        ),
    ],
    limit: Annotated[int | None, typer.Option(help="ingest at most N documents")] = None,
    resume: Annotated[
        bool, typer.Option(help="skip documents already ingested with the same text and tools")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="run the tools, print the facts, write nothing")
    ] = False,
    text_field: Annotated[
        str, typer.Option(help="JSONL field or CSV column holding the text")
    ] = "text",
    batch_size: Annotated[int, typer.Option(help="documents per batch")] = 64,
    engine: Annotated[
        str,
        typer.Option(help="local, or ray: the tools on Ray actors (pip install 'distill\\[ray]')"),
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option(help="Ray cluster to join (ray://host:10001); default: $RAY_ADDRESS or local"),
    ] = None,
    workers: Annotated[
        str,
        typer.Option(
            help="processes running the tools: a number, or auto (one per core, at most 4, "
            "for inputs of 0.75-2 MB or more, by what a pool adds on this CPU; each worker "
            "loads the models: seconds, ~0.9 GB)",
        ),
    ] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Run NER, linking and aspect sentiment over documents and write the facts to the graph.

    Each document is written atomically with provenance; an item that fails (an empty or
    binary file, invalid UTF-8, a bad JSONL line or CSV row, a duplicate id, a broken
    symlink or FIFO, a tool error, garbage from an LLM) is reported with its file and line
    and skipped, the rest go on. The exit code is 1 when anything failed.

    Examples:
      distill ingest examples/demo/reviews.jsonl
      distill ingest tickets.csv --text-field body --resume
      distill -b all=prompt ingest notes/ --limit 5 --dry-run
      distill ingest big.jsonl --workers 2
      distill ingest big.jsonl --engine ray --ray-address ray://head:10001
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from distill.cli import console, errors
    from distill.ingest.pipeline import Pipeline
    from distill.ingest.pipeline import ingest as run_ingest

    state: State = ctx.obj
    count = _workers(workers, paths, engine)
    pipeline = Pipeline(state.config)
    set_up(pipeline, errors, quiet=as_json)
    # Ray has its own actors: there `--workers` is refused by `ingest` itself
    pool = start_workers(state.config, pipeline, count if engine == "local" else 1, errors, as_json)
    with (
        contextlib.nullcontext() if pool is None else pool,
        Progress(
            TextColumn("ingesting"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            console=errors,
            disable=as_json,
        ) as progress,
    ):
        bar = progress.add_task("ingest", total=None, rate="")

        def advance(done: int, total: int) -> None:
            elapsed = progress.tasks[0].elapsed or 0
            rate = f"{done / elapsed:.1f} docs/s" if elapsed else ""
            progress.update(bar, completed=done, total=total, rate=rate)

        report = run_ingest(
            paths,
            state.config,
            limit=limit,
            resume=resume,
            dry_run=dry_run,
            text_field=text_field,
            batch_size=batch_size,
            pipeline=pipeline,
            engine=engine,
            ray_address=ray_address,
            workers=count if pool is None else pool,
            on_progress=advance,
        )
    if as_json:
        print(report.model_dump_json())
    else:
        print_report(report, console, errors)
    if not report.ok:
        raise typer.Exit(1)


def set_up(pipeline: Pipeline, errors: Console, quiet: bool = False) -> None:
    """Do the backends' one-time builds (a new catalog's index) before the progress bar
    starts, saying what is being built: otherwise the first batch waits a minute in
    silence and the bar's documents/s counts that minute."""
    for backend in pipeline.backends.values():
        note = backend.pending_setup()
        if not note:
            continue
        start = time.perf_counter()
        with contextlib.nullcontext() if quiet else errors.status(f"{note}…"):
            backend.warm_up()
        if not quiet:
            errors.print(f"{note}: {time.perf_counter() - start:.0f} s", highlight=False)


def start_workers(
    config: Config, pipeline: Pipeline, count: int, errors: Console, quiet: bool = False
) -> WorkerPool | None:
    """Start the worker processes before the clock and the bar, saying so: each loads the
    models (seconds), which the report's documents/s should not count. None for one process."""
    if count < 2:
        return None
    from distill.ingest.processes import WorkerPool

    start = time.perf_counter()
    pool = WorkerPool(config, pipeline.tasks, count)
    note = f"starting {count} worker processes (each loads the models)"
    try:
        with contextlib.nullcontext() if quiet else errors.status(f"{note}…"):
            pool.warm_up()
    except BaseException:
        pool.close()
        raise
    if not quiet:
        errors.print(f"{note}: {time.perf_counter() - start:.0f} s", highlight=False)
    return pool


def _workers(value: str, paths: list[Path], engine: str) -> int:
    from distill.ingest.processes import auto_workers

    if value.strip().lower() == "auto":
        return auto_workers(paths) if engine == "local" else 1
    if not value.strip().isdigit() or int(value) < 1:
        raise typer.BadParameter(f"{value!r}: give a number of processes (1, 2, ...) or auto")
    return int(value)


def print_report(report, console, errors) -> None:  # type: ignore[no-untyped-def]
    """The summary and one line per failure; ids, sources and reasons are printed as plain text."""
    from rich.text import Text

    for plan in report.planned:
        console.print_json(json.dumps(plan))
    verb = "would write" if report.dry_run else "wrote"
    backends = ", ".join(f"{task}={name}" for task, name in report.backends.items())
    indexed = "" if report.dry_run else f"indexed {report.indexed} · "
    console.print(
        Text(
            f"{report.documents} documents · {verb} {report.written} · {indexed}"
            f"skipped {report.skipped} · "
            f"failed {len(report.failures)} · {report.mentions} mentions, "
            f"{report.opinions} opinions · "
            f"{report.seconds:.1f} s ({report.docs_per_second:.1f} docs/s) · {backends}"
        ),
        highlight=False,
    )
    for failure in report.failures:
        errors.print(
            Text.assemble(
                ("failed", "red"),
                f" {failure.source} [{failure.doc_id or '?'}] at {failure.stage}: {failure.reason}",
            ),
            highlight=False,
        )
