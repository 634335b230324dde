"""The `distill` command line. One module per command group; this one wires them up."""

from __future__ import annotations

import inspect
import os
import sys
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from distill.cli.state import State
from distill.errors import DistillError

HELP = """\
distill: structured facts from text, with an LLM as the teacher and small models as workers.

[bold]Start here[/bold]
  distill demo                       the whole loop on the bundled product reviews, offline
  distill tools                      what tasks and backends are installed, and which run
  distill config show                the effective configuration and where each value came from
  distill llm ping                   one real round-trip to the configured LLM
  distill chat                       ask about the documents; cited, fact-checked answers
  distill ask "QUESTION" --json      one answer, as JSON, for scripts
  distill serve                      review, chat and explore in the browser (localhost)

[bold]Configure[/bold] with ./distill.toml, DISTILL_* environment variables, or flags:
  distill --backend ner=prompt tools          run NER with the LLM instead of the trained model
  distill --set llm.provider=ollama llm ping  try another provider for one command
"""

app = typer.Typer(
    help=HELP,
    rich_markup_mode="rich",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)
console = Console()
errors = Console(stderr=True)


@app.callback()
def _options(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="config file (default: ./distill.toml if present)"),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="override a config value: --set llm.temperature=0.2"),
    ] = None,
    backend: Annotated[
        list[str] | None,
        typer.Option("--backend", "-b", help="pick a task's backend: -b ner=prompt (all=prompt)"),
    ] = None,
) -> None:
    ctx.obj = State(config_path=config, overrides=set_ or [], backends=backend or [])


def _register_commands() -> None:
    from distill.cli import (
        annotate_cmd,
        catalog_cmd,
        chat_cmd,
        config_cmd,
        demo_cmd,
        evaluate_agent_cmd,
        evaluate_cmd,
        graph_cmd,
        ingest_cmd,
        llm_cmd,
        review_cmd,
        serve_cmd,
        tools_cmd,
        train_cmd,
        use_cmd,
    )

    app.command("demo")(demo_cmd.demo)
    app.command("tools")(tools_cmd.tools)
    app.command("annotate")(annotate_cmd.annotate)
    app.add_typer(review_cmd.app, name="review")
    app.command("train", cls=train_cmd.TrainCommand)(train_cmd.train)
    app.command("evaluate")(evaluate_cmd.evaluate)
    app.command("use")(use_cmd.use)
    app.command("ingest")(ingest_cmd.ingest)
    app.command("chat")(chat_cmd.chat)
    app.command("ask")(chat_cmd.ask)
    app.command("evaluate-agent")(evaluate_agent_cmd.evaluate_agent)
    app.command("serve")(serve_cmd.serve)
    app.add_typer(catalog_cmd.app, name="catalog")
    app.add_typer(config_cmd.app, name="config")
    app.add_typer(llm_cmd.app, name="llm")
    app.add_typer(graph_cmd.app, name="graph")


def reflow(text: str | None) -> str | None:
    """Help text with each prose paragraph on one line, so the terminal wraps it at its own
    width (rich markup mode keeps a docstring's line breaks: at 80 columns every line of a
    100-column docstring wrapped raggedly). Paragraphs with indented or bulleted lines
    (examples, lists) keep their lines."""
    if not text:
        return text

    def block(paragraph: str) -> bool:
        lines = paragraph.splitlines()[1:]
        return any(line[:1].isspace() or line.lstrip().startswith(("- ", "* ")) for line in lines)

    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(p if block(p) else " ".join(p.split("\n")) for p in paragraphs)


def _reflow_help(typer_app: typer.Typer) -> None:
    """`reflow` every command's help, in sub-apps too."""
    for command in typer_app.registered_commands:
        command.help = reflow(command.help or inspect.getdoc(command.callback))
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            info = group.typer_instance.info
            info.help = reflow(info.help if isinstance(info.help, str) else None)
            _reflow_help(group.typer_instance)


_register_commands()
_reflow_help(app)


def main() -> None:
    """Entry point: user errors print one clear message, never a traceback."""
    # models load from installed packages and local paths only; keep their loaders quiet
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        warnings.showwarning = _show_warning
        try:
            app()
        except DistillError as exc:
            errors.print(Text.assemble(("error:", "red"), " ", str(exc)), highlight=False)
            sys.exit(1)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # type: ignore[no-untyped-def]
    # never markup: messages carry paths and plugin text such as `[/path/plugin.py:5]`
    errors.print(Text.assemble(("warning:", "yellow"), " ", str(message)), highlight=False)
