"""The same ingest pipeline on Ray: workers run the tools, the driver writes the graph.

Each Ray actor builds the configured `Pipeline` once (models load once per worker)
and processes whole batches; facts come back to the driver, which keeps writing one
document at a time under the store's lock, so atomicity and idempotency are exactly
those of a local run. `address=None` starts a local Ray; pass `ray://host:10001` or
set `RAY_ADDRESS` to use a real cluster (model paths must then exist on every node).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from distill.config import Config
from distill.ingest.readers import SourceDocument


class _Worker:
    def __init__(self, config: dict[str, Any], tasks: list[str]) -> None:
        from distill.ingest.pipeline import Pipeline

        self.pipeline = Pipeline(Config.model_validate(config), tasks)

    def run(self, batch: list[SourceDocument]) -> tuple[list[Any], list[Any]]:
        return self.pipeline.run(batch)


def run_batches(
    batches: Iterable[list[SourceDocument]],
    config: Config,
    tasks: list[str],
    *,
    address: str | None = None,
    workers: int | None = None,
) -> Iterator[tuple[list[Any], list[Any]]]:
    """Results of every batch, in completion order, computed by a pool of Ray actors."""
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
    pool = ActorPool([worker.remote(config.model_dump(), tasks) for _ in range(count)])
    yield from pool.map_unordered(lambda actor, batch: actor.run.remote(batch), batches)
