"""`--workers`: how many processes run the tools (the real runs are in test_ingest_real.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

import pytest
import typer

from distill.cli.ingest_cmd import _workers
from distill.ingest import processes
from distill.ingest.processes import AUTO_BYTES, auto_workers
from distill.plugins.linker import embed


@pytest.fixture
def cores(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def set_cores(n: int) -> None:
        monkeypatch.setattr(os, "sched_getaffinity", lambda _: set(range(n)), raising=False)

    return set_cores


def test_auto_starts_workers_only_for_big_inputs_on_several_cores(
    cores, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(embed, "bf16_hardware", lambda: "AMX")
    small, big = tmp_path / "small.jsonl", tmp_path / "folder" / "big.jsonl"
    small.write_text("x" * 100)
    big.parent.mkdir()
    big.write_bytes(b"x" * AUTO_BYTES["AMX"])
    cores(2)
    assert auto_workers([small]) == 1
    assert auto_workers([small, big.parent]) == 2
    cores(64)
    assert auto_workers([big]) == processes.MAX_AUTO_WORKERS
    cores(1)
    assert auto_workers([big]) == 1
    assert auto_workers([tmp_path / "missing"]) == 1  # the reader reports it, not this


def test_auto_starts_workers_from_the_input_size_measured_for_the_cpu(  # type: ignore[no-untyped-def]
    cores, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The less a pool adds over one process on every core, the more input it takes to
    win back its loading: AVX512-BF16 (×1.2-1.4) before float32 (×1.1) and AMX."""
    cores(2)
    for hardware, size in AUTO_BYTES.items():
        medium = tmp_path / f"{hardware}.jsonl"
        medium.write_bytes(b"x" * size)
        for other, threshold in AUTO_BYTES.items():
            monkeypatch.setattr(embed, "bf16_hardware", lambda other=other: other)
            assert auto_workers([medium]) == (2 if size >= threshold else 1)
    assert AUTO_BYTES["AVX512-BF16"] < AUTO_BYTES[None] < AUTO_BYTES["AMX"]


def test_the_workers_option_takes_a_number_or_auto(cores, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cores(2)
    assert _workers("3", [tmp_path], "local") == 3
    assert _workers("auto", [tmp_path], "local") == 1
    for bad in ("0", "two", "-1"):
        with pytest.raises(typer.BadParameter, match="number of processes"):
            _workers(bad, [tmp_path], "local")


def test_workers_get_the_config_as_it_was_set() -> None:
    """What a spawned worker unpickles: the catalog still knows which columns the user
    mapped (a dump validated again marked all as set, and a CSV catalog without an `id`
    column then failed in every worker)."""
    import pickle

    from distill.config import CatalogColumns, CatalogConfig, Config
    from distill.ingest.processes import WorkerPool

    catalog = CatalogConfig(path="catalog.csv", columns=CatalogColumns(name="Model"))
    pool = WorkerPool(Config(catalog=catalog), ["ner"], 2)
    try:
        config, tasks, _ = pickle.loads(pickle.dumps(pool._executor._initargs))
    finally:
        pool.close()
    assert tasks == ["ner"] and config.catalog.columns.model_fields_set == {"name"}


def test_a_worker_that_cannot_load_its_tools_says_why(tmp_path: Path) -> None:
    """Real spawned workers: the cause reaches the user, not just "a worker died"."""
    from distill.config import Config
    from distill.errors import DistillError
    from distill.ingest.processes import WorkerPool

    config = Config.model_validate(
        {"tasks": {"ner": {"backend": "trained", "model": str(tmp_path / "no-such-model")}}}
    )
    with WorkerPool(config, ["ner"], 1) as pool, pytest.raises(DistillError) as raised:
        pool.warm_up(timeout=120)
    assert "could not load the tools" in str(raised.value)
    assert "no-such-model" in str(raised.value)


class FakePool:
    """Stands in for `WorkerPool`: records what the CLI asks of it."""

    started: ClassVar[list[FakePool]] = []

    def __init__(self, config, tasks, workers) -> None:  # type: ignore[no-untyped-def]
        self.workers, self.warmed, self.closed = workers, False, False
        FakePool.started.append(self)

    def warm_up(self) -> None:
        self.warmed = True

    def close(self) -> None:
        self.closed = True


class FailingPool(FakePool):
    def warm_up(self) -> None:
        raise RuntimeError("a worker died while loading its models")


def test_workers_start_before_the_clock_and_say_how_long(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The report's documents/s must not count the workers' model loading (seconds), so the
    CLI starts and warms the pool first and prints what that took."""
    from rich.console import Console

    from distill.cli.ingest_cmd import start_workers

    monkeypatch.setattr(processes, "WorkerPool", FakePool)
    errors = Console(record=True, width=200)
    pipeline = type("P", (), {"tasks": ["ner"]})()
    assert start_workers(None, pipeline, 1, errors) is None  # type: ignore[arg-type]
    pool = start_workers(None, pipeline, 2, errors)  # type: ignore[arg-type]
    assert isinstance(pool, FakePool) and pool.warmed and not pool.closed
    assert "starting 2 worker processes (each loads the models):" in errors.export_text()

    monkeypatch.setattr(processes, "WorkerPool", FailingPool)
    with pytest.raises(RuntimeError, match="worker died"):
        start_workers(None, pipeline, 2, errors)  # type: ignore[arg-type]
    assert FakePool.started[-1].closed  # no processes left behind
