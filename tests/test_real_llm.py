"""Real-path tests on the embedded model (llama.cpp + the GGUF from PyPI packages).

They run in CI: each is a few seconds once the model is loaded.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import BaseTool, tool
from pydantic import BaseModel, Field

from distill.config import LLMConfig
from distill.llm import chat_model

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    return chat_model(LLMConfig(cache=False, max_tokens=128))


class ReviewFacts(BaseModel):
    product: str
    stars: int = Field(ge=1, le=5)
    liked: list[str]
    sentiment: str = Field(pattern="^(positive|negative|mixed)$")


def test_structured_output_is_schema_valid(model) -> None:  # type: ignore[no-untyped-def]
    review = "The Zephyr X2 gets four stars: the camera is superb and the battery lasts two days."
    facts = model.with_structured_output(ReviewFacts).invoke(
        f"Extract the facts of this review: {review}"
    )
    assert isinstance(facts, ReviewFacts)  # validated: stars in 1..5, sentiment one of three


@tool
def weather_forecast(city: str) -> str:
    """Get tomorrow's weather forecast for a city."""
    return "sunny"


@tool
def catalog_lookup(product_name: str) -> str:
    """Look up a product in the product catalog: price, release date and specs."""
    return "found"


# Which tool the model picks on its own is its free choice, and greedy decoding differs
# between CPU builds: these tests assert what the product guarantees (the tools are offered;
# a call, when made, names an offered tool with schema-valid arguments; tool_choice forces
# one). How often the model picks the right tool is measured by benchmarks/llm_bench.py.


def assert_valid_calls(reply: AIMessage, tools: list[BaseTool]) -> None:
    offered = {t.name: t for t in tools}
    for call in reply.tool_calls:
        assert call["name"] in offered
        schema = offered[call["name"]].args_schema
        assert isinstance(schema, type) and issubclass(schema, BaseModel)
        schema.model_validate(call["args"])
    assert reply.tool_calls or reply.text  # a call or an answer, never nothing


def test_model_chooses_among_several_tools_and_can_be_forced(model) -> None:  # type: ignore[no-untyped-def]
    tools: list[BaseTool] = [weather_forecast, catalog_lookup]
    reply = model.bind_tools(tools).invoke("Do I need an umbrella in Lisbon tomorrow?")
    assert_valid_calls(reply, tools)
    forced = model.bind_tools(tools, tool_choice="catalog_lookup").invoke(
        "When was the Nebula Phone 3 released and what does it cost?"
    )
    assert [c["name"] for c in forced.tool_calls] == ["catalog_lookup"]
    assert_valid_calls(forced, tools)


def test_example_plugin_tool_is_offered_to_the_model(model) -> None:  # type: ignore[no-untyped-def]
    from distill.plugins import all_tools

    tools = {t.name: t for t in all_tools()}
    assert "prices" in tools
    offered: list[BaseTool] = [tools["prices"], weather_forecast]
    question = "Which prices are mentioned in: 'I paid $499, a friend paid £450'?"
    chooser = model.bind_tools(offered)
    request, _ = model._request([HumanMessage(question)], None, **chooser.kwargs)
    options = request["response_format"]["schema"]["oneOf"]
    prices = next(o for o in options if o["properties"].get("tool") == {"const": "prices"})
    assert prices["properties"]["arguments"]["properties"].keys() == (
        tools["prices"].args_schema.model_json_schema()["properties"].keys()
    )
    assert "- prices(" in request["messages"][0]["content"]  # described in the instructions
    assert_valid_calls(chooser.invoke(question), offered)
    forced = model.bind_tools(offered, tool_choice="prices").invoke(question)
    assert [c["name"] for c in forced.tool_calls] == ["prices"]
    assert_valid_calls(forced, offered)
    result = tools["prices"].invoke(forced.tool_calls[0]["args"])
    assert isinstance(result, dict) and isinstance(result["prices"], list)  # ran without error


def test_stream_is_token_by_token_and_can_stop_early(model) -> None:  # type: ignore[no-untyped-def]
    chunks = list(model.stream("Count from one to ten in words."))
    assert len([c for c in chunks if c.text]) > 3 and chunks[-1].usage_metadata
    for seen, _chunk in enumerate(model.stream("Write a long story about a lighthouse."), 1):
        if seen == 3:
            break  # the prompt backend stops as soon as it has what it needs
    assert model.invoke("Say OK.").text  # the model is free again at once


def test_llm_ping_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "distill.cli", "llm", "ping"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "tokens/s" in result.stdout and "latency" in result.stdout
