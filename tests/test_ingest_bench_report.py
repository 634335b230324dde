"""The ingest benchmark's memory table, review file writer and engine names (no models run)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path


def _load_bench():  # type: ignore[no-untyped-def]
    """benchmarks/ingest_bench.py (the repo root is not on the tests' import path)."""
    path = Path(__file__).parents[1] / "benchmarks" / "ingest_bench.py"
    spec = importlib.util.spec_from_file_location("ingest_bench_under_test", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


ingest_bench = _load_bench()


def _row(before: float, peak: float, size: int) -> dict:
    return {
        "rss_before_mb": before,
        "peak_rss_mb": peak,
        "input_bytes": size,
        "rss_timeline": [[64 * i, before + i] for i in range(1, 20)],
    }


def test_memory_table_puts_each_run_against_its_input() -> None:
    results = {
        "sizes": {"1000": {"runs": {"local": _row(700, 1200, 300_000), "spacy": {}}}},
        "streams": {"1000": _row(710, 1210, 949_000_000)},
    }
    table = ingest_bench._memory(results)
    lines = [line for line in table.splitlines() if line.startswith("| 1,000")]
    assert "a file of just these reviews | 0.3 | 700 MB | 1,200 MB" in lines[0]
    assert "the first reviews of a bigger file | 949.0 | 710 MB | 1,210 MB" in lines[1]
    assert "1,216: 719" in lines[0]  # the last sample is always shown
    assert ingest_bench._memory({"sizes": {}}) == ""


def test_write_reviews_writes_the_seeded_reviews(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    ingest_bench.main(["--write-reviews", str(out), "--reviews", "3"])
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["id"] for row in rows] == ["syn-0-0000000", "syn-0-0000001", "syn-0-0000002"]
    assert rows[1]["text"] == ingest_bench.ReviewGenerator(0).review(1)


def test_engine_names_read_as_their_config() -> None:
    from distill.config import Config

    base = Config()
    config, engine, workers = ingest_bench.engine_variant("local-w2", base, {})
    assert (engine, workers) == ("local-w2", 2)
    assert config.task("sentiment") == base.task("sentiment")
    environ = {ingest_bench.VECTORS_MODEL: "/models/vectors"}
    config, engine, workers = ingest_bench.engine_variant("local-w2-int8-vectors", base, environ)
    assert (engine, workers) == ("local-w2", 2)
    assert config.task("sentiment").options["int8"] is True
    assert config.task("sentiment").model == "/models/vectors"
    config, engine, workers = ingest_bench.engine_variant("local-int8", base, {})
    assert (engine, workers, config.task("sentiment").model) == ("local", 1, None)
