"""Getting the graph out: GraphML and JSON lines for other tools, PNG and HTML for people."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import networkx as nx

from distill.graph.errors import GraphError
from distill.graph.schema import ProductSummary
from distill.graph.store import GraphStore

COLORS = {
    "Product": "#e4572e",
    "Entity": "#17bebb",
    "Document": "#76b041",
    "Opinion": "#ffc914",
    "Aspect": "#7e57c2",
}


def _scalar_attrs(data: dict[str, Any]) -> dict[str, Any]:
    """GraphML takes scalars only: drop grand-cypher's label sets and nulls."""
    return {k: v for k, v in data.items() if k != "__labels__" and v is not None}


def to_graphml(graph: nx.MultiDiGraph, path: str | Path) -> Path:
    clean = nx.MultiDiGraph()
    for node, data in graph.nodes(data=True):
        clean.add_node(node, **_scalar_attrs(data))
    for u, v, data in graph.edges(data=True):
        clean.add_edge(u, v, **_scalar_attrs(data))
    nx.write_graphml(clean, str(path))
    return Path(path)


def to_jsonl(graph: nx.MultiDiGraph, path: str | Path) -> Path:
    """One JSON object a line: nodes first ({"node": "Label:id", ...}), then edges."""
    with Path(path).open("w", encoding="utf-8") as out:
        for node, data in graph.nodes(data=True):
            out.write(json.dumps({"kind": "node", "key": node, **_scalar_attrs(data)}) + "\n")
        for u, v, data in graph.edges(data=True):
            record = {"kind": "edge", "src": u, "dst": v, **_scalar_attrs(data)}
            out.write(json.dumps(record) + "\n")
    return Path(path)


def find_product(store: GraphStore, wanted: str) -> ProductSummary:
    """The graph's product `wanted` names: its id, its name, or the one product whose name
    contains it ("Nokia 6610" for "Nokia 6610 phone"); else an error naming the closest."""
    from rapidfuzz import fuzz, process

    products = store.products()
    key = " ".join(wanted.lower().split())
    for product in products:
        if key in (product.id.lower(), " ".join((product.name or "").lower().split())):
            return product
    within = [p for p in products if key in " ".join((p.name or p.id).lower().split())]
    if len(within) == 1:
        return within[0]
    names = {p.name or p.id: p for p in within or products}
    close = process.extract(key, list(names), scorer=fuzz.WRatio, limit=5)
    hint = ", ".join(f"{name!r} ({names[name].id})" for name, *_ in close)
    several = "several products match" if len(within) > 1 else "no product matches"
    raise GraphError(
        f"{several} {wanted!r} in the graph"
        + (f"; the closest: {hint}" if hint else "; the graph has no products yet")
    )


def neighbourhood(
    store: GraphStore, product_id: str, *, depth: int = 2, limit: int = 40
) -> nx.MultiDiGraph:
    """A product and what surrounds it, `depth` hops out, at most `limit` neighbours per node."""
    graph = nx.MultiDiGraph()
    root = ("Product", product_id)
    product = store.product(product_id)
    if product is None:
        raise GraphError(f"no product {product_id!r} in the graph; see `distill graph stats`")
    graph.add_node(f"Product:{product_id}", _label="Product", name=product.name or product_id)
    frontier = [root]
    for _ in range(depth):
        nxt = []
        for label, node_id in frontier:
            for row in store.neighbours(label, node_id, limit=limit):
                key = f"{row['label']}:{row['id']}"
                if key not in graph:
                    graph.add_node(key, _label=row["label"], name=row.get("name") or row["id"])
                    nxt.append((row["label"], row["id"]))
                src, dst = (f"{label}:{node_id}", key)
                if row["direction"] == "in":
                    src, dst = dst, src
                if not graph.has_edge(src, dst, key=row["edge"]):
                    graph.add_edge(src, dst, key=row["edge"], _type=row["edge"])
        frontier = nxt
    return graph


SIZES = {"Product": 900, "Aspect": 600, "Entity": 400, "Document": 110, "Opinion": 50}
"""Node sizes in the picture: the named things large, the many documents and opinions
small (they are the evidence, not what one looks at first)."""
NAMED = ("Product", "Aspect", "Entity")
"""Kinds whose names are printed; a document's or an opinion's id is noise at this scale."""


def draw_png(graph: nx.MultiDiGraph, path: str | Path, title: str = "") -> Path:
    """The neighbourhood in rings: the product in the middle, then other products and
    names, the documents, their opinions, and the aspects outside; a legend for colours."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    kinds = nx.get_node_attributes(graph, "_label")
    root = next(iter(graph.nodes), None)  # `neighbourhood` adds the product first
    rings = [[root]] if root is not None else []
    for group in (("Product", "Entity"), ("Document",), ("Opinion",), ("Aspect",)):
        ring = [n for n in graph.nodes if n != root and kinds.get(n) in group]
        rings += [ring] if ring else []
    rest = [n for n in graph.nodes if not any(n in ring for ring in rings)]
    rings += [rest] if rest else []
    pos = nx.shell_layout(graph, nlist=rings) if len(rings) > 1 else nx.spring_layout(graph)
    fig, ax = plt.subplots(figsize=(11, 9))
    nodes = list(graph.nodes)
    nx.draw_networkx_edges(graph, pos, alpha=0.15, arrows=False, ax=ax)
    nx.draw_networkx_nodes(
        graph,
        pos,
        nodelist=nodes,
        node_color=[COLORS.get(kinds.get(n, ""), "#999999") for n in nodes],
        node_size=[SIZES.get(kinds.get(n, ""), 200) for n in nodes],
        ax=ax,
    )
    labels = {
        n: str(d.get("name", n))[:28] for n, d in graph.nodes(data=True) if d.get("_label") in NAMED
    }
    nx.draw_networkx_labels(graph, pos, labels=labels, font_size=9, ax=ax)
    present = [k for k in COLORS if k in set(kinds.values())]
    ax.legend(
        handles=[Patch(color=COLORS[k], label=k) for k in present],
        loc="lower right",
        frameon=False,
    )
    ax.set_title(title)
    ax.axis("off")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return Path(path)


def draw_html(graph: nx.MultiDiGraph, path: str | Path, title: str = "") -> Path:
    """An interactive page (pyvis/vis.js), self-contained so it opens offline."""
    from pyvis.network import Network

    net = Network(
        height="750px", width="100%", directed=True, heading=title, cdn_resources="in_line"
    )
    for node, data in graph.nodes(data=True):
        label = data.get("_label", "")
        name = str(data.get("name", node))[:40]
        color = COLORS.get(label, "#999999")
        net.add_node(node, label=name, title=f"{label}: {node}", color=color)
    for u, v, data in graph.edges(data=True):
        net.add_edge(u, v, title=data.get("_type", ""), label=data.get("_type", ""))
    Path(path).write_text(net.generate_html(notebook=False), encoding="utf-8")
    return Path(path)
