"""`distill tools`: what is installed, which backend each task runs, and who provides it."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from distill.cli.state import State


def tools(ctx: typer.Context) -> None:
    """List tasks with their backends (the active one in bold), graph stores and LLM providers."""
    from distill.cli import console
    from distill.plugins import active_backend, registry

    state: State = ctx.obj
    reg = registry()
    table = Table(title="Tasks", title_justify="left")
    table.add_column("task", ratio=3)
    table.add_column("backends", ratio=2)
    table.add_column("labels", ratio=2)
    table.add_column("from", ratio=1)
    # names, descriptions and labels come from plugins: escaped, never read as markup
    for name, entry in sorted(reg.tasks.items()):
        active = active_backend(name, state.config)
        names = reg.backend_names(name)
        shown = [
            f"[bold green]{escape(b)}[/] (active)" if b == active else escape(b) for b in names
        ]
        if active not in names:
            shown.append(f"[red]{escape(active)}[/] (configured, not installed)")
        try:
            spec = entry.obj(labels=state.config.task(name).labels)
            description, labels = escape(spec.description), escape(", ".join(spec.labels) or "-")
        except Exception as exc:  # a plugin's broken spec costs its own row only
            description, labels = f"[red]broken: {escape(f'{type(exc).__name__}: {exc}')}[/]", "?"
        table.add_row(
            f"[bold]{escape(name)}[/]\n[dim]{description}[/]",
            ", ".join(shown) or "[dim]none yet[/]",
            labels,
            escape(entry.source),
        )
    console.print(table)

    others = Table(title="Providers and stores", title_justify="left")
    for column in ("kind", "name", "from"):
        others.add_column(column)
    for kind, entries, active in (
        ("LLM provider", reg.llm_providers, state.config.llm.provider),
        ("graph store", reg.stores, state.config.graph.store),
    ):
        for name, entry in sorted(entries.items()):
            label = f"[bold green]{escape(name)}[/] (active)" if name == active else escape(name)
            others.add_row(kind, label, escape(entry.source))
    console.print(others)
    for package, reason in sorted(reg.failed.items()):
        console.print(
            Text.assemble((f"plugin {package!r} failed to load:", "red"), " ", reason),
            highlight=False,
        )
