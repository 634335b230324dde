"""`distill config show`: the effective configuration and where each value came from."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from distill.cli.state import State

app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)


@app.command("show")
def show(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="print JSON: {key: {value, source}}"),
) -> None:
    """Print every setting with its source: default, the file, an env variable, or a flag."""
    from distill.cli import console

    state: State = ctx.obj
    rows = state.loaded.rows()
    if as_json:
        print(json.dumps({key: {"value": v, "source": s} for key, v, s in rows}, indent=2))
        return
    table = Table(title="Effective configuration", title_justify="left")
    table.add_column("key")
    table.add_column("value")
    table.add_column("source")
    for key, value, source in rows:
        style = "dim" if source == "default" else ""
        shown = "(provider default)" if value is None and key == "llm.model" else repr(value)
        table.add_row(key, shown, source, style=style)
    console.print(table)
