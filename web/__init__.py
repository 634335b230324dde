"""The local web app behind `distill serve`: Review, Chat and Explore in the browser.

`create_app(config)` returns the FastAPI application; the pages are plain HTML and
JavaScript served from `static/` (no build step, nothing fetched from the internet).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from distill.web.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    """`from distill.web import create_app` without importing FastAPI for `distill --help`."""
    if name == "create_app":
        from distill.web.app import create_app

        return create_app
    raise AttributeError(f"module 'distill.web' has no attribute {name!r}")
