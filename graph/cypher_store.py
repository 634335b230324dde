"""What Ladybug and FalkorDB share: both speak Cypher, so writes and queries are written once.

A backend supplies `_run` (one statement, rows as dicts) and `_transaction` (many
statements, all or nothing); everything else here is plain openCypher that both
dialects accept.
"""

from __future__ import annotations

from abc import abstractmethod
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import networkx as nx

from distill.graph.errors import GraphError
from distill.graph.schema import (
    EDGE_COLUMNS,
    EDGE_TYPES,
    NODE_COLUMNS,
    NODE_LABELS,
    AspectSummary,
    GraphRecords,
    GraphStats,
    MentionRow,
    ProductSummary,
    now,
)
from distill.graph.store import GraphStore, Row

Statement = tuple[str, dict[str, Any]]
SHARED_LABELS = ("Product", "Entity", "Aspect")
"""Nodes several documents share: upserted without erasing what others set, GC'd when orphaned."""


class CypherStore(GraphStore):
    @abstractmethod
    def _run(self, cypher: str, params: dict[str, Any] | None = None) -> list[Row]:
        """Run one internal statement (no read-only guard) and return its rows."""

    def _typed(self, expr: str, type_: str) -> str:
        """A parameter expression with its column type, for dialects that need it spelled out."""
        return expr

    @abstractmethod
    def _transaction(self, statements: list[Statement]) -> None:
        """Run statements atomically: all or none of them take effect."""

    # writing

    def _replace(self, doc_id: str, records: GraphRecords | None) -> None:
        touched = self._touched(doc_id)
        statements = _delete_statements(doc_id, touched, keep_document=records is not None)
        if records is not None:
            statements += upsert_statements(records, self._typed)
        statements += _gc_statements(touched)
        self._transaction(statements)

    def _touched(self, doc_id: str) -> dict[str, list[str]]:
        """Shared nodes the stored version of the document touches, to GC if orphaned."""
        p = {"doc": doc_id}
        if not self._run("MATCH (d:Document {id: $doc}) RETURN d.id AS id", p):
            return {"Entity": [], "Product": [], "Aspect": []}  # a new document: nothing to GC
        out = "MATCH (d:Document {id: $doc})-[:EXPRESSES]->(o:Opinion)"
        queries = {
            "Entity": [
                "MATCH (d:Document {id: $doc})-[:MENTIONS]->(e:Entity) RETURN DISTINCT e.id AS id",
                f"{out}-[:ABOUT]->(e:Entity) RETURN DISTINCT e.id AS id",
            ],
            "Product": [f"{out}-[:ABOUT]->(n:Product) RETURN DISTINCT n.id AS id"],
            "Aspect": [f"{out}-[:ON_ASPECT]->(n:Aspect) RETURN DISTINCT n.id AS id"],
        }
        touched = {
            label: sorted({row["id"] for q in qs for row in self._run(q, p)})
            for label, qs in queries.items()
        }
        if touched["Entity"]:
            linked = self._run(
                "MATCH (e:Entity)-[r:REFERS_TO]->(n:Product) "
                "WHERE e.id IN $ids AND r.doc_id = $doc RETURN DISTINCT n.id AS id",
                {"ids": touched["Entity"], "doc": doc_id},
            )
            touched["Product"] = sorted(set(touched["Product"]) | {r["id"] for r in linked})
        return touched

    # reading

    def document(self, doc_id: str) -> Row | None:
        cols = ", ".join(f"d.{c} AS {c}" for c in NODE_COLUMNS["Document"])
        rows = self._run(f"MATCH (d:Document {{id: $id}}) RETURN {cols}", {"id": doc_id})
        return rows[0] if rows else None

    def products(self, limit: int | None = None) -> list[ProductSummary]:
        rows = self._run(
            "MATCH (p:Product) "
            "OPTIONAL MATCH (p)<-[r:REFERS_TO]-(:Entity) "
            "WITH p, count(r) AS mentions, count(DISTINCT r.doc_id) AS documents "
            "OPTIONAL MATCH (p)<-[:ABOUT]-(o:Opinion) "
            "RETURN p.id AS id, p.name AS name, mentions, count(o) AS opinions, documents "
            "ORDER BY mentions DESC, id" + (f" LIMIT {int(limit)}" if limit else "")
        )
        return [ProductSummary(**row) for row in rows]

    def opinion_summary(self, product_id: str | None = None) -> list[AspectSummary]:
        match = "MATCH (p:Product {id: $pid})" if product_id else "MATCH (p:Product)"
        cases = ", ".join(
            f"sum(CASE WHEN o.polarity = '{pol}' THEN 1 ELSE 0 END) AS {pol}"
            for pol in ("positive", "negative", "neutral", "conflict")
        )
        rows = self._run(
            f"{match}<-[:ABOUT]-(o:Opinion)-[:ON_ASPECT]->(a:Aspect) "
            f"RETURN p.id AS product_id, a.id AS aspect, count(o) AS count, {cases}, "
            "avg(o.score) AS avg_polarity ORDER BY product_id, aspect",
            {"pid": product_id} if product_id else {},
        )
        return [AspectSummary(**row) for row in rows]

    def mentions(self, product_id: str, limit: int | None = None) -> list[MentionRow]:
        rows = self._run(
            "MATCH (p:Product {id: $pid})<-[:REFERS_TO]-(e:Entity) "
            "WITH DISTINCT e "
            "MATCH (d:Document)-[m:MENTIONS]->(e) WHERE m.product_id = $pid "
            "RETURN d.id AS doc_id, m.text AS text, m.char_start AS char_start, "
            "m.char_end AS char_end, e.id AS entity_id, m.tool AS tool, m.backend AS backend, "
            "m.model AS model, m.confidence AS confidence, m.link_tool AS link_tool, "
            "m.link_backend AS link_backend, m.link_confidence AS link_confidence, "
            "m.created_at AS created_at ORDER BY doc_id, char_start"
            + (f" LIMIT {int(limit)}" if limit else ""),
            {"pid": product_id},
        )
        return [MentionRow(**row) for row in rows]

    def documents_behind(self, label: str, node_id: str) -> list[Row]:
        _check_label(label)
        if label == "Document":
            doc = self.document(node_id)
            return [doc] if doc else []
        ids = self._run(
            f"MATCH (n:{label} {{id: $id}})-[r]-() WHERE r.doc_id IS NOT NULL "
            "RETURN DISTINCT r.doc_id AS id",
            {"id": node_id},
        )
        cols = ", ".join(f"d.{c} AS {c}" for c in NODE_COLUMNS["Document"])
        return self._run(
            f"MATCH (d:Document) WHERE d.id IN $ids RETURN {cols} ORDER BY id",
            {"ids": [row["id"] for row in ids]},
        )

    def neighbours(self, label: str, node_id: str, limit: int = 100) -> list[Row]:
        _check_label(label)
        rows: list[Row] = []
        for edge, pairs in EDGE_TYPES.items():
            for src, dst in pairs:
                for other, direction, pattern in (
                    (dst, "out", f"(n:{label} {{id: $id}})-[:{edge}]->(m:{dst})"),
                    (src, "in", f"(n:{label} {{id: $id}})<-[:{edge}]-(m:{src})"),
                ):
                    mine = src if direction == "out" else dst
                    if mine != label:
                        continue
                    name = "m.name" if "name" in NODE_COLUMNS[other] else "m.id"
                    found = self._run(
                        f"MATCH {pattern} RETURN DISTINCT m.id AS id, {name} AS name "
                        f"ORDER BY id LIMIT {int(limit)}",
                        {"id": node_id},
                    )
                    rows += [
                        {"label": other, "edge": edge, "direction": direction, **r} for r in found
                    ]
        return rows[:limit]

    def entities(self, label: str | None = None) -> list[Row]:
        where = "WHERE e.label = $label " if label else ""
        return self._run(
            f"MATCH (e:Entity) {where}RETURN e.id AS id, e.label AS label, e.name AS name "
            "ORDER BY id",
            {"label": label.upper()} if label else {},
        )

    def stats(self) -> GraphStats:
        nodes = {
            label: self._run(f"MATCH (n:{label}) RETURN count(n) AS c")[0]["c"]
            for label in NODE_LABELS
        }
        edges = {
            edge: self._run(f"MATCH ()-[r:{edge}]->() RETURN count(r) AS c")[0]["c"]
            for edge in EDGE_TYPES
        }
        return GraphStats(store=self.kind, location=self.location, nodes=nodes, edges=edges)

    def to_networkx(self) -> nx.MultiDiGraph:
        graph = nx.MultiDiGraph()
        for label, columns in NODE_COLUMNS.items():
            cols = ", ".join(f"n.{c} AS {c}" for c in columns)
            for row in self._run(f"MATCH (n:{label}) RETURN {cols}"):
                graph.add_node(node_key(label, row["id"]), **node_attrs(label, row))
        cols = ", ".join(f"r.{c} AS {c}" for c in EDGE_COLUMNS)
        for edge, pairs in EDGE_TYPES.items():
            for src, dst in pairs:
                query = (
                    f"MATCH (a:{src})-[r:{edge}]->(b:{dst}) RETURN a.id AS _a, b.id AS _b, {cols}"
                )
                for row in self._run(query):
                    a, b = row.pop("_a"), row.pop("_b")
                    graph.add_edge(node_key(src, a), node_key(dst, b), **edge_attrs(edge, row))
        return graph

    # resolution

    def merge(self, a: str, b: str, *, confidence: float = 1.0, method: str = "manual") -> None:
        self._check_writable()
        if a == b:
            return
        a, b = sorted((a, b))
        found = self._run(
            "MATCH (a:Entity {id: $a}), (b:Entity {id: $b}) RETURN a.id AS a", {"a": a, "b": b}
        )
        if not found:
            raise GraphError(f"cannot merge {a!r} and {b!r}: both must be Entity ids in the graph")
        self._transaction(
            [
                *_unlink(a, b),
                (
                    "MATCH (a:Entity {id: $a}), (b:Entity {id: $b}) "
                    "CREATE (a)-[:SAME_AS {tool: 'resolve', method: $method, "
                    "confidence: $confidence, created_at: $at}]->(b)",
                    {
                        "a": a,
                        "b": b,
                        "method": method,
                        "confidence": float(confidence),
                        "at": now(),
                    },
                ),
            ]
        )

    def unmerge(self, a: str, b: str) -> bool:
        self._check_writable()
        params = {"a": a, "b": b}
        link = "MATCH (a:Entity {id: $a})-[r:SAME_AS]-(b:Entity {id: $b})"
        if not self._run(f"{link} RETURN count(r) AS c", params)[0]["c"]:
            return False
        self._transaction(_unlink(a, b))
        return True

    def _same_as_neighbours(self, entity: str) -> list[str]:
        rows = self._run(
            "MATCH (a:Entity {id: $id})-[:SAME_AS]-(b:Entity) RETURN DISTINCT b.id AS id",
            {"id": entity},
        )
        return [row["id"] for row in rows]


def _unlink(a: str, b: str) -> list[Statement]:
    """Delete SAME_AS both ways (Ladybug deletes directed relationships only)."""
    link = "MATCH (a:Entity {id: $a})-[r:SAME_AS]->(b:Entity {id: $b}) DELETE r"
    return [(link, {"a": a, "b": b}), (link, {"a": b, "b": a})]


def node_key(label: str, node_id: str) -> str:
    return f"{label}:{node_id}"


def node_attrs(label: str, props: Row) -> Row:
    return {
        "__labels__": {label},
        "_label": label,
        **{k: v for k, v in props.items() if v is not None},
    }


def edge_attrs(edge: str, props: Row) -> Row:
    return {
        "__labels__": {edge},
        "_type": edge,
        **{k: v for k, v in props.items() if v is not None},
    }


def _check_label(label: str) -> None:
    if label not in NODE_LABELS:
        raise GraphError(f"unknown node label {label!r}; known: {', '.join(NODE_LABELS)}")


def _delete_statements(
    doc_id: str, touched: dict[str, list[str]], *, keep_document: bool
) -> list[Statement]:
    p = {"doc": doc_id}
    statements: list[Statement] = []
    if touched["Entity"]:
        statements.append(
            (
                "MATCH (e:Entity)-[r:REFERS_TO]->(:Product) WHERE e.id IN $ids AND r.doc_id = $doc "
                "DELETE r",
                {"ids": touched["Entity"], "doc": doc_id},
            )
        )
    statements += [
        ("MATCH (d:Document {id: $doc})-[m:MENTIONS]->(:Entity) DELETE m", p),
        ("MATCH (d:Document {id: $doc})-[:EXPRESSES]->(o:Opinion) DETACH DELETE o", p),
    ]
    if not keep_document:
        statements.append(("MATCH (d:Document {id: $doc}) DETACH DELETE d", p))
    return statements


def _untyped(expr: str, type_: str) -> str:
    return expr


def upsert_statements(
    records: GraphRecords, typed: Callable[[str, str], str] = _untyped
) -> list[Statement]:
    """MERGE nodes (shared ones keep what other documents set), then CREATE this doc's edges."""
    statements: list[Statement] = []
    by_label: dict[str, list[Row]] = defaultdict(list)
    for node in records.nodes.values():
        by_label[node.label].append({c: node.props.get(c) for c in NODE_COLUMNS[node.label]})
    for label in NODE_LABELS:
        if not by_label[label]:
            continue
        sets = ", ".join(
            f"n.{c} = coalesce({typed('row.' + c, t)}, n.{c})"
            if label in SHARED_LABELS
            else f"n.{c} = {typed('row.' + c, t)}"
            for c, t in NODE_COLUMNS[label].items()
            if c not in ("id", "catalog")
        )
        statements.append(
            (
                f"UNWIND $rows AS row MERGE (n:{label} {{id: row.id}}) SET {sets}",
                {"rows": by_label[label]},
            )
        )
    by_edge: dict[tuple[str, str, str], list[Row]] = defaultdict(list)
    for e in records.edges:
        by_edge[(e.type, e.src_label, e.dst_label)].append({"src": e.src, "dst": e.dst, **e.props})
    props = ", ".join(f"{c}: {typed('row.' + c, t)}" for c, t in EDGE_COLUMNS.items())
    for (edge, src, dst), rows in by_edge.items():
        statements.append(
            (
                f"UNWIND $rows AS row MATCH (a:{src} {{id: row.src}}), (b:{dst} {{id: row.dst}}) "
                f"CREATE (a)-[:{edge} {{{props}}}]->(b)",
                {"rows": rows},
            )
        )
    return statements


def _gc_statements(touched: dict[str, list[str]]) -> list[Statement]:
    statements: list[Statement] = []
    for label, ids in touched.items():
        if not ids:
            continue
        keep = " AND n.catalog IS NULL" if label == "Product" else ""
        statements.append(
            (
                f"MATCH (n:{label}) WHERE n.id IN $ids{keep} OPTIONAL MATCH (n)-[r]-() "
                "WITH n, count(r) AS deg WHERE deg = 0 DELETE n",
                {"ids": ids},
            )
        )
    return statements
