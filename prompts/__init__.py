"""Prompt templates as data files (`<name>.jinja`), versioned with the package.

Templates are Jinja2 so a task's prompt can loop over its labels and few-shot
examples; keeping them out of Python keeps prompts reviewable as text.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

import jinja2

from distill.errors import PluginError


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(_source),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,
    )


def _source(name: str) -> str:
    path = files(__name__) / f"{name}.jinja"
    if not path.is_file():
        known = sorted(
            p.name.removesuffix(".jinja")
            for p in files(__name__).iterdir()
            if p.name.endswith(".jinja")
        )
        raise PluginError(f"no prompt template {name!r}; known: {', '.join(known) or 'none'}")
    return path.read_text(encoding="utf-8")


def render(name: str, **variables: Any) -> str:
    """Render template `name` with `variables`; a missing variable is an error, not a blank."""
    return _environment().get_template(name).render(**variables)
