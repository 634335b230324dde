"""LLM providers behind one factory: `chat_model(config.llm)` returns a LangChain chat model.

The embedded default (`local`) runs llama.cpp on a model from PyPI packages; `ollama`,
`openai` (any compatible URL) and `anthropic` need a server or a key. Plugins add more.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from langchain_core.caches import BaseCache
from langchain_core.language_models import BaseChatModel

from distill.config import LLMConfig
from distill.errors import DistillError, LLMError
from distill.paths import cache_dir

CACHE_FILE = "llm-cache.sqlite"


def chat_model(config: LLMConfig | None = None) -> BaseChatModel:
    """Build the configured chat model, with the on-disk response cache when enabled."""
    from distill.registry import registry

    config = config or LLMConfig()
    provider = registry().llm_provider(config.provider)
    try:
        model = provider.obj(config)
    except DistillError:
        raise
    except Exception as exc:
        raise LLMError(f"LLM provider {config.provider!r} could not start: {exc}") from exc
    if config.cache:
        model.cache = _disk_cache(cache_dir() / CACHE_FILE)
    return model


@functools.cache
def _disk_cache(path: Path) -> BaseCache:
    """One cache object per file per process (one SQLite connection)."""
    from distill.llm.cache import DiskCache

    return DiskCache(path)


def lazy_chat_model(config: LLMConfig | None = None) -> Callable[[], BaseChatModel]:
    """A builder that creates the chat model on first call only (loading a model is slow)."""
    return functools.cache(lambda: chat_model(config))


def explain(exc: BaseException, config: LLMConfig) -> LLMError:
    """Turn a provider's exception into an error that says what to do."""
    if isinstance(exc, LLMError):
        return exc
    text = f"{type(exc).__name__}: {exc}"
    where = config.base_url or config.provider
    if any(word in text for word in ("Connect", "connection", "refused", "resolve")):
        return LLMError(
            f"cannot reach the {config.provider!r} provider at {where}: {exc}. "
            "Is the server running and the URL right (llm.base_url)?"
        )
    if any(word in text for word in ("401", "403", "Authentication", "api_key", "API key")):
        return LLMError(f"the {config.provider!r} provider refused the API key: {exc}")
    if "404" in text or "not found" in text.lower():
        return LLMError(
            f"the {config.provider!r} provider does not know model {config.model!r}: {exc}"
        )
    return LLMError(f"the {config.provider!r} provider failed: {text}")


__all__ = ["chat_model", "explain", "lazy_chat_model"]
