"""`distill serve`: the local web app (Review, Chat, Explore) over the configured graph,
document index and review store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from distill.cli.state import State

DEFAULT_DB = Path(".distill/review.sqlite")
"""The review store `distill review` uses too."""


def serve(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", "-p", help="port to listen on")] = 8765,
    host: Annotated[
        str,
        typer.Option("--host", help="address to bind; the default answers this machine only"),
    ] = "127.0.0.1",
    db: Annotated[
        Path,
        typer.Option("--db", help="the review store (SQLite) the Review page reads and writes"),
    ] = DEFAULT_DB,
    suggestions: Annotated[
        list[Path] | None,
        typer.Option(
            "--suggestions",
            "-s",
            help="add `distill annotate` output to the review store first (idempotent; repeatable)",
        ),
    ] = None,
    sort: Annotated[
        str,
        typer.Option(
            "--sort",
            help="review order: input (as suggested) or uncertain (least "
            "confident, most disputed first)",
        ),
    ] = "input",
    who: Annotated[str | None, typer.Option("--who", help="reviewer name (default: login)")] = None,
) -> None:
    """Open the web app: review the teacher's suggestions, chat with cited answers, explore
    products. After `distill demo` it shows the demo's graph; press Ctrl-C to stop.

    The server binds 127.0.0.1 unless told otherwise; it reads the graph and the document
    index read-only, and writes only review decisions to the review store.
    """
    import uvicorn
    from rich.markup import escape

    from distill.cli import console, errors
    from distill.cli.chat_cmd import chat_config
    from distill.errors import ConfigError
    from distill.web import create_app
    from distill.web.review import ReviewService, add_suggestions
    from distill.workflow.review import tasks_in

    state: State = ctx.obj
    if sort not in ("input", "uncertain"):
        raise ConfigError(f"--sort is input or uncertain, not {sort!r}")
    config = chat_config(state.config, log=errors.print)
    if suggestions:
        for task, added in add_suggestions(db, suggestions).items():
            console.print(f"review store {escape(str(db))}: {added} new {escape(task)} items")
    review = None
    if tasks_in(db):
        review = ReviewService(db, sort=sort, who=who)  # type: ignore[arg-type]
    else:
        errors.print(
            f"[dim]nothing to review in {escape(str(db))}; add suggestions with "
            "`distill serve --suggestions FILE.jsonl` (written by `distill annotate`)[/]",
            highlight=False,
        )
    if host not in ("127.0.0.1", "localhost", "::1"):
        errors.print(
            f"[yellow]warning:[/] serving on {escape(host)}: the app has no login, so anyone who "
            "can reach it reads your documents and can record review decisions",
            highlight=False,
        )
    app = create_app(config, review=review, host=host)
    shown = f"[{host}]" if ":" in host else host
    console.print(
        f"distill is serving on [bold]http://{escape(shown)}:{port}[/] "
        "(Review · Chat · Explore); Ctrl-C stops it",
        highlight=False,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")
