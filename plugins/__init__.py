"""The tools: the built-in tasks and backends (`ner`, `linker`, `sentiment`, `factcheck`, the
generic `prompt` backend), the factory that picks a backend from config, and the bridge to
LangChain tools.

The built-ins are ordinary plugins of the protocol in the root package (`distill.spec`,
`distill.backend`, `distill.registry`): they register exactly as an installed package's
entry point does. The protocol is re-exported here for plugin authors' convenience.
"""

from distill.backend import Backend, BackendOptions
from distill.plugins.factory import active_backend, make_backend, make_task
from distill.plugins.tools import all_tools, as_tool
from distill.registry import (
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
from distill.spec import Scores, TaskSpec, TextInput

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
