"""`distill review TASK suggestions.jsonl`: accept / reject / correct suggestions in the terminal.

Keys: a accept · x reject · space skip (ignore) · e edit · u undo · q quit. Every key
press is one committed decision in the review store (`workflow/review.py`), so quitting
or killing the terminal loses nothing. `distill review export --out reviewed.jsonl`
writes the accepted and corrected items, ready for `distill train`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from distill.errors import DistillError

DEFAULT_DB = Path(".distill/review.sqlite")
KEYS = "a accept · x reject · space skip · e edit · u undo · q quit"


class _DefaultsToStart(TyperGroup):
    """`distill review TASK FILE` runs the `start` subcommand; `export`/`progress` stay."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["start", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_DefaultsToStart,
    help="Review the teacher's suggestions one by one: `distill review TASK suggestions.jsonl "
    "[--db FILE] [--who NAME]` (keys: a accept, x reject, space skip, e edit, u undo, q quit; "
    "every key press is stored at once), then `distill review export --out reviewed.jsonl`.",
    no_args_is_help=True,
)

DbOption = Annotated[Path, typer.Option("--db", help="the review store (SQLite)")]


@app.command("start", hidden=True)
def start(
    task: Annotated[str, typer.Argument(help="task of the suggestions, e.g. ner")],
    suggestions: Annotated[Path, typer.Argument(help="suggestions JSONL from distill annotate")],
    db: DbOption = DEFAULT_DB,
    who: Annotated[str | None, typer.Option("--who", help="reviewer name")] = None,
) -> None:
    """Review SUGGESTIONS one item at a time (keys: a x space e u q)."""
    from distill.cli import console
    from distill.workflow.review import Decision, ReviewError, ReviewStore

    with ReviewStore(db, task) as store:
        added = store.add_file(suggestions)
        console.print(f"{added} new items from {suggestions}; store {db}", highlight=False)
        while (item := store.next()) is not None:
            show(item, store.progress())
            key = _read_key()
            if key in ("q", "\x03", "\x04"):
                break
            try:
                if key in ("a", "x", " "):
                    action = {"a": "accept", "x": "reject", " ": "ignore"}[key]
                    store.decide(item.id, Decision(action=action, who=who))
                elif key == "u":
                    undone = store.undo(who)
                    console.print(
                        f"undone: {undone.action} of {undone.item_id}"
                        if undone
                        else "nothing to undo",
                        highlight=False,
                    )
                elif key == "e":
                    edit = edited(task, item)
                    if edit is not None:
                        store.decide(item.id, edit.model_copy(update={"who": who}))
                else:
                    console.print(KEYS)
            except (ReviewError, ValueError) as exc:
                console.print(f"[red]not stored:[/] {exc}", highlight=False)
        summary = store.progress()
    console.print(
        f"reviewed {summary.decided}/{summary.total}: {summary.accepted} accepted, "
        f"{summary.edited} edited, {summary.rejected} rejected, {summary.ignored} skipped. "
        f"Next: distill review export --task {task} --out reviewed.jsonl",
        highlight=False,
    )


@app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", help="reviewed JSONL to write")],
    task: Annotated[
        str | None, typer.Option("--task", help="task to export (default: the store's only one)")
    ] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Write the accepted and corrected items (Prodigy JSONL) for `distill train`."""
    from distill.cli import console
    from distill.workflow.review import ReviewStore

    chosen = _task(db, task)
    with ReviewStore(db, chosen) as store:
        report = store.export(out)
    console.print(
        f"wrote {report.written} reviewed {chosen} items to {out} "
        f"({report.accepted} accepted, {report.edited} corrected). "
        f"Next: distill train {chosen} --data {out} --out models/{chosen}",
        highlight=False,
    )


@app.command("progress")
def progress(
    task: Annotated[str | None, typer.Option("--task", help="task (default: the only one)")] = None,
    db: DbOption = DEFAULT_DB,
    json_: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """How many items are decided, and how."""
    from distill.cli import console
    from distill.workflow.review import ReviewStore

    with ReviewStore(db, _task(db, task)) as store:
        figures = store.progress()
    if json_:
        print(figures.model_dump_json())
    else:
        console.print(" · ".join(f"{k} {v}" for k, v in figures.model_dump().items()))


def _task(db: Path, task: str | None) -> str:
    from distill.workflow.review import tasks_in

    if task:
        return task
    found = tasks_in(db)
    if len(found) == 1:
        return found[0]
    if not found:
        raise DistillError(f"{db} holds no suggestions yet: run `distill review TASK FILE` first")
    raise DistillError(f"{db} holds several tasks ({', '.join(found)}): pass --task")


def show(item: Any, figures: Any) -> None:
    """The item's text with its suggested spans highlighted, and what each source said."""
    from rich.markup import escape
    from rich.text import Text

    from distill.cli import console

    console.rule(
        f"{figures.decided + 1}/{figures.total} · {escape(item.id)}"
        + (f" · confidence {item.confidence:.2f}" if item.confidence is not None else "")
        + (f" · {item.conflicts} disputed" if item.conflicts else "")
        + (" · [red]all sources failed[/]" if item.failed else "")
    )
    text = Text(item.text)
    for span in item.spans:
        text.stylize("bold reverse", span.start, span.end)
    console.print(text)
    for span in item.spans:
        extra = f" → {span.kb_id}" if span.kb_id else ""
        confidence = getattr(span, "confidence", None)
        console.print(
            Text(f"  {span.label:<12} {item.text[span.start : span.end]}{extra}")
            + Text(f"  {confidence:.2f}" if isinstance(confidence, float) else "", style="dim")
        )
    for opinion in item.opinions or []:
        console.print(Text(f"  {opinion.aspect:<12} {opinion.polarity}  ({opinion.target or ''})"))
    for name, vote in item.sources.items():
        if "failed" in vote:
            console.print(Text(f"  {name}: failed: {vote['failed']}", style="red"))
    console.print(KEYS, style="dim")


def edited(task: str, item: Any) -> Any:
    """A correction typed on one line: `words=LABEL; …` (spans) or `aspect=polarity; …`."""
    from distill.workflow.review import Decision

    example = (
        "battery=negative; screen=positive"
        if task == "sentiment"
        else "pad thai=DISH; wok=EQUIPMENT"
    )
    line = typer.prompt(
        f"corrected annotation ({example}; empty: cancel)", default="", show_default=False
    )
    pairs = [part.rpartition("=") for part in line.split(";") if "=" in part]
    pairs = [(left.strip(), right.strip()) for left, _, right in pairs if left.strip()]
    if not line.strip():
        return None
    if task == "sentiment":
        target = next((o.target for o in item.opinions or []), None)
        return Decision(
            action="edit",
            opinions=[{"aspect": a, "polarity": p, "target": target} for a, p in pairs],
        )
    from distill.plugins.ner.align import align

    spans, missing = align(item.text, pairs)
    if missing:
        raise ValueError(f"not in the text: {', '.join(m for m, _ in missing)}")
    return Decision(
        action="edit", spans=[{"start": s.start, "end": s.end, "label": s.label} for s in spans]
    )


def _read_key() -> str:
    """One key press on a terminal; from piped input, the next character (line breaks
    skipped, q at the end), so scripts and tests can drive the review too."""
    import sys

    if sys.stdin.isatty():
        return typer.getchar()
    while (char := sys.stdin.read(1)) in ("\n", "\r"):
        pass
    return char or "q"
