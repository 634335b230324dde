"""The tools in worker processes: the same pipeline on every core, one writer here.

Threads cannot spread the tools over cores: spaCy's parser, the linker and the Python
around each model hold the GIL (two tool threads measured slower than one; BENCHMARKS.md,
Ingest at scale). With `workers=N`, each of N processes builds the configured `Pipeline`
once and runs whole batches; facts and sentence vectors come back to this process,
whose single writer thread stores them exactly as a one-process run does. A worker never
writes, so atomic batches, `--resume` and what a SIGKILL leaves are unchanged.
"""

from __future__ import annotations

import collections
import contextlib
import multiprocessing
import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from distill.config import Config
from distill.errors import DistillError
from distill.ingest.pipeline import BatchResult, Pipeline
from distill.ingest.readers import SourceDocument

AUTO_BYTES = {"AMX": 2_000_000, "AVX512-BF16": 750_000, None: 1_500_000}
"""Input size from which `auto_workers` starts worker processes, by the CPU's bfloat16
hardware (`bf16_hardware()`). Each worker loads the models (~10-15 s), which a small input
must win back, and one process already runs the tools on every core. Measured 2026-12-04
on 1,000 generated reviews (280 KB): with AVX512-BF16 one process 50-54 reviews/s, two
workers 62-75 (from ~1,600-2,700 reviews, 0.5-0.75 MB); float32 on the same CPU 37 and 41
(from ~4,000-6,000 reviews, 1.2-1.7 MB). AMX is not measured since one process got every
core; scaled from its earlier rates (one process ~90 reviews/s on one core, two workers
~160), about 2 MB. BENCHMARKS.md, Ingest at scale."""
MAX_AUTO_WORKERS = 4
"""The single writer in the parent bounds what more workers can add (BENCHMARKS.md)."""

_pipeline: Pipeline | None = None
"""This worker's pipeline (set once, when the process starts)."""
_start_error: str | None = None
"""Why this worker could not build its pipeline: raised by every call it gets, so the user
reads the cause instead of "a worker died" (an initializer that raises breaks the pool)."""


def auto_workers(paths: Iterable[str | os.PathLike[str]]) -> int:
    """One worker per core (at most `MAX_AUTO_WORKERS`) when the input files add up to
    `AUTO_BYTES` of this CPU or more and there are several cores; else 1 (the tools in
    this process)."""
    from distill.plugins.linker.embed import bf16_hardware

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if not cores or cores < 2:
        return 1
    threshold = AUTO_BYTES[bf16_hardware()]
    size = 0
    for root in paths:
        files = [root] if not os.path.isdir(root) else _files(root)
        for file in files:
            with contextlib.suppress(OSError):
                size += os.stat(file).st_size
            if size >= threshold:
                return min(cores, MAX_AUTO_WORKERS)
    return 1


def _files(folder: str | os.PathLike[str]) -> Iterator[str]:
    for directory, _, names in os.walk(folder):
        yield from (os.path.join(directory, name) for name in names)


def _start(config: Config, tasks: list[str], parent: int) -> None:
    """Worker start-up: one torch thread (the cores are the workers), the models loaded."""
    global _pipeline, _start_error
    import torch

    torch.set_num_threads(1)
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    try:
        _pipeline = Pipeline(config, tasks)
    except Exception as exc:  # reported by the worker's first call
        _start_error = f"{type(exc).__name__}: {exc}"


def _ready() -> Pipeline:
    if _pipeline is None:
        raise DistillError(
            f"an ingest worker process could not load the tools: {_start_error}. "
            "Fix that (it is the same config as a one-process run), or run with --workers 1."
        )
    return _pipeline


def _exit_with(parent: int) -> None:
    """A worker whose parent was killed (SIGKILL runs no clean-up) would wait for work
    forever, holding its models' memory: it leaves as soon as it is orphaned."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _run(batch: list[SourceDocument]) -> BatchResult:
    return _ready().run_batch(batch)


def _pid() -> int:
    _ready()
    time.sleep(0.05)  # long enough for the other idle workers to take the other calls
    return os.getpid()


def _died() -> DistillError:
    return DistillError(
        "an ingest worker process died (killed, or out of memory?); the documents of its "
        "batches were not written. Rerun with --resume (and fewer --workers if memory is short)."
    )


class WorkerPool:
    """`workers` processes that each run the configured tools on whole batches."""

    def __init__(self, config: Config, tasks: Sequence[str], workers: int = 2) -> None:
        if workers < 1:
            raise DistillError(f"workers must be at least 1, not {workers}")
        self.workers = workers
        self._executor = ProcessPoolExecutor(
            workers,
            # fork would copy a parent whose torch/OpenMP threads already run: not safe
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            # the Config itself, pickled: a dump validated again would mark every field as
            # set, and the catalog tells a mapped column from a default one by that
            initargs=(config, list(tasks), os.getpid()),
        )

    def warm_up(self, timeout: float = 600.0) -> None:
        """Start every worker and load its models now (else the first batches pay for it)."""
        seen: set[int] = set()
        deadline = time.monotonic() + timeout
        while len(seen) < self.workers and time.monotonic() < deadline:
            futures = [self._submit(_pid) for _ in range(self.workers)]
            seen.update(self._result(future) for future in futures)

    def run_batches(self, batches: Iterable[list[SourceDocument]]) -> Iterator[BatchResult]:
        """Results in input order; at most two batches per worker in flight, so memory
        stays bounded however long the input."""
        pending: collections.deque[Future[BatchResult]] = collections.deque()
        try:
            for batch in batches:
                pending.append(self._submit(_run, batch))
                if len(pending) > 2 * self.workers:
                    yield self._result(pending.popleft())
            while pending:
                yield self._result(pending.popleft())
        finally:
            for future in pending:
                future.cancel()

    def pids(self) -> list[int]:
        """The worker processes' ids (started ones)."""
        return list(self._executor._processes or {})

    def _submit(self, function: Any, *args: Any) -> Future[Any]:
        try:
            return self._executor.submit(function, *args)
        except BrokenProcessPool as exc:
            raise _died() from exc

    def _result(self, future: Future[Any]) -> Any:
        try:
            return future.result()
        except BrokenProcessPool as exc:
            raise _died() from exc

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
