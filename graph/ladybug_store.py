"""The default store: LadybugDB, an embedded on-disk Cypher database (SQLite for graphs).

Each document is one transaction, so its WAL makes a SIGKILL lose nothing committed
and keep nothing half-written. Ladybug admits one read-write process per database;
a lock file makes a second writer wait (up to a timeout) instead of failing at once.
Read-only opens need no lock and get a capped buffer pool (QUERY_MEMORY_BYTES), which is
also the memory one query may use. `query` runs the guard's rendering in a READ ONLY
transaction with the connection's timeout set, and fetches rows one at a time.
"""

from __future__ import annotations

import contextlib
import csv
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ladybug

from distill.graph.bulk import ASPECT_STATS, LINKS, POLARITIES, PRODUCT_COUNTS, merge_records
from distill.graph.cypher_store import CypherStore, Statement, recount_statements
from distill.graph.errors import GraphError
from distill.graph.guard import LADYBUG
from distill.graph.schema import EDGE_COLUMNS, EDGE_TYPES, NODE_COLUMNS, DocumentFacts
from distill.graph.store import LOCK_TIMEOUT_S, FileLock, Row, plain, query_error, store_file

if TYPE_CHECKING:
    from distill.config import GraphConfig

DB_FILE = "graph.lbdb"
QUERY_MEMORY_BYTES = 2 * 1024**3
"""Buffer pool of a read-only open: a query that needs more fails with a clear error
(Ladybug's default, 80% of RAM, would let one query take the machine)."""
WRITER_CHECKPOINT_BYTES = 256 * 1024**2
"""WAL size at which a writer checkpoints (Ladybug's default: 16 MB). A checkpoint rewrites
the adjacency of every node group a write touched, and the catalog products (a few nodes
with most of the edges, in one node group) are touched by every batch, so each checkpoint
costs more as the graph grows. Batches of 64 synthetic documents (30 products, 12 facts
each), ms a document at 10-20k / 30-50k documents: 16 MB 4.5 / —, 64 MB 3.2 / 4.2,
256 MB 3.0 / 3.4 (2.2 for the first 1,000), for ~75 MB more RSS than 64 MB. Commits also
cost more as the WAL grows (68 ms at 250 MB against 13 ms), so larger is not better
without end."""


class LadybugStore(CypherStore):
    kind = "ladybug"
    dialect = LADYBUG
    create_new_documents = True  # one writer process (the lock file), one writer thread

    def __init__(
        self,
        path: str | Path,
        *,
        read_only: bool = False,
        lock_timeout: float = LOCK_TIMEOUT_S,
        max_threads: int = 0,
        buffer_pool_size: int | None = None,
    ) -> None:
        file = store_file(path, DB_FILE)
        super().__init__(str(file), read_only=read_only)
        self._lock: FileLock | None = None
        if read_only:
            if not file.exists():
                raise GraphError(f"no graph at {file}: ingest documents first")
        else:
            file.parent.mkdir(parents=True, exist_ok=True)
            self._lock = FileLock(file.with_name(file.name + ".writer.lock"), lock_timeout)
            self._lock.acquire()
        try:
            if buffer_pool_size is None:
                buffer_pool_size = QUERY_MEMORY_BYTES if read_only else 0
            options: dict[str, Any] = {
                "read_only": read_only,
                "max_num_threads": max_threads,
                "buffer_pool_size": buffer_pool_size,
                **({} if read_only else {"checkpoint_threshold": WRITER_CHECKPOINT_BYTES}),
            }
            try:
                self._db = ladybug.Database(str(file), **options)
            except RuntimeError:
                if not file.with_name(file.name + ".wal").exists():
                    raise
                # A process killed while it wrote its write-ahead log leaves a torn last
                # record: that transaction never committed. Replay what precedes it (what
                # LadybugDB does without `throw_on_wal_replay_failure`); the torn
                # transaction's documents are absent and `--resume` writes them again.
                self._db = ladybug.Database(str(file), throw_on_wal_replay_failure=False, **options)
            self._conn = ladybug.Connection(self._db)
            if not read_only:
                self._create_schema()
        except Exception as exc:
            self.close()
            raise GraphError(f"cannot open Ladybug graph at {file}: {exc}") from exc
        if read_only and not self._has_counts():
            self.close()
            raise GraphError(
                f"the graph at {file} was written by an older distill and lacks the counts "
                "its queries read: open it once for writing to add them (run any `distill "
                "ingest` on it, e.g. `distill ingest --resume` with your files)"
            )

    @classmethod
    def from_config(cls, config: GraphConfig, *, read_only: bool = False) -> LadybugStore:
        return cls(config.path, read_only=read_only)

    def _create_schema(self) -> None:
        upgrade = not self._has_counts()
        for label, columns in NODE_COLUMNS.items():
            cols = ", ".join(f"{name} {type_}" for name, type_ in columns.items())
            if label == "Product":
                cols += "".join(f", {c} INT64 DEFAULT 0" for c in PRODUCT_COUNTS)
            self._conn.execute(f"CREATE NODE TABLE IF NOT EXISTS {label}({cols}, PRIMARY KEY(id))")
        cols = ", ".join(f"{name} {type_}" for name, type_ in EDGE_COLUMNS.items())
        for edge, pairs in EDGE_TYPES.items():
            ends = ", ".join(f"FROM {src} TO {dst}" for src, dst in pairs)
            self._conn.execute(f"CREATE REL TABLE IF NOT EXISTS {edge}({ends}, {cols})")
        stats = ", ".join(f"{pol} INT64 DEFAULT 0" for pol in POLARITIES)
        create = [
            (f"CREATE REL TABLE IF NOT EXISTS {ASPECT_STATS}(FROM Product TO Aspect, {stats})", {}),
            (f"CREATE REL TABLE IF NOT EXISTS {LINKS}(FROM Entity TO Product, mentions INT64)", {}),
        ]
        if not upgrade:
            for cypher, _ in create:
                self._conn.execute(cypher)
            return
        # a graph from before the counts: add them, and compute them, in one transaction
        add = [
            (f"ALTER TABLE Product ADD IF NOT EXISTS {c} INT64 DEFAULT 0", {})
            for c in PRODUCT_COUNTS
        ]
        self._transaction([*add, *create, *recount_statements()])

    def _tables(self) -> set[str]:
        return {row["name"] for row in self._run("CALL show_tables() RETURN name")}

    def _has_counts(self) -> bool:
        """False for a graph written before counts were kept on Product nodes (or before
        plugin facts had their table)."""
        tables = self._tables()
        return "Product" not in tables or {ASPECT_STATS, LINKS, "Fact"} <= tables

    def _run(self, cypher: str, params: dict[str, Any] | None = None) -> list[Row]:
        result = self._conn.execute(cypher, params or {})
        if isinstance(result, list):  # Ladybug runs every `;`-separated statement
            raise GraphError("one statement at a time: the query held several (`;`)")
        columns = result.get_column_names()
        return [dict(zip(columns, plain(row), strict=True)) for row in result.get_all()]

    def _each(self, statement: str, key: str, values: list[str], params: Row) -> list[Statement]:
        # Ladybug plans an UNWIND followed by a relationship pattern as a hash join over the
        # whole relationship table (80 ms for one document at 1M edges); one statement per
        # value is a primary-key lookup and an expansion (0.05 ms)
        return [(statement, {key: value, **params}) for value in values]

    def _typed(self, expr: str, type_: str) -> str:
        # a null in a parameter struct is typed STRING; other columns need a cast
        return expr if type_ == "STRING" else f"CAST({expr} AS {type_})"

    def _transaction(self, statements: list[Statement]) -> None:
        self._conn.execute("BEGIN TRANSACTION")
        try:
            for cypher, params in statements:
                self._conn.execute(*_columnar(cypher, params))
        except Exception as exc:
            self._rollback()
            raise GraphError(f"graph write failed and was rolled back: {exc}") from exc
        self._conn.execute("COMMIT")

    def _read_query(
        self,
        cypher: str,
        params: dict[str, Any],
        *,
        timeout: float,
        max_rows: int,
        isolated: bool = True,  # Ladybug stops the query at the timeout itself
    ) -> list[Row]:
        self._conn.set_query_timeout(max(1, round(timeout * 1000)))
        try:
            self._conn.execute("BEGIN TRANSACTION READ ONLY")
            try:
                result = self._conn.execute(cypher, params)
                if isinstance(result, list):
                    raise GraphError("one statement at a time: the query held several (`;`)")
                columns = result.get_column_names()
                rows: list[Row] = []
                while len(rows) < max_rows and result.has_next():
                    rows.append(dict(zip(columns, plain(result.get_next()), strict=True)))
            except GraphError:
                self._rollback()
                raise
            except Exception as exc:
                self._rollback()
                raise query_error(exc, timeout) from exc
            self._conn.execute("COMMIT")
        finally:
            self._conn.set_query_timeout(0)
        return rows

    def _rollback(self) -> None:
        """Roll back, unless the failed statement already ended the transaction."""
        with contextlib.suppress(RuntimeError):
            self._conn.execute("ROLLBACK")

    def bulk_load(self, many: Iterable[DocumentFacts]) -> int:
        """Into an empty store: merge all records in memory, then `COPY FROM` CSV per table.

        Not one transaction: a failure part-way leaves a partial graph (the store was
        empty; delete it and load again). A store that holds anything gets batched writes.
        """
        self._check_writable()
        if self.stats().total_nodes:
            return super().bulk_load(many)
        bulk = merge_records(many)
        tables: list[tuple[str, list[str], list[Row], str]] = []
        for label, rows in bulk.nodes.items():
            columns = list(NODE_COLUMNS[label]) + (
                list(PRODUCT_COUNTS) if label == "Product" else []
            )
            tables.append((f"{label}({', '.join(columns)})", columns, rows, ""))
        for (edge, src, dst), rows in bulk.edges.items():
            pair = f", from='{src}', to='{dst}'" if len(EDGE_TYPES[edge]) > 1 else ""
            tables.append(
                (f"{edge}({', '.join(EDGE_COLUMNS)})", ["src", "dst", *EDGE_COLUMNS], rows, pair)
            )
        links = bulk.tally.link_rows()
        if links:
            tables.append((f"{LINKS}(mentions)", ["entity", "product", "mentions"], links, ""))
        stats = bulk.tally.aspect_rows()
        if stats:
            tables.append(
                (
                    f"{ASPECT_STATS}({', '.join(POLARITIES)})",
                    ["product", "aspect", *POLARITIES],
                    stats,
                    "",
                )
            )
        with tempfile.TemporaryDirectory(prefix="distill-graph-") as tmp:
            for i, (table, columns, rows, options) in enumerate(tables):
                file = Path(tmp) / f"{i}.csv"
                if _write_csv(file, columns, rows):  # the parallel reader cannot split those
                    options += ", parallel=false"
                self._conn.execute(f"COPY {table} FROM '{file}' (header=true{options})")
        return bulk.documents

    def close(self) -> None:
        for attr in ("_conn", "_db"):
            obj = self.__dict__.pop(attr, None)
            if obj is not None:
                obj.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None


_KEY = re.compile(r"\{id: row\.(\w+)\}")
_FIELD = re.compile(r"\brow\.(\w+)\b")


def _columnar(cypher: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """`UNWIND $rows AS row` with the non-key fields as one list per column.

    Ladybug converts a list of dicts field by field (0.3 ms a row at 15 fields); plain
    lists convert several times faster. The keys stay in the rows, so `{id: row.x}` is
    still a primary-key lookup (an indexed list element is not); a column null in every
    row becomes the literal NULL (a list of only nulls has no type).
    """
    rows = params.get("rows")
    if not rows or "UNWIND $rows AS row" not in cypher:
        return cypher, params
    keys = set(_KEY.findall(cypher))
    fields = set(_FIELD.findall(cypher)) - keys
    out = {name: value for name, value in params.items() if name != "rows"}
    for name in fields:
        column = [row.get(name) for row in rows]
        if any(value is not None for value in column):
            out[f"_c_{name}"] = column
    out["rows"] = [{**{k: row.get(k) for k in keys}, "_i": i} for i, row in enumerate(rows, 1)]

    def field(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in keys:
            return match.group(0)
        return f"$_c_{name}[row._i]" if f"_c_{name}" in out else "NULL"

    return _FIELD.sub(field, cypher), out


def _write_csv(file: Path, columns: list[str], rows: list[Row]) -> bool:
    """Write rows (None as an empty field); True if some value holds a line break."""
    breaks = False
    with file.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            values = ["" if row.get(c) is None else row[c] for c in columns]
            breaks = breaks or any(isinstance(v, str) and ("\n" in v or "\r" in v) for v in values)
            writer.writerow(values)
    return breaks
