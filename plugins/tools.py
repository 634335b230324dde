"""Every registered task, handed to a LangChain/LangGraph agent as a tool.

The tool's arguments are the task's `input_schema` (a pydantic model), its
description is the task's, and its result is the task's typed output as JSON.
A backend that raises becomes a `ToolException` the agent can read and recover from.
"""

from __future__ import annotations

from typing import Any

from langchain_core.tools import StructuredTool, ToolException

from distill.backend import Backend
from distill.config import Config
from distill.plugins.factory import make_backend, make_task
from distill.registry import registry


def as_tool(
    name: str, config: Config | None = None, *, backend: Backend | None = None
) -> StructuredTool:
    """Wrap task `name` with its configured backend (built on the first call)."""
    task = make_task(name, config)
    built: list[Backend] = [backend] if backend else []

    def run(**arguments: Any) -> dict[str, Any]:
        try:
            if not built:
                built.append(make_backend(name, config))
            doc = task.to_doc(task.input_schema(**arguments))
            built[0].predict([doc])
            return task.read(doc).model_dump(mode="json")
        except Exception as exc:
            raise ToolException(f"{name} failed: {type(exc).__name__}: {exc}") from exc

    return StructuredTool.from_function(
        func=run,
        name=task.name,
        description=task.description,
        args_schema=task.input_schema,
        handle_tool_error=True,
    )


def all_tools(config: Config | None = None) -> list[StructuredTool]:
    """One tool per registered task, plugins' included."""
    return [as_tool(name, config) for name in sorted(registry().tasks)]
