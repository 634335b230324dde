"""A LangChain chat model over llama.cpp with real tool choice and JSON-schema output.

Small local models call tools unreliably in free text. Here every reply is decoded
under a JSON schema (llama.cpp turns it into a grammar), so the model cannot emit
anything malformed:

- with tools bound, the schema is "one of: call tool A with A's arguments, call
  tool B with B's arguments, …, or answer" — the model *chooses*, and the
  arguments of the chosen tool are valid by construction;
- with `with_structured_output(Schema)`, the schema is the pydantic model's.

`langchain_community.ChatLlamaCpp` can only force one tool, hence this class.
"""

from __future__ import annotations

import atexit
import json
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, PrivateAttr

from distill.errors import LLMError

ANSWER_KEY = "answer"
PROTOCOL = "tools-v3"
"""Bump when the tool instructions change: it is part of the response-cache key."""
_loaded: dict[tuple[str, int, int | None], tuple[Any, threading.Lock]] = {}
_loading = threading.Lock()


def load_llama(model_path: str, n_ctx: int, n_threads: int | None) -> tuple[Any, threading.Lock]:
    """Load a GGUF model once per process; llama.cpp is not thread-safe, hence the lock."""
    key = (model_path, n_ctx, n_threads)
    with _loading:
        if key not in _loaded:
            from llama_cpp import Llama

            from distill.llm.runtime import load_cpu_backends, preflight

            preflight(model_path)  # a build for another CPU is an error here, not a SIGILL later
            load_cpu_backends()
            try:
                llama = Llama(
                    model_path=model_path,
                    n_ctx=n_ctx,
                    n_threads=n_threads,
                    n_batch=512,
                    seed=0,
                    verbose=False,
                )
            except (ValueError, RuntimeError) as exc:
                raise LLMError(
                    f"llama.cpp could not load {model_path} ({exc}); the file is corrupt or "
                    "not a model llama.cpp supports. Delete it and run again to re-assemble."
                ) from exc
            _loaded[key] = (llama, threading.Lock())
        return _loaded[key]


@atexit.register
def _close_models() -> None:
    """Free models before interpreter teardown, which otherwise makes llama.cpp print noise."""
    for llama, _ in _loaded.values():
        llama.close()
    _loaded.clear()


class ChatLocalLlama(BaseChatModel):
    """Chat with a local GGUF model; supports `bind_tools` with free choice among tools."""

    model_path: str
    n_ctx: int = 4096
    n_threads: int | None = None
    temperature: float = 0.0
    max_tokens: int = 512

    _llama: Any = PrivateAttr(default=None)
    _lock: threading.Lock | None = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model": self.model_path.rsplit("/", 1)[-1],
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "protocol": PROTOCOL,
        }

    def llama(self) -> tuple[Any, threading.Lock]:
        if self._llama is None:
            self._llama, self._lock = load_llama(self.model_path, self.n_ctx, self.n_threads)
        assert self._lock is not None
        return self._llama, self._lock

    # LangChain API

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable | BaseTool],
        *,
        tool_choice: str | dict | bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Offer `tools`; `tool_choice` is auto (default), "any"/"required", "none" or a name."""
        formatted = [convert_to_openai_tool(tool)["function"] for tool in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def with_structured_output(
        self, schema: dict | type, *, include_raw: bool = False, **kwargs: Any
    ) -> Runnable[LanguageModelInput, Any]:
        """Constrain decoding to `schema` (a pydantic model or a JSON schema dict)."""
        if include_raw:
            raise NotImplementedError("include_raw is not supported by the local model")
        if isinstance(schema, type) and issubclass(schema, BaseModel):
            json_schema = schema.model_json_schema()
            parser: Runnable = PydanticOutputParser(pydantic_object=schema)
        else:
            json_schema = dict(schema)  # type: ignore[arg-type]
            parser = JsonOutputParser()
        response_format = {"type": "json_object", "schema": inline_refs(json_schema)}
        return self.bind(response_format=response_format, **kwargs) | parser

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        *,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict | bool | None = None,
        response_format: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        chat = [_to_llama_message(message) for message in messages]
        offered = _offered_tools(tools or [], tool_choice)
        if offered:
            chat = _with_tool_instructions(chat, offered, may_answer=_may_answer(tool_choice))
            response_format = {
                "type": "json_object",
                "schema": tool_choice_schema(offered, may_answer=_may_answer(tool_choice)),
            }
        llama, lock = self.llama()
        with lock:
            response = llama.create_chat_completion(
                messages=chat,
                response_format=response_format,
                temperature=self.temperature,
                max_tokens=self.max_tokens,
                stop=stop,
                seed=0,
            )
        text = response["choices"][0]["message"].get("content") or ""
        usage = response.get("usage") or {}
        message = _to_ai_message(text, offered) if offered else AIMessage(content=text)
        message.usage_metadata = {
            "input_tokens": usage.get("prompt_tokens", 0),
            "output_tokens": usage.get("completion_tokens", 0),
            "total_tokens": usage.get("total_tokens", 0),
        }
        message.response_metadata = {
            "model_name": self._identifying_params["model"],
            "finish_reason": response["choices"][0].get("finish_reason"),
        }
        return ChatResult(generations=[ChatGeneration(message=message)])


# the tool-choice protocol


def tool_choice_schema(tools: list[dict[str, Any]], *, may_answer: bool) -> dict[str, Any]:
    """One of: {"tool": name, "arguments": {...}} per tool, or {"answer": text}."""
    options: list[dict[str, Any]] = [
        {
            "type": "object",
            "properties": {
                "tool": {"const": tool["name"]},
                "arguments": inline_refs(tool.get("parameters") or {"type": "object"}),
            },
            "required": ["tool", "arguments"],
        }
        for tool in tools
    ]
    if may_answer:
        options.append(
            {
                "type": "object",
                "properties": {ANSWER_KEY: {"type": "string"}},
                "required": [ANSWER_KEY],
            }
        )
    return options[0] if len(options) == 1 else {"oneOf": options}


def _offered_tools(tools: list[dict[str, Any]], tool_choice: Any) -> list[dict[str, Any]]:
    if not tools or tool_choice in ("none", False):
        return []
    if isinstance(tool_choice, dict):
        tool_choice = tool_choice.get("function", {}).get("name") or tool_choice.get("name")
    if isinstance(tool_choice, str) and tool_choice not in ("auto", "any", "required"):
        chosen = [tool for tool in tools if tool["name"] == tool_choice]
        if not chosen:
            raise LLMError(f"tool_choice {tool_choice!r} is not among the bound tools")
        return chosen
    return tools


def _may_answer(tool_choice: Any) -> bool:
    return tool_choice in (None, "auto")


def _with_tool_instructions(
    chat: list[dict[str, Any]], tools: list[dict[str, Any]], *, may_answer: bool
) -> list[dict[str, Any]]:
    lines = ["You can call these tools:"]
    for tool in tools:
        params = (tool.get("parameters") or {}).get("properties", {})
        args = ", ".join(f"{name}: {p.get('type', 'any')}" for name, p in params.items())
        lines.append(f"- {tool['name']}({args}): {tool.get('description', '').strip()}")
    lines.append('To call a tool, reply {"tool": "<name>", "arguments": {...}}.')
    if may_answer:
        lines.append(
            "When no tool is needed, or a tool result already answers the question, reply "
            '{"answer": "<your answer>"}.'
        )
    instructions = "\n".join(lines)
    if chat and chat[0]["role"] == "system":
        return [{"role": "system", "content": f"{chat[0]['content']}\n\n{instructions}"}, *chat[1:]]
    return [{"role": "system", "content": instructions}, *chat]


def _to_ai_message(text: str, tools: list[dict[str, Any]]) -> AIMessage:
    try:
        reply = json.loads(text)
    except json.JSONDecodeError:
        return AIMessage(content=text)  # truncated by max_tokens: surface it as text
    if isinstance(reply, dict) and "tool" in reply:
        call = {
            "name": reply["tool"],
            "args": reply.get("arguments") or {},
            "id": f"call_{uuid.uuid4().hex[:12]}",
            "type": "tool_call",
        }
        return AIMessage(content="", tool_calls=[call])
    if isinstance(reply, dict) and ANSWER_KEY in reply:
        return AIMessage(content=str(reply[ANSWER_KEY]))
    return AIMessage(content=text)


def _to_llama_message(message: BaseMessage) -> dict[str, Any]:
    if isinstance(message, SystemMessage):
        return {"role": "system", "content": message.text}
    if isinstance(message, HumanMessage):
        return {"role": "user", "content": message.text}
    if isinstance(message, AIMessage):
        if message.tool_calls:
            call = message.tool_calls[0]
            return {
                "role": "assistant",
                "content": json.dumps({"tool": call["name"], "arguments": call["args"]}),
            }
        return {"role": "assistant", "content": message.text}
    if isinstance(message, ToolMessage):
        name = message.name or "tool"
        return {"role": "user", "content": f"Result of {name}:\n{message.text}"}
    return {"role": "user", "content": message.text}


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """Resolve `$ref`s to `$defs` so the grammar converter sees one self-contained schema."""
    definitions = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                target = definitions[node["$ref"].rsplit("/", 1)[-1]]
                return resolve({**target, **{k: v for k, v in node.items() if k != "$ref"}})
            return {k: resolve(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return resolve(schema)
