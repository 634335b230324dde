"""Ingestion: files → documents → the configured tools → facts in the graph and the document index.

- `readers`: txt, md, jsonl, csv and folders into `SourceDocument`s, or `LoadFailure`s
  naming file and line (a bad item costs only itself);
- `chunking`: long texts into overlapping chunks whose results are merged back;
- `pipeline`: the tools as an explicit LangGraph state graph, and `ingest()`, which
  batches, resumes and writes each document atomically;
- `ray_engine`: the same pipeline inside Ray actors;
- `index`: the document index (SQLite + faiss passages) the chat agent searches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from distill.ingest.pipeline import IngestReport, Pipeline, ingest

__all__ = ["IngestReport", "Pipeline", "ingest"]


def __getattr__(name: str) -> Any:
    """`from distill.ingest import ingest` without loading LangGraph for every submodule."""
    if name in __all__:
        from distill.ingest import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'distill.ingest' has no attribute {name!r}")
