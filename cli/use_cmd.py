"""`distill use TASK BACKEND [--model DIR]`: write the one config line that swaps a backend.

Creates `distill.toml` or edits it in place: with tomlkit when installed (comments and
layout kept), else a careful line edit of the `[tasks.TASK]` table. Either way the result
is parsed and validated as a whole before it replaces the file, so a bad edit is never
written.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated

import typer

from distill.cli.state import State
from distill.errors import ConfigError


def use(
    ctx: typer.Context,
    task: Annotated[str, typer.Argument(help="task, e.g. ner")],
    backend: Annotated[str, typer.Argument(help="backend to use, e.g. trained or prompt")],
    model: Annotated[
        Path | None, typer.Option("--model", help="model directory (trained backends)")
    ] = None,
) -> None:
    """Make TASK run on BACKEND (and MODEL) from now on, in distill.toml."""
    from distill.cli import console
    from distill.model_card import load_card
    from distill.registry import registry

    state: State = ctx.obj
    registry().task(task)
    if backend not in registry().backend_names(task):
        known = ", ".join(registry().backend_names(task))
        raise ConfigError(f"task {task!r} has no backend {backend!r}; available: {known}")
    if backend == "trained":
        load_card(model or state.config.task(task).model, task)  # a real model of this task
    path = state.config_path or Path("distill.toml")
    values = {"backend": backend} | ({"model": model.as_posix()} if model else {})
    write_task_settings(path, task, values)
    shown = ", ".join(f"{k} = {json.dumps(v)}" for k, v in values.items())
    console.print(f"{path}: [tasks.{task}] {shown}", highlight=False, markup=False)


def write_task_settings(path: Path, task: str, values: dict[str, str]) -> None:
    """Set `tasks.<task>.<key> = value` for each item, keeping the rest of the file."""
    from distill.config import load_config

    old = path.read_text(encoding="utf-8") if path.exists() else ""
    try:
        tomllib.loads(old)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix it first") from None
    new = _with_tomlkit(old, task, values)
    if new is None:
        new = _with_line_edit(path, old, task, values)
    try:
        written = tomllib.loads(new)
    except tomllib.TOMLDecodeError as exc:  # never expected: refuse rather than corrupt
        raise ConfigError(
            f"{path}: the edit would break the file ({exc}); nothing written"
        ) from None
    if any(written.get("tasks", {}).get(task, {}).get(k) != v for k, v in values.items()):
        raise ConfigError(f"{path}: could not set {task} settings safely; nothing written")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(new, encoding="utf-8")
    try:
        load_config(tmp, environ={})  # the whole file still validates
    except ConfigError:
        tmp.unlink()
        raise
    os.replace(tmp, path)


def _with_tomlkit(old: str, task: str, values: dict[str, str]) -> str | None:
    try:
        import tomlkit
    except ImportError:
        return None
    document = tomlkit.parse(old)
    tasks = document.setdefault("tasks", tomlkit.table(is_super_table=True))
    table = tasks.setdefault(task, tomlkit.table())
    for key, value in values.items():
        table[key] = value
    return tomlkit.dumps(document)


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def _with_line_edit(path: Path, old: str, task: str, values: dict[str, str]) -> str:
    """Edit the `[tasks.TASK]` table's lines, or append the table; anything fancier (inline
    tables, dotted keys elsewhere) is refused with the line to write by hand."""
    parsed = tomllib.loads(old)
    lines = old.splitlines()
    header = None
    for i, line in enumerate(lines):
        match = _HEADER.match(line)
        if match and _table_name(match.group(1)) == ["tasks", task]:
            header = i
    if header is None:
        if task in parsed.get("tasks", {}):
            wanted = "\n".join(f"{k} = {json.dumps(v)}" for k, v in values.items())
            raise ConfigError(
                f"{path} sets tasks.{task} in a form this edit does not rewrite; set by hand:\n"
                f"[tasks.{task}]\n{wanted}"
            )
        block = [f"[tasks.{task}]", *(f"{k} = {json.dumps(v)}" for k, v in values.items())]
        text = old.rstrip("\n")
        return (text + "\n\n" if text else "") + "\n".join(block) + "\n"
    end = next((j for j in range(header + 1, len(lines)) if _HEADER.match(lines[j])), len(lines))
    remaining = dict(values)
    for j in range(header + 1, end):
        key = lines[j].split("=", 1)[0].strip().strip('"')
        if "=" in lines[j] and key in remaining:
            lines[j] = f"{key} = {json.dumps(remaining.pop(key))}"
    insert_at = end
    while insert_at > header + 1 and not lines[insert_at - 1].strip():
        insert_at -= 1
    lines[insert_at:insert_at] = [f"{k} = {json.dumps(v)}" for k, v in remaining.items()]
    return "\n".join(lines) + "\n"


def _table_name(raw: str) -> list[str]:
    return [part.strip().strip('"').strip("'") for part in raw.split(".")]
