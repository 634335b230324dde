"""Knowledge-graph benchmark: bulk-load N edges, then time five canonical queries per store.

    python -m benchmarks.graph_bench --edges 1000000
    python -m benchmarks.graph_bench --edges 100000 --stores ladybug,networkx --no-write

Writes the `## Knowledge graph` section of BENCHMARKS.md (unless --no-write).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
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
        "documents behind a product": lambda p: store.documents_behind("Product", p),
        "top 10 products by mentions": lambda p: store.products(limit=10),
        "neighbours of a product": lambda p: store.neighbours("Product", p, limit=50),
    }


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
        timings: dict[str, tuple[float, float]] = {}
        for name, fn in canonical_queries(store, picks).items():
            fn(picks[0])  # warm-up
            samples = []
            for p in picks:
                t = time.perf_counter()
                fn(p)
                samples.append((time.perf_counter() - t) * 1000)
            timings[name] = (statistics.median(samples), percentile(samples, 0.95))
            print(
                f"  {kind:9} {name:48} p50 {timings[name][0]:8.2f} ms  "
                f"p95 {timings[name][1]:8.2f} ms",
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


def report(results: list[dict[str, Any]], n_docs: int, n_products: int, runs: int) -> str:
    from benchmarks.report import machine

    lines = [
        f"Machine: {machine()}.",
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
    lines += ["", "| query (p50 / p95, ms) | " + " | ".join(r["kind"] for r in results) + " |"]
    lines.append("|---|" + "---:|" * len(results))
    for name in results[0]["timings"]:
        cells = [f"{r['timings'][name][0]:.1f} / {r['timings'][name][1]:.1f}" for r in results]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
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
        "--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone"
    )
    args = parser.parse_args()
    n_docs = max(1, args.edges // EDGES_PER_DOC)
    n_products = args.products or max(10, args.edges // 100)
    results = []
    for kind in args.stores.split(","):
        print(
            f"{kind}: loading {n_docs:,} documents (~{n_docs * EDGES_PER_DOC:,} edges)…", flush=True
        )
        try:
            results.append(run_store(kind, n_docs, n_products, args.runs))
        except Exception as exc:  # report a backend that cannot run, keep the others
            print(f"  {kind} failed: {type(exc).__name__}: {exc}", flush=True)
    if not results:
        raise SystemExit("no store could be benchmarked")
    body = report(results, n_docs, n_products, args.runs)
    print(body)
    if not args.no_write:
        from benchmarks.report import write_section

        write_section("Knowledge graph", body)


if __name__ == "__main__":
    main()
