"""Knowledge-graph benchmark: bulk-load N edges, time five canonical queries per store, and
time batched writes (`write_documents`) on LadybugDB at several batch sizes.

    python -m benchmarks.graph_bench --edges 1000000
    python -m benchmarks.graph_bench --edges 100000 --stores ladybug,networkx --no-write

Writes the `## Knowledge graph` section of BENCHMARKS.md (unless --no-write).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from distill.graph.schema import DocumentFacts, DocumentNode, MentionFact, OpinionFact, Provenance
from distill.graph.store import GraphStore

ASPECTS = ("battery", "camera", "screen", "performance", "design", "price", "software", "sound")
POLARITIES = ("positive", "negative", "neutral", "positive", "conflict")
MENTIONS_PER_DOC = 8
OPINIONS_PER_DOC = 4
# per document: 8 MENTIONS + 7 REFERS_TO (one NIL mention) + 4 × (EXPRESSES, ABOUT, ON_ASPECT)
EDGES_PER_DOC = MENTIONS_PER_DOC + (MENTIONS_PER_DOC - 1) + 3 * OPINIONS_PER_DOC


def synthetic(n_docs: int, n_products: int, seed: int = 0) -> Iterator[DocumentFacts]:
    """Reviews with Zipf-like product popularity, like real catalogs (few heads, long tail)."""
    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(n_products)]
    for d in range(n_docs):
        doc_id = f"doc{d}"
        picks = rng.choices(range(n_products), weights=weights, k=MENTIONS_PER_DOC)
        mentions = []
        for i, p in enumerate(picks):
            start = i * 40
            prov = Provenance(
                doc_id=doc_id,
                char_start=start,
                char_end=start + 12,
                tool="ner",
                backend="trained",
                model="ner-small",
                model_version="1",
                confidence=round(rng.uniform(0.5, 1), 3),
            )
            linked = i < MENTIONS_PER_DOC - 1
            mentions.append(
                MentionFact(
                    text=f"Product {p}" if linked else f"Gadget {rng.randrange(10 * n_products)}",
                    label="PRODUCT",
                    product_id=f"P{p}" if linked else None,
                    provenance=prov,
                    link=Provenance(doc_id=doc_id, tool="linker", backend="trained", confidence=0.8)
                    if linked
                    else None,
                )
            )
        opinions = [
            OpinionFact(
                aspect=rng.choice(ASPECTS),
                polarity=rng.choice(POLARITIES),  # type: ignore[arg-type]
                product_id=f"P{picks[i]}",
                term="it",
                provenance=Provenance(
                    doc_id=doc_id,
                    char_start=i * 40,
                    char_end=i * 40 + 12,
                    tool="sentiment",
                    backend="trained",
                    confidence=0.7,
                ),
            )
            for i in range(OPINIONS_PER_DOC)
        ]
        yield DocumentFacts(
            document=DocumentNode(id=doc_id, content_hash=f"h{d}", source="synthetic", n_chars=400),
            mentions=mentions,
            opinions=opinions,
        )


def canonical_queries(store: GraphStore, products: list[str]) -> dict[str, Callable[[str], Any]]:
    return {
        "opinions per aspect of a product": lambda p: store.opinion_summary(p),
        "mentions of a product + provenance (first 100)": lambda p: store.mentions(p, limit=100),
        "documents behind a product (first 100)": lambda p: store.documents_behind(
            "Product", p, limit=100
        ),
        "top 10 products by mentions": lambda p: store.products(limit=10),
        "neighbours of a product": lambda p: store.neighbours("Product", p, limit=50),
    }


NOTES = (
    "How the queries stay small: counts are kept on Product nodes (mentions, opinions, "
    "documents), on `ASPECT_STATS` edges (product × aspect, per polarity) and on `LINKS` edges "
    "(entity × product), changed in the write's transaction; limits go into the database "
    "(the first N documents by id from the product's own links, then only their mentions); "
    "on Ladybug a statement about many documents runs once per document (a primary-key lookup "
    "and an expansion), because it plans `UNWIND` + expansion as a hash join over the whole "
    "relationship table. Before (2026-11-23, same benchmark, all documents behind a product): "
    "Ladybug p95 opinions per aspect 30.6 ms, mentions 165 ms, documents behind 3,112 ms, "
    "top 10 420 ms, neighbours 58 ms."
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@contextlib.contextmanager
def open_bench_store(kind: str, tmp: Path) -> Iterator[GraphStore]:
    if kind == "ladybug":
        from distill.graph.ladybug_store import LadybugStore

        with LadybugStore(tmp / "lb") as store:
            yield store
    elif kind == "networkx":
        from distill.graph.networkx_store import NetworkXStore

        with NetworkXStore(tmp / "nx") as store:
            yield store
    else:
        from distill.graph.falkordb_store import FalkorDBStore
        from distill.graph.testing import falkordb_server

        with falkordb_server() as url, FalkorDBStore(url) as store:
            yield store


def run_store(kind: str, n_docs: int, n_products: int, runs: int) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="distill-graph-bench-") as tmp,
        open_bench_store(kind, Path(tmp)) as store,
    ):
        started = time.perf_counter()
        store.bulk_load(synthetic(n_docs, n_products))
        load_s = time.perf_counter() - started
        stats = store.stats()
        rng = random.Random(1)
        weights = [1 / (rank + 1) for rank in range(n_products)]
        picks = [f"P{p}" for p in rng.choices(range(n_products), weights=weights, k=runs)]
        timings: dict[str, tuple[float, ...]] = {}
        for name, fn in canonical_queries(store, picks).items():
            fn(picks[0])  # warm-up
            samples, cpu = [], []
            for p in picks:
                t, c = time.perf_counter(), time.process_time()
                fn(p)
                samples.append((time.perf_counter() - t) * 1000)
                cpu.append((time.process_time() - c) * 1000)
            # wall p50, wall p95, CPU p95 (this process, all its threads: the work itself)
            timings[name] = (
                statistics.median(samples),
                percentile(samples, 0.95),
                percentile(cpu, 0.95),
            )
            print(
                f"  {kind:9} {name:48} p50 {timings[name][0]:8.2f} ms  "
                f"p95 {timings[name][1]:8.2f} ms  CPU p95 {timings[name][2]:8.2f} ms",
                flush=True,
            )
    gc.collect()
    return {
        "kind": kind,
        "load_s": load_s,
        "edges": stats.total_edges,
        "nodes": stats.total_nodes,
        "timings": timings,
    }


def run_writes(n_docs: int, n_products: int, sizes: list[int]) -> list[dict[str, Any]]:
    """Documents/s of `write_documents` into a fresh LadybugDB at each batch size, and of
    `bulk_load` (COPY) of the same documents."""
    from distill.graph.ladybug_store import LadybugStore

    docs = list(synthetic(n_docs, n_products, seed=7))
    rows = []
    for size in [*sizes, 0]:
        with (
            tempfile.TemporaryDirectory(prefix="distill-graph-bench-") as tmp,
            LadybugStore(Path(tmp) / "lb") as store,
        ):
            started = time.perf_counter()
            if size:
                result = store.write_documents(docs, batch_size=size)
                assert not result.failures, result.failures[:1]
            else:
                store.bulk_load(docs)
            seconds = time.perf_counter() - started
            edges = store.stats().total_edges
        rows.append({"size": size, "docs": n_docs, "seconds": seconds, "edges": edges})
        label = f"batch {size}" if size else "bulk_load (COPY)"
        print(f"  ladybug write {label:18} {n_docs / seconds:8.1f} documents/s", flush=True)
    return rows


def report(
    results: list[dict[str, Any]],
    n_docs: int,
    n_products: int,
    runs: int,
    writes: list[dict[str, Any]],
    load: str,
) -> str:
    from benchmarks.report import machine

    lines = [
        f"Machine: {machine()}. {load}",
        f"Synthetic reviews from `python -m benchmarks.graph_bench`: {n_docs:,} documents, "
        f"{n_products:,} catalog products (Zipf popularity), {MENTIONS_PER_DOC} mentions and "
        f"{OPINIONS_PER_DOC} opinions per document, provenance on every edge. Load = "
        "`bulk_load` into an empty store (Ladybug: `COPY FROM` CSV; FalkorDB: batched UNWIND; "
        "networkx: in memory, then one atomic pickle save). Queries: the Python API, "
        f"{runs} runs each on products drawn by popularity, after one warm-up.",
        "",
        "| store | nodes | edges | load | load rate |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['kind']} | {r['nodes']:,} | {r['edges']:,} | {r['load_s']:.1f} s | "
            f"{r['edges'] / r['load_s']:,.0f} edges/s |"
        )
    lines += [
        "",
        "Query cells: wall-clock p50 / p95, then the p95 of the CPU time the process spent "
        "(all its threads; for FalkorDB only the client's), in ms. Under load the wall clock "
        "includes the time spent waiting for a core; the CPU time is the query's own work.",
        "",
        "| query (p50 / p95 (CPU p95), ms) | " + " | ".join(r["kind"] for r in results) + " |",
    ]
    lines.append("|---|" + "---:|" * len(results))
    for name in results[0]["timings"]:
        cells = [
            "{:.1f} / {:.1f} ({:.1f})".format(*r["timings"][name][:2], r["timings"][name][-1])
            for r in results
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", NOTES]
    if writes:
        lines += [
            "",
            f"Batched writes on LadybugDB: `write_documents(docs, batch_size=N)` of "
            f"{writes[0]['docs']:,} synthetic documents ({EDGES_PER_DOC} edges each) into a "
            "fresh store, N documents per transaction; `bulk_load` (CSV + `COPY FROM`, for an "
            "empty store only) of the same documents for comparison.",
            "",
            "| write | documents/s | edges/s |",
            "|---|---:|---:|",
        ]
        for w in writes:
            label = f"batch size {w['size']}" if w["size"] else "bulk_load (COPY)"
            lines.append(
                f"| {label} | {w['docs'] / w['seconds']:,.0f} | {w['edges'] / w['seconds']:,.0f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--edges", type=int, default=1_000_000, help="target number of edges")
    parser.add_argument(
        "--products", type=int, default=0, help="catalog size (default: edges / 100)"
    )
    parser.add_argument("--stores", default="ladybug,networkx,falkordb")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument(
        "--write-docs", type=int, default=2048, help="documents per batched-write run (0: skip)"
    )
    parser.add_argument("--batch-sizes", default="1,64,512")
    parser.add_argument(
        "--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone"
    )
    parser.add_argument(
        "--merge",
        type=Path,
        help="JSON file of earlier runs' results: this run's replace theirs, the report shows "
        "all (run the stores one at a time, each run shorter)",
    )
    args = parser.parse_args()
    n_docs = max(1, args.edges // EDGES_PER_DOC)
    n_products = args.products or max(10, args.edges // 100)
    busy = os.getloadavg()[0]
    results = []
    for kind in filter(None, args.stores.split(",")):  # --stores "" --merge F: report only
        print(
            f"{kind}: loading {n_docs:,} documents (~{n_docs * EDGES_PER_DOC:,} edges)…", flush=True
        )
        try:
            results.append(run_store(kind, n_docs, n_products, args.runs))
        except Exception as exc:  # report a backend that cannot run, keep the others
            print(f"  {kind} failed: {type(exc).__name__}: {exc}", flush=True)
    writes = []
    if args.write_docs:
        sizes = [int(size) for size in args.batch_sizes.split(",")]
        writes = run_writes(args.write_docs, n_products, sizes)
    for row in [*results, *writes]:
        row["load_avg"] = busy
    if args.merge:
        earlier = json.loads(args.merge.read_text()) if args.merge.exists() else {}
        if earlier.get("docs") == n_docs:
            ran = {r["kind"] for r in results}
            results = [r for r in earlier["results"] if r["kind"] not in ran] + results
            writes = writes or earlier.get("writes", [])
        order = {kind: i for i, kind in enumerate(("ladybug", "networkx", "falkordb"))}
        results.sort(key=lambda r: order.get(r["kind"], len(order)))
        args.merge.write_text(json.dumps({"docs": n_docs, "results": results, "writes": writes}))
    if not results:
        raise SystemExit("no store could be benchmarked")
    loads = [(r["kind"], r.get("load_avg", busy)) for r in results]
    loads += [("writes", writes[0].get("load_avg", busy))] if writes else []
    load = (
        "Load average (1 min) at the start of each run: "
        + ", ".join(f"{kind} {value:.1f}" for kind, value in loads)
        + f", on {os.cpu_count()} cores"
        + (
            " (other jobs were running; the benchmark ran under `nice`: latencies are "
            "pessimistic, CPU time per query is a fraction of them)."
            if max(value for _, value in loads) > 1.5
            else "."
        )
    )
    body = report(results, n_docs, n_products, args.runs, writes, load)
    print(body)
    if not args.no_write:
        from benchmarks.report import write_section

        write_section("Knowledge graph", body)


if __name__ == "__main__":
    main()
