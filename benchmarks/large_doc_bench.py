"""Large documents: one long text through the default ingest pipeline into LadybugDB + the index.

    python -m benchmarks.large_doc_bench                       # 100 KB and 1 MB, review and dense
    python -m benchmarks.large_doc_bench --sizes 1000000 --kinds dense --no-write
    python -m benchmarks.large_doc_bench --window 1000000000   # the whole document at once

Two kinds of text, both generated (seeded) from the ingest benchmark's review generator:
`review` is synthetic reviews one after another (~1 product mention per 100 characters);
`dense` names three catalog products in every sentence (~1 per 25 characters). Each run is
its own subprocess, so its peak RSS (`ru_maxrss`) is its own; stages are timed (CPU) by
wrapping each backend's `predict`, the store's writes and the index's `add`.
Writes the `## Ingest: large documents` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.ingest_bench import (
    ASPECT_PHRASES,
    POLARITY_WORDS,
    ReviewGenerator,
    _catalog,
)
from benchmarks.report import machine, write_section

TITLE = "Ingest: large documents"
TASKS = ("ner", "linker", "sentiment")
ROOT = Path(__file__).resolve().parents[1]
# tracked in git: the BENCHMARKS.md section is rebuilt from it
RESULTS = Path(__file__).resolve().parent / "results" / "large_doc.json"
"""Rows accumulate here across runs; the section is rewritten from all of them."""


def make_text(kind: str, size: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    parts: list[str] = []
    length = 0
    if kind == "review":
        generator = ReviewGenerator(seed)
        while length < size:
            parts.append(generator.review(len(parts)))
            length += len(parts[-1]) + 2
    else:
        names = [entry["name"] for entry in _catalog()]
        aspects = [phrase for phrases in ASPECT_PHRASES.values() for phrase in phrases]
        words = [word for group in POLARITY_WORDS.values() for word in group]
        while length < size:
            p, q, r = rng.sample(names, 3)
            parts.append(
                f"The {p} beats the {q} on {rng.choice(aspects)}, but the {r} "
                f"{rng.choice(aspects)} is {rng.choice(words)}."
            )
            length += len(parts[-1]) + 2
    return "\n\n".join(parts)[:size]


class CpuTimers:
    """CPU seconds (all threads of this process) per stage: unlike wall time, not inflated by
    other jobs on a shared machine."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._inside: set[str] = set()

    def wrap(self, name: str, fn: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            if name in self._inside:  # write_documents calling write_document: count once
                return fn(*args, **kwargs)
            self._inside.add(name)
            started = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self._inside.discard(name)
                spent = time.process_time() - started
                self.seconds[name] = self.seconds.get(name, 0.0) + spent

        return timed


def bench_config(workdir: Path) -> Any:
    """What `distill ingest` runs with no flags (the shipped NER, the match linker, the shipped
    sentiment model), with the demo's catalog, into LadybugDB and the index under `workdir`."""
    from distill.config import load_config

    overrides = [
        f"catalog.path={ROOT / 'examples' / 'demo' / 'catalog.jsonl'}",
        "graph.store=ladybug",
        f"graph.path={workdir / 'graph'}",
        f"index.path={workdir / 'index'}",
    ]
    return load_config(None, overrides=overrides, environ={}).config


def run_one(kind: str, size: int, window: int | None) -> dict[str, Any]:
    """One document through the configured pipeline in this process; the figures."""
    from distill.graph.ladybug_store import LadybugStore
    from distill.ingest import pipeline as pipeline_module
    from distill.ingest.index import DocumentIndex
    from distill.ingest.pipeline import Pipeline, ingest

    workdir = Path(tempfile.mkdtemp(prefix="distill-large-doc-"))
    config = bench_config(workdir)
    path = workdir / "large.jsonl"
    path.write_text(json.dumps({"id": f"{kind}-{size}", "text": make_text(kind, size)}) + "\n")
    options = {"window_chars": window} if window else {}
    pipeline = Pipeline(config, **options)
    for backend in pipeline.backends.values():
        getattr(backend, "warm_up", lambda: None)()
    loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    timers = CpuTimers()
    for task, backend in pipeline.backends.items():
        backend.predict = timers.wrap(task, backend.predict)  # type: ignore[method-assign]
    for method in ("write_document", "write_documents"):
        setattr(LadybugStore, method, timers.wrap("write", getattr(LadybugStore, method)))
    DocumentIndex.add = timers.wrap("index", DocumentIndex.add)  # type: ignore[method-assign]
    started, cpu = time.perf_counter(), time.process_time()
    report = ingest([path], config, pipeline=pipeline)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "kind": kind,
        "chars": size,
        "window": window or pipeline_module.WINDOW_CHARS,
        "ok": report.ok,
        "failures": [f.reason for f in report.failures],
        "mentions": report.mentions,
        "opinions": report.opinions,
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu, 1),
        "stages": {name: round(value, 1) for name, value in timers.seconds.items()},
        "models_mb": round(loaded),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "backends": report.backends,
        "load": round(os.getloadavg()[0], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="characters, comma-separated")
    parser.add_argument("--kinds", default="review,dense")
    parser.add_argument(
        "--window", type=int, default=None, help="window_chars (default: the pipeline's)"
    )
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--one", nargs=2, metavar=("KIND", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one[0], int(args.one[1]), args.window)))
        return
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        for kind in args.kinds.split(","):
            command = [sys.executable, "-m", "benchmarks.large_doc_bench", "--one", kind, str(size)]
            if args.window:
                command += ["--window", str(args.window)]
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                print(done.stderr[-2000:], file=sys.stderr)
                continue
            row = json.loads(done.stdout.strip().splitlines()[-1])
            print(json.dumps(row), flush=True)
            rows.append(row)
    if not args.no_write and rows:
        saved = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        saved.update({f"{r['kind']}-{r['chars']}-{r['window']}": r for r in rows})
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(saved, indent=1))
        ordered = sorted(saved.values(), key=lambda r: (r["chars"], r["kind"], r["window"]))
        write_section(TITLE, markdown(ordered))


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| text | characters | window | CPU s | chars per CPU s | tools | write | index "
        "| peak RSS (models alone) | mentions | opinions | wall s (load) |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        stages = r["stages"]
        tools = " + ".join(f"{stages[t]:.0f}" for t in TASKS if t in stages)
        lines.append(
            f"| {r['kind']} | {r['chars']:,} | {r['window']:,} | {r['cpu_seconds']:.0f} | "
            f"{r['chars'] / r['cpu_seconds']:,.0f} | {tools} | {stages.get('write', 0):.0f} | "
            f"{stages.get('index', 0):.0f} | {r['peak_mb']:,} MB ({r['models_mb']:,} MB) | "
            f"{r['mentions']:,} | {r['opinions']:,} | {r['seconds']:.0f} ({r['load']}) |"
        )
    backends = ", ".join(f"{t}={b}" for t, b in rows[0]["backends"].items())
    return (
        "`python -m benchmarks.large_doc_bench`: one document of the given size through what\n"
        f"`distill ingest` runs with no flags ({backends}: the shipped NER and sentiment\n"
        "models, the match linker on the demo catalog) into LadybugDB and the document index\n"
        "(MiniLM passages). `review`: synthetic reviews back to back; `dense`: three catalog\n"
        "products named in every sentence. Each row is its own process. Times are CPU seconds\n"
        "of the process (all threads; `tools` is NER + linker + sentiment): the machine is\n"
        "shared, so wall time depends on its load (the 1-minute load average, on 2 cores, is in\n"
        "brackets); on an idle machine wall time is close to the CPU time. Peak RSS\n"
        "includes the models (shown alone in brackets).\n\n"
        + "\n".join(lines)
        + f"\n\nMachine: {machine()}.\n"
    )


if __name__ == "__main__":
    main()
