"""The Cypher attack suite (issue 12): every query of `distill.graph.attacks` against every
store, directly (`store.query`, as `distill graph query` runs it) and through the agent's
`query_graph` tool with a scripted model that writes the attack as its query.

python -m benchmarks.cypher_attacks              # rewrites "## Cypher attack suite"
python -m benchmarks.cypher_attacks --no-write   # print only

Counts per store and path: queries, refused by the guard (no database saw it), refused
by the database or a cap (the guard let it through; the database, or the store's time,
memory or row cap, ended it with a clear error), harmless reads, breaches (an
invariant broken: unclear error, a file outside the graph read or written, the attack
library loaded, the graph changed). The same checks run in CI as
tests/test_cypher_attacks.py.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from collections import Counter
from pathlib import Path

from distill.agent.cypher import generate_and_run
from distill.agent.router import ProductResolver
from distill.agent.tools import Toolbox
from distill.errors import DistillError
from distill.graph.attacks import (
    ATTACKS,
    TARGETS,
    AttackWorld,
    Outcome,
    ScriptedCypherModel,
    check,
    fingerprint,
    open_target,
    run_on_store,
)
from distill.graph.guard import MAX_RANGE
from distill.graph.store import GraphStore

TIMEOUT_S = 0.5


def through_the_agent(store: GraphStore, world: AttackWorld, before: str) -> list[Outcome]:
    outcomes = []
    for attack in ATTACKS:
        model = ScriptedCypherModel(world.text(attack))
        toolbox = Toolbox(
            store=lambda: contextlib.nullcontext(store),
            index=lambda: None,
            resolver=ProductResolver([]),
            cypher=lambda q, s, m=model: generate_and_run(q, s, m, timeout=TIMEOUT_S),
        )

        def run(toolbox: Toolbox = toolbox) -> list[str]:
            result = toolbox.run("query_graph", {"question": "what is in the graph?"})
            if result.error:
                raise DistillError(result.error)
            return [e.text for e in result.evidence] + result.notes

        outcomes.append(check(world, attack, run, store=store, before=before))
    return outcomes


def run_all(kinds: list[str]) -> list[dict]:
    results = []
    with tempfile.TemporaryDirectory(prefix="distill-attacks-") as tmp:
        world = AttackWorld(Path(tmp) / "world")
        for kind in kinds:
            with contextlib.ExitStack() as stack:
                try:
                    store = stack.enter_context(open_target(kind, Path(tmp) / kind))
                except RuntimeError as exc:
                    print(f"{kind}: skipped ({exc})")
                    continue
                before = fingerprint(store)
                for path in ("store.query", "agent tool"):
                    started = time.perf_counter()
                    if path == "store.query":
                        outcomes = [
                            run_on_store(store, world, a, before=before, timeout=TIMEOUT_S)
                            for a in ATTACKS
                        ]
                    else:
                        outcomes = through_the_agent(store, world, before)
                    seconds = time.perf_counter() - started
                    results.append(
                        {"store": kind, "path": path, "outcomes": outcomes, "s": seconds}
                    )
                    print(summary_row(results[-1]), flush=True)
        results.append({"library_built": world.lib_built})
    return results


def summary_row(result: dict) -> str:
    outcomes: list[Outcome] = result["outcomes"]
    verdicts = Counter((o.verdict, o.by) for o in outcomes)
    breaches = sum(bool(o.breaches) for o in outcomes)
    return (
        f"| {result['store']} | {result['path']} | {len(outcomes)} | "
        f"{verdicts[('refused', 'guard')]} | {verdicts[('refused', 'database')]} | "
        f"{verdicts[('read', '')]} | **{breaches}** | {result['s']:.1f} s |"
    )


def report(results: list[dict]) -> str:
    from benchmarks.report import machine

    runs = [r for r in results if "outcomes" in r]
    built = next((r["library_built"] for r in results if "library_built" in r), False)
    total = sum(len(r["outcomes"]) for r in runs)
    breaches = [(r["store"], r["path"], o) for r in runs for o in r["outcomes"] if o.breaches]
    families = Counter(a.family for a in ATTACKS)
    lines = [
        f"Machine: {machine()}.",
        f"`python -m benchmarks.cypher_attacks`: {len(ATTACKS)} hostile queries "
        f"({', '.join(f'{f} {n}' for f, n in families.items())}) from "
        "`distill.graph.attacks`, each run against every store directly (`store.query`, "
        "what `distill graph query` runs) and through the agent's `query_graph` tool with a "
        f"scripted model that writes the attack as its query: {total} runs. Timeout "
        f"{TIMEOUT_S} s per query. Every run must end in a clear refusal or a harmless read "
        "with no file outside the graph read into the output or written, the attack "
        "library's constructor never run nor the library mapped "
        f"({'a real .so built with cc' if built else 'no C compiler: mapping checked only'}), "
        "and the graph's fingerprint (counts, products, opinion summaries) unchanged.",
        "",
        "| store | path | queries | refused by the guard | refused by the database or a cap "
        "| harmless reads | breaches | time |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
        *(summary_row(r) for r in runs),
        "",
        f"**Breaches: {len(breaches)} of {total} runs.**"
        + "".join(f" {s}/{p}/{o.attack}: {'; '.join(o.breaches)}." for s, p, o in breaches),
        "",
        '"Refused by the database or a cap": queries the guard accepted because every '
        "word in them is a name or an allowed keyword. The database receives the guard's "
        "rendering (every name back-quoted), so `D\u0415LETE` (a Cyrillic E) or `DE/**/LETE` "
        "reach it as names and fail to parse; a cartesian UNWIND hits the row cap, a "
        "30-hop pattern the timeout. Harmless reads are the product's own queries and "
        "attacks that only look dangerous (`DELETE` inside a string, a comment or a quoted "
        "name). Through the agent tool a refusal goes back to the model once, then the "
        "tool reports the error. What changed to get here: the "
        "keyword scanner (which took `\\` for an escape in backtick names and ran every "
        "`;`-separated statement) became a tokenizer with LadybugDB's rules, an allow-list "
        "of clauses, functions and procedures, and a rendering of the checked tokens that "
        "the database runs instead of the input; read-only opens and READ ONLY "
        "transactions, Ladybug's connection timeout and a 2 GiB buffer pool for read-only "
        "opens, FalkorDB's TIMEOUT, a forked, time- and memory-capped child for "
        f"grand-cypher, a row cap, `range()` limited to {MAX_RANGE:,} literal values and "
        "brackets to 32 levels (LadybugDB segfaults at ~3,000 nested parentheses, found "
        "while building this suite). LadybugDB 0.22 has no setting that disables file "
        "access or extension loading, so for `LOAD FROM`, `COPY … TO` and `LOAD EXTENSION` "
        "the guard is the only barrier: a read-only database still runs them.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stores", default=",".join(TARGETS))
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    body = report(run_all(args.stores.split(",")))
    print(body)
    if not args.no_write:
        from benchmarks.report import write_section

        write_section("Cypher attack suite", body)


if __name__ == "__main__":
    main()
