"""What Ladybug and FalkorDB share: both speak Cypher, so writes and queries are written once.

A backend supplies `_run` (one statement, rows as dicts) and `_transaction` (many
statements, all or nothing); everything else here is plain openCypher that both
dialects accept.

A batch of documents is one transaction of a few UNWIND statements, whatever its size:
uncount the stored versions and delete their edges, upsert the merged records (an
Opinion id that comes back is updated in place), add their counts, and only then delete
nodes (orphaned opinions and shared nodes, deleted documents). No node is created after
one is deleted: FalkorDB's rollback of such a query swaps edges between nodes or
crashes the server (it reuses the freed node ids).

Counts are kept on Product nodes (`PRODUCT_COUNTS`) and on `ASPECT_STATS` edges (product
× aspect), so the product queries start from one node and never aggregate its edges.
Each key appears once per increment statement: Ladybug reads the old value for every row
of one statement.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import networkx as nx

from distill.graph.bulk import ASPECT_STATS, LINKS, POLARITIES, PRODUCT_COUNTS, Tally, merge
from distill.graph.errors import GraphError
from distill.graph.schema import (
    EDGE_COLUMNS,
    EDGE_TYPES,
    NODE_COLUMNS,
    NODE_LABELS,
    POLARITY_SCORE,
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
OWN_LABELS = ("Document", "Opinion", "Fact")
"""Nodes of one document (`<doc id>`, `<doc id>#op<i>`, `<doc id>#fact<i>`): they exist
exactly while their document is stored (a rewrite or delete GCs the orphaned ones)."""


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

    create_new_documents = False
    """Write the own nodes (`OWN_LABELS`) of a batch of documents none of which is stored
    with CREATE instead of MERGE. Ladybug's MERGE costs more as the table grows (an Opinion
    batch 13 ms at 1,000 documents, 72 ms at 20,000); only for a store with one writer, where
    no other writer can store one of the documents between the check and the write."""

    def _each(self, statement: str, key: str, values: list[str], params: Row) -> list[Statement]:
        """`statement`, written about one `$<key>` value, for each of `values`.

        Here one `UNWIND $<key>s AS <key>` statement (FalkorDB looks each row up in its
        index); a database that plans that badly repeats the statement instead.
        """
        unwound = re.sub(rf"\${key}\b", key, statement)
        return [(f"UNWIND ${key}s AS {key} {unwound}", {f"{key}s": values, **params})]

    def _run_each(self, query: str, key: str, values: list[str], params: Row) -> list[Row]:
        """Rows of a read query about one `$<key>` value, for each of `values` (see `_each`)."""
        return [row for q, p in self._each(query, key, values, params) for row in self._run(q, p)]

    # writing

    def _replace_many(self, items: list[tuple[str, GraphRecords | None]]) -> None:
        stored = self._stored([doc_id for doc_id, _ in items])
        touched = self._touched(stored)
        statements: list[Statement] = []
        if stored:
            for statement in (*_UNCOUNT, *_UNLINK):
                statements += self._each(statement, "doc", stored, {})
        new = [records for _, records in items if records is not None]
        if new:
            # none of these documents is stored, so neither are their own nodes (`OWN_LABELS`)
            create = self.create_new_documents and not stored
            statements += upsert_statements(merge(new), self._typed, create)
            tally = Tally()
            for records in new:
                tally.add(records)
            statements += count_statements(tally)
        if touched["Product"]:
            statements += self._each(_EMPTY_STATS, "nid", touched["Product"], {})
        if touched["Entity"]:
            statements += self._each(_EMPTY_LINKS, "nid", touched["Entity"], {})
        deleted = [doc_id for doc_id, records in items if records is None and doc_id in stored]
        if deleted:
            statements += self._each(f"{_DOC} DETACH DELETE d", "doc", deleted, {})
        for label, ids in touched.items():
            if ids:
                statements += self._each(_orphan(label), "nid", ids, {})
        if statements:
            self._transaction(statements)

    def _stored(self, doc_ids: list[str]) -> list[str]:
        """Which of these documents the store holds (their old facts must go first)."""
        rows = self._run(
            "UNWIND $ids AS i MATCH (d:Document {id: i}) RETURN d.id AS id", {"ids": doc_ids}
        )
        return sorted({row["id"] for row in rows})

    def _touched(self, stored: list[str]) -> dict[str, list[str]]:
        """Nodes the stored versions of the documents touch, to delete if left unconnected."""
        touched: dict[str, set[str]] = {
            "Opinion": set(),
            "Fact": set(),
            "Entity": set(),
            "Product": set(),
            "Aspect": set(),
        }
        if not stored:
            return {label: [] for label in touched}  # new documents: nothing to GC
        mentioned = f"{_DOC}-[m:MENTIONS]->(e:Entity) RETURN e.id AS id, m.product_id AS pid"
        for row in self._run_each(mentioned, "doc", stored, {}):
            touched["Entity"].add(row["id"])
            if row["pid"] is not None:
                touched["Product"].add(row["pid"])  # its REFERS_TO edge goes too
        out = f"{_DOC}-[:EXPRESSES]->(o:Opinion)"
        for label in ("Entity", "Product"):
            rows = self._run_each(
                f"{out}-[:ABOUT]->(n:{label}) RETURN n.id AS id", "doc", stored, {}
            )
            touched[label] |= {row["id"] for row in rows}
        for row in self._run_each(
            f"{out} RETURN o.id AS id, o.aspect AS aspect", "doc", stored, {}
        ):
            touched["Opinion"].add(row["id"])
            if row["aspect"] is not None:
                touched["Aspect"].add(row["aspect"])
        facts = self._run_each(f"{_DOC}-[:HAS_FACT]->(f:Fact) RETURN f.id AS id", "doc", stored, {})
        touched["Fact"] |= {row["id"] for row in facts}
        return {label: sorted(ids) for label, ids in touched.items()}

    def rebuild_counts(self) -> None:
        self._check_writable()
        self._transaction(recount_statements())

    # reading

    def document(self, doc_id: str) -> Row | None:
        cols = ", ".join(f"d.{c} AS {c}" for c in NODE_COLUMNS["Document"])
        rows = self._run(f"MATCH (d:Document {{id: $id}}) RETURN {cols}", {"id": doc_id})
        return rows[0] if rows else None

    def products(self, limit: int | None = None) -> list[ProductSummary]:
        rows = self._run(
            f"MATCH (p:Product) RETURN {_PRODUCT} ORDER BY mentions DESC, id"
            + (f" LIMIT {int(limit)}" if limit else "")
        )
        return [ProductSummary(**row) for row in rows]

    def product(self, product_id: str) -> ProductSummary | None:
        rows = self._run(f"MATCH (p:Product {{id: $id}}) RETURN {_PRODUCT}", {"id": product_id})
        return ProductSummary(**rows[0]) if rows else None

    def opinion_summary(self, product_id: str | None = None) -> list[AspectSummary]:
        match = "MATCH (p:Product {id: $pid})" if product_id else "MATCH (p:Product)"
        counts = ", ".join(f"s.{pol} AS {pol}" for pol in POLARITIES)
        rows = self._run(
            f"{match}-[s:{ASPECT_STATS}]->(a:Aspect) "
            f"RETURN p.id AS product_id, a.id AS aspect, {counts} ORDER BY product_id, aspect",
            {"pid": product_id} if product_id else {},
        )
        return [
            aspect_summary(row["product_id"], row["aspect"], [row[pol] for pol in POLARITIES])
            for row in rows
        ]

    mentions_by_document = False
    """`mentions(p, limit)`: look the first documents' mentions up one document at a time
    (FalkorDB: an index lookup each) instead of scanning p's entities' mentions up to the
    last of those documents (Ladybug: one adjacency scan, cheaper than many lookups)."""

    def mentions(self, product_id: str, limit: int | None = None) -> list[MentionRow]:
        p: Row = {"pid": product_id}
        columns = (
            "m.doc_id AS doc_id, e.id AS entity_id, m.text AS text, m.char_start AS "
            "char_start, m.char_end AS char_end, m.tool AS tool, m.backend AS backend, "
            "m.model AS model, m.confidence AS confidence, m.link_tool AS link_tool, "
            "m.link_backend AS link_backend, m.link_confidence AS link_confidence, "
            "m.created_at AS created_at"
        )
        docs: list[str] = []
        last = None  # the last of the first `limit` links' documents, when there are more
        if limit:  # the first `limit` links by document: the mentions are in those documents
            rows = self._run(
                "MATCH (p:Product {id: $pid})<-[r:REFERS_TO]-(:Entity) "
                f"RETURN r.doc_id AS doc ORDER BY doc LIMIT {int(limit)}",
                p,
            )
            docs = list(dict.fromkeys(row["doc"] for row in rows))
            last = docs[-1] if len(rows) == limit else None
        if docs and self.mentions_by_document:
            found = self._run_each(
                f"{_DOC}-[m:MENTIONS]->(e:Entity) WHERE m.product_id = $pid RETURN {columns}",
                "doc",
                docs,
                p,
            )
        else:
            within = ""
            if last is not None:
                within, p["last"] = " AND m.doc_id <= $last", last
            entities = self._run(
                f"MATCH (p:Product {{id: $pid}})<-[:{LINKS}]-(e:Entity) RETURN e.id AS id", p
            )
            found = self._run_each(
                "MATCH (e:Entity {id: $nid})<-[m:MENTIONS]-(:Document) "
                f"WHERE m.product_id = $pid{within} RETURN {columns}",
                "nid",
                [row["id"] for row in entities],
                p,
            )
        mentions = sorted((MentionRow(**row) for row in found), key=mention_order)
        return mentions[:limit] if limit else mentions

    def documents_behind(self, label: str, node_id: str, limit: int | None = None) -> list[Row]:
        _check_label(label)
        if label == "Document":
            doc = self.document(node_id)
            return [doc] if doc else []
        types = "|".join(
            edge for edge, pairs in EDGE_TYPES.items() if any(label in pair for pair in pairs)
        )
        ids = self._run(
            f"MATCH (n:{label} {{id: $id}})-[r:{types}]-() WHERE r.doc_id IS NOT NULL "
            "RETURN DISTINCT r.doc_id AS doc ORDER BY doc" + _limit(limit),
            {"id": node_id},
        )
        if not ids:
            return []
        cols = ", ".join(f"d.{c} AS {c}" for c in NODE_COLUMNS["Document"])
        return self._run(  # an UNWIND into a key lookup alone: every database plans it well
            f"UNWIND $docs AS doc MATCH (d:Document {{id: doc}}) RETURN {cols} ORDER BY id",
            {"docs": [row["doc"] for row in ids]},
        )

    def neighbours(self, label: str, node_id: str, limit: int = 100) -> list[Row]:
        _check_label(label)
        rows: list[Row] = []
        for edge, other, direction in neighbour_groups(label):
            if len(rows) >= limit:
                break
            # REFERS_TO: one edge per mention; LINKS: one per (entity, product), same nodes
            via = LINKS if edge == "REFERS_TO" else edge
            arrow = f"-[:{via}]->(m:{other})" if direction == "out" else f"<-[:{via}]-(m:{other})"
            name = "m.name" if "name" in NODE_COLUMNS[other] else "m.id"
            match = f"MATCH (n:{label} {{id: $id}}){arrow}"
            edges = self._run(f"{match} RETURN count(*) AS n", {"id": node_id})[0]["n"]
            if not edges:
                continue
            # an opinion has one edge of each type, LINKS one per pair; others may have many
            distinct = "" if other == "Opinion" or via == LINKS else _distinct(other, edges)
            polarity = ", m.polarity AS polarity" if other == "Opinion" else ""
            found = self._run(
                f"{match} {distinct}RETURN m.id AS id, {name} AS name{polarity} "
                f"ORDER BY id LIMIT {int(limit) - len(rows)}",
                {"id": node_id},
            )
            rows += [{"label": other, "edge": edge, "direction": direction, **r} for r in found]
        return rows

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
            counts = PRODUCT_COUNTS if label == "Product" else ()
            cols = ", ".join(f"n.{c} AS {c}" for c in (*columns, *counts))
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


_PRODUCT = "p.id AS id, p.name AS name, " + ", ".join(
    f"coalesce(p.{c}, 0) AS {c}" for c in PRODUCT_COUNTS
)


def _limit(limit: int | None) -> str:
    return f" LIMIT {int(limit)}" if limit else ""


def aspect_summary(product_id: str, aspect: str, counts: list[int]) -> AspectSummary:
    """A product × aspect row from its opinion counts per polarity (`POLARITIES` order)."""
    by_polarity = dict(zip(POLARITIES, counts, strict=True))
    total = sum(counts)
    return AspectSummary(
        product_id=product_id,
        aspect=aspect,
        count=total,
        avg_polarity=sum(POLARITY_SCORE[p] * n for p, n in by_polarity.items()) / total
        if total
        else None,
        **by_polarity,
    )


def neighbour_groups(label: str) -> list[tuple[str, str, str]]:
    """(edge, other label, direction) a node of `label` can have, in the order
    `neighbours` lists them: `EDGE_TYPES` order, out before in."""
    groups = []
    for edge, pairs in EDGE_TYPES.items():
        for src, dst in pairs:
            if src == label:
                groups.append((edge, dst, "out"))
            if dst == label:
                groups.append((edge, src, "in"))
    return groups


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


_DOC = "MATCH (d:Document {id: $doc})"
DISTINCT_BY_ID_ABOVE = 10_000


def _distinct(label: str, edges: int) -> str:
    """`WITH` distinct neighbours `m` (of `label`, over `edges` edges).

    Ladybug reads the properties of `m` for every edge before a DISTINCT on the node
    (12 ms for 26k edges); over many edges, distinct internal ids first (1 ms) and a join
    back to the node table (a scan of it, 4 ms at 40k nodes) are cheaper.
    """
    if edges <= DISTINCT_BY_ID_ABOVE:
        return "WITH DISTINCT m "
    return f"WITH DISTINCT id(m) AS i MATCH (m:{label}) WHERE id(m) = i "


def _polarity_counts() -> str:
    return ", ".join(
        f"count(CASE WHEN o.polarity = '{pol}' THEN 1 END) AS {pol}" for pol in POLARITIES
    )


_UNCOUNT = [
    # the stored version's counts off its products, while its facts are still there; a
    # linked mention is one REFERS_TO edge and carries its product id, so the counts come
    # from the document's own edges, not from the products' (many) edges
    f"{_DOC}-[m:MENTIONS]->(:Entity) WHERE m.product_id IS NOT NULL "
    "WITH m.product_id AS pid, count(m) AS n, count(DISTINCT $doc) AS docs "
    "MATCH (p:Product {id: pid}) SET p.mentions = p.mentions - n, p.documents = p.documents - docs",
    f"{_DOC}-[m:MENTIONS]->(e:Entity) WHERE m.product_id IS NOT NULL "
    f"WITH e, m.product_id AS pid, count(m) AS n MATCH (e)-[l:{LINKS}]->(p:Product) "
    "WHERE p.id = pid SET l.mentions = l.mentions - n",
    f"{_DOC}-[:EXPRESSES]->(o:Opinion)-[:ABOUT]->(p:Product) "
    "WITH p, count(o) AS n SET p.opinions = p.opinions - n",
    f"{_DOC}-[:EXPRESSES]->(o:Opinion)-[:ABOUT]->(p:Product) "
    f"WITH p, o.aspect AS aspect, {_polarity_counts()}"
    + f" MATCH (p)-[s:{ASPECT_STATS}]->(a:Aspect) WHERE a.id = aspect SET "
    + ", ".join(f"s.{pol} = s.{pol} - {pol}" for pol in POLARITIES),
]
_UNLINK = [
    # the stored version's edges; its nodes go once the new records are in (see above)
    f"{_DOC}-[:MENTIONS]->(e:Entity) WITH DISTINCT $doc AS doc, e "
    "MATCH (e)-[r:REFERS_TO]->(:Product) WHERE r.doc_id = doc DELETE r",
    f"{_DOC}-[m:MENTIONS]->(:Entity) DELETE m",
    f"{_DOC}-[:EXPRESSES]->(o:Opinion)-[r:ABOUT]->() DELETE r",
    f"{_DOC}-[:EXPRESSES]->(o:Opinion)-[r:ON_ASPECT]->(:Aspect) DELETE r",
    f"{_DOC}-[r:EXPRESSES]->(:Opinion) DELETE r",
    f"{_DOC}-[r:HAS_FACT]->(:Fact) DELETE r",  # a plugin's facts: this document's own
]
_EMPTY_STATS = (
    f"MATCH (p:Product {{id: $nid}})-[s:{ASPECT_STATS}]->(:Aspect) WHERE "
    + " + ".join(f"s.{pol}" for pol in POLARITIES)
    + " = 0 DELETE s"
)


_EMPTY_LINKS = (
    f"MATCH (e:Entity {{id: $nid}})-[l:{LINKS}]->(:Product) WHERE l.mentions = 0 DELETE l"
)


def _orphan(label: str) -> str:
    """Delete node `$nid` of `label` if no edge touches it (catalog products stay)."""
    keep = " WHERE n.catalog IS NULL" if label == "Product" else ""
    return (
        f"MATCH (n:{label} {{id: $nid}}){keep} OPTIONAL MATCH (n)-[r]-() "
        "WITH n, count(r) AS deg WHERE deg = 0 DELETE n"
    )


def mention_order(row: MentionRow) -> tuple[str, bool, int]:
    """`mentions` order: by document, then offset (no offset last)."""
    return (row.doc_id, row.char_start is None, row.char_start or 0)


def count_statements(tally: Tally) -> list[Statement]:
    """Add what new documents contribute to the counts (one row per product, per pair)."""
    plus = ", ".join(f"p.{c} = coalesce(p.{c}, 0) + row.{c}" for c in PRODUCT_COUNTS)
    stats = ", ".join(f"s.{pol} = coalesce(s.{pol}, 0) + row.{pol}" for pol in POLARITIES)
    statements: list[Statement] = []
    if tally.products:
        statements.append(
            (
                f"UNWIND $rows AS row MATCH (p:Product {{id: row.id}}) SET {plus}",
                {"rows": tally.product_rows()},
            )
        )
    if tally.links:
        statements.append(
            (
                "UNWIND $rows AS row MATCH (e:Entity {id: row.entity}) "
                f"MATCH (p:Product {{id: row.product}}) MERGE (e)-[l:{LINKS}]->(p) "
                "SET l.mentions = coalesce(l.mentions, 0) + row.mentions",
                {"rows": tally.link_rows()},
            )
        )
    if tally.aspects:
        statements.append(
            (
                "UNWIND $rows AS row MATCH (p:Product {id: row.product}) "
                "MATCH (a:Aspect {id: row.aspect}) "
                f"MERGE (p)-[s:{ASPECT_STATS}]->(a) SET {stats}",
                {"rows": tally.aspect_rows()},
            )
        )
    return statements


def recount_statements() -> list[Statement]:
    """All counts again from the facts: for a graph written before counts were kept."""
    zero = ", ".join(f"p.{c} = 0" for c in PRODUCT_COUNTS)
    about = "MATCH (p:Product)<-[:ABOUT]-(o:Opinion)"
    stats = ", ".join(f"{pol}: {pol}" for pol in POLARITIES)
    return [
        (f"MATCH (:Product)-[s:{ASPECT_STATS}]->(:Aspect) DELETE s", {}),
        (f"MATCH (:Entity)-[l:{LINKS}]->(:Product) DELETE l", {}),
        (
            "MATCH (e:Entity)-[r:REFERS_TO]->(p:Product) WITH e, p, count(r) AS n "
            f"CREATE (e)-[:{LINKS} {{mentions: n}}]->(p)",
            {},
        ),
        (f"MATCH (p:Product) SET {zero}", {}),
        (
            "MATCH (p:Product)<-[r:REFERS_TO]-(:Entity) "
            "WITH p, count(r) AS n, count(DISTINCT r.doc_id) AS docs "
            "SET p.mentions = n, p.documents = docs",
            {},
        ),
        (f"{about} WITH p, count(o) AS n SET p.opinions = n", {}),
        (
            f"{about} WITH p, o.aspect AS aspect, {_polarity_counts()} "
            f"MATCH (a:Aspect {{id: aspect}}) CREATE (p)-[:{ASPECT_STATS} {{{stats}}}]->(a)",
            {},
        ),
    ]


def _untyped(expr: str, type_: str) -> str:
    return expr


def upsert_statements(
    records: GraphRecords, typed: Callable[[str, str], str] = _untyped, create: bool = False
) -> list[Statement]:
    """MERGE nodes (shared ones keep what other documents set), then CREATE the edges.

    `create`: the documents' own nodes (`OWN_LABELS`) are new, so CREATE them (the same
    columns set) instead of MERGE.

    Columns null in every row are left out of the rows (Ladybug converts a parameter row
    field by field), and each end of an edge is its own MATCH (Ladybug plans
    `MATCH (a {id: row.src}), (b {id: row.dst})` as a join: ten times slower).
    """
    statements: list[Statement] = []
    by_label: dict[str, list[Row]] = defaultdict(list)
    for node in records.nodes.values():
        by_label[node.label].append({c: node.props.get(c) for c in NODE_COLUMNS[node.label]})
    for label in NODE_LABELS:
        rows = by_label[label]
        if not rows:
            continue
        present = _present(rows)
        verb = "CREATE" if create and label in OWN_LABELS else "MERGE"
        sets = []
        for c, t in NODE_COLUMNS[label].items():
            if c in ("id", "catalog"):
                continue
            if label not in SHARED_LABELS:  # this document's own node: every column is new
                sets.append(f"n.{c} = {typed('row.' + c if c in present else 'NULL', t)}")
            elif c in present:
                sets.append(f"n.{c} = coalesce({typed('row.' + c, t)}, n.{c})")
        statements.append(
            (
                f"UNWIND $rows AS row {verb} (n:{label} {{id: row.id}})"
                + (f" SET {', '.join(sets)}" if sets else ""),
                {"rows": _only(rows, {"id", *present})},
            )
        )
    by_edge: dict[tuple[str, str, str], list[Row]] = defaultdict(list)
    for e in records.edges:
        by_edge[(e.type, e.src_label, e.dst_label)].append({"src": e.src, "dst": e.dst, **e.props})
    for (edge, src, dst), rows in by_edge.items():
        present = _present(rows) - {"src", "dst"}
        props = ", ".join(
            f"{c}: {typed('row.' + c, t)}" for c, t in EDGE_COLUMNS.items() if c in present
        )
        statements.append(
            (
                f"UNWIND $rows AS row MATCH (a:{src} {{id: row.src}}) "
                f"MATCH (b:{dst} {{id: row.dst}}) CREATE (a)-[:{edge} {{{props}}}]->(b)",
                {"rows": _only(rows, {"src", "dst", *present})},
            )
        )
    return statements


def _present(rows: list[Row]) -> set[str]:
    """Columns some row has a value for."""
    return {column for row in rows for column, value in row.items() if value is not None}


def _only(rows: list[Row], columns: set[str]) -> list[Row]:
    return [{c: v for c, v in row.items() if c in columns} for row in rows]
