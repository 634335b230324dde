"""The embedded LLM: load time, generation speed, tool choice and structured output.

python -m benchmarks.llm_bench            # rewrites "## Embedded LLM" in BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
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


PROMPT_TEXT = " ".join(["The battery lasts two days and the screen is bright."] * 40)


def measure(model_name: str | None) -> dict[str, float | str]:
    """One row: load, prompt processing, generation, tool choice and extraction timings."""
    config = LLMConfig(model=model_name, cache=False, max_tokens=128)
    started = time.perf_counter()
    model = chat_model(config)
    model.llama()
    load_s = time.perf_counter() - started

    started = time.perf_counter()
    reply = model.invoke("Describe a good phone battery in three sentences.")
    gen_s = time.perf_counter() - started
    tokens = reply.usage_metadata["output_tokens"]

    # prompt processing (prefill): a long prompt, one output token
    started = time.perf_counter()
    prefill = model.bind(max_tokens=1).invoke(f"Summarize: {PROMPT_TEXT}")
    prefill_s = time.perf_counter() - started
    prompt_tokens = prefill.usage_metadata["input_tokens"]

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
    return {
        "name": model._identifying_params["model"],
        "load_s": load_s,
        "gen_tps": tokens / gen_s,
        "prefill_tps": prompt_tokens / prefill_s,
        "choice": f"{correct}/{len(REQUESTS)}",
        "choice_median_s": statistics.median(seconds),
        "structured_s": structured_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=None, help="embedded model name or .gguf path")
    parser.add_argument("--one", action="store_true", help="measure once and print JSON")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.model)))
        return

    from distill.llm.runtime import VARIANT_ENV, build_info, cpu_variants

    # each CPU variant in its own process (ggml loads one CPU backend per process);
    # "auto" is what users get: ggml's pick of the best variant this CPU supports
    rows = []
    for variant in ["auto", *cpu_variants()]:
        env = dict(os.environ)
        if variant != "auto":
            env[VARIANT_ENV] = variant
        command = [sys.executable, "-m", "benchmarks.llm_bench", "--one"]
        if args.model:
            command += ["--model", args.model]
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["?"])[-1]
            rows.append(f"| {variant} | not runnable on this CPU ({last[:80]}) | | | | |")
            continue
        row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(
            f"| {variant} | {row['load_s']:.1f} s | {row['prefill_tps']:.0f} | "
            f"{row['gen_tps']:.1f} | {row['choice']}, median {row['choice_median_s']:.1f} s | "
            f"{row['structured_s']:.1f} s |"
        )
        print(rows[-1], flush=True)
    table = "\n".join(rows)
    body = f"""Machine: {machine()}.
Model: the embedded GGUF through llama-cpp-python (CPU), built by `scripts/llama_wheel.sh`
with `{build_info()["flags"]}`. Each row forces one ggml CPU variant (`{VARIANT_ENV}`);
`auto` is what users get: ggml scores the variants against the running CPU and loads the
best. Figures from `python -m benchmarks.llm_bench`.

| CPU variant | load | prompt tok/s | gen tok/s | tool choice ({len(REQUESTS)}) | extraction |
|---|---|---|---|---|---|
{table}
"""
    write_section("Embedded LLM", body)
    print(body)


if __name__ == "__main__":
    main()
