"""`distill demo`: the whole loop on the bundled product reviews, offline, in one command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from distill.cli.state import State
from distill.demo.run import WORKDIR


def demo(
    ctx: typer.Context,
    workdir: Annotated[Path, typer.Option(help="where demo models and the graph go")] = WORKDIR,
    retrain: Annotated[bool, typer.Option(help="retrain the demo models")] = False,
    prompt_limit: Annotated[
        int, typer.Option(help="reviews to run through prompt backends (the LLM is slow)")
    ] = 6,
) -> None:
    """Ingest the demo reviews with the configured backends and show what the graph learned.

    Trains the three small demo models and the answer fact-checker on first use (about a
    minute), ingests the 48 reviews in examples/demo into the on-disk graph, and prints a
    product × aspect sentiment table, the facts written, a picture of the graph, and
    accuracy on the 12 held-out reviews. Running it again replaces the same facts (no
    duplicates).

    With prompt backends (`distill -b all=prompt demo`) the embedded LLM does the work on
    the first --prompt-limit held-out reviews, and the trained run is shown beside it.
    """
    from distill.cli import console, errors
    from distill.demo.run import demo_config, evaluate_factcheck, train_models

    state: State = ctx.obj
    config = demo_config(state.config, workdir)
    trained_config = config.model_copy(
        update={
            "tasks": {
                name: task.model_copy(update={"backend": "trained"})
                for name, task in config.tasks.items()
            }
        }
    )
    seconds = train_models(
        trained_config, force=retrain, log=lambda m: errors.print(m, highlight=False)
    )
    for task, took in seconds.items():
        errors.print(f"trained {task} in {took:.0f} s", highlight=False)

    uses_prompt = any(config.task(t).backend == "prompt" for t in ("ner", "linker", "sentiment"))
    runs = [("configured", config)]
    if uses_prompt:
        runs.append(("trained", trained_config))
    summaries = []
    limit = prompt_limit if uses_prompt else None  # both runs see the same reviews
    for label, run_config in runs:
        summaries.append((label, _run(run_config, limit=limit, write=label == "configured")))
    _print_graph(config, console)
    _print_runs(summaries, console)
    checker = evaluate_factcheck(trained_config)
    console.print(
        f"answer fact-checker ({checker.model}) accuracy on {checker.n} held-out claims: "
        f"{checker.value:.2f}",
        highlight=False,
    )


def _run(config: Any, *, limit: int | None, write: bool) -> Any:
    """Ingest (or, for the comparison run, dry-run) the demo and score the held-out reviews."""
    from distill.demo.run import HELD_OUT, RunSummary, demo_dir, evaluate_held_out
    from distill.ingest.pipeline import Pipeline, ingest

    pipeline = Pipeline(config)
    paths = [demo_dir() / "reviews.jsonl"]
    if limit is not None:  # prompt backends: only the first held-out reviews
        paths = [_held_out_file(demo_dir() / "reviews.jsonl", sorted(HELD_OUT)[:limit], config)]
    report = ingest(paths, config, pipeline=pipeline, dry_run=not write)
    return RunSummary(
        backends=report.backends,
        documents=report.documents,
        written=report.written,
        failed=len(report.failures),
        facts=report.facts,
        seconds=report.seconds,
        docs_per_second=report.docs_per_second,
        accuracy=evaluate_held_out(pipeline, limit=limit),
    )


def _held_out_file(path: Path, ids: list[str], config: Any) -> Path:
    import json

    target = Path(config.graph.path).parent / "held-out.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    lines = [line for line in path.read_text().splitlines() if json.loads(line)["id"] in ids]
    target.write_text("\n".join(lines) + "\n")
    return target


def _print_graph(config: Any, console: Any) -> None:
    from rich.table import Table

    from distill.demo.run import ASPECTS
    from distill.graph import open_store
    from distill.graph.export import draw_html, draw_png, neighbourhood

    with open_store(config.graph, read_only=True) as store:
        summary = store.opinion_summary()
        products = {p.id: p for p in store.products()}
        stats = store.stats()
        top = max(products.values(), key=lambda p: p.mentions, default=None)
        picture = neighbourhood(store, top.id, depth=2) if top else None
    table = Table(title="Opinions per product × aspect (+ positive, − negative)")
    table.add_column("product", no_wrap=True)
    for aspect in ASPECTS:
        table.add_column(aspect[:5], justify="center", no_wrap=True)
    cells: dict[str, dict[str, str]] = {}
    for row in summary:
        mark = f"[green]+{row.positive}[/]" if row.positive else ""
        mark += f" [red]−{row.negative}[/]" if row.negative else ""
        cells.setdefault(row.product_id, {})[row.aspect] = mark.strip() or "·"
    for product_id in sorted(cells, key=lambda p: -sum(len(v) for v in cells[p].values())):
        name = products[product_id].name if product_id in products else product_id
        table.add_row(name or product_id, *(cells[product_id].get(a, "") for a in ASPECTS))
    console.print(table)
    console.print(
        f"graph: {stats.total_nodes} nodes, {stats.total_edges} edges in {config.graph.path} "
        f"({config.graph.store})",
        highlight=False,
    )
    if picture is not None and top is not None:
        prefix = Path(config.graph.path).parent / f"graph-{top.id}"
        png = draw_png(picture, prefix.with_suffix(".png"), title=top.name or top.id)
        html = draw_html(picture, prefix.with_suffix(".html"), title=top.name or top.id)
        console.print(f"picture of {top.name or top.id}: {png} and {html}", highlight=False)


def _print_runs(summaries: list[tuple[str, Any]], console: Any) -> None:
    from rich.table import Table

    table = Table(title="Runs (accuracy on the held-out reviews r37–r48)")
    table.add_column("")
    for label, summary in summaries:
        backends = ", ".join(f"{t}={b}" for t, b in summary.backends.items())
        table.add_column(f"{label}\n[dim]{backends}[/]", justify="right")
    rows: list[tuple[str, list[str]]] = [
        ("documents", [str(s.documents) for _, s in summaries]),
        ("facts", [str(s.facts) for _, s in summaries]),
        ("failed documents", [str(s.failed) for _, s in summaries]),
        ("seconds", [f"{s.seconds:.1f}" for _, s in summaries]),
        ("documents / second", [f"{s.docs_per_second:.2f}" for _, s in summaries]),
    ]
    for index, score in enumerate(summaries[0][1].accuracy):
        values = []
        for _, summary in summaries:
            item = summary.accuracy[index] if index < len(summary.accuracy) else None
            values.append(f"{item.value:.2f}" if item and item.value is not None else "—")
        rows.append((f"{score.task} {score.metric} (n={score.n})", values))
    for name, values in rows:
        table.add_row(name, *values)
    console.print(table)
