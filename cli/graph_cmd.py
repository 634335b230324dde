"""`distill graph`: query, count, draw and export the knowledge graph (never change it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from distill.cli.state import State
from distill.graph.store import QUERY_TIMEOUT_S

app = typer.Typer(help="Query and inspect the knowledge graph.", no_args_is_help=True)


def _state(ctx: typer.Context) -> State:
    return ctx.obj if isinstance(ctx.obj, State) else State()


def _open(ctx: typer.Context):  # type: ignore[no-untyped-def]
    from distill.graph import open_store

    return open_store(_state(ctx).config.graph, read_only=True)


def _param(item: str) -> tuple[str, Any]:
    from distill.graph.errors import GraphError

    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise GraphError(f"--param expects NAME=VALUE, e.g. --param id=P1; got {item!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


@app.command("query")
def query(
    ctx: typer.Context,
    cypher: Annotated[
        str, typer.Argument(help='one read query, e.g. "MATCH (p:Product) RETURN p.id"')
    ],
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="query parameter NAME=VALUE")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print rows as JSON lines")] = False,
    timeout: Annotated[
        float, typer.Option(help="seconds the query may run", min=0.001)
    ] = QUERY_TIMEOUT_S,
    max_rows: Annotated[int, typer.Option(help="rows the query may return", min=1)] = 10_000,
) -> None:
    """Run one read-only Cypher query: MATCH … RETURN, with read functions only.

    Writes, file access (LOAD, COPY), extensions, settings and several statements are
    refused; the database runs the guard's own rendering of the query, read-only.
    """
    from rich.markup import escape
    from rich.text import Text

    from distill.cli import console

    params = dict(_param(p) for p in param or [])
    with _open(ctx) as store:
        rows = store.query(cypher, params, timeout=timeout, max_rows=max_rows)
    if as_json:
        for row in rows:
            print(json.dumps(row, default=str))
        return
    table = Table(title=f"{len(rows)} row(s)", title_justify="left")
    for column in rows[0] if rows else []:
        table.add_column(escape(str(column)))
    for row in rows:  # values are data from documents: never read as markup
        table.add_row(
            *(Text(v if isinstance(v, str) else json.dumps(v, default=str)) for v in row.values())
        )
    console.print(table)


@app.command("stats")
def stats(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Nodes per label and edges per type."""
    from distill.cli import console

    with _open(ctx) as store:
        result = store.stats()
    if as_json:
        print(result.model_dump_json(indent=2))
        return
    table = Table(title=f"{result.store} graph at {result.location}", title_justify="left")
    table.add_column("kind")
    table.add_column("name")
    table.add_column("count", justify="right")
    for label, count in result.nodes.items():
        table.add_row("node", label, str(count))
    for edge, count in result.edges.items():
        table.add_row("edge", edge, str(count))
    table.add_row(
        "total", "", f"{result.total_nodes} nodes, {result.total_edges} edges", style="bold"
    )
    console.print(table)


@app.command("show")
def show(
    ctx: typer.Context,
    product: Annotated[
        str, typer.Argument(help='the product\'s name or id: "Nokia 6610", nokia-6610-phone')
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="file prefix (default: graph-<product id>)")
    ] = None,
    depth: Annotated[int, typer.Option(help="hops around the product")] = 2,
) -> None:
    """Draw a product's neighbourhood to PREFIX.png and an interactive PREFIX.html.

    distill graph show "Nokia 6610"     → graph-nokia-6610-phone.png and .html
    """
    from distill.cli import console
    from distill.graph.export import draw_html, draw_png, neighbourhood

    found = _product_named(ctx, product)
    with _open(ctx) as store:
        graph = neighbourhood(store, found.id, depth=depth)
    prefix = out or Path(f"graph-{found.id}")
    title = found.name or found.id
    png = draw_png(graph, prefix.with_suffix(".png"), title=title)
    html = draw_html(graph, prefix.with_suffix(".html"), title=title)
    console.print(
        f"{graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges → {png}, {html}"
    )


def _product_named(ctx: typer.Context, wanted: str) -> Any:
    """The graph's product `wanted` names (its id, its name, or one name far closer than
    the others), found as the web app's product search finds it; else an error naming
    the closest."""
    from distill.graph.errors import GraphError
    from distill.web.explore import Explorer

    explorer = Explorer(_state(ctx).config)
    try:
        hits = explorer.search_products(wanted, limit=5)
    finally:
        explorer.close()
    folded = " ".join(wanted.lower().split())
    exact = [h for h in hits if folded in (h.id.lower(), " ".join(h.name.lower().split()))]
    sure = exact or [h for h in hits if (h.score or 0) >= SURE_MATCH]
    if len(sure) == 1 or exact:
        return sure[0]
    if not hits:
        raise GraphError(f"no product in the graph is named like {wanted!r}")
    closest = ", ".join(f"{h.name!r} ({h.id})" for h in hits)
    what = "several products match" if sure else "no product matches"
    raise GraphError(f"{what} {wanted!r} in the graph; the closest: {closest}")


SURE_MATCH = 90
"""The product search's score (rapidfuzz WRatio) at which a typed name is that product."""


@app.command("export")
def export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Argument(help="output file: .graphml or .jsonl")],
) -> None:
    """Write the whole graph as GraphML or JSON lines (by the file's suffix)."""
    from distill.cli import console
    from distill.graph.errors import GraphError
    from distill.graph.export import to_graphml, to_jsonl

    writers = {".graphml": to_graphml, ".jsonl": to_jsonl}
    if out.suffix not in writers:
        raise GraphError(f"cannot tell the format of {out}: use a .graphml or .jsonl suffix")
    with _open(ctx) as store:
        graph = store.to_networkx()
    writers[out.suffix](graph, out)
    console.print(f"{graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges → {out}")
