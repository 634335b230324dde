"""Ingest at scale: synthetic product reviews → trained NER, linker, sentiment → LadybugDB.

    python -m benchmarks.ingest_bench --reviews 100000 [--engine local|ray|both]
                                      [--batch-size 64] [--seed 0] [--ray-cpus 2]
                                      [--no-write] [--profile out.prof]

A seeded generator composes reviews from templates (2–5 sentences, 1–3 catalog
products named by their name or an alias, 40–60 words, aspect phrases and polarity
words); nothing is copied from the demo reviews. The reviews are ingested with the
demo's trained models (reused from `.distill/demo/models`, trained there if missing)
into a fresh LadybugDB store in a temporary directory, through the public
`distill.ingest.pipeline.ingest()`.

Each engine runs in its own subprocess, so peak RSS (`ru_maxrss`) is that engine's
alone; for Ray the RSS of the whole process tree (driver, raylet, workers) is also
sampled every 0.5 s. Per-stage times wrap each backend's `predict`, the pipeline's
chunk and facts nodes and the store's `write_document` (local engine; with Ray the
tools run in the actors, so only the driver-side write time is split out).

Results accumulate in `benchmarks/.cache/ingest_results.json`; the `## Ingest at
scale` section of BENCHMARKS.md is rewritten from them after every run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEMO_WORKDIR = ROOT / ".distill" / "demo"
RESULTS = ROOT / "benchmarks" / ".cache" / "ingest_results.json"
TITLE = "Ingest at scale"
TARGET = 1000.0  # reviews per second on the 2-core benchmark machine

# ---------------------------------------------------------------- synthetic reviews

ASPECT_PHRASES = {
    "battery": ["battery", "battery life", "charging speed", "standby time"],
    "camera": ["camera", "main camera", "low light photos", "zoom lens", "selfie camera"],
    "screen": ["screen", "display", "refresh rate", "brightness outdoors"],
    "performance": ["performance", "processor", "speed under load", "multitasking"],
    "design": ["design", "build quality", "hinge", "finish on the back", "weight"],
    "price": ["price", "value for money", "launch price", "cost"],
    "software": ["software", "update schedule", "interface", "bloatware situation"],
    "sound": ["sound", "speakers", "noise cancelling", "call quality", "bass"],
}
POSITIVE = ["excellent", "fantastic", "really solid", "impressive", "great", "superb", "a joy"]
NEGATIVE = ["terrible", "disappointing", "a letdown", "awful", "mediocre", "really poor"]
NEUTRAL = ["okay", "fine I guess", "about average", "acceptable", "nothing special"]
POLARITY_WORDS = {"positive": POSITIVE, "negative": NEGATIVE, "neutral": NEUTRAL}

INTROS = [
    "I bought the {p} about {n} weeks ago",
    "I have been using the {p} every day for {n} months",
    "My partner gave me the {p} for my birthday",
    "After a lot of research I finally picked up the {p}",
    "I switched to the {p} from my old {q}",
    "Coming from the {q}, the {p} felt like a big change",
    "so i got the {p} on sale last week",
    "Work handed me a {p} at the start of the year",
]
OPINIONS = [
    "The {a} on the {p} is {w}",
    "On the {p} the {a} is honestly {w}",
    "I have to say the {a} of the {p} is {w}",
    "the {p} has a {a} that is {w}",
    "Compared to the {q}, the {a} on the {p} is {w}",
]
FOLLOWUPS = [
    "Its {a} is {w} too",
    "The {a} is {w} as well",
    "Also the {a} turned out {w}",
    "On top of that the {a} is {w}",
]
TAILS = [
    " for what I paid",
    " after a full day of use",
    " if you ask me",
    " in my experience so far",
    " when I travel for work",
    " compared to what reviewers promised",
]
CLOSERS = [
    "Would I buy it again? Probably.",
    "I would still recommend it to a friend.",
    "Not sure I would buy it again.",
    "Overall I am happy with it.",
    "Keep the receipt just in case.",
]


def _catalog() -> list[dict[str, Any]]:
    path = ROOT / "examples" / "demo" / "catalog.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


class ReviewGenerator:
    """Deterministic for a seed: review `i` depends only on (seed, i)."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.products = _catalog()

    def _surface(self, rng: random.Random, entry: dict[str, Any]) -> str:
        names = [entry["name"], entry["name"], *entry.get("aliases", [])]
        name = rng.choice(names)
        return name.lower() if rng.random() < 0.1 else name

    def _opinion(self, rng: random.Random, template: str, p: str, q: str) -> str:
        aspect = rng.choice(list(ASPECT_PHRASES))
        polarity = rng.choices(["positive", "negative", "neutral"], weights=[5, 4, 1])[0]
        text = template.format(
            p=p, q=q, a=rng.choice(ASPECT_PHRASES[aspect]), w=rng.choice(POLARITY_WORDS[polarity])
        )
        if rng.random() < 0.5:
            text += rng.choice(TAILS)
        return text[0].upper() + text[1:] + rng.choice([".", ".", ".", "!"])

    def review(self, index: int) -> str:
        rng = random.Random(self.seed * 1_000_003 + index)
        for _ in range(100):
            n_products = rng.choice([1, 1, 2, 2, 3])
            chosen = rng.sample(self.products, n_products)
            n_sentences = rng.randint(max(2, n_products), 5)
            other = rng.choice(self.products)
            sentences = []
            intro = rng.choice(INTROS).format(
                p=self._surface(rng, chosen[0]), q=self._surface(rng, other), n=rng.randint(2, 9)
            )
            sentences.append(intro[0].upper() + intro[1:] + ".")
            for k in range(1, n_sentences):
                entry = chosen[k % n_products]
                if (n_products > 1 and k <= n_products) or rng.random() < 0.5:
                    template = rng.choice(OPINIONS)
                    ref = chosen[(k + 1) % n_products] if n_products > 1 else other
                    sentences.append(
                        self._opinion(
                            rng, template, self._surface(rng, entry), self._surface(rng, ref)
                        )
                    )
                elif rng.random() < 0.8:
                    sentences.append(self._opinion(rng, rng.choice(FOLLOWUPS), "", ""))
                else:
                    sentences.append(rng.choice(CLOSERS))
            text = " ".join(sentences)
            if 40 <= len(text.split()) <= 60:
                return text
            if len(text.split()) < 40 and n_sentences == 5:
                continue
        return text

    def write(self, path: Path, count: int) -> dict[str, Any]:
        words = []
        with path.open("w", encoding="utf-8") as handle:
            for i in range(count):
                text = self.review(i)
                words.append(len(text.split()))
                handle.write(json.dumps({"id": f"syn-{self.seed}-{i:07d}", "text": text}) + "\n")
        return {
            "reviews": count,
            "words": sum(words),
            "avg_words": statistics.fmean(words) if words else 0.0,
            "min_words": min(words, default=0),
            "max_words": max(words, default=0),
        }


# ---------------------------------------------------------------- measuring


class Timers:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, name: str, fn: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started
                self.calls[name] += 1

        return timed


class TreeRss:
    """Peak of the summed RSS of this process and all its descendants (sampled)."""

    def __init__(self, interval: float = 0.5) -> None:
        import psutil

        self.psutil, self.interval, self.peak = psutil, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _sample(self) -> int:
        me = self.psutil.Process()
        total = 0
        for proc in [me, *me.children(recursive=True)]:
            with contextlib.suppress(self.psutil.Error):
                total += proc.memory_info().rss
        return total

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._sample())


def apply_fixes(timers: Timers) -> list[str]:
    """The fixes proposed for code this benchmark may not edit, applied by monkeypatching
    (this process only), so their effect is measured on the same data."""
    import numpy as np
    import torch

    from distill.graph import cypher_store
    from distill.plugins.linker import embed as embed_module
    from distill.plugins.sentiment.model import AbsaModel

    applied = []
    # (a) PyTorch: one intra-op thread per process. On a busy 2-core machine two spinning
    # OpenMP threads fight the other process (and the linker's encoder) for the cores.
    torch.set_num_threads(1)
    applied.append("torch.set_num_threads(1)")

    # (b) linker: memoize mention embeddings (product surface forms repeat across reviews).
    original_embed = embed_module.embed
    cache: dict[tuple[str, int], np.ndarray] = {}

    def cached_embed(texts: Any, batch_size: int = 128, max_length: int = 64) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if (t, max_length) not in cache))
        if missing:
            for text, vector in zip(
                missing, original_embed(missing, batch_size, max_length), strict=True
            ):
                cache[(text, max_length)] = vector
        if not texts:
            return original_embed(texts, batch_size, max_length)
        return np.stack([cache[(t, max_length)] for t in texts])

    embed_module.embed = cached_embed
    applied.append("linker: mention-embedding cache in CandidateIndex.generate")

    # (c) sentiment: batch inputs sorted by length, so padding follows each batch's longest.
    original_probabilities = AbsaModel.probabilities

    def sorted_probabilities(
        self: Any, texts: list[str], pairs: list[str] | None = None, batch_size: int = 64
    ) -> torch.Tensor:
        if len(texts) <= 1:
            return original_probabilities(self, texts, pairs, batch_size)
        order = sorted(
            range(len(texts)), key=lambda i: len(texts[i]) + len(pairs[i] if pairs else "")
        )
        probs = original_probabilities(
            self,
            [texts[i] for i in order],
            [pairs[i] for i in order] if pairs is not None else None,
            batch_size,
        )
        out = torch.empty_like(probs)
        out[torch.tensor(order)] = probs
        return out

    AbsaModel.probabilities = sorted_probabilities  # type: ignore[method-assign]
    applied.append("sentiment: length-sorted batches in AbsaModel.probabilities")

    # (d) writes: a document not yet in the store touches no shared node, so skip the five
    # `_touched` reads (one existence read instead).
    original_touched = cypher_store.CypherStore._touched

    def touched(self: Any, doc_id: str) -> dict[str, list[str]]:
        if not self._run("MATCH (d:Document {id: $doc}) RETURN d.id AS id", {"doc": doc_id}):
            return {"Entity": [], "Product": [], "Aspect": []}
        return original_touched(self, doc_id)

    cypher_store.CypherStore._touched = touched  # type: ignore[method-assign]
    applied.append("store: CypherStore._touched returns early for a new document")
    return applied


def demo_config(graph_path: Path) -> Any:
    from distill.config import Config
    from distill.demo.run import demo_config as make
    from distill.demo.run import train_models

    config = make(Config(), DEMO_WORKDIR)
    train_models(config)  # no-op when the demo models exist
    graph = config.graph.model_copy(update={"store": "ladybug", "path": str(graph_path)})
    return config.model_copy(update={"graph": graph})


def run_engine(args: argparse.Namespace, reviews_file: Path, dataset: dict[str, Any]) -> dict:
    """One ingest run in this process; returns the figures."""
    import torch

    from distill.graph.ladybug_store import LadybugStore
    from distill.ingest.pipeline import Pipeline, ingest

    timers = Timers()
    fixes = apply_fixes(timers) if args.fixes else []
    workdir = Path(tempfile.mkdtemp(prefix="distill-ingest-bench-"))
    config = demo_config(workdir / "graph")

    started = time.perf_counter()
    pipeline = Pipeline(config)
    if args.engine == "local":  # lazy loads (linker's MiniLM + faiss index) happen here, untimed
        from distill.ingest.readers import SourceDocument

        warm = [
            SourceDocument(id=f"warm-{i}", text=ReviewGenerator(-1).review(i), source="warm")
            for i in range(8)
        ]
        pipeline.run(warm)
    load_seconds = time.perf_counter() - started
    if args.engine == "local":
        for task, backend in pipeline.backends.items():
            backend.predict = timers.wrap(task, backend.predict)
        for node in ("_chunk", "_facts"):
            setattr(pipeline, node, timers.wrap(node.strip("_"), getattr(pipeline, node)))
        pipeline.graph = pipeline._compile()  # recompile so the graph calls the timed nodes
    original_write = LadybugStore.write_document
    LadybugStore.write_document = timers.wrap("write", original_write)  # type: ignore[method-assign]

    ray_cpus = None
    if args.engine == "ray":
        import ray

        ray.init(
            num_cpus=args.ray_cpus,
            include_dashboard=False,
            logging_level="ERROR",
            log_to_driver=False,
        )
        ray_cpus = ray.available_resources().get("CPU")

    load_before = os.getloadavg()
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    with TreeRss() as tree:
        report = ingest(
            [reviews_file],
            config,
            pipeline=pipeline,
            engine=args.engine,
            batch_size=args.batch_size,
            on_progress=_progress(dataset["reviews"]),
        )
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    load_after = os.getloadavg()
    LadybugStore.write_document = original_write  # type: ignore[method-assign]
    if args.engine == "ray":
        import ray

        ray.shutdown()
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    seconds = report.seconds
    stages = {name: round(value, 2) for name, value in timers.seconds.items()}
    return {
        "engine": args.engine + ("+fixes" if args.fixes else ""),
        "fixes": fixes,
        "batch_size": args.batch_size,
        "ray_cpus": ray_cpus,
        "torch_threads": torch.get_num_threads(),
        "reviews": dataset["reviews"],
        "words": dataset["words"],
        "documents": report.documents,
        "written": report.written,
        "failures": len(report.failures),
        "failure_examples": [f.model_dump() for f in report.failures[:3]],
        "mentions": report.mentions,
        "opinions": report.opinions,
        "facts": report.facts,
        "seconds": round(seconds, 2),
        "model_load_seconds": round(load_seconds, 2),
        "reviews_per_second": round(report.documents / seconds, 2) if seconds else 0.0,
        "words_per_second": round(dataset["words"] / seconds, 1) if seconds else 0.0,
        "peak_rss_mb": round(self_kb / 1024, 1),
        "peak_rss_children_mb": round(children_kb / 1024, 1),
        "peak_tree_rss_mb": round(tree.peak / 1024**2, 1),
        "stages": stages,
        "load_avg_before": [round(x, 2) for x in load_before],
        "load_avg_after": [round(x, 2) for x in load_after],
    }


def _progress(total: int) -> Any:
    started = time.perf_counter()
    last = [0.0]

    def report(done: int, _: int) -> None:
        now = time.perf_counter()
        if now - last[0] >= 30 or done >= total:
            last[0] = now
            rate = done / (now - started)
            eta = (total - done) / rate if rate else float("inf")
            print(
                f"  {done:,}/{total:,} reviews, {rate:.1f}/s, ETA {eta / 60:.1f} min",
                file=sys.stderr,
                flush=True,
            )

    return report


# ---------------------------------------------------------------- BENCHMARKS.md


def _table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| engine | reviews | reviews/s | words/s | seconds | facts (mentions + opinions) "
        "| written | failures | peak RSS |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        if r["engine"] == "ray":
            memory = (
                f"driver {r['peak_rss_mb']:,.0f} MB; whole Ray tree {r['peak_tree_rss_mb']:,.0f} MB"
            )
        else:
            memory = f"{r['peak_rss_mb']:,.0f} MB"
        engine = r["engine"] + (f" ({r['ray_cpus']:.0f} CPUs)" if r.get("ray_cpus") else "")
        lines.append(
            f"| {engine} | {r['reviews']:,} | {r['reviews_per_second']:,.1f} "
            f"| {r['words_per_second']:,.0f} | {r['seconds']:,.1f} "
            f"| {r['facts']:,} ({r['mentions']:,} + {r['opinions']:,}) | {r['written']:,} "
            f"| {r['failures']} | {memory} |"
        )
    return "\n".join(lines)


def _stages(row: dict[str, Any]) -> str:
    stages = row["stages"]
    total = row["seconds"]
    order = ["chunk", "ner", "linker", "sentiment", "facts", "write"]
    lines = ["| stage | seconds | share | reviews/s if alone |", "|---|---:|---:|---:|"]
    accounted = 0.0
    for name in order:
        if name in stages:
            seconds = stages[name]
            accounted += seconds
            alone = row["reviews"] / seconds if seconds else float("inf")
            lines.append(f"| {name} | {seconds:,.1f} | {seconds / total:.0%} | {alone:,.0f} |")
    rest = total - accounted
    lines.append(f"| other (read, LangGraph, driver) | {rest:,.1f} | {rest / total:.0%} | — |")
    return "\n".join(lines)


def write_markdown(results: dict[str, Any]) -> None:
    from benchmarks.report import machine, write_section

    runs = results["runs"]
    dataset = results["dataset"]
    main = [runs[e] for e in ("local", "ray", "local+fixes") if e in runs]
    if not main:
        return
    best = max(r["reviews_per_second"] for r in main if "+" not in r["engine"])
    met = "met" if best >= TARGET else "**not met**"
    loads = ", ".join(
        f"{r['engine']}: {r['load_avg_before'][0]:.1f} before / {r['load_avg_after'][0]:.1f} after"
        for r in main
    )
    load_times = ", ".join(f"{r['engine']} {r['model_load_seconds']:.0f} s" for r in main)
    parts = [
        f"Machine: {machine()}.",
        f"Reproduce: `{results['command']}`.",
        "",
        f"Dataset: {dataset['reviews']:,} synthetic reviews from the seeded generator in "
        f"`benchmarks/ingest_bench.py` (seed {dataset['seed']}): 2–5 sentences, 1–3 products "
        f"of the 30-product demo catalog (names and aliases), composed from aspect and polarity "
        f"templates; {dataset['avg_words']:.1f} words on average "
        f"({dataset['min_words']}–{dataset['max_words']}), {dataset['words']:,} words in all. "
        f"Pipeline: the demo's trained models (spaCy CNN NER → linker → MiniLM-L6 aspect "
        f"sentiment, product mode), batch size {main[0]['batch_size']}, one atomic "
        f"`write_document` per review into a fresh LadybugDB store.",
        "",
        f"The CPU was shared with another benchmark during these runs "
        f"(1-minute load average — {loads}; 2 cores), so the figures are lower bounds.",
        "",
        _table(main),
        "",
        "Seconds are end to end (`IngestReport.seconds`: read, tools, facts, writes), "
        "model loading excluded "
        f"({load_times}). "
        "Peak RSS is `ru_maxrss`; for Ray also the summed RSS of driver, raylet and workers "
        "sampled every 0.5 s.",
    ]
    for engine in ("local", "local+fixes"):
        if engine in runs:
            parts += [
                "",
                f"Per stage, engine `{engine}` (each backend's `predict`, the chunk and facts "
                "nodes, `write_document`):",
                "",
                _stages(runs[engine]),
            ]
    if "local+fixes" in runs:
        r = runs["local+fixes"]
        parts += [
            "",
            "`local+fixes` is the local engine with the proposed fixes monkeypatched in by "
            "`--fixes` (the code under `agent/`, `graph/`, `plugins/` is unchanged): "
            + "; ".join(f"{fix}" for fix in r["fixes"])
            + ".",
        ]
    if "ray" in runs:
        r = runs["ray"]
        write = r["stages"].get("write", 0.0)
        parts += [
            "",
            f"Ray: {r['ray_cpus']:.0f} actors (one per CPU) each load the three models and run "
            f"whole batches; the driver writes. Driver-side writes took {write:,.1f} s of "
            f"{r['seconds']:,.1f} s; the Ray seconds include the actors loading their models "
            "(the driver also loads a full `Pipeline`, only for `describe()`/`fingerprint()`). "
            "On 2 shared cores it still beat the local engine, mostly because each actor runs "
            "PyTorch on one thread (no oversubscription) while the driver writes in parallel "
            "with inference; but the two actors, the driver and the other benchmark share two "
            "cores, so this is a scalability demonstration rather than a scaling result. With "
            "more cores or nodes the single writer on the driver becomes the ceiling (see the "
            "write rows above).",
        ]
    parts += [
        "",
        f"Target: ≥ {TARGET:,.0f} reviews/second on this 2-core machine — {met} "
        f"(best {best:,.1f} reviews/s as shipped"
        + (
            f", {runs['local+fixes']['reviews_per_second']:,.1f} with the fixes"
            if "local+fixes" in runs
            else ""
        )
        + ").",
    ]
    if results.get("notes"):
        parts += ["", *results["notes"]]
    write_section(TITLE, "\n".join(parts))


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reviews", type=int, default=2000)
    parser.add_argument("--engine", choices=["local", "ray", "both"], default="both")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ray-cpus", type=int, default=2)
    parser.add_argument(
        "--fixes",
        action="store_true",
        help="also run the local engine with the proposed fixes monkeypatched in",
    )
    parser.add_argument("--profile", help="write a cProfile of the ingest to this file")
    parser.add_argument("--no-markdown", action="store_true", help="do not touch BENCHMARKS.md")
    parser.add_argument("--note", action="append", default=[], help="a line for the section")
    parser.add_argument("--data", help=argparse.SUPPRESS)  # reuse a generated file (subprocess)
    parser.add_argument("--json-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    command = "python -m benchmarks.ingest_bench " + " ".join(
        a for a in (argv if argv is not None else sys.argv[1:])
    )
    if args.data:
        reviews_file = Path(args.data)
        dataset = json.loads(reviews_file.with_suffix(".json").read_text())
    else:
        folder = Path(tempfile.mkdtemp(prefix="distill-ingest-data-"))
        reviews_file = folder / f"reviews-{args.seed}-{args.reviews}.jsonl"
        dataset = ReviewGenerator(args.seed).write(reviews_file, args.reviews)
        dataset["seed"] = args.seed
        reviews_file.with_suffix(".json").write_text(json.dumps(dataset))
        print(
            f"generated {dataset['reviews']:,} reviews, {dataset['avg_words']:.1f} words "
            f"on average → {reviews_file}",
            file=sys.stderr,
        )

    if args.json_out:  # child: one engine in this process
        Path(args.json_out).write_text(json.dumps(run_engine(args, reviews_file, dataset)))
        return
    engines = ["local", "ray"] if args.engine == "both" else [args.engine]
    if args.fixes:
        engines.append("local+fixes")
    runs: dict[str, Any] = {}
    for engine in engines:
        out = reviews_file.with_name(f"result-{engine}.json")
        child = [
            sys.executable, "-m", "benchmarks.ingest_bench",
            "--engine", engine.split("+")[0], "--batch-size", str(args.batch_size),
            "--ray-cpus", str(args.ray_cpus), "--seed", str(args.seed),
            "--data", str(reviews_file), "--json-out", str(out),
        ]  # fmt: skip
        if engine.endswith("+fixes"):
            child.append("--fixes")
        if args.profile:
            child += ["--profile", f"{args.profile}.{engine}"]
        print(f"engine {engine}: ingesting …", file=sys.stderr, flush=True)
        subprocess.run(child, cwd=ROOT, check=True)
        runs[engine] = json.loads(out.read_text())
        r = runs[engine]
        print(
            f"engine {engine}: {r['reviews_per_second']:.1f} reviews/s, "
            f"{r['words_per_second']:.0f} words/s, {r['seconds']:.1f} s, facts {r['facts']:,}, "
            f"failures {r['failures']}, peak RSS {r['peak_rss_mb']:.0f} MB "
            f"(tree {r['peak_tree_rss_mb']:.0f} MB), stages {r['stages']}",
            file=sys.stderr,
            flush=True,
        )

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if previous.get("dataset") != dataset:
        previous = {}
    results = {
        "dataset": dataset,
        "runs": {**previous.get("runs", {}), **runs},
        "command": command.strip(),
        "notes": args.note or previous.get("notes", []),
    }
    RESULTS.write_text(json.dumps(results, indent=2))
    if not args.no_markdown:
        write_markdown(results)


if __name__ == "__main__":
    main()
