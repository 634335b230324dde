"""LLM providers: selection, keys, model files, tool-choice protocol, cache (no model runs)."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration

from distill.config import LLMConfig
from distill.errors import LLMError, PluginError
from distill.llm import chat_model, explain
from distill.llm.cache import DiskCache
from distill.llm.local import (
    _to_ai_message,
    _to_llama_message,
    _with_tool_instructions,
    inline_refs,
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
