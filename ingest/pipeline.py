"""Ingest: documents → the configured tools → the knowledge graph, one atomic write per document.

The tools run as a LangGraph graph over a batch of documents, one node per task
(`chunk → ner → linker → sentiment → facts` by default). Trained backends see the
whole batch at once (`nlp.pipe`-style); a backend that raises on a batch is retried
document by document, so the failure is pinned on the one document that caused it
and the rest of the batch goes on. Nothing is written for a failed document.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from pydantic import BaseModel, Field
from spacy.tokens import Doc

from distill.config import Config, load_config
from distill.doc import make_doc
from distill.errors import DistillError
from distill.ingest.chunking import Chunk, merge, split
from distill.ingest.index import DocumentIndex, IndexedDocument
from distill.ingest.readers import LoadFailure, SourceDocument, read_documents
from distill.plugins import Backend, make_backend

if TYPE_CHECKING:
    from distill.graph.store import GraphStore

DEFAULT_TASKS = ("ner", "linker", "sentiment")


class Failure(BaseModel):
    source: str
    doc_id: str | None = None
    stage: str = Field(description="read, a task name, facts, write or index")
    reason: str


class IngestReport(BaseModel):
    """What a run did; `distill ingest` prints it, `distill.ingest()` returns it."""

    documents: int = 0
    written: int = 0
    skipped: int = 0
    indexed: int = Field(0, description="documents added to the document index")
    failures: list[Failure] = Field(default_factory=list)
    mentions: int = 0
    opinions: int = 0
    seconds: float = 0.0
    dry_run: bool = False
    backends: dict[str, str] = Field(default_factory=dict)
    planned: list[dict[str, Any]] = Field(default_factory=list, description="--dry-run output")

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def facts(self) -> int:
        return self.mentions + self.opinions

    @property
    def docs_per_second(self) -> float:
        return self.documents / self.seconds if self.seconds else 0.0


class BatchState(TypedDict):
    """What flows through the graph: one batch, its chunked Docs, facts and failures so far."""

    documents: list[SourceDocument]
    pieces: dict[str, tuple[Doc, list[tuple[Chunk, Doc]]]]
    """doc id -> (the whole Doc, its chunks); short docs are their own single chunk."""
    facts: list[Any]
    docs: list[Doc]
    """The annotated whole Docs (chunks merged back), for evaluation and the demo."""
    failures: list[Failure]


class Pipeline:
    """The configured tools, compiled once into a LangGraph graph and reused for every batch."""

    def __init__(
        self,
        config: Config | None = None,
        tasks: Sequence[str] = DEFAULT_TASKS,
        *,
        backends: dict[str, Backend] | None = None,
        max_chars: int = 4000,
        overlap: int = 300,
    ) -> None:
        self.config = config or Config()
        self.tasks = list(tasks)
        self.backends = backends or {task: make_backend(task, self.config) for task in self.tasks}
        self.max_chars, self.overlap = max_chars, overlap
        self.graph = self._compile()

    def describe(self) -> dict[str, str]:
        """Task -> backend name: goes into provenance and the resume fingerprint."""
        return {task: backend.name for task, backend in self.backends.items()}

    def fingerprint(self) -> str:
        """Changes whenever a backend or model changes, so `--resume` re-ingests then."""
        parts = {t: [b.name, b.model_name()] for t, b in self.backends.items()}
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]

    def run(self, documents: list[SourceDocument]) -> tuple[list[Any], list[Failure]]:
        """DocumentFacts for every document that went through every tool; failures for the rest."""
        state = self._invoke(documents)
        return state["facts"], state["failures"]

    def annotate(self, documents: list[SourceDocument]) -> tuple[list[Doc], list[Failure]]:
        """The annotated Docs themselves (what the tools wrote), for evaluation."""
        state = self._invoke(documents)
        return state["docs"], state["failures"]

    def _invoke(self, documents: list[SourceDocument]) -> BatchState:
        empty: BatchState = {
            "documents": documents,
            "pieces": {},
            "facts": [],
            "docs": [],
            "failures": [],
        }
        return self.graph.invoke(empty)

    # graph

    def _compile(self) -> Any:
        from langgraph.graph import END, START, StateGraph

        graph = StateGraph(BatchState)
        graph.add_node("chunk", self._chunk)
        previous = "chunk"
        graph.add_edge(START, "chunk")
        for task in self.tasks:
            graph.add_node(task, self._tool_node(task))
            graph.add_edge(previous, task)
            previous = task
        graph.add_node("facts", self._facts)
        graph.add_edge(previous, "facts")
        graph.add_edge("facts", END)
        return graph.compile()

    def _chunk(self, state: BatchState) -> dict[str, Any]:
        pieces = {}
        for document in state["documents"]:
            doc = make_doc(document.text, document.id, {**document.meta, "source": document.source})
            pieces[document.id] = (doc, split(doc, self.max_chars, self.overlap))
        return {"pieces": pieces}

    def _tool_node(self, task: str) -> Callable[[BatchState], dict[str, Any]]:
        backend = self.backends[task]

        def run_tool(state: BatchState) -> dict[str, Any]:
            alive = dict(state["pieces"])
            failures = list(state["failures"])
            try:
                backend.predict([chunk for _, pieces in alive.values() for _, chunk in pieces])
            except Exception:
                for doc_id, (doc, pieces) in list(alive.items()):
                    try:
                        backend.predict([chunk for _, chunk in pieces])
                    except Exception as exc:
                        failures.append(_failure(doc, task, exc))
                        del alive[doc_id]
            for doc_id, (doc, pieces) in list(alive.items()):
                problem = next(filter(None, (_error(chunk, task) for _, chunk in pieces)), None)
                if problem:  # a prompt backend's answer that stayed invalid after its retry
                    failures.append(_failure(doc, task, f"invalid LLM output: {problem}"))
                    del alive[doc_id]
            return {"pieces": alive, "failures": failures}

        return run_tool

    def _facts(self, state: BatchState) -> dict[str, Any]:
        from distill.graph.from_doc import facts_from_doc

        facts, failures, docs = list(state["facts"]), list(state["failures"]), []
        sources = {d.id: d for d in state["documents"]}
        fingerprint = self.fingerprint()
        for doc_id, (whole, pieces) in state["pieces"].items():
            doc = merge(whole, pieces)
            docs.append(doc)
            try:
                built = facts_from_doc(
                    doc,
                    self.describe(),
                    models={t: b.model_name() for t, b in self.backends.items()},
                    products=self._product_names(doc),
                )
                document = built.document.model_copy(
                    update={"content_hash": ingest_key(sources[doc_id], fingerprint)}
                )
                facts.append(built.model_copy(update={"document": document}))
            except Exception as exc:
                failures.append(_failure(doc, "facts", exc))
        return {"facts": facts, "docs": docs, "failures": failures}

    def _product_names(self, doc: Doc) -> dict[str, str]:
        """Catalog id -> product name for the products this doc links to."""
        catalog = self._catalog
        names = {}
        for ent in doc.ents:
            if ent.kb_id_:
                entry = catalog.get(ent.kb_id_) if catalog else None
                names[ent.kb_id_] = entry.name if entry is not None else ent.text
        return names

    @functools.cached_property
    def _catalog(self) -> dict[str, Any]:
        """The configured catalog by id (loaded once), for product names in the graph."""
        if "linker" not in self.backends:
            return {}
        from distill.plugins.linker.catalog import configured_catalog

        catalog = configured_catalog(self.config)
        return catalog.by_id if catalog is not None else {}


def ingest_key(document: SourceDocument, fingerprint: str) -> str:
    """Content hash plus pipeline fingerprint: `--resume` skips only what would not change."""
    return f"{document.content_hash}:{fingerprint}"


def _error(doc: Doc, task: str) -> str | None:
    return ((doc._.meta or {}).get("errors") or {}).get(task)


def _failure(doc: Doc, stage: str, problem: BaseException | str) -> Failure:
    reason = problem if isinstance(problem, str) else f"{type(problem).__name__}: {problem}"
    source = (doc._.meta or {}).get("source") or doc._.doc_id or "?"
    return Failure(source=source, doc_id=doc._.doc_id, stage=stage, reason=reason)


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def ingest(
    paths: Iterable[str | Path],
    config: Config | None = None,
    *,
    limit: int | None = None,
    resume: bool = False,
    dry_run: bool = False,
    text_field: str = "text",
    batch_size: int = 64,
    pipeline: Pipeline | None = None,
    engine: str = "local",
    ray_address: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> IngestReport:
    """Ingest `paths` into the configured graph store; see `IngestReport` for what it returns.

    `engine="ray"` runs the tools on Ray actors (a local cluster, or `ray_address`);
    writes stay on this process. `on_progress(done, total)` is called after every batch.
    """
    from distill.graph import open_store

    config = config or load_config().config
    started = time.perf_counter()
    report = IngestReport(dry_run=dry_run)
    documents: list[SourceDocument] = []
    for item in read_documents(paths, text_field=text_field):
        if limit is not None and report.documents >= limit:
            break
        report.documents += 1
        if isinstance(item, LoadFailure):
            report.failures.append(
                Failure(source=item.source, doc_id=item.doc_id, stage="read", reason=item.reason)
            )
        else:
            documents.append(item)

    pipeline = pipeline or Pipeline(config)
    report.backends = pipeline.describe()
    fingerprint = pipeline.fingerprint()
    store = None if dry_run else open_store(config.graph)
    index = None
    try:
        if config.index.enabled and not dry_run:
            index = DocumentIndex.from_config(config.index)
        if resume and store is not None:
            fresh = [
                d for d in documents if not _ingested(d, ingest_key(d, fingerprint), store, index)
            ]
            report.skipped = len(documents) - len(fresh)
            documents = fresh
        # what each written document was, for the index (Ray returns batches out of order)
        sources = {(d.id, ingest_key(d, fingerprint)): d for d in documents}
        by_id = {d.id: d for d in documents}
        done = 0
        batches = list(batched(documents, batch_size))
        if engine == "ray":
            from distill.ingest.ray_engine import run_batches

            results = run_batches(batches, config, pipeline.tasks, address=ray_address)
        elif engine == "local":
            results = (pipeline.run(batch) for batch in batches)
        else:
            raise DistillError(f"unknown engine {engine!r}; use local or ray")
        for facts, failures in results:
            report.failures.extend(failures)
            written: list[SourceDocument] = []
            for document_facts in facts:
                if store is None:
                    report.planned.append(_plan(document_facts))
                else:
                    try:
                        store.write_document(document_facts)
                    except Exception as exc:
                        report.failures.append(
                            Failure(
                                source=document_facts.document.source or document_facts.document.id,
                                doc_id=document_facts.document.id,
                                stage="write",
                                reason=f"{type(exc).__name__}: {exc}",
                            )
                        )
                        continue
                    node = document_facts.document
                    written.append(sources.get((node.id, node.content_hash)) or by_id[node.id])
                report.written += 1
                report.mentions += len(document_facts.mentions)
                report.opinions += len(document_facts.opinions)
            if index is not None and written:
                report.indexed += _index(index, written, fingerprint, report.failures)
            done += len(facts) + len(failures)
            if on_progress:
                on_progress(done, len(documents))
    finally:
        try:
            if index is not None:
                index.close()
        finally:
            if store is not None:
                store.close()
    report.seconds = time.perf_counter() - started
    return report


def _ingested(
    document: SourceDocument, key: str, store: GraphStore, index: DocumentIndex | None
) -> bool:
    """`--resume` skips a document only when both the graph and the index have this version."""
    return store.has_document(document.id, key) and (index is None or index.has(document.id, key))


def _index(
    index: DocumentIndex, written: list[SourceDocument], fingerprint: str, failures: list[Failure]
) -> int:
    """Add one batch's written documents to the index in one transaction; returns how many.

    A failure here leaves the graph as written; the index misses these documents
    until a `--resume` (which checks both) retries them.
    """
    indexed = [
        IndexedDocument(
            id=document.id,
            text=document.text,
            content_hash=ingest_key(document, fingerprint),
            source=document.source,
            title=_title(document),
        )
        for document in written
    ]
    try:
        index.add(indexed)
    except Exception as exc:
        failures.extend(
            Failure(
                source=document.source,
                doc_id=document.id,
                stage="index",
                reason=f"{type(exc).__name__}: {exc}",
            )
            for document in written
        )
        return 0
    return len(indexed)


def _title(document: SourceDocument) -> str | None:
    title = document.meta.get("title")
    return None if title is None else str(title)


def _plan(facts: Any) -> dict[str, Any]:
    return {
        "document": facts.document.id,
        "mentions": [(m.text, m.label, m.product_id) for m in facts.mentions],
        "opinions": [(o.product_id or o.target, o.aspect, o.polarity) for o in facts.opinions],
    }
