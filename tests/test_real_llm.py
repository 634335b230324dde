"""Real-path tests on the embedded model (llama.cpp + the GGUF from PyPI packages).

They run in CI: each is a few seconds once the model is loaded.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from langchain_core.tools import tool
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
    assert isinstance(facts, ReviewFacts)
    assert "Zephyr" in facts.product


@tool
def weather_forecast(city: str) -> str:
    """Get tomorrow's weather forecast for a city."""
    return "sunny"


@tool
def catalog_lookup(product_name: str) -> str:
    """Look up a product in the product catalog: price, release date and specs."""
    return "found"


def test_model_chooses_the_right_tool_among_several(model) -> None:  # type: ignore[no-untyped-def]
    chooser = model.bind_tools([weather_forecast, catalog_lookup])
    weather = chooser.invoke("Do I need an umbrella in Lisbon tomorrow?")
    product = chooser.invoke("When was the Nebula Phone 3 released and what does it cost?")
    assert [c["name"] for c in weather.tool_calls] == ["weather_forecast"]
    assert "Lisbon" in weather.tool_calls[0]["args"]["city"]
    assert [c["name"] for c in product.tool_calls] == ["catalog_lookup"]
    assert "Nebula" in product.tool_calls[0]["args"]["product_name"]


def test_example_plugin_tool_is_offered_to_the_model(model) -> None:  # type: ignore[no-untyped-def]
    from distill.plugins import all_tools

    tools = {t.name: t for t in all_tools()}
    assert "prices" in tools
    chooser = model.bind_tools([tools["prices"], weather_forecast])
    reply = chooser.invoke("Which prices are mentioned in: 'I paid $499, a friend paid £450'?")
    assert reply.tool_calls[0]["name"] == "prices"
    result = tools["prices"].invoke(reply.tool_calls[0]["args"])
    assert {p["currency"] for p in result["prices"]} >= {"USD"}


def test_llm_ping_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "distill.cli", "llm", "ping"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "tokens/s" in result.stdout and "latency" in result.stdout
