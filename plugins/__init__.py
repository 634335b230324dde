"""The plugin API: task specs, backends, the registry, and the bridge to agent tools.

Write a task once (`TaskSpec`), add backends for it (`Backend`), register both with
the decorators below or from an installed package's `distill.plugins` entry point.
"""

from distill.plugins.backend import Backend, BackendOptions
from distill.plugins.factory import active_backend, make_backend, make_task
from distill.plugins.registry import (
    ANY_TASK,
    PluginWarning,
    Registry,
    load_plugins,
    register_backend,
    register_llm_provider,
    register_store,
    register_task,
    registry,
)
from distill.plugins.spec import Scores, TaskSpec, TextInput
from distill.plugins.tools import all_tools, as_tool

__all__ = [
    "ANY_TASK",
    "Backend",
    "BackendOptions",
    "PluginWarning",
    "Registry",
    "Scores",
    "TaskSpec",
    "TextInput",
    "active_backend",
    "all_tools",
    "as_tool",
    "load_plugins",
    "make_backend",
    "make_task",
    "register_backend",
    "register_llm_provider",
    "register_store",
    "register_task",
    "registry",
]
