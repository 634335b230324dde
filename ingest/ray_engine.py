"""The same ingest pipeline on Ray: workers run the tools, the driver (or the workers) write.

Each Ray actor builds the configured `Pipeline` once (models load once per worker)
and processes whole batches. With an embedded store (LadybugDB, networkx) the facts
come back to the driver, the graph's single writer, which writes each batch in one
transaction exactly as a local run does; that writer is what limits scaling. With a
store whose server takes several writers (`GraphStore.concurrent_writers`: FalkorDB),
each actor opens its own connection and writes its batches itself (one transaction per
batch, a failed batch retried document by document, as on the driver) and returns the
facts with the per-document write failures. The document index stays on the driver.
`address=None` starts a local Ray; pass `ray://host:10001` or set `RAY_ADDRESS` to use a
real cluster (model paths, and the graph server, must then be reachable from every node).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from distill.config import Config
from distill.ingest.pipeline import BatchResult
from distill.ingest.readers import SourceDocument


class _Worker:
    def __init__(self, config: Config, tasks: list[str], write: bool = False) -> None:
        from distill.graph import open_store
        from distill.ingest.pipeline import Pipeline

        self.pipeline = Pipeline(config, tasks)
        self.store = open_store(config.graph) if write else None

    def run(self, batch: list[SourceDocument]) -> BatchResult:
        result = self.pipeline.run_batch(batch)
        if self.store is None:
            return result
        failed: dict[str, str] = {}
        if result.facts:
            written = self.store.write_documents(result.facts, batch_size=len(result.facts))
            failed = {
                str(f.doc_id): f"{type(f.error).__name__}: {f.error}" for f in written.failures
            }
        return result._replace(written=failed)


def run_batches(
    batches: Iterable[list[SourceDocument]],
    config: Config,
    tasks: list[str],
    *,
    address: str | None = None,
    workers: int | None = None,
    write: bool = False,
) -> Iterator[BatchResult]:
    """Results of every batch, in completion order, computed by a pool of Ray actors;
    with `write` each actor also writes its batches to the (server) graph store."""
    import ray
    from ray.util import ActorPool

    if not ray.is_initialized():
        ray.init(
            address=address or os.environ.get("RAY_ADDRESS"),
            include_dashboard=False,
            logging_level="ERROR",
            log_to_driver=False,
        )
    count = workers or max(1, int(ray.available_resources().get("CPU", 1)))
    worker = ray.remote(num_cpus=1)(_Worker)
    pool = ActorPool([worker.remote(config, tasks, write) for _ in range(count)])
    yield from pool.map_unordered(lambda actor, batch: actor.run.remote(batch), batches)
