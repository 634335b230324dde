"""The embedded LLM: load time, generation speed, tool choice and structured output.

python -m benchmarks.llm_bench            # rewrites "## Embedded LLM" in BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import statistics
import time

from langchain_core.tools import tool
from pydantic import BaseModel

from benchmarks.report import machine, write_section
from distill.config import LLMConfig
from distill.llm import chat_model


@tool
def search_reviews(query: str) -> str:
    """Search the ingested product reviews for passages about a topic."""
    return ""


@tool
def sentiment_summary(product: str, aspect: str) -> str:
    """Aggregate opinions about one aspect (battery, camera, price...) of one product."""
    return ""


@tool
def catalog_lookup(product_name: str) -> str:
    """Look up a product in the catalog: brand, release date, specs."""
    return ""


REQUESTS = [
    ("Find reviews that talk about overheating while gaming.", "search_reviews"),
    ("How do people feel about the Nebula X battery?", "sentiment_summary"),
    ("When was the Orion Book 14 released?", "catalog_lookup"),
    ("Show me passages where someone mentions a cracked screen.", "search_reviews"),
    ("Is the camera of the Pixel 8 liked or disliked overall?", "sentiment_summary"),
    ("Which brand makes the Zephyr Tab?", "catalog_lookup"),
]


class Extraction(BaseModel):
    product: str
    aspects: list[str]
    overall: str


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=None, help="embedded model name or .gguf path")
    args = parser.parse_args()
    config = LLMConfig(model=args.model, cache=False, max_tokens=128)

    started = time.perf_counter()
    model = chat_model(config)
    model.llama()
    load_s = time.perf_counter() - started

    started = time.perf_counter()
    reply = model.invoke("Describe a good phone battery in three sentences.")
    gen_s = time.perf_counter() - started
    tokens = reply.usage_metadata["output_tokens"]

    chooser = model.bind_tools([search_reviews, sentiment_summary, catalog_lookup])
    seconds, correct = [], 0
    for request, expected in REQUESTS:
        started = time.perf_counter()
        calls = chooser.invoke(request).tool_calls
        seconds.append(time.perf_counter() - started)
        correct += bool(calls) and calls[0]["name"] == expected

    structured = model.with_structured_output(Extraction)
    started = time.perf_counter()
    structured.invoke("Extract: 'Love the Nebula X camera, but the battery dies by noon.'")
    structured_s = time.perf_counter() - started

    name = model._identifying_params["model"]
    choice = (
        f"{correct}/{len(REQUESTS)} right tool; median {statistics.median(seconds):.1f} s, "
        f"max {max(seconds):.1f} s per turn"
    )
    body = f"""Machine: {machine()}.
Model: `{name}` through llama-cpp-python (CPU). Figures from `python -m benchmarks.llm_bench`.

| measure | value |
|---|---|
| model load (file already assembled) | {load_s:.1f} s |
| free generation | {tokens} tokens in {gen_s:.1f} s = {tokens / gen_s:.1f} tokens/s |
| tool choice among 3 tools, {len(REQUESTS)} requests | {choice} |
| schema-constrained extraction (1 call) | {structured_s:.1f} s |
"""
    write_section("Embedded LLM", body)
    print(body)


if __name__ == "__main__":
    main()
