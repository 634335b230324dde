"""Many documents at once: their records merged into one set of rows, and the counts they add.

A batched write (`GraphStore.write_documents`) and a bulk load both write many documents
as if one after another: a shared node (Product, Entity, Aspect) keeps each column's last
non-null value, a document given twice keeps its last version. The `Tally` is what the
documents add to the counts kept on Product nodes (mentions, opinions, documents), per
product × aspect (opinions per polarity) and per entity × product (linked mentions), so
listing, summarizing and walking around products never scans their edges.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from distill.graph.schema import NODE_COLUMNS, DocumentFacts, GraphRecords

Row = dict[str, Any]

PRODUCT_COUNTS = ("mentions", "opinions", "documents")
"""Counts kept on every Product node: linked mentions, opinions about it, documents linking it."""
POLARITIES = ("positive", "negative", "neutral", "conflict")
ASPECT_STATS = "ASPECT_STATS"
"""(:Product)-[:ASPECT_STATS {positive, negative, neutral, conflict}]->(:Aspect): opinion
counts per product × aspect, kept beside the facts (not a fact: no provenance, not in stats)."""
LINKS = "LINKS"
"""(:Entity)-[:LINKS {mentions}]->(:Product): how many of the entity's mentions link the
product; one edge where REFERS_TO has one per mention (26k for a popular product)."""


@dataclass
class Tally:
    """Counts some documents contribute: per product, and per (product, aspect) per polarity."""

    products: dict[str, list[int]] = field(default_factory=dict)
    aspects: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    links: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, records: GraphRecords) -> None:
        """Add one document's records (a document counts once per product it links)."""
        linked: set[str] = set()
        for edge in records.edges:
            if edge.type == "REFERS_TO":
                self.product(edge.dst)[0] += 1
                self.links[(edge.src, edge.dst)] = self.links.get((edge.src, edge.dst), 0) + 1
                linked.add(edge.dst)
            elif edge.type == "ABOUT" and edge.dst_label == "Product":
                self.product(edge.dst)[1] += 1
                opinion = records.nodes[("Opinion", edge.src)].props
                self.opinion(edge.dst, opinion["aspect"], opinion["polarity"])
        for product in linked:
            self.product(product)[2] += 1

    def opinion(self, product: str, aspect: str, polarity: str, n: int = 1) -> None:
        counts = self.aspects.setdefault((product, aspect), [0] * len(POLARITIES))
        counts[POLARITIES.index(polarity)] += n

    def product(self, product: str) -> list[int]:
        """The counts of `product` (`PRODUCT_COUNTS` order), to add to."""
        return self.products.setdefault(product, [0] * len(PRODUCT_COUNTS))

    def product_rows(self) -> list[Row]:
        """One row per product: {id, mentions, opinions, documents}, each product once."""
        return [
            {"id": pid, **dict(zip(PRODUCT_COUNTS, counts, strict=True))}
            for pid, counts in sorted(self.products.items())
        ]

    def link_rows(self) -> list[Row]:
        """One row per (entity, product): {entity, product, mentions}, each pair once."""
        return [
            {"entity": entity, "product": pid, "mentions": n}
            for (entity, pid), n in sorted(self.links.items())
        ]

    def aspect_rows(self) -> list[Row]:
        """One row per (product, aspect): {product, aspect, positive, …}, each pair once."""
        return [
            {"product": pid, "aspect": aspect, **dict(zip(POLARITIES, counts, strict=True))}
            for (pid, aspect), counts in sorted(self.aspects.items())
        ]


def merge(batch: Iterable[GraphRecords]) -> GraphRecords:
    """Records of several documents (distinct ids) as one: nodes once, edges all."""
    out = GraphRecords()
    for records in batch:
        for node in records.nodes.values():
            out.node(node.label, node.id, **node.props)
        out.edges.extend(records.edges)
    return out


@dataclass
class Bulk:
    """Rows for a native importer: each node once per label, edges per (type, src, dst)."""

    nodes: dict[str, list[Row]]
    edges: dict[tuple[str, str, str], list[Row]]
    tally: Tally
    documents: int


def merge_records(many: Iterable[DocumentFacts]) -> Bulk:
    """Flatten documents for a bulk load; Product rows carry their counts."""
    per_doc: dict[str, GraphRecords] = {}
    for facts in many:
        facts = DocumentFacts.model_validate(facts)
        per_doc[facts.document.id] = facts.records()  # a later version replaces an earlier one
    merged = merge(per_doc.values())
    tally = Tally()
    for records in per_doc.values():
        tally.add(records)
    nodes: dict[str, list[Row]] = {}
    for node in merged.nodes.values():
        row = {c: node.props.get(c) for c in NODE_COLUMNS[node.label]}
        if node.label == "Product":
            counts = tally.products.get(node.id, [0] * len(PRODUCT_COUNTS))
            row.update(zip(PRODUCT_COUNTS, counts, strict=True))
        nodes.setdefault(node.label, []).append(row)
    edges: dict[tuple[str, str, str], list[Row]] = {}
    for e in merged.edges:
        edges.setdefault((e.type, e.src_label, e.dst_label), []).append(
            {"src": e.src, "dst": e.dst, **e.props}
        )
    return Bulk(nodes=nodes, edges=edges, tally=tally, documents=len(per_doc))
