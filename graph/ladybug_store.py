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
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ladybug

from distill.graph.cypher_store import CypherStore, Statement
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


class LadybugStore(CypherStore):
    kind = "ladybug"
    dialect = LADYBUG

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
            self._db = ladybug.Database(
                str(file),
                read_only=read_only,
                max_num_threads=max_threads,
                buffer_pool_size=buffer_pool_size,
            )
            self._conn = ladybug.Connection(self._db)
            if not read_only:
                self._create_schema()
        except Exception as exc:
            self.close()
            raise GraphError(f"cannot open Ladybug graph at {file}: {exc}") from exc

    @classmethod
    def from_config(cls, config: GraphConfig, *, read_only: bool = False) -> LadybugStore:
        return cls(config.path, read_only=read_only)

    def _create_schema(self) -> None:
        for label, columns in NODE_COLUMNS.items():
            cols = ", ".join(f"{name} {type_}" for name, type_ in columns.items())
            self._conn.execute(f"CREATE NODE TABLE IF NOT EXISTS {label}({cols}, PRIMARY KEY(id))")
        cols = ", ".join(f"{name} {type_}" for name, type_ in EDGE_COLUMNS.items())
        for edge, pairs in EDGE_TYPES.items():
            ends = ", ".join(f"FROM {src} TO {dst}" for src, dst in pairs)
            self._conn.execute(f"CREATE REL TABLE IF NOT EXISTS {edge}({ends}, {cols})")

    def _run(self, cypher: str, params: dict[str, Any] | None = None) -> list[Row]:
        result = self._conn.execute(cypher, params or {})
        if isinstance(result, list):  # Ladybug runs every `;`-separated statement
            raise GraphError("one statement at a time: the query held several (`;`)")
        columns = result.get_column_names()
        return [dict(zip(columns, plain(row), strict=True)) for row in result.get_all()]

    def _typed(self, expr: str, type_: str) -> str:
        # a null in a parameter struct is typed STRING; other columns need a cast
        return expr if type_ == "STRING" else f"CAST({expr} AS {type_})"

    def _transaction(self, statements: list[Statement]) -> None:
        self._conn.execute("BEGIN TRANSACTION")
        try:
            for cypher, params in statements:
                self._conn.execute(cypher, params)
        except Exception as exc:
            self._rollback()
            raise GraphError(f"graph write failed and was rolled back: {exc}") from exc
        self._conn.execute("COMMIT")

    def _read_query(
        self, cypher: str, params: dict[str, Any], *, timeout: float, max_rows: int
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
        """Into an empty store: merge all records in memory, then `COPY FROM` CSV per table."""
        self._check_writable()
        if self.stats().total_nodes:
            return self.write_documents(many)
        from distill.graph.bulk import merge_records

        nodes, edges, count = merge_records(many)
        with tempfile.TemporaryDirectory(prefix="distill-graph-") as tmp:
            statements: list[Statement] = []
            for label, rows in nodes.items():
                file = Path(tmp) / f"{label}.csv"
                _write_csv(file, list(NODE_COLUMNS[label]), rows)
                statements.append((f"COPY {label} FROM '{file}' (header=true)", {}))
            for (edge, src, dst), rows in edges.items():
                file = Path(tmp) / f"{edge}_{src}_{dst}.csv"
                _write_csv(file, ["src", "dst", *EDGE_COLUMNS], rows)
                pair = f", from='{src}', to='{dst}'" if len(EDGE_TYPES[edge]) > 1 else ""
                statements.append((f"COPY {edge} FROM '{file}' (header=true{pair})", {}))
            for cypher, params in statements:
                self._conn.execute(cypher, params)
        return count

    def close(self) -> None:
        for attr in ("_conn", "_db"):
            obj = self.__dict__.pop(attr, None)
            if obj is not None:
                obj.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None


def _write_csv(file: Path, columns: list[str], rows: list[Row]) -> None:
    with file.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row[c] for c in columns])
