"""`distill tools`: what is installed, which backend each task runs, and who provides it."""

from __future__ import annotations

import typer
from rich.table import Table

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
    for name, entry in sorted(reg.tasks.items()):
        active = active_backend(name, state.config)
        names = reg.backend_names(name)
        shown = [f"[bold green]{b}[/] (active)" if b == active else b for b in names]
        if active not in names:
            shown.append(f"[red]{active}[/] (configured, not installed)")
        spec = entry.obj(labels=state.config.task(name).labels)
        table.add_row(
            f"[bold]{name}[/]\n[dim]{spec.description}[/]",
            ", ".join(shown) or "[dim]none yet[/]",
            ", ".join(spec.labels) or "-",
            entry.source,
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
            label = f"[bold green]{name}[/] (active)" if name == active else name
            others.add_row(kind, label, entry.source)
    console.print(others)
    for package, reason in sorted(reg.failed.items()):
        console.print(f"[red]plugin {package!r} failed to load:[/] {reason}", highlight=False)
