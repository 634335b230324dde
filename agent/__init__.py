"""The chat agent: a LangGraph state graph over the tools, the graph and the document index,
with its router, guardrail, memory and evaluation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from distill.agent.chat import Agent, ChatResponse

__all__ = ["Agent", "ChatResponse"]


def __getattr__(name: str) -> Any:
    """`from distill.agent import Agent` without importing LangGraph for every subpackage."""
    if name in __all__:
        from distill.agent import chat

        return getattr(chat, name)
    raise AttributeError(f"module 'distill.agent' has no attribute {name!r}")
