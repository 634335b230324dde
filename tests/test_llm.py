"""LLM providers: selection, keys, model files, tool-choice protocol, cache (no model runs)."""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration
from langchain_core.utils.function_calling import convert_to_json_schema
from pydantic import BaseModel
from typing_extensions import TypedDict

from distill.config import LLMConfig
from distill.errors import LLMError, PluginError
from distill.llm import chat_model, explain
from distill.llm.cache import DiskCache
from distill.llm.local import (
    ChatLocalLlama,
    _to_ai_message,
    _to_llama_message,
    _with_tool_instructions,
    inline_refs,
    normalize_tool_choice,
    tool_choice_schema,
)
from distill.llm.models import EmbeddedModel, model_file


def test_openai_compatible_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    from langchain_openai import ChatOpenAI

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret")
    model = chat_model(LLMConfig(provider="openai", model="gpt-4o-mini", cache=False))
    assert isinstance(model, ChatOpenAI)
    assert model.model_name == "gpt-4o-mini"


def test_openai_compatible_server_needs_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    model = chat_model(LLMConfig(provider="openai", base_url="http://127.0.0.1:9/v1", cache=False))
    assert str(model.openai_api_base) == "http://127.0.0.1:9/v1"


def test_missing_api_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(LLMError, match="ANTHROPIC_API_KEY"):
        chat_model(LLMConfig(provider="anthropic"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(LLMError, match="OPENAI_API_KEY"):
        chat_model(LLMConfig(provider="openai"))


def test_ollama_provider_and_unreachable_server() -> None:
    from langchain_ollama import ChatOllama

    config = LLMConfig(provider="ollama", base_url="http://127.0.0.1:9", cache=False, timeout_s=2)
    model = chat_model(config)
    assert isinstance(model, ChatOllama)
    with pytest.raises(Exception) as caught:
        model.invoke("hello")
    error = explain(caught.value, config)
    assert "cannot reach the 'ollama' provider at http://127.0.0.1:9" in str(error)


def test_unknown_provider() -> None:
    with pytest.raises(PluginError, match="unknown LLM provider 'openia'. Did you mean 'openai'"):
        chat_model(LLMConfig(provider="openia"))


def test_missing_model_file() -> None:
    with pytest.raises(LLMError, match="model file not found: /nope/model.gguf"):
        chat_model(LLMConfig(model="/nope/model.gguf"))


def test_corrupt_model_file(tmp_path: Path) -> None:
    bogus = tmp_path / "model.gguf"
    bogus.write_bytes(b"<html>not a model</html>")
    with pytest.raises(LLMError, match="not a GGUF model file"):
        model_file(str(bogus))


def _chunk_packages(tmp_path: Path, prefix: str, chunks: list[bytes]) -> None:
    for number, data in enumerate(chunks, start=1):
        package = tmp_path / f"{prefix}{number}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / f"part{number:02d}.bin").write_bytes(data)


def test_embedded_model_is_assembled_verified_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chunks = [b"GGUF" + b"a" * 10, b"b" * 7, b"c" * 3]
    _chunk_packages(tmp_path, "fake_model_part", chunks)
    monkeypatch.syspath_prepend(str(tmp_path))
    whole = b"".join(chunks)
    model = EmbeddedModel(
        "fake", "test", "fake_model_part", 3, len(whole), hashlib.sha256(whole).hexdigest()
    )
    path = model_file.__globals__["_assembled"](model, tmp_path / "cache")
    assert path.read_bytes() == whole
    assert path.with_suffix(".verified").exists()
    assert model_file.__globals__["_assembled"](model, tmp_path / "cache") == path  # reused


def test_embedded_model_with_wrong_checksum_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _chunk_packages(tmp_path, "bad_model_part", [b"GGUF", b"tampered"])
    monkeypatch.syspath_prepend(str(tmp_path))
    model = EmbeddedModel("bad", "test", "bad_model_part", 2, 12, "0" * 64)
    with pytest.raises(LLMError, match="wrong checksum"):
        model_file.__globals__["_assembled"](model, tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("*.gguf"))  # nothing half-written is left


def test_embedded_model_with_missing_package(tmp_path: Path) -> None:
    model = EmbeddedModel("gone", "test", "no_such_model_part", 2, 1, "0" * 64)
    with pytest.raises(LLMError, match="needs the package 'no-such-model-part1'"):
        model_file.__globals__["_assembled"](model, tmp_path)


TOOLS = [
    {
        "name": "search",
        "description": "Search reviews.",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string"}},
            "required": ["query"],
        },
    },
    {
        "name": "count",
        "description": "Count products.",
        "parameters": {"type": "object", "properties": {"brand": {"type": "string"}}},
    },
]


def test_tool_choice_schema_offers_every_tool_and_an_answer() -> None:
    schema = tool_choice_schema(TOOLS, may_answer=True)
    options = schema["oneOf"]
    assert [o["properties"].get("tool", {}).get("const") for o in options] == [
        "search",
        "count",
        None,
    ]
    assert options[2]["required"] == ["answer"]
    assert options[2]["properties"]["answer"]["minLength"] == 1  # never an empty reply
    forced = tool_choice_schema(TOOLS[:1], may_answer=False)
    assert forced["properties"]["tool"] == {"const": "search"}


def test_replies_become_tool_calls_or_answers() -> None:
    call = _to_ai_message(json.dumps({"tool": "search", "arguments": {"query": "battery"}}), TOOLS)
    assert call.tool_calls[0]["name"] == "search" and call.tool_calls[0]["args"] == {
        "query": "battery"
    }
    answer = _to_ai_message('{"answer": "42"}', TOOLS)
    assert answer.content == "42" and not answer.tool_calls
    truncated = _to_ai_message('{"answer": "unfinish', TOOLS)
    assert truncated.content == '{"answer": "unfinish'


def test_history_with_tool_calls_is_rendered_for_the_model() -> None:
    messages = [
        SystemMessage("Be brief."),
        HumanMessage("battery?"),
        AIMessage("", tool_calls=[{"name": "search", "args": {"query": "battery"}, "id": "1"}]),
        ToolMessage("3 reviews", tool_call_id="1", name="search"),
    ]
    chat = [_to_llama_message(m) for m in messages]
    assert chat[2] == {
        "role": "assistant",
        "content": '{"tool": "search", "arguments": {"query": "battery"}}',
    }
    assert chat[3]["role"] == "user" and chat[3]["content"].startswith("Result of search")
    with_tools = _with_tool_instructions(chat, TOOLS, may_answer=True)
    assert (
        with_tools[0]["content"].startswith("Be brief.")
        and "- search(query: string)" in with_tools[0]["content"]
    )


def test_inline_refs_resolves_pydantic_defs() -> None:
    from distill.plugins.ner import Entities

    schema = inline_refs(Entities.model_json_schema())
    assert "$defs" not in json.dumps(schema) and "$ref" not in json.dumps(schema)
    assert schema["properties"]["entities"]["items"]["properties"]["label"]["type"] == "string"


def test_disk_cache_round_trip_stores_no_secrets(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path / "cache.sqlite")
    llm_string = '{"api_key": "sk-very-secret", "model": "x"}'
    assert cache.lookup("prompt", llm_string) is None
    cache.update("prompt", llm_string, [ChatGeneration(message=AIMessage("cached answer"))])
    hit = cache.lookup("prompt", llm_string)
    assert hit is not None and hit[0].message.content == "cached answer"
    assert cache.lookup("prompt", llm_string.replace("x", "y")) is None
    assert b"sk-very-secret" not in (tmp_path / "cache.sqlite").read_bytes()


def test_cache_is_attached_only_when_enabled(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DISTILL_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    assert isinstance(chat_model(LLMConfig(provider="openai")).cache, DiskCache)
    assert chat_model(LLMConfig(provider="openai", cache=False)).cache is None


def test_python_version() -> None:
    assert sys.version_info[:2] == (3, 11)


# ChatLocalLlama over a fake llama.cpp: streaming, async, tool choice, structured output


class FakeLlama:
    """Replies with fixed text, in 4-character pieces when streamed, like llama-cpp-python."""

    prompt_tokens = 7

    def __init__(self, reply: str, delay: float = 0.0) -> None:
        self.reply = reply
        self.delay = delay
        self.requests: list[dict] = []
        self.n_tokens = 0
        self.pieces_sent = 0

    def create_chat_completion(self, *, stream: bool = False, **request: object) -> object:
        self.requests.append(request)
        pieces = [self.reply[i : i + 4] for i in range(0, len(self.reply), 4)]
        if stream:
            return self._stream(pieces)
        usage = {"prompt_tokens": 7, "completion_tokens": len(pieces)}
        return {
            "choices": [{"message": {"content": self.reply}, "finish_reason": "stop"}],
            "usage": {**usage, "total_tokens": 7 + len(pieces)},
        }

    def _stream(self, pieces: list[str]) -> Iterator[dict]:
        self.n_tokens = self.prompt_tokens  # the prompt is evaluated before the first chunk
        yield {"choices": [{"delta": {"role": "assistant"}, "finish_reason": None}]}
        for piece in pieces:
            time.sleep(self.delay)
            self.pieces_sent += 1
            yield {"choices": [{"delta": {"content": piece}, "finish_reason": None}]}
            self.n_tokens += 1
        yield {"choices": [{"delta": {}, "finish_reason": "stop"}]}


def fake_model(reply: str, delay: float = 0.0) -> tuple[ChatLocalLlama, FakeLlama]:
    model = ChatLocalLlama(model_path="/models/fake.gguf")
    llama = FakeLlama(reply, delay)
    model._llama, model._lock = llama, threading.Lock()
    return model, llama


def test_stream_yields_tokens_with_usage_on_the_last_chunk() -> None:
    model, _ = fake_model("Hello there, how are you?")
    chunks = list(model.stream("hi"))
    assert len(chunks) > 3 and "".join(c.text for c in chunks) == "Hello there, how are you?"
    last = chunks[-1]
    assert last.chunk_position == "last" and last.response_metadata["model_name"] == "fake.gguf"
    assert last.usage_metadata == {"input_tokens": 7, "output_tokens": 7, "total_tokens": 14}
    assert all(c.usage_metadata is None for c in chunks[:-1])


def test_stream_with_tools_streams_the_answer_text_not_the_protocol_json() -> None:
    model, _ = fake_model(json.dumps({"answer": 'The "Aster" lasts\nlongest.'}))
    chunks = list(model.bind_tools(TOOLS).stream("which battery lasts?"))
    assert sum(bool(c.text) for c in chunks) > 2  # as it is written, not at the end
    assert "".join(c.text for c in chunks) == 'The "Aster" lasts\nlongest.'


def test_stream_with_tools_emits_the_tool_call_once_complete() -> None:
    model, llama = fake_model(json.dumps({"tool": "search", "arguments": {"query": "ünï"}}))
    full = None
    for chunk in model.bind_tools(TOOLS, tool_choice="any").stream("find battery reviews"):
        full = chunk if full is None else full + chunk
    assert full is not None and full.text == ""
    assert [(c["name"], c["args"]) for c in full.tool_calls] == [("search", {"query": "ünï"})]
    assert "search" in json.dumps(llama.requests[0]["response_format"]["schema"])


def test_stopping_a_stream_early_stops_generation_and_frees_the_model() -> None:
    model, llama = fake_model("word " * 200, delay=0.01)
    for _ in model.stream("talk"):
        break
    assert model._lock is not None and model._lock.acquire(timeout=5)  # the worker let go
    model._lock.release()
    assert llama.pieces_sent < 50


def test_calling_the_model_inside_a_stream_loop_does_not_deadlock() -> None:
    model, _ = fake_model("one two three")
    inner = [model.invoke("nested").text for chunk in model.stream("outer") if chunk.text][:1]
    assert inner == ["one two three"]


async def test_async_invoke_and_stream() -> None:
    model, _ = fake_model("Hello async world")
    assert (await model.ainvoke("hi")).text == "Hello async world"
    chunks = [chunk async for chunk in model.astream("hi")]
    assert "".join(c.text for c in chunks) == "Hello async world" and len(chunks) > 2
    assert chunks[-1].usage_metadata is not None


def test_tool_choice_spellings() -> None:
    names = ["search", "count"]
    assert normalize_tool_choice(None, names) is None
    assert normalize_tool_choice("auto", names) is None
    for forced in ("any", "required", True, {"type": "any"}):
        assert normalize_tool_choice(forced, names) == "any"
    assert normalize_tool_choice(False, names) == "none"
    assert normalize_tool_choice({"type": "function", "function": {"name": "count"}}, names) == (
        "count"
    )
    assert normalize_tool_choice({"type": "tool", "name": "search"}, names) == "search"
    with pytest.raises(LLMError, match="'lookup' is not among the bound tools"):
        normalize_tool_choice("lookup", names)


def test_forced_tool_offers_only_that_tool_and_no_answer() -> None:
    model, llama = fake_model(json.dumps({"tool": "count", "arguments": {"brand": "Nokia"}}))
    reply = model.bind_tools(TOOLS, tool_choice="count").invoke("how many Nokia phones?")
    assert reply.tool_calls[0]["args"] == {"brand": "Nokia"}
    schema = llama.requests[0]["response_format"]["schema"]
    assert schema["properties"]["tool"] == {"const": "count"}
    model.bind_tools(TOOLS, tool_choice="none").invoke("hello")
    assert llama.requests[1]["response_format"] is None


class Joke(TypedDict):
    """Joke to tell user."""

    setup: Annotated[str, ..., "question to set up a joke"]
    punchline: Annotated[str, ..., "answer to resolve the joke"]


def test_structured_output_from_typeddict_and_json_schema_with_raw() -> None:
    reply = '{"setup": "Why?", "punchline": "Because."}'
    model, llama = fake_model(reply)
    assert model.with_structured_output(Joke).invoke("joke") == json.loads(reply)
    assert llama.requests[0]["response_format"]["schema"]["required"] == ["setup", "punchline"]
    raw = model.with_structured_output(convert_to_json_schema(Joke), include_raw=True)
    result = raw.invoke("joke")
    assert result["parsed"] == json.loads(reply) and result["parsing_error"] is None
    assert result["raw"].text == reply
    call = json.dumps({"tool": "Joke", "arguments": json.loads(reply)})
    model, llama = fake_model(call)
    called = model.with_structured_output(Joke, method="function_calling", include_raw=True)
    result = called.invoke("joke")
    assert result["parsed"] == json.loads(reply) and result["raw"].tool_calls
    schema = llama.requests[0]["response_format"]["schema"]
    assert schema["properties"]["tool"] == {"const": "Joke"}  # forced: no answer option


class JokeModel(BaseModel):
    setup: str
    punchline: str


def test_structured_output_parsing_error_is_reported_with_include_raw() -> None:
    model, _ = fake_model('{"setup": "Why?"')  # cut off by max_tokens
    result = model.with_structured_output(JokeModel, include_raw=True).invoke("joke")
    assert result["parsed"] is None and result["parsing_error"] is not None


def test_standard_tracing_params() -> None:
    model = ChatLocalLlama(model_path="/m/qwen.gguf", stop=["\n\n"], max_tokens=9)
    params = model._get_ls_params()
    assert params["ls_model_name"] == "qwen.gguf" and params["ls_provider"] == "llamacpp"
    assert params["ls_stop"] == ["\n\n"] and params["ls_max_tokens"] == 9
    assert model._get_ls_params(model="other.gguf")["ls_model_name"] == "other.gguf"
