"""Bulk loading: flatten many documents into one set of node and edge rows per table.

Native importers (Ladybug `COPY FROM`) are an order of magnitude faster than one
transaction per document, but need each node exactly once and documents unique;
this does that merge with the same replace semantics as `write_document`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from distill.graph.schema import NODE_COLUMNS, DocumentFacts

Row = dict[str, Any]


def merge_records(
    many: Iterable[DocumentFacts],
) -> tuple[dict[str, list[Row]], dict[tuple[str, str, str], list[Row]], int]:
    """(rows per node label, rows per (edge, src label, dst label), number of documents)."""
    per_doc: dict[str, Any] = {}
    for facts in many:
        per_doc[facts.document.id] = facts.records()  # a later version replaces an earlier one
    nodes: dict[tuple[str, str], Row] = {}
    edges: dict[tuple[str, str, str], list[Row]] = defaultdict(list)
    for records in per_doc.values():
        for key, node in records.nodes.items():
            old = nodes.get(key)
            if old is None:
                nodes[key] = {c: node.props.get(c) for c in NODE_COLUMNS[node.label]}
            else:
                for column, value in node.props.items():
                    if old.get(column) is None:
                        old[column] = value
        for e in records.edges:
            edges[(e.type, e.src_label, e.dst_label)].append(
                {"src": e.src, "dst": e.dst, **e.props}
            )
    by_label: dict[str, list[Row]] = defaultdict(list)
    for (label, _), row in nodes.items():
        by_label[label].append(row)
    return dict(by_label), dict(edges), len(per_doc)
