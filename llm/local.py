"""A LangChain chat model over llama.cpp with real tool choice and JSON-schema output.

Small local models call tools unreliably in free text. Here every reply is decoded
under a JSON schema (llama.cpp turns it into a grammar), so the model cannot emit
anything malformed:

- with tools bound, the schema is "one of: call tool A with A's arguments, call
  tool B with B's arguments, …, or answer" — the model *chooses*, and the
  arguments of the chosen tool are valid by construction;
- with `with_structured_output(Schema)`, the schema is the pydantic model's (or the
  JSON schema / TypedDict given).

`langchain_community.ChatLlamaCpp` can only force one tool, hence this class. It passes
LangChain's standard test suites (tests/test_llm_standard.py): real token streaming, async,
structured output with `include_raw`, usage metadata.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import queue
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.json import parse_partial_json
from langchain_core.utils.pydantic import is_basemodel_subclass
from pydantic import PrivateAttr

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

            from distill.llm.runtime import prepare

            prepare(model_path)  # a build for another CPU is an error here, not a SIGILL later
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
    for llama, lock in _loaded.values():
        if lock.acquire(timeout=10):  # a stream abandoned at exit may still be generating
            llama.close()
    _loaded.clear()


StructuredMethod = Literal["json_schema", "function_calling", "json_mode"]


class ChatLocalLlama(BaseChatModel):
    """Chat with a local GGUF model; supports `bind_tools` with free choice among tools."""

    model_path: str
    n_ctx: int = 4096
    n_threads: int | None = None
    temperature: float = 0.0
    max_tokens: int = 512
    stop: list[str] | None = None
    """Stop sequences for every call (a call's own `stop` replaces them)."""
    streaming: bool = False
    """Let `invoke` stream tokens to callbacks (`stream()` always streams)."""

    _llama: Any = PrivateAttr(default=None)
    _lock: threading.Lock | None = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    @property
    def model_name(self) -> str:
        return Path(self.model_path).name

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model": self.model_name,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "stop": self.stop,
            "protocol": PROTOCOL,
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = super()._get_ls_params(stop=stop or self.stop, **kwargs)
        params["ls_provider"] = "llamacpp"
        model = kwargs.get("model")
        params["ls_model_name"] = model if isinstance(model, str) else self.model_name
        return params

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
        """Offer `tools`; `tool_choice` is auto (default), "any"/"required"/True, "none"/False,
        a tool's name, or an OpenAI/Anthropic-style dict naming one."""
        kwargs.pop("strict", None)  # decoding is always schema-constrained
        formatted = [convert_to_openai_tool(tool)["function"] for tool in tools]
        choice = normalize_tool_choice(tool_choice, [tool["name"] for tool in formatted])
        return self.bind(tools=formatted, tool_choice=choice, **kwargs)

    def with_structured_output(
        self,
        schema: dict | type | None = None,
        *,
        method: StructuredMethod = "json_schema",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """Replies as `schema` (pydantic model, TypedDict or JSON schema): pydantic objects for
        pydantic models, dicts otherwise.

        `json_schema` (default) and `json_mode` constrain decoding to the schema (`json_mode`
        without a schema: any JSON object); `function_calling` forces a tool named after the
        schema, so the raw message carries a tool call. `strict` is accepted and moot: output
        always follows the schema.
        """
        if method == "function_calling":
            return super().with_structured_output(schema, include_raw=include_raw, **kwargs)
        if method not in ("json_schema", "json_mode"):
            raise ValueError(f"unknown method {method!r}: json_schema, function_calling, json_mode")
        if kwargs:
            raise ValueError(f"unsupported arguments {kwargs}")
        parser: Runnable
        if schema is None:
            if method != "json_mode":
                raise ValueError("with_structured_output needs a schema unless method='json_mode'")
            response_format: dict[str, Any] = {"type": "json_object"}
            parser = JsonOutputParser()
        else:
            response_format = {"type": "json_object", "schema": inline_refs(_json_schema(schema))}
            if isinstance(schema, type) and is_basemodel_subclass(schema):
                parser = PydanticOutputParser(pydantic_object=schema)
            else:
                parser = JsonOutputParser()
        bound: dict[str, Any] = {"response_format": response_format}
        if schema is not None:
            bound["ls_structured_output_format"] = {
                "kwargs": {"method": method, "strict": strict},
                "schema": schema,
            }
        llm = self.bind(**bound)
        if not include_raw:
            return llm | parser
        parsed = RunnablePassthrough.assign(
            parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
        ).with_fallbacks(
            [RunnablePassthrough.assign(parsed=lambda _: None)], exception_key="parsing_error"
        )
        return RunnableMap(raw=llm) | parsed

    # BaseChatModel hooks. `_agenerate` is LangChain's default: `_generate` in a worker thread.

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request, offered = self._request(messages, stop, **kwargs)
        llama, lock = self.llama()
        with lock:
            response = llama.create_chat_completion(**request)
        text = response["choices"][0]["message"].get("content") or ""
        usage = response.get("usage") or {}
        message = _to_ai_message(text, offered) if offered else AIMessage(content=text)
        message.usage_metadata = {
            "input_tokens": usage.get("prompt_tokens", 0),
            "output_tokens": usage.get("completion_tokens", 0),
            "total_tokens": usage.get("total_tokens", 0),
        }
        message.response_metadata = {
            "model_name": self.model_name,
            "finish_reason": response["choices"][0].get("finish_reason"),
        }
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        """Tokens as llama.cpp decodes them; stop iterating to stop the generation."""
        request, offered = self._request(messages, stop, **kwargs)
        reader = _ReplyReader(offered)
        with _Generation(*self.llama(), request) as generation:
            for piece in generation:
                if text := reader.feed(piece):
                    yield ChatGenerationChunk(message=AIMessageChunk(content=text))
            yield self._last_chunk(reader, generation)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        request, offered = self._request(messages, stop, **kwargs)
        reader = _ReplyReader(offered)
        llama, lock = await asyncio.to_thread(self.llama)  # the first call loads the model
        with _Generation(llama, lock, request) as generation:
            async for piece in generation:
                if text := reader.feed(piece):
                    yield ChatGenerationChunk(message=AIMessageChunk(content=text))
            yield self._last_chunk(reader, generation)

    # one request, two ways of running it

    def _request(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        *,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict | bool | None = None,
        response_format: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """llama.cpp's `create_chat_completion` arguments, and the tools offered (if any)."""
        chat = [_to_llama_message(message) for message in messages]
        tools = tools or []
        choice = normalize_tool_choice(tool_choice, [tool["name"] for tool in tools])
        offered = _offered_tools(tools, choice)
        if offered:
            may_answer = choice is None
            chat = _with_tool_instructions(chat, offered, may_answer=may_answer)
            response_format = {
                "type": "json_object",
                "schema": tool_choice_schema(offered, may_answer=may_answer),
            }
        request = {
            "messages": chat,
            "response_format": response_format,
            "temperature": kwargs.get("temperature", self.temperature),
            "max_tokens": kwargs.get("max_tokens", self.max_tokens),
            "stop": stop or self.stop or None,
            "seed": 0,
        }
        return request, offered

    def _last_chunk(self, reader: _ReplyReader, generation: _Generation) -> ChatGenerationChunk:
        message = reader.finish()
        message.chunk_position = "last"
        message.usage_metadata = {
            "input_tokens": generation.input_tokens,
            "output_tokens": generation.output_tokens,
            "total_tokens": generation.input_tokens + generation.output_tokens,
        }
        message.response_metadata = {
            "model_name": self.model_name,
            "finish_reason": generation.finish_reason,
        }
        return ChatGenerationChunk(message=message)


# streaming


class _Generation:
    """One streamed llama.cpp completion, run on a worker thread that holds the model lock.

    The consumer may stop early (the worker stops at the next token and frees the lock), or
    call the model again from inside its loop (that call waits for this generation to end
    instead of deadlocking on the lock, or re-entering llama.cpp mid-generation).
    """

    _END = object()

    def __init__(self, llama: Any, lock: threading.Lock, request: dict[str, Any]) -> None:
        self._pieces: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._cancelled = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(llama, lock, request), name="llama-stream", daemon=True
        )
        self.finish_reason: str | None = None
        self.input_tokens = 0
        self.output_tokens = 0

    def __enter__(self) -> _Generation:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._cancelled.set()

    def __iter__(self) -> Iterator[str]:
        while (item := self._pieces.get()) is not self._END:
            if isinstance(item, BaseException):
                raise item
            yield item

    async def __aiter__(self) -> AsyncIterator[str]:
        while (item := await asyncio.to_thread(self._pieces.get)) is not self._END:
            if isinstance(item, BaseException):
                raise item
            yield item

    def _run(self, llama: Any, lock: threading.Lock, request: dict[str, Any]) -> None:
        try:
            with lock:
                chunks = llama.create_chat_completion(stream=True, **request)
                prompt_tokens = None
                try:
                    for chunk in chunks:
                        if prompt_tokens is None:
                            # llama.cpp has evaluated the prompt and sampled one token
                            prompt_tokens = llama.n_tokens
                        choice = chunk["choices"][0]
                        if text := choice["delta"].get("content"):
                            self._pieces.put(text)
                        self.finish_reason = choice.get("finish_reason") or self.finish_reason
                        if self._cancelled.is_set():
                            self.finish_reason = "cancelled"
                            break
                finally:
                    chunks.close()
                # streamed replies carry no usage: count from llama.cpp's context, where the
                # last sampled token is not evaluated unless the model ended the reply itself
                self.input_tokens = prompt_tokens or 0
                evaluated = llama.n_tokens - self.input_tokens
                self.output_tokens = max(evaluated + (self.finish_reason != "stop"), 0)
        except BaseException as exc:  # re-raised in the consumer's thread
            self._pieces.put(exc)
        else:
            self._pieces.put(self._END)


class _ReplyReader:
    """Turns streamed reply text into message content as it arrives.

    Without tools the text is the content. With tools the reply is the protocol's JSON: the
    growing `"answer"` string streams as content; a tool call is emitted whole at the end
    (as `tool_call_chunks`), when its arguments are complete.
    """

    def __init__(self, tools: list[dict[str, Any]]) -> None:
        self.tools = tools
        self.text = ""
        self.shown = ""

    def feed(self, piece: str) -> str:
        self.text += piece
        if not self.tools:
            return piece
        partial = parse_partial_json(self.text)
        answer = partial.get(ANSWER_KEY) if isinstance(partial, dict) else None
        if isinstance(answer, str) and answer.startswith(self.shown):
            new, self.shown = answer[len(self.shown) :], answer
            return new
        return ""

    def finish(self) -> AIMessageChunk:
        if not self.tools:
            return AIMessageChunk(content="")
        reply = _to_ai_message(self.text, self.tools)
        if reply.tool_calls:
            call = reply.tool_calls[0]
            chunk = tool_call_chunk(
                name=call["name"], args=json.dumps(call["args"]), id=call["id"], index=0
            )
            return AIMessageChunk(content="", tool_call_chunks=[chunk])
        rest = reply.text[len(self.shown) :] if reply.text.startswith(self.shown) else ""
        return AIMessageChunk(content=rest)


def _json_schema(schema: dict | type) -> dict[str, Any]:
    """The JSON schema of a pydantic model, TypedDict, JSON schema or OpenAI function dict."""
    if isinstance(schema, dict):
        function = schema.get("function", schema)
        if "name" in function and "parameters" in function:
            return function["parameters"]
        return schema
    if hasattr(schema, "model_json_schema"):
        return schema.model_json_schema()
    return convert_to_json_schema(schema)


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
                # never an empty reply: "a call or an answer" is what callers rely on
                "properties": {ANSWER_KEY: {"type": "string", "minLength": 1}},
                "required": [ANSWER_KEY],
            }
        )
    return options[0] if len(options) == 1 else {"oneOf": options}


def normalize_tool_choice(tool_choice: Any, names: list[str]) -> str | None:
    """LangChain's many spellings of tool choice as one of: None (the model may answer),
    "any" (it must call a tool), "none" (no tools), or the name of the tool it must call."""
    if isinstance(tool_choice, dict):
        named = tool_choice.get("function", {}).get("name") or tool_choice.get("name")
        tool_choice = named or tool_choice.get("type")
    if tool_choice in (None, "auto"):
        return None
    if tool_choice in (True, "any", "required"):
        return "any"
    if tool_choice in (False, "none"):
        return "none"
    if not isinstance(tool_choice, str) or tool_choice not in names:
        raise LLMError(
            f"tool_choice {tool_choice!r} is not among the bound tools ({', '.join(names)}); "
            'use "auto", "any", "none" or one of their names'
        )
    return tool_choice


def _offered_tools(tools: list[dict[str, Any]], choice: str | None) -> list[dict[str, Any]]:
    """The tools the reply may call, given a normalized tool choice."""
    if choice == "none":
        return []
    if choice in (None, "any"):
        return tools
    return [tool for tool in tools if tool["name"] == choice]


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
        failed = " (failed)" if message.status == "error" else ""
        return {"role": "user", "content": f"Result of {name}{failed}:\n{message.text}"}
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
