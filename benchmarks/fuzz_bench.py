"""Fuzz the readers and `ingest()` with many more examples than CI; write "Ingest fuzzing".

The checks are the ones `tests/test_fuzz_ingest.py` runs in CI with a bounded number of
examples: random bytes in every format, random JSON values as JSONL lines, random CSV
shapes, random file trees (symlinks, FIFOs, folders named like files), and `ingest()`
over random JSONL and trees into the networkx store (graph + document index, fake tools:
the models are not what is fuzzed). Here every example runs to the end and is counted:

- crash: an exception escaped the readers or `ingest()` (a traceback for a user);
- hang: an example still running after `--timeout` seconds (a FIFO opened for reading);
- violation: an invariant failed (a good item not written, a bad one not located, ...);
- partial write: a document in only one of the graph and the index, or stored although
  reported failed.

`--baseline REV` also runs the same examples against the readers, chunking and pipeline
of git revision REV (in a subprocess), for a before/after table.

    python benchmarks/fuzz_bench.py --examples 1000 --baseline 80b634c   # ~15 min, 2 cores
    python benchmarks/fuzz_bench.py --examples 50 --no-write
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import types
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))


@dataclass
class Tally:
    name: str
    cases: int = 0
    crashes: int = 0
    hangs: int = 0
    violations: int = 0
    partial: int = 0
    seconds: float = 0.0
    examples: list[str] = field(default_factory=list)
    """The first few problems, for the report."""


COUNTS = ("cases", "crashes", "hangs", "violations", "partial")


class Hang(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise Hang


def tally(
    name: str, strategy: Any, check: Callable[[Any], int | None], examples: int, timeout: float
) -> Tally:
    """Run `check` on `examples` generated values; count what went wrong instead of stopping."""
    result = Tally(name)

    def note(kind: str, exc: BaseException, value: Any) -> None:
        """Keep the first example of each kind of problem: what was raised, and where."""
        if any(example.startswith(f"{kind}:") for example in result.examples):
            return
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
        message = " ".join(str(exc).split())[:140]
        result.examples.append(f"{kind}: {type(exc).__name__}{where}: {message}")

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,  # the same examples for the baseline and for today's code
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(value: Any) -> None:
        result.cases += 1
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            result.partial += check(value) or 0
        except Hang as exc:
            result.hangs += 1
            note("hang", exc, value)
        except AssertionError as exc:
            result.violations += 1
            note("violation", exc, value)
        except Exception as exc:
            result.crashes += 1
            note("crash", exc, value)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    signal.signal(signal.SIGALRM, _alarm)
    started = time.perf_counter()
    run()
    result.seconds = time.perf_counter() - started
    return result


def use_revision(revision: str) -> None:
    """Import readers, chunking and pipeline as they were at git `revision`, before the checks."""
    import distill.ingest

    for name in ("readers", "chunking", "pipeline"):
        source = subprocess.run(
            ["git", "show", f"{revision}:ingest/{name}.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        module = types.ModuleType(f"distill.ingest.{name}")
        module.__file__ = f"{revision}:ingest/{name}.py"
        sys.modules[module.__name__] = module
        exec(compile(source, module.__file__, "exec"), module.__dict__)
        setattr(distill.ingest, name, module)


def properties() -> list[tuple[str, Any, Callable[[Any], int | None], float]]:
    import test_fuzz_ingest as fuzz  # the checks CI runs (imported after any use_revision)

    from distill.ingest.readers import read_documents

    def in_folder(check: Callable[[Path], int | None]) -> int | None:
        with tempfile.TemporaryDirectory(prefix="distill-fuzz-") as folder:
            return check(Path(folder))

    def in_workspace(check: Callable[[Path, Any, Any], int], value: Any) -> int:
        with fuzz.workspace() as (folder, config):
            return check(folder, config, value)

    def random_bytes(value: tuple[bytes, str]) -> None:
        data, suffix = value

        def check(folder: Path) -> None:
            path = folder / f"random{suffix}"
            path.write_bytes(data)
            items = list(read_documents([path]))
            for item in items:
                fuzz.located(item, path)
            fuzz.check_documents(items)

        in_folder(check)

    return [
        (
            "random bytes as .txt/.md/.jsonl/.csv (readers)",
            st.tuples(st.binary(max_size=400), st.sampled_from([".txt", ".md", ".jsonl", ".csv"])),
            random_bytes,
            1.0,
        ),
        (
            "random JSON values as JSONL lines (readers)",
            st.tuples(fuzz.jsonl_lines, st.booleans()),
            lambda v: in_folder(lambda f: fuzz.check_jsonl(f, v[0], 8 if v[1] else 2_000_000)),
            1.0,
        ),
        (
            "random CSV shapes (readers)",
            fuzz.csv_shapes,
            lambda v: in_folder(lambda f: fuzz.check_csv(f, *v)),
            1.0,
        ),
        (
            "random file trees: symlinks, FIFOs, folders named *.txt (`ingest()`)",
            fuzz.trees,
            lambda v: in_workspace(fuzz.check_tree, v),
            0.5,
        ),
        (
            "random JSONL through `ingest()` (graph + index)",
            fuzz.jsonl_lines,
            lambda v: in_workspace(fuzz.check_ingest_jsonl, v),
            0.5,
        ),
    ]


def run_all(examples: int, timeout: float, log: bool) -> list[Tally]:
    results = []
    for name, strategy, check, share in properties():
        result = tally(name, strategy, check, max(1, int(examples * share)), timeout)
        if log:
            print(
                f"{result.name}: {result.cases} cases, {result.crashes} crashes, "
                f"{result.hangs} hangs, {result.violations} violations, "
                f"{result.partial} partial writes, {result.seconds:.0f} s",
                flush=True,
            )
            for example in result.examples:
                print(f"  {example}", flush=True)
        results.append(result)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=500, help="per reader property")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds before a hang")
    parser.add_argument("--baseline", metavar="REV", help="also run against git revision REV")
    parser.add_argument("--no-write", action="store_true", help="print, leave BENCHMARKS.md")
    parser.add_argument("--as-revision", metavar="REV", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.as_revision:  # the baseline's subprocess: JSON on stdout
        use_revision(args.as_revision)
        results = run_all(args.examples, args.timeout, log=False)
        print(json.dumps([asdict(r) for r in results]))
        return
    baseline = None
    if args.baseline:
        command = [sys.executable, __file__, "--examples", str(args.examples)]
        command += ["--timeout", str(args.timeout), "--as-revision", args.baseline]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        baseline = [Tally(**row) for row in json.loads(done.stdout.strip().splitlines()[-1])]
        for row in baseline:
            print(
                f"{args.baseline}: {row.name}: {row.crashes} crashes, {row.hangs} hangs, "
                f"{row.violations} violations, {row.partial} partial writes",
                flush=True,
            )
    results = run_all(args.examples, args.timeout, log=True)
    if not args.no_write:
        from benchmarks.report import write_section

        write_section("Ingest fuzzing", report(results, args, baseline))


def _table(results: list[Tally]) -> str:
    rows = [
        f"| {r.name} | {r.cases:,} | {r.crashes} | {r.hangs} | {r.violations} | {r.partial} "
        f"| {r.seconds:.0f} |"
        for r in results
    ]
    total = {k: sum(getattr(r, k) for r in results) for k in COUNTS}
    rows.append(
        f"| **total** | **{total['cases']:,}** | **{total['crashes']}** | **{total['hangs']}** "
        f"| **{total['violations']}** | **{total['partial']}** | |"
    )
    return (
        "| property | cases tried | crashes | hangs | invariant violations | partial writes | s |\n"
        "|---|---:|---:|---:|---:|---:|---:|\n" + "\n".join(rows)
    )


def report(results: list[Tally], args: argparse.Namespace, baseline: list[Tally] | None) -> str:
    from benchmarks.report import machine

    problems = "\n".join(f"- {r.name}: {e}" for r in results for e in r.examples)
    before = ""
    if baseline:
        examples = "\n".join(
            f"- {r.name}: {e}" for r in baseline for e in r.examples if not e.startswith("vio")
        )
        before = (
            f"\nThe same examples against the readers and pipeline of `{args.baseline}` "
            "(before the fixes of issue 12):\n\n"
            + _table(baseline)
            + "\n\nFor example:\n\n"
            + examples
            + "\n"
        )
    return f"""\
`benchmarks/fuzz_bench.py --examples {args.examples}` (hypothesis): property-based fuzzing
of the readers and of `ingest()` with the checks of `tests/test_fuzz_ingest.py`, which CI
runs with 60 examples per property (plus 8 on the real path: LadybugDB and the MiniLM
index). Invariants: no traceback, no hang (`--timeout {args.timeout:.0f}` s per example),
every bad item reported with its file (and line), every good item written once, the graph
and the index agreeing. `ingest()` runs with fake tools (the models are not what is
fuzzed) into the networkx store and the document index.

{_table(results)}

{problems or "No crash, hang, violation or partial write."}
{before}
Machine: {machine()}.
"""


if __name__ == "__main__":
    main()
