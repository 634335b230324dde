"""Ingest: documents → the configured tools → the knowledge graph, one atomic write per document.

The tools run as a LangGraph graph, one node per task (`chunk → ner → linker →
sentiment → facts` by default), over a *window* of chunks: short documents share a
window (`nlp.pipe`-style batching), a long one spans several, and what each chunk found
is collected before the next window, so memory is bounded by the window whatever the
document size. A backend that raises on a window is retried document by document, so
the failure is pinned on the one document that caused it and the rest goes on.
Nothing is written for a failed document.

`ingest()` reads lazily, a batch at a time, and writes each document atomically, on a
writer thread that stores one batch while the tools compute the next.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import json
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict

from pydantic import BaseModel, Field
from spacy.tokens import Doc

from distill.config import Config, load_config
from distill.doc import make_doc
from distill.errors import DistillError
from distill.ingest.chunking import Chunk, Extracts, chunk_bounds
from distill.ingest.index import DocumentIndex, IndexedDocument
from distill.ingest.readers import LoadFailure, SourceDocument, read_documents
from distill.plugins import Backend, make_backend

if TYPE_CHECKING:
    from distill.graph.store import GraphStore
    from distill.ingest.processes import WorkerPool
    from distill.plugins.linker.catalog import Catalog

DEFAULT_TASKS = ("ner", "linker", "sentiment")
WINDOW_CHARS = 32_000
"""Characters of chunks the tools see at once: model memory is bounded by this, not by
the document (spaCy NER alone took ~15 KB per character when given a whole 1 MB text)."""
BATCH_CHARS = 1_000_000
"""A batch ends at `batch_size` documents or this many characters, whichever comes first:
the facts of a batch are held until written."""


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


class BatchResult(NamedTuple):
    """What the tools made of one batch, on its way to the writer (across processes too)."""

    facts: list[Any]
    failures: list[Failure]
    written: dict[str, str] | None = None
    """Write failures by doc id when a worker wrote the batch itself (FalkorDB), else None."""
    vectors: dict[str, list[Any]] | None = None
    """doc id -> the sentence vectors its sentiment pass left (`doc._.sentence_vectors`),
    for the document index."""


class BatchState(TypedDict):
    """What flows through the graph: one window of chunks, their Docs, facts and failures so far."""

    window: list[tuple[_Work, list[Chunk]]]
    """The chunks the tools see this time; a long document spans several windows."""
    pieces: dict[str, list[tuple[Chunk, Doc]]]
    """doc id -> this window's chunk Docs (a short document's one Doc is the whole Doc)."""
    facts: list[Any]
    docs: list[Doc]
    """The annotated whole Docs (chunk results merged back), for evaluation and the demo."""
    failures: list[Failure]
    vectors: dict[str, list[Any]]


@dataclass
class _Work:
    """One document on its way through the tools: its chunks and what they found so far."""

    document: SourceDocument
    chunks: list[Chunk]
    extracts: Extracts = field(default_factory=Extracts)
    whole: Doc | None = None
    """Set when the document is one chunk: the tools annotate the whole Doc directly."""
    failed: bool = False


class Pipeline:
    """The configured tools, compiled once into a LangGraph graph and reused for every window.

    A batch of documents is cut into chunks, and the chunks into windows of about
    `window_chars` characters; the graph runs once per window, and each chunk's
    results are collected and its Doc dropped before the next window. So model memory
    is bounded by the window whatever the document size, and a document's facts are
    built once its last chunk is through.
    """

    def __init__(
        self,
        config: Config | None = None,
        tasks: Sequence[str] | None = None,
        *,
        backends: dict[str, Backend] | None = None,
        max_chars: int = 4000,
        overlap: int = 300,
        window_chars: int = WINDOW_CHARS,
    ) -> None:
        self.config = config or Config()
        self.tasks = list(self.config.pipeline.tasks if tasks is None else tasks)
        """`[pipeline] tasks` unless given: built-ins and plugin tasks alike."""
        self.backends = backends or {task: make_backend(task, self.config) for task in self.tasks}
        self.max_chars, self.overlap, self.window_chars = max_chars, overlap, window_chars
        if self.config.index.enabled and self.config.index.reuse_sentence_vectors:
            for backend in self.backends.values():  # a tool that can leave them (sentiment)
                if hasattr(backend, "share_sentence_vectors"):
                    backend.share_sentence_vectors = True
        self.graph = self._compile()

    @property
    def shares_sentence_vectors(self) -> bool:
        """A tool leaves each sentence's index vector (the sentiment pass), so the index
        embeds only what it lacks (a long document's chunks)."""
        return any(getattr(b, "share_sentence_vectors", False) for b in self.backends.values())

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

    def run_batch(self, documents: list[SourceDocument]) -> BatchResult:
        """`run`, plus the sentence vectors the tools left for the document index."""
        state = self._invoke(documents)
        return BatchResult(state["facts"], state["failures"], vectors=state["vectors"])

    def annotate(self, documents: list[SourceDocument]) -> tuple[list[Doc], list[Failure]]:
        """The annotated Docs themselves (what the tools wrote), for evaluation."""
        state = self._invoke(documents)
        return state["docs"], state["failures"]

    def _invoke(self, documents: list[SourceDocument]) -> BatchState:
        total: BatchState = {
            "window": [],
            "pieces": {},
            "facts": [],
            "docs": [],
            "failures": [],
            "vectors": {},
        }
        works = []
        for document in documents:
            try:
                chunks = chunk_bounds(document.text, self.max_chars, self.overlap)
            except Exception as exc:
                total["failures"].append(_failure(document, "chunk", exc))
                continue
            works.append(_Work(document, chunks))
        for window in self._windows(works):
            empty: BatchState = {
                "window": window,
                "pieces": {},
                "facts": [],
                "docs": [],
                "failures": [],
                "vectors": {},
            }
            state = self.graph.invoke(empty)
            for key in ("facts", "docs", "failures"):
                total[key].extend(state[key])  # type: ignore[literal-required]
            total["vectors"].update(state["vectors"])
        return total

    def _windows(self, works: list[_Work]) -> Iterator[list[tuple[_Work, list[Chunk]]]]:
        """Chunks in order, about `window_chars` characters at a time (at least one chunk)."""
        window: list[tuple[_Work, list[Chunk]]] = []
        size = 0
        for work in works:
            for chunk in work.chunks:
                if window and size + chunk.end - chunk.start > self.window_chars:
                    yield window
                    window, size = [], 0
                if window and window[-1][0] is work:
                    window[-1][1].append(chunk)
                else:
                    window.append((work, [chunk]))
                size += chunk.end - chunk.start
        if window:
            yield window

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
        pieces, failures = {}, list(state["failures"])
        for work, chunks in state["window"]:
            if work.failed:
                continue
            document = work.document
            meta = self._meta(document)
            try:
                if len(work.chunks) == 1:
                    work.whole = make_doc(document.text, document.id, meta)
                    pieces[document.id] = [(chunks[0], work.whole)]
                else:
                    pieces[document.id] = [
                        (c, make_doc(document.text[c.start : c.end], document.id, meta))
                        for c in chunks
                    ]
            except Exception as exc:
                work.failed = True
                failures.append(_failure(document, "chunk", exc))
        return {"pieces": pieces, "failures": failures}

    def _tool_node(self, task: str) -> Callable[[BatchState], dict[str, Any]]:
        backend = self.backends[task]

        def run_tool(state: BatchState) -> dict[str, Any]:
            alive = dict(state["pieces"])
            failures = list(state["failures"])
            works = {work.document.id: work for work, _ in state["window"]}

            def fail(doc_id: str, problem: BaseException | str) -> None:
                works[doc_id].failed = True
                failures.append(_failure(works[doc_id].document, task, problem))
                del alive[doc_id]

            try:
                backend.predict([chunk for pieces in alive.values() for _, chunk in pieces])
            except Exception:
                for doc_id, pieces in list(alive.items()):
                    try:
                        backend.predict([chunk for _, chunk in pieces])
                    except Exception as exc:
                        fail(doc_id, exc)
            for doc_id, pieces in list(alive.items()):
                problem = next(filter(None, (_error(chunk, task) for _, chunk in pieces)), None)
                if problem:  # a prompt backend's answer that stayed invalid after its retry
                    fail(doc_id, f"invalid LLM output: {problem}")
            return {"pieces": alive, "failures": failures}

        return run_tool

    def _facts(self, state: BatchState) -> dict[str, Any]:
        """Collect this window's results; build the facts of documents whose last chunk it was."""
        from distill.graph.from_doc import facts_from_doc

        facts, failures, docs = list(state["facts"]), list(state["failures"]), []
        vectors = dict(state["vectors"])
        fingerprint = self.fingerprint()
        for work, chunks in state["window"]:
            if work.failed:
                continue
            document = work.document
            try:
                if work.whole is None:
                    for chunk, part in state["pieces"][document.id]:
                        work.extracts.collect(chunk, part)
                    if chunks[-1] is not work.chunks[-1]:
                        continue  # the rest of the document comes in the next windows
                    meta = self._meta(document)
                    doc = work.extracts.apply(make_doc(document.text, document.id, meta))
                else:
                    doc = work.whole
                work.extracts, work.whole = Extracts(), None  # `doc` holds it all now
                docs.append(doc)
                built = facts_from_doc(
                    doc,
                    self.describe(),
                    models={t: b.model_name() for t, b in self.backends.items()},
                    products=self._product_names(doc),
                )
                node = built.document.model_copy(
                    update={"content_hash": ingest_key(document, fingerprint)}
                )
                facts.append(built.model_copy(update={"document": node}))
                if doc._.sentence_vectors:  # a whole doc: a long one's chunks are re-embedded
                    vectors[document.id] = doc._.sentence_vectors
            except Exception as exc:
                work.failed = True
                failures.append(_failure(document, "facts", exc))
        return {"facts": facts, "docs": docs, "failures": failures, "vectors": vectors}

    def _meta(self, document: SourceDocument) -> dict[str, Any]:
        """What the tools see of the document's metadata. A `product` given by its catalog
        name or alias ("Nokia 6610") becomes the entry's id (`product_id`), so opinions a
        review never ties to a mention attach to the catalog entry, not to a new product
        of the same name beside it; a name no single entry answers to stays as given."""
        meta = {**document.meta, "source": document.source}
        subject = meta.get("product")
        if subject is not None and not meta.get("product_id") and self._catalog is not None:
            entry = self._catalog.find(str(subject).strip())
            if entry is not None:
                meta.update(product_id=entry.id, product_name=entry.name)
        return meta

    def _product_names(self, doc: Doc) -> dict[str, str]:
        """Catalog id -> product name for the products this doc links to."""
        names = {}
        for ent in doc.ents:
            if ent.kb_id_:
                entry = self._catalog.get(ent.kb_id_) if self._catalog is not None else None
                names[ent.kb_id_] = entry.name if entry is not None else ent.text
        return names

    @functools.cached_property
    def _catalog(self) -> Catalog | None:
        """The configured catalog (loaded once): subjects and product names in the graph."""
        from distill.plugins.linker.catalog import configured_catalog

        return configured_catalog(self.config)


def ingest_key(document: SourceDocument, fingerprint: str) -> str:
    """Content hash plus pipeline fingerprint: `--resume` skips only what would not change."""
    return f"{document.content_hash}:{fingerprint}"


def _error(doc: Doc, task: str) -> str | None:
    return ((doc._.meta or {}).get("errors") or {}).get(task)


def _failure(document: SourceDocument, stage: str, problem: BaseException | str) -> Failure:
    reason = problem if isinstance(problem, str) else f"{type(problem).__name__}: {problem}"
    return Failure(source=document.source, doc_id=document.id, stage=stage, reason=reason)


def batched(
    documents: Iterable[SourceDocument], size: int, max_chars: int = BATCH_CHARS
) -> Iterator[list[SourceDocument]]:
    """Lists of at most `size` documents and about `max_chars` characters (at least one)."""
    batch: list[SourceDocument] = []
    chars = 0
    for document in documents:
        if batch and (len(batch) >= size or chars + len(document.text) > max_chars):
            yield batch
            batch, chars = [], 0
        batch.append(document)
        chars += len(document.text)
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
    workers: int | WorkerPool = 1,
    on_progress: Callable[[int, int | None], None] | None = None,
) -> IngestReport:
    """Ingest `paths` into the configured graph store; see `IngestReport` for what it returns.

    Documents are read as they are needed (a batch at a time), so memory does not grow
    with the corpus. `workers=N` (N > 1) runs the tools in N processes (a `WorkerPool`
    may be passed in, already warm); `engine="ray"` runs them on Ray actors (a local
    cluster, or `ray_address`). Writes stay on this process, except with a store that
    takes several writers (FalkorDB) on Ray, where each actor writes its own batches. The
    document index is always written here. `on_progress(done, total)` is called after
    every batch; `total` is None until reading has finished.
    """
    from distill.graph import open_store

    if engine not in ("local", "ray"):
        raise DistillError(f"unknown engine {engine!r}; use local or ray")
    config = config or load_config().config
    started = time.perf_counter()
    report = IngestReport(dry_run=dry_run)
    items = read_documents(paths, text_field=text_field)  # a missing path fails here, first
    pipeline = pipeline or Pipeline(config)
    report.backends = pipeline.describe()
    fingerprint = pipeline.fingerprint()
    store = None if dry_run else open_store(config.graph)
    index = None
    reading = {"finished": False}
    pending: dict[str, SourceDocument] = {}
    """Documents read and not yet written or failed: what the index needs of them."""
    lock = threading.Lock()
    """The graph store is read here (`--resume`) and written by the writer thread."""
    done = 0

    def write(result: BatchResult) -> None:
        """One batch's facts into the graph (one transaction) and the index; on the writer."""
        nonlocal done
        facts, failures, written_by_worker, vectors = result
        report.failures.extend(failures)
        for failure in failures:
            pending.pop(failure.doc_id or "", None)
        written: list[SourceDocument] = []
        failed: dict[str | None, Exception | str] = {}
        if written_by_worker is not None:  # a Ray actor wrote it to a server store
            failed = dict(written_by_worker)
        elif store is not None and facts:  # one transaction per batch; a bad one fails alone
            with lock:
                result = store.write_documents(facts, batch_size=len(facts))
            failed = {failure.doc_id: failure.error for failure in result.failures}
        for document_facts in facts:
            source = pending.pop(document_facts.document.id)
            if store is None:
                report.planned.append(_plan(document_facts))
            elif document_facts.document.id in failed:
                error = failed[document_facts.document.id]
                report.failures.append(_failure(source, "write", error))
                continue
            else:
                written.append(source)
            report.written += 1
            report.mentions += len(document_facts.mentions)
            report.opinions += len(document_facts.opinions)
        if index is not None and written:
            report.indexed += _index(index, written, fingerprint, report.failures, vectors or {})
        _return_freed_memory()
        done += len(facts) + len(failures)
        if on_progress:
            on_progress(done, report.documents if reading["finished"] else None)

    def documents() -> Iterator[SourceDocument]:
        for item in itertools.islice(items, limit):
            report.documents += 1
            if isinstance(item, LoadFailure):
                report.failures.append(
                    Failure(
                        source=item.source, doc_id=item.doc_id, stage="read", reason=item.reason
                    )
                )
            elif resume and store is not None and _ingested(item, fingerprint, store, index, lock):
                report.skipped += 1
            else:
                pending[item.id] = item
                yield item
        reading["finished"] = True

    pool: WorkerPool | None = None
    try:
        if config.index.enabled and not dry_run:
            index = DocumentIndex.from_config(config.index)
        batches = batched(documents(), batch_size)
        tools_here = False  # the tools run in this process, not in workers or Ray actors
        if not isinstance(workers, int) or workers > 1:
            from distill.ingest.processes import WorkerPool

            if engine != "local":
                raise DistillError("--workers is for the local engine; Ray has its own actors")
            if isinstance(workers, int):
                pool = workers = WorkerPool(config, pipeline.tasks, workers)
            results = workers.run_batches(batches)
        elif engine == "ray":
            from distill.ingest.ray_engine import run_batches

            results: Iterable[BatchResult] = run_batches(
                batches,
                config,
                pipeline.tasks,
                address=ray_address,
                write=bool(store is not None and store.concurrent_writers),
            )
        else:
            results = (pipeline.run_batch(batch) for batch in batches)
            tools_here = True
        writer_embeds = index is not None and not pipeline.shares_sentence_vectors
        split = not tools_here or writer_embeds
        with _shared_cores(split) as threads, Writer(write, threads=threads) as writer:
            for result in results:
                writer.put(result)
    finally:
        try:
            if index is not None:
                index.close()
        finally:
            if store is not None:
                store.close()
            if pool is not None:
                pool.close()
    report.seconds = time.perf_counter() - started
    return report


def _ingested(
    document: SourceDocument,
    fingerprint: str,
    store: GraphStore,
    index: DocumentIndex | None,
    lock: threading.Lock,
) -> bool:
    """`--resume` skips a document only when both the graph and the index have this version."""
    key = ingest_key(document, fingerprint)
    with lock:
        in_graph = store.has_document(document.id, key)
    return in_graph and (index is None or index.has(document.id, key))


_DONE = object()


class Writer:
    """Runs `write(batch)` on one thread while the caller computes the next batch.

    The queue holds at most `depth` batches, so memory stays bounded when writing is the
    slower side. An error in `write` stops the writer (later batches are not written) and
    is raised in the caller at its next `put` or on leaving the `with` block; an error in
    the caller lets the batch being written finish and drops the queued ones.
    """

    def __init__(self, write: Callable[..., None], *, depth: int = 2, threads: int = 0) -> None:
        self._write, self._threads = write, threads
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._stop = False
        self._thread = threading.Thread(target=self._loop, name="distill-writer", daemon=True)

    def _loop(self) -> None:
        if self._threads:  # OpenMP settings are per thread: this one needs them too
            import torch

            torch.set_num_threads(self._threads)
        while (item := self._queue.get()) is not _DONE:
            if self._error is None and not self._stop:
                try:
                    self._write(item)
                except BaseException as exc:
                    self._error = exc

    def put(self, item: Any) -> None:
        self._raise()
        self._queue.put(item)

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def __enter__(self) -> Writer:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        self._stop = kind is not None
        self._queue.put(_DONE)
        self._thread.join()
        if kind is None:
            self._raise()


@contextlib.contextmanager
def _shared_cores(split: bool) -> Iterator[int]:
    """Torch's intra-op threads for the tools (this thread) and the writer; yields the
    writer's. `split`: half each, for when both run MiniLM at once (the writer embeds for
    the index): two sides of 2 threads each oversubscribe 2 cores (on a busy 2-core
    machine MiniLM did 3.8x more per CPU-second on 1 thread than on 2). Otherwise the
    tools keep every core and the writer gets one: with the index's vectors taken from the
    sentiment pass, it only writes (1,000 reviews in one process: 57 reviews/s against
    37-41 with the cores split), or embeds a long document's chunks now and then (30
    documents of 14,600 characters: 51-54 s against 68-74 s split; BENCHMARKS.md, Ingest
    at scale)."""
    import torch

    before = torch.get_num_threads()
    writer = max(1, before // 2) if split else 1
    torch.set_num_threads(writer if split else before)
    try:
        yield writer
    finally:
        torch.set_num_threads(before)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, or None where the C library has none (musl, macOS)."""
    import ctypes
    import ctypes.util

    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def _return_freed_memory() -> None:
    """Give the memory a batch freed back to the system (glibc keeps it in the heap).

    Two threads run MiniLM at once, each in its own malloc arena, and the tensors a
    batch frees stay in those arenas: a 3,200-review ingest ended at 1,400 MB resident,
    of which `malloc_trim` gave back 425 MB. After every batch it keeps the resident set
    near what is in use, for ~0.15 ms a review.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _index(
    index: DocumentIndex,
    written: list[SourceDocument],
    fingerprint: str,
    failures: list[Failure],
    vectors: dict[str, list[Any]],
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
            sentence_vectors=vectors.get(document.id),
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
