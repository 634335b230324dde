"""`distill catalog`: check the configured product catalog, and look names up in it as the
linker does."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from distill.cli.state import State

app = typer.Typer(
    help="Check your product catalog (\\[catalog] in distill.toml) and look names up in it.",
    no_args_is_help=True,
)

FileArgument = Annotated[
    Path | None,
    typer.Option(
        "--file", "-f", help="a catalog file to use instead of \\[catalog] path (same columns)"
    ),
]


def _settings(ctx: typer.Context, file: Path | None):  # type: ignore[no-untyped-def]
    from distill.errors import ConfigError

    state: State = ctx.obj if isinstance(ctx.obj, State) else State()
    settings = state.config.catalog_source()
    if file is not None:
        settings = settings.model_copy(update={"path": str(file)})
    if not settings.path:
        raise ConfigError(
            'no catalog configured: add to distill.toml\n  [catalog]\n  path = "products.jsonl"'
            '\n  # CSV with other column names: columns = {name = "Model", brand = "Maker"}'
        )
    return state, settings


@app.command("check")
def check(
    ctx: typer.Context,
    file: FileArgument = None,
    show_all: Annotated[bool, typer.Option("--all", help="list every problem")] = False,
) -> None:
    """Read the whole catalog and list every problem with file, line and column: missing
    columns, empty names, duplicate ids (errors); names or aliases shared by products
    (warnings). Exits 1 on errors. Writes nothing."""

    from distill.cli import console
    from distill.plugins.linker.catalog import check as check_catalog
    from distill.plugins.linker.catalog import has_column

    _, settings = _settings(ctx, file)
    entries, issues = check_catalog(settings)
    errors = [i for i in issues if i.level == "error"]
    warnings = [i for i in issues if i.level == "warning"]
    shown = issues if show_all else issues[:30]
    for issue in shown:  # one line each, as compilers print them: file:line (column): …
        style = "red" if issue.level == "error" else "yellow"
        where = escape(issue.where(settings.path or ""))
        console.print(f"{where}: [{style}]{issue.level}[/] {escape(issue.message)}", soft_wrap=True)
    if len(shown) < len(issues):
        console.print(f"[dim]… {len(issues) - len(shown)} more (--all lists them)[/]")
    columns = settings.columns
    derived_ids = (
        entries and "id" not in columns.model_fields_set and not has_column(settings, columns.id)
    )
    brands = Counter(e.brand for e in entries if e.brand)
    categories = Counter(e.category for e in entries if e.category)
    aliases = sum(len(e.aliases) for e in entries)
    summary = [
        f"{len(entries)} products from {escape(settings.path or '')}",
        f"{len(brands)} brands"
        + (
            " (from the names' first word" + _joint(brands) + ")"
            if settings.brand_from_name
            else ""
        ),
        f"{aliases} aliases",
        "categories: "
        + (", ".join(f"{escape(str(c))} {n}" for c, n in categories.most_common(5)) or "none"),
    ]
    console.print("; ".join(summary), highlight=False)
    if derived_ids:
        example = escape(entries[0].id)
        console.print(
            f"ids are made from the names (no id column), e.g. {example}", highlight=False
        )
    if errors:
        console.print(f"[red]{len(errors)} error(s)[/], {len(warnings)} warning(s)")
        raise typer.Exit(1)
    console.print(f"[green]ok[/]: no errors, {len(warnings)} warning(s)")


@app.command("show")
def show(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help='a product mention, e.g. "nokia 6610"')],
    top: Annotated[int, typer.Option("--top", "-k", help="candidates to list")] = 5,
    semantic: Annotated[
        bool, typer.Option(help="MiniLM + faiss candidates too (loads the encoder)")
    ] = True,
    file: FileArgument = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """The candidates the linker sees for QUERY, with their scores, and its decision."""
    import contextlib

    from distill.cli import console, errors
    from distill.plugins.linker.candidates import index_note
    from distill.plugins.linker.catalog import Catalog
    from distill.plugins.linker.match import THRESHOLD, link, open_index

    state, settings = _settings(ctx, file)
    threshold = float(state.config.task("linker").options.get("threshold", THRESHOLD))
    note = index_note(Catalog.from_config(settings), semantic, settings.cache)
    with errors.status(f"{note}…") if note and not as_json else contextlib.nullcontext():
        index = open_index(settings, semantic=semantic)
    kb_id, confidence, ranked = link(index, [query], threshold, k=max(top, 10))[0]
    entries = index.catalog.entries
    rows = [
        {
            "id": entries[s.candidate.index].id,
            "name": entries[s.candidate.index].name,
            "score": round(s.score, 3),
            "by": s.reason,
            "alias": round(s.candidate.alias, 3),
            "fuzzy": round(s.candidate.fuzzy, 3),
            "semantic": round(s.candidate.semantic, 3),
        }
        for s in ranked[:top]
    ]
    if as_json:
        decision = {"query": query, "linked": kb_id, "confidence": round(confidence, 3)}
        print(json.dumps({**decision, "threshold": threshold, "candidates": rows}))
        return
    table = Table(title=f"Candidates for {escape(repr(query))}", title_justify="left")
    names = ("id", "name", "score", "by", "alias", "fuzzy", "semantic")
    for column in names:
        table.add_column(column, overflow="fold")  # ids in full, never cut with "…"
    for row in rows:
        table.add_row(*(escape(str(row[c])) for c in names))
    console.print(table)
    if kb_id:
        console.print(f"→ links to [bold]{escape(kb_id)}[/] (score {confidence:.2f})")
    else:
        best = rows[0]["score"] if rows else 0.0
        console.print(f"→ NIL: not in the catalog (best score {best:.2f} < threshold {threshold})")


def _joint(brands: Counter[str]) -> str:
    """The two-word brands the names gave ("; two words: Sony Ericsson 188")."""
    joint = [f"{b} {n}" for b, n in brands.most_common() if " " in b]
    return f"; two words: {', '.join(joint[:3])}" if joint else ""
