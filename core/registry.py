"""One registry of named things: tasks, backends, graph stores and LLM providers.

In-process code registers with decorators; installed packages declare an entry
point in the group `distill.plugins` that names a module, and importing that
module runs its decorators. Each registration remembers the package it came from,
so `distill tools` can say who provides what.

A plugin that fails to import (whatever it raises, `SystemExit` included), or
registers a name that is taken, costs one warning naming the plugin; everything else
keeps working. Built-in names always stay distill's, even when code registered the
same name in-process before the registry loaded.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import re
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from importlib.metadata import entry_points, packages_distributions
from typing import Any, TypeVar

from distill.errors import PluginError

ENTRY_POINT_GROUP = "distill.plugins"
BUILTIN = "distill"
BUILTIN_PLUGINS = ("distill.llm.providers", "distill.graph.stores", "distill.plugins.builtin")
"""Modules that register the built-ins, loaded by name exactly like an entry point's module
(as Simon Willison's `llm` loads its default plugins): the registry imports no layer above it."""
ANY_TASK = "*"
"""A backend registered for ANY_TASK serves every task (the generic prompt backend)."""

T = TypeVar("T")
_current_source: ContextVar[str | None] = ContextVar("distill_plugin_source", default=None)


class PluginWarning(UserWarning):
    """A plugin could not be loaded or clashed with another; the rest works."""


@dataclass(frozen=True)
class Entry:
    name: str
    obj: Any
    source: str
    """The distribution (package) that registered it, or the defining module."""


@dataclass
class Registry:
    tasks: dict[str, Entry] = field(default_factory=dict)
    backends: dict[tuple[str, str], Entry] = field(default_factory=dict)
    stores: dict[str, Entry] = field(default_factory=dict)
    llm_providers: dict[str, Entry] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    """Plugins that failed to load: name -> reason."""

    def add(self, kind: str, key: Any, obj: Any) -> None:
        table: dict[Any, Entry] = getattr(self, kind)
        source = _current_source.get() or _distribution_of(getattr(obj, "__module__", "?"))
        label = "/".join(key) if isinstance(key, tuple) else key
        if key in table:
            first = table[key]
            if first.obj is obj:
                return
            if source == BUILTIN and first.source != BUILTIN:
                # registered in-process before the registry loaded: the built-in still wins,
                # and the warning names the code that tried to take its name
                table[key] = Entry(name=label, obj=obj, source=source)
                warnings.warn(
                    f"{first.source!r} registers {kind[:-1]} {label!r}, a name distill itself "
                    f"provides; keeping distill's (register yours under another name)",
                    PluginWarning,
                    stacklevel=3,
                )
                return
            warnings.warn(
                f"plugin {source!r} registers {kind[:-1]} {label!r}, already registered by "
                f"{table[key].source!r}; keeping the one from {table[key].source!r}",
                PluginWarning,
                stacklevel=3,
            )
            return
        table[key] = Entry(name=label, obj=obj, source=source)

    def forget(self, source: str) -> None:
        """Drop whatever `source` registered: a plugin that fails leaves nothing half-done."""
        for table in (self.tasks, self.backends, self.stores, self.llm_providers):
            for key in [k for k, entry in table.items() if entry.source == source]:
                del table[key]

    # lookups with errors that say what exists

    def task(self, name: str) -> Entry:
        return _lookup(self.tasks, name, "task", "distill tools")

    def backend(self, task: str, name: str) -> Entry:
        if (task, name) in self.backends:
            return self.backends[(task, name)]
        if (ANY_TASK, name) in self.backends:
            return self.backends[(ANY_TASK, name)]
        names = self.backend_names(task)
        raise PluginError(
            f"task {task!r} has no backend {name!r}; available: {', '.join(names) or 'none'}"
        )

    def backend_names(self, task: str) -> list[str]:
        spec = self.tasks[task].obj if task in self.tasks else None
        names = {b for t, b in self.backends if t == task}
        if spec is None or spec.prompt is not None:
            names |= {b for t, b in self.backends if t == ANY_TASK}
        return sorted(names)

    def store(self, name: str) -> Entry:
        return _lookup(self.stores, name, "graph store", "distill tools")

    def llm_provider(self, name: str) -> Entry:
        return _lookup(self.llm_providers, name, "LLM provider", "distill tools")


def _lookup(table: dict[str, Entry], name: str, what: str, hint: str) -> Entry:
    if name in table:
        return table[name]
    import difflib

    close = difflib.get_close_matches(name, list(table), n=1)
    suggestion = f" Did you mean {close[0]!r}?" if close else ""
    known = ", ".join(sorted(table)) or "none"
    raise PluginError(f"unknown {what} {name!r}.{suggestion} Known: {known} (see `{hint}`).")


_registry = Registry()
_loaded = False


def registry() -> Registry:
    """The process-wide registry, with built-ins and installed plugins loaded once."""
    if not _loaded:
        load_plugins()
    return _registry


def load_plugins() -> Registry:
    """Register the built-ins, then every installed `distill.plugins` entry point."""
    global _loaded
    _loaded = True
    with _source(BUILTIN):
        for module in BUILTIN_PLUGINS:
            importlib.import_module(module)
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        package = _canonical(entry_point.dist.name if entry_point.dist else entry_point.name)
        with _source(package):
            try:
                entry_point.load()
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # SystemExit too: a plugin must not end the command
                _registry.forget(package)
                reason = f"{type(exc).__name__}: {exc}"
                _registry.failed[package] = reason
                frames = traceback.extract_tb(exc.__traceback__)
                where = f" [{frames[-1].filename}:{frames[-1].lineno}]" if frames else ""
                warnings.warn(
                    f"plugin {package!r} (entry point {entry_point.value!r}) failed to load and "
                    f"is skipped: {reason}{where}",
                    PluginWarning,
                    stacklevel=2,
                )
    return _registry


def _distribution_of(module: str) -> str:
    """The installed package that provides `module`, else the module's own name."""
    top_level = module.partition(".")[0]
    if top_level == "distill":
        return BUILTIN
    dists = _packages_distributions().get(top_level)
    return _canonical(dists[0]) if dists else module


@functools.cache
def _packages_distributions() -> dict[str, list[str]]:
    return packages_distributions()


def _canonical(name: str) -> str:
    """Distribution names as users type them: `distill_prices` -> `distill-prices` (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@contextlib.contextmanager
def _source(name: str) -> Iterator[None]:
    token = _current_source.set(name)
    try:
        yield
    finally:
        _current_source.reset(token)


# decorators


def register_task(cls: type[T]) -> type[T]:
    """Class decorator for a `TaskSpec` subclass."""
    _registry.add("tasks", cls.name, cls)  # type: ignore[attr-defined]
    return cls


def register_backend(task: str, name: str) -> Callable[[type[T]], type[T]]:
    """Class decorator for a `Backend` subclass serving `task` (or ANY_TASK) as `name`."""

    def decorate(cls: type[T]) -> type[T]:
        cls.name = name  # type: ignore[attr-defined]
        _registry.add("backends", (task, name), cls)
        return cls

    return decorate


def register_store(name: str) -> Callable[[T], T]:
    """Decorator for a graph store class or factory."""

    def decorate(obj: T) -> T:
        _registry.add("stores", name, obj)
        return obj

    return decorate


def register_llm_provider(name: str) -> Callable[[T], T]:
    """Decorator for a function `(LLMConfig) -> BaseChatModel`."""

    def decorate(obj: T) -> T:
        _registry.add("llm_providers", name, obj)
        return obj

    return decorate
