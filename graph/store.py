"""One interface for every graph store, so ingestion, queries and the CLI never care which.

A store's contract: `write_document` replaces all facts of a document atomically
(re-ingesting never duplicates); `write_documents` writes many per transaction, each
document still all or nothing (a batch that fails is retried one document at a time, so
a bad document costs only itself); the counts kept on Product nodes change in the same
transaction as the facts; `query` is read-only whatever it is sent (the guard parses it,
the database runs only the guard's rendering, read-only, under a timeout and a row cap),
and two writers never corrupt the store (they wait for each other, with a timeout).
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from distill.graph.errors import GraphError
from distill.graph.guard import OPENCYPHER, Dialect, read_query
from distill.graph.schema import (
    AspectSummary,
    DocumentFacts,
    GraphRecords,
    GraphStats,
    MentionRow,
    ProductSummary,
)

if TYPE_CHECKING:
    import networkx as nx

    from distill.config import GraphConfig

Row = dict[str, Any]
LOCK_TIMEOUT_S = 60.0
QUERY_TIMEOUT_S = 30.0
"""How long one `query` may run before the database stops it."""
MAX_ROWS = 100_000
"""How many rows one `query` may return; more is an error that asks for a LIMIT."""
BATCH_SIZE = 64
"""Documents per transaction in `write_documents` (BENCHMARKS.md: 1, 64, 512)."""


@dataclass(frozen=True)
class WriteFailure:
    """A document `write_documents` could not write; nothing of it was written."""

    index: int
    """Its position in the input."""
    doc_id: str | None
    error: Exception


@dataclass
class WriteResult:
    """What `write_documents` did: the ids written (in input order) and the failures."""

    written: list[str] = field(default_factory=list)
    failures: list[WriteFailure] = field(default_factory=list)


class FileLock:
    """An exclusive `flock` on a side file; the second writer waits, then fails clearly."""

    def __init__(self, path: Path, timeout: float = LOCK_TIMEOUT_S) -> None:
        self.path = path
        self.timeout = timeout
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise GraphError(
                        f"graph store is locked by another writer ({self.path}); waited "
                        f"{self.timeout:.0f}s. Wait for the other ingest to finish, or open "
                        "the store read-only to query it."
                    ) from None
                time.sleep(0.05)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class GraphStore(ABC):
    """Abstract store; implementations register with `register_store(name)` (see stores.py)."""

    kind: ClassVar[str] = "?"
    dialect: ClassVar[Dialect] = OPENCYPHER
    """How the guard writes a checked query for this database, and the procedures it allows."""
    concurrent_writers: ClassVar[bool] = False
    """True for a server that several processes may write at once (`--engine ray` then
    lets every actor write its own batches); embedded stores have one writer."""

    def __init__(self, location: str, *, read_only: bool = False) -> None:
        self.location = location
        self.read_only = read_only

    @classmethod
    @abstractmethod
    def from_config(cls, config: GraphConfig, *, read_only: bool = False) -> GraphStore:
        """Open the store a `[graph]` config section describes."""

    # writing

    def write_document(self, facts: DocumentFacts) -> None:
        """Replace everything known about `facts.document.id` with `facts`, all or nothing."""
        self._check_writable()
        facts = DocumentFacts.model_validate(facts)
        self._replace_many([(facts.document.id, facts.records())])

    def write_documents(
        self, many: Iterable[DocumentFacts], *, batch_size: int = BATCH_SIZE
    ) -> WriteResult:
        """`write_document` for each, `batch_size` documents per transaction.

        A batch that fails is rolled back and retried one document at a time, so only
        the documents that fail on their own are left out (in `failures`); every
        document is wholly written or not at all. A document given twice keeps its last
        version.
        """
        self._check_writable()
        result = WriteResult()
        numbered = enumerate(many)
        while chunk := list(itertools.islice(numbered, max(1, batch_size))):
            batch: dict[str, tuple[int, GraphRecords]] = {}
            order: list[str] = []
            for index, facts in chunk:
                try:
                    valid = DocumentFacts.model_validate(facts)
                    batch[valid.document.id] = (index, valid.records())
                    order.append(valid.document.id)
                except Exception as exc:  # a malformed document fails alone
                    result.failures.append(WriteFailure(index, _doc_id(facts), exc))
            written = self._write_batch(batch, result) if batch else set()
            result.written += [doc_id for doc_id in order if doc_id in written]
        result.failures.sort(key=lambda failure: failure.index)
        return result

    def _write_batch(
        self, batch: dict[str, tuple[int, GraphRecords]], result: WriteResult
    ) -> set[str]:
        """Write `batch` in one transaction, or, if that fails, each document in its own."""
        try:
            self._replace_many([(doc_id, records) for doc_id, (_, records) in batch.items()])
            return set(batch)
        except Exception as exc:
            if len(batch) == 1:
                [(doc_id, (index, _))] = batch.items()
                result.failures.append(WriteFailure(index, doc_id, exc))
                return set()
        written = set()
        for doc_id, (index, records) in batch.items():
            try:
                self._replace_many([(doc_id, records)])
                written.add(doc_id)
            except Exception as exc:
                result.failures.append(WriteFailure(index, doc_id, exc))
        return written

    def bulk_load(self, many: Iterable[DocumentFacts]) -> int:
        """Fast path for loading a fresh store; backends override with their native import."""
        result = self.write_documents(many, batch_size=512)
        if result.failures:
            first = result.failures[0]
            raise GraphError(
                f"{len(result.failures)} document(s) could not be loaded; the first, "
                f"{first.doc_id!r}: {first.error}"
            ) from first.error
        return len(result.written)

    def delete_document(self, doc_id: str) -> bool:
        """Remove a document and its facts; False if it was not there."""
        self._check_writable()
        if self.document(doc_id) is None:
            return False
        self._replace_many([(doc_id, None)])
        return True

    def has_document(self, doc_id: str, content_hash: str | None = None) -> bool:
        """True if stored (with this content hash, when given): ingest may skip it."""
        doc = self.document(doc_id)
        return doc is not None and (content_hash is None or doc.get("content_hash") == content_hash)

    @abstractmethod
    def _replace_many(self, items: list[tuple[str, GraphRecords | None]]) -> None:
        """In one transaction, for each (distinct) document id: drop its stored facts and
        write its records (None: delete the document), keeping the Product counts right."""

    @abstractmethod
    def rebuild_counts(self) -> None:
        """Recompute the counts kept on Product nodes from the facts (upgrade, repair)."""

    def _check_writable(self) -> None:
        if self.read_only:
            raise GraphError(f"{self.kind} store at {self.location} is open read-only")

    # reading

    def query(
        self,
        cypher: str,
        params: dict[str, Any] | None = None,
        *,
        timeout: float = QUERY_TIMEOUT_S,
        max_rows: int = MAX_ROWS,
        isolated: bool = True,
    ) -> list[Row]:
        """Run one read query (`distill.graph.guard`); anything else raises QueryRefused.

        The database sees only the guard's rendering of the query, with a LIMIT one past
        `max_rows` when it has none; it stops after `timeout` seconds. `isolated=False`
        is for the code's own fixed queries: a store that contains a query by running it
        in a child process (networkx) runs it in-process instead (forking a threaded
        process can hang the child on a lock another thread held).
        """
        checked = read_query(cypher, params or {}, self.dialect)
        text = checked.render(self.dialect, row_cap=max_rows + 1)
        values = {} if self.dialect.inline_params else checked.params
        rows = self._read_query(
            text, values, timeout=timeout, max_rows=max_rows + 1, isolated=isolated
        )
        if len(rows) > max_rows:
            raise GraphError(
                f"the query returns more than {max_rows} rows: add a LIMIT, or aggregate "
                "(count, collect) instead of listing"
            )
        return rows

    @abstractmethod
    def _read_query(
        self,
        cypher: str,
        params: dict[str, Any],
        *,
        timeout: float,
        max_rows: int,
        isolated: bool = True,
    ) -> list[Row]:
        """Run a checked query read-only: stop after `timeout` s, fetch at most `max_rows`;
        `isolated`: contain it (a child process) where the store does that."""

    @abstractmethod
    def document(self, doc_id: str) -> Row | None:
        """The Document node's properties, or None."""

    @abstractmethod
    def products(self, limit: int | None = None) -> list[ProductSummary]:
        """Products by mention count, most mentioned first (then by id)."""

    @abstractmethod
    def product(self, product_id: str) -> ProductSummary | None:
        """One product's summary by id, or None."""

    @abstractmethod
    def opinion_summary(self, product_id: str | None = None) -> list[AspectSummary]:
        """Opinions per product × aspect: counts per polarity and the average polarity."""

    @abstractmethod
    def mentions(self, product_id: str, limit: int | None = None) -> list[MentionRow]:
        """Mentions linked to a product (by document, offset; the first `limit`), with
        mention and link provenance."""

    @abstractmethod
    def documents_behind(self, label: str, node_id: str, limit: int | None = None) -> list[Row]:
        """The documents whose facts produced or touch a node (Product, Opinion, Entity…),
        by id; the first `limit` of them when given."""

    @abstractmethod
    def neighbours(self, label: str, node_id: str, limit: int = 100) -> list[Row]:
        """Nodes one hop away: {label, id, name, edge, direction} (and an opinion's
        `polarity`), distinct; grouped by edge type (`EDGE_TYPES` order) and direction
        (out, then in), by id within a group; the first `limit`."""

    @abstractmethod
    def entities(self, label: str | None = None) -> list[Row]:
        """Entity nodes: {id, label, name}."""

    @abstractmethod
    def stats(self) -> GraphStats: ...

    @abstractmethod
    def to_networkx(self) -> nx.MultiDiGraph:
        """The whole graph; nodes keyed "Label:id", with `__labels__` for grand-cypher."""

    # resolution

    @abstractmethod
    def merge(self, a: str, b: str, *, confidence: float = 1.0, method: str = "manual") -> None:
        """SAME_AS between two Entity ids: reversible, nodes stay separate."""

    @abstractmethod
    def unmerge(self, a: str, b: str) -> bool:
        """Remove the SAME_AS between two entities; False if there was none."""

    @abstractmethod
    def _same_as_neighbours(self, entity: str) -> list[str]: ...

    def same_as_group(self, entity: str) -> set[str]:
        """All entities transitively SAME_AS `entity` (itself included)."""
        seen, todo = {entity}, [entity]
        while todo:
            for other in self._same_as_neighbours(todo.pop()):
                if other not in seen:
                    seen.add(other)
                    todo.append(other)
        return seen

    # lifecycle

    def close(self) -> None:  # noqa: B027  (optional hook)
        """Release files, locks and connections."""

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _doc_id(facts: object) -> str | None:
    """The document id of facts that may not validate (for reporting their failure)."""
    if isinstance(facts, DocumentFacts):
        return facts.document.id
    if isinstance(facts, dict) and isinstance(facts.get("document"), dict):
        doc_id = facts["document"].get("id")
        return doc_id if isinstance(doc_id, str) else None
    return None


def query_error(exc: BaseException, timeout: float) -> GraphError:
    """A database's failure in words a user can act on: time, memory, or its own first line."""
    message = str(exc).strip()
    lower = message.lower()
    if "interrupted" in lower or "timed out" in lower or "timeout" in lower:
        return GraphError(
            f"query stopped after {timeout:g} s, the limit for one query: narrow it "
            "(a WHERE, a LIMIT, fewer hops) or allow more time"
        )
    if any(
        word in lower
        for word in ("bad_alloc", "unable to allocate", "out of memory", "buffer pool is full")
    ):
        return GraphError(
            "query needs more memory than a query may use: narrow it (a WHERE, a LIMIT, "
            "fewer hops, smaller lists)"
        )
    first = message.splitlines()[0][:500] if message else type(exc).__name__
    return GraphError(f"query failed: {first}")


def store_file(path: str | Path, default_name: str) -> Path:
    """A path with a suffix is the store's file; otherwise a directory that holds `default_name`."""
    path = Path(path)
    return path if path.suffix else path / default_name


def plain(value: Any) -> Any:
    """Database values to JSON-friendly Python: Decimal to number, nodes to property dicts."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        out = {k: plain(v) for k, v in value.items() if not k.startswith("_")}
        if "_LABEL" in value:
            out["_label"] = value["_LABEL"]
        return out
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


@contextlib.contextmanager
def locked(path: Path, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    with FileLock(path, timeout):
        yield
