"""`ChatOpenAI` for OpenAI and for every server that speaks its API (vLLM, llama.cpp's
`llama-server` and `llama_cpp.server`, Ollama, LM Studio, hosted gateways).

Those servers implement different slices of the API; tested against `llama_cpp.server`
(tests/test_openai_server.py), three defaults make distill work on the common slice:

- **structured output** (`with_structured_output`, every prompt backend) goes through a
  forced function call when `llm.base_url` points at such a server: a named
  `tool_choice` is what all of them constrain, while OpenAI's `json_schema` response
  format is refused by `llama_cpp.server` (it knows only `json_object`);
- **tools bound without `tool_choice`** are sent with `tool_choice="auto"`, OpenAI's own
  default, because `llama_cpp.server` ignores tools when the field is absent;
- **`tool_choice="any"`/`"required"` with one tool** names that tool, which means the same
  and is supported where `required` is not.

A server that cannot be reached, refuses the key or does not know the model is an
`LLMError` that says what to do (the prompt backend stops on it instead of recording a bad
answer per document).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import openai
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_openai import ChatOpenAI
from pydantic import PrivateAttr

from distill.config import LLMConfig

UNUSABLE = (
    openai.APIConnectionError,  # refused, unresolvable, timed out
    openai.AuthenticationError,
    openai.PermissionDeniedError,
    openai.NotFoundError,  # unknown model (or a base URL without /v1)
)
"""Errors that say nothing about one request: the provider itself is unusable as configured."""


class ChatOpenAICompatible(ChatOpenAI):
    structured_output_method: Literal["function_calling", "json_mode", "json_schema"] = (
        "json_schema"
    )
    _config: LLMConfig = PrivateAttr(default_factory=LLMConfig)

    @classmethod
    def from_config(cls, config: LLMConfig, *, model: str, api_key: str) -> ChatOpenAICompatible:
        """The chat model `config` asks for; its errors are explained with `config`."""
        chat = cls(
            model=model,
            base_url=config.base_url,
            api_key=api_key,
            temperature=config.temperature,
            max_tokens=config.max_tokens,
            timeout=config.timeout_s,
            max_retries=1,
            structured_output_method="json_schema"
            if config.base_url is None
            else "function_calling",
        )
        chat._config = config
        return chat

    def with_structured_output(
        self, schema: Any = None, *, method: Any = None, **kwargs: Any
    ) -> Runnable[LanguageModelInput, Any]:
        return super().with_structured_output(
            schema, method=method or self.structured_output_method, **kwargs
        )

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable | BaseTool],
        *,
        tool_choice: dict | str | bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        if tools and tool_choice is None:
            tool_choice = "auto"
        elif len(tools) == 1 and tool_choice in ("any", "required", True):
            tool_choice = _tool_name(tools[0])
        return super().bind_tools(tools, tool_choice=tool_choice, **kwargs)

    # provider errors → LLMError

    @contextmanager
    def _explained(self) -> Iterator[None]:
        try:
            yield
        except UNUSABLE as exc:
            from distill.llm import explain

            raise explain(exc, self._config) from exc

    def _generate(self, *args: Any, **kwargs: Any) -> ChatResult:
        with self._explained():
            return super()._generate(*args, **kwargs)

    async def _agenerate(self, *args: Any, **kwargs: Any) -> ChatResult:
        with self._explained():
            return await super()._agenerate(*args, **kwargs)

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        with self._explained():
            yield from super()._stream(*args, **kwargs)

    async def _astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        with self._explained():
            async for chunk in super()._astream(*args, **kwargs):
                yield chunk


def _tool_name(tool: Any) -> str:
    from langchain_core.utils.function_calling import convert_to_openai_tool

    return convert_to_openai_tool(tool)["function"]["name"]
