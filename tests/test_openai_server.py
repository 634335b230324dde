"""The `openai` provider against a real OpenAI-compatible server on 127.0.0.1.

`python -m llama_cpp.server` (llama-cpp-python's server, the `server` extra) serves the
embedded GGUF with `--chat_format chatml-function-calling`, started once per session on a
free port. What a user who points `llm.base_url` at vLLM, Ollama or a hosted API relies on:
plain chat, tool choice, structured output, the prompt backend's concurrent batch, and a
clear error when the server is down. Replies are kept short (small `max_tokens`, `n_ctx`).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.tools import tool
from pydantic import BaseModel

from distill.config import LLMConfig
from distill.doc import make_doc
from distill.errors import LLMError
from distill.llm import chat_model
from distill.plugins import BackendOptions
from distill.plugins.ner import NERTask
from distill.plugins.prompt_backend import PromptBackend

LAUNCH = (
    "import runpy; from distill.llm.runtime import load_cpu_backends; load_cpu_backends(); "
    "runpy.run_module('llama_cpp.server', run_name='__main__', alter_sys=True)"
)
"""The server, after loading ggml's CPU backends (a portable build ships them as plugins)."""
STARTUP_S = 600


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a llama_cpp.server serving the embedded model; stopped after the session."""
    pytest.importorskip("llama_cpp.server.app", reason="needs llama-cpp-python's server extra")
    from distill.llm.models import model_file

    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    command = [sys.executable, "-c", LAUNCH, "--model", str(model_file(None))]
    command += ["--model_alias", "local", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--n_ctx", "2048", "--chat_format", "chatml-function-calling"]
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_up(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"llama_cpp.server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    pytest.fail(f"llama_cpp.server did not answer within {STARTUP_S} s:\n{log.read_text()}")


def remote(url: str, **settings: Any) -> Any:
    config = {"max_tokens": 48, "cache": False, "timeout_s": 300} | settings
    return chat_model(LLMConfig(provider="openai", base_url=url, model="local", **config))


@tool
def get_weather(city: str) -> str:
    """The current weather in a city."""
    return "sunny"


@tool
def get_price(product: str) -> str:
    """The price of a product in the shop."""
    return "10 EUR"


class Capital(BaseModel):
    country: str
    capital: str


@pytest.mark.real
def test_plain_chat(server: str) -> None:
    reply = remote(server, max_tokens=8).invoke("Say hello.")
    assert isinstance(reply.content, str) and reply.content.strip()
    assert reply.response_metadata["finish_reason"] in {"stop", "length"}


@pytest.mark.real
def test_tool_choice_by_name_is_a_valid_call(server: str) -> None:
    model = remote(server).bind_tools([get_weather, get_price], tool_choice="get_weather")
    reply = model.invoke("What is the weather like in Paris today?")
    [call] = reply.tool_calls
    assert call["name"] == "get_weather"
    get_weather.args_schema.model_validate(call["args"])


@pytest.mark.real
def test_tool_choice_any_with_one_tool_forces_it(server: str) -> None:
    reply = remote(server).bind_tools([get_price], tool_choice="any").invoke("Hello!")
    assert [call["name"] for call in reply.tool_calls] == ["get_price"]
    get_price.args_schema.model_validate(reply.tool_calls[0]["args"])


@pytest.mark.real
def test_tools_offered_without_tool_choice_may_be_called(server: str) -> None:
    """The model chooses (auto); whichever it does, a call names a bound tool with valid args.

    Not asserted: that it answers at all. Under `auto` llama.cpp's chatml-function-calling
    handler may pick "message" and then stop at once (an empty reply, seen in CI on another
    CPU), which is the model's choice, not the provider's."""
    model = remote(server).bind_tools([get_weather, get_price])
    reply = model.invoke("Use a tool: what is the weather in Oslo?")
    assert reply.response_metadata["finish_reason"] in {"stop", "length", "tool_calls"}
    for call in reply.tool_calls:
        tool_ = {"get_weather": get_weather, "get_price": get_price}[call["name"]]
        tool_.args_schema.model_validate(call["args"])


@pytest.mark.real
def test_structured_output(server: str) -> None:
    answer = remote(server).with_structured_output(Capital).invoke("The capital of France?")
    assert isinstance(answer, Capital) and answer.capital


class InFlight(BaseCallbackHandler):
    """Counts requests that are under way at the same time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = self.peak = 0

    def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def on_llm_end(self, *args: Any, **kwargs: Any) -> None:
        with self.lock:
            self.now -= 1

    on_llm_error = on_llm_end


@pytest.mark.real
def test_prompt_backend_batches_concurrently(server: str) -> None:
    """`llm.max_concurrency` requests in flight at once (LangChain's batch); answers in order,
    valid against the task's compact schema (sent as a forced function call)."""
    model = remote(server, max_tokens=64)
    watch = InFlight()
    model.callbacks = [watch]
    texts = ["Angela Merkel visited Siemens.", "Paris is in France.", "Tim Cook runs Apple."]
    options = BackendOptions(chat_model=lambda: model, extra={"max_concurrency": 3})
    ner = PromptBackend(NERTask(labels=["PER", "ORG", "LOC"]), options)
    docs = [make_doc(text) for text in texts]
    ner.predict(docs)
    assert ner.failures == [] and ner.llm_calls == 3
    assert watch.peak > 1
    for doc in docs:
        assert all(e.label_ in {"PER", "ORG", "LOC"} for e in doc.ents)


def test_a_server_that_is_down_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    with pytest.raises(LLMError, match="cannot reach the 'openai' provider at .*server running"):
        remote(url).invoke("hi")
    ner = PromptBackend(NERTask(), BackendOptions(chat_model=lambda: remote(url)))
    with pytest.raises(LLMError, match="cannot reach"):
        ner.predict([make_doc("Tim Cook runs Apple.")])
    assert ner.failures == []
