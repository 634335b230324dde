"""Getting the graph out: GraphML and JSON lines for other tools, PNG and HTML for people."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import networkx as nx

from distill.graph.errors import GraphError
from distill.graph.store import GraphStore

COLORS = {
    "Product": "#e4572e",
    "Entity": "#17bebb",
    "Document": "#9e9e9e",
    "Opinion": "#ffc914",
    "Aspect": "#7e57c2",
}
POLARITY_COLORS = {"positive": "#2e7d32", "negative": "#c62828", "neutral": "#b0bec5"}
"""An opinion is drawn in its polarity's colour (the web app's), other nodes by kind."""


def node_color(data: dict[str, Any]) -> str:
    return POLARITY_COLORS.get(
        data.get("polarity") or "", COLORS.get(data.get("_label", ""), "#999999")
    )


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
                    extra = {"polarity": row["polarity"]} if row.get("polarity") else {}
                    graph.add_node(
                        key, _label=row["label"], name=row.get("name") or row["id"], **extra
                    )
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
    pos = spoke_layout(graph, kinds)
    fig, ax = plt.subplots(figsize=(11, 9))
    nodes = list(graph.nodes)
    nx.draw_networkx_edges(graph, pos, alpha=0.15, arrows=False, ax=ax)
    nx.draw_networkx_nodes(
        graph,
        pos,
        nodelist=nodes,
        node_color=[node_color(graph.nodes[n]) for n in nodes],
        node_size=[SIZES.get(kinds.get(n, ""), 200) for n in nodes],
        ax=ax,
    )
    labels = {
        n: str(d.get("name", n))[:28] for n, d in graph.nodes(data=True) if d.get("_label") in NAMED
    }
    nx.draw_networkx_labels(graph, pos, labels=labels, font_size=9, ax=ax)
    shown = {kinds.get(n) for n in nodes} | {graph.nodes[n].get("polarity") for n in nodes}
    legend = [(COLORS[k], k) for k in COLORS if k in shown and k != "Opinion"]
    legend += [(c, f"{p} opinion") for p, c in POLARITY_COLORS.items() if p in shown]
    ax.legend(
        handles=[Patch(color=color, label=label) for color, label in legend],
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        frameon=False,
    )
    ax.set_title(title)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return Path(path)


RINGS = {"Product": 0.3, "Entity": 0.3, "Document": 0.55, "Opinion": 0.8, "Aspect": 1.0}
"""Radius of each kind's ring; the drawn product is the centre."""


def spoke_layout(graph: nx.MultiDiGraph, kinds: dict[str, str]) -> dict[str, Any]:
    """Aspects evenly round the outside, each opinion on the spoke of its aspect, each
    document at the mean angle of its opinions, names round the product in the middle:
    what reviewers said about each aspect reads as one spoke."""
    nodes = list(graph.nodes)
    if not nodes:
        return {}
    root, aspects = nodes[0], sorted(n for n in nodes if kinds.get(n) == "Aspect")
    angle = {a: 2 * math.pi * i / max(len(aspects), 1) for i, a in enumerate(aspects)}

    def mean_angle(angles: list[float]) -> float | None:
        if not angles:
            return None
        return math.atan2(sum(map(math.sin, angles)), sum(map(math.cos, angles)))

    spread = math.pi / max(len(aspects), 1) * 0.8
    for aspect in aspects:
        opinions = sorted({n for n in nx.all_neighbors(graph, aspect) if kinds.get(n) == "Opinion"})
        for i, opinion in enumerate(opinions):
            offset = (i + 0.5) / len(opinions) - 0.5 if len(opinions) > 1 else 0.0
            angle[opinion] = angle[aspect] + offset * spread
    for kind in ("Document", "Entity", "Product"):
        placed = [n for n in nodes if kinds.get(n) == kind and n != root]
        for n, node in enumerate(placed):
            found = mean_angle([angle[m] for m in set(nx.all_neighbors(graph, node)) if m in angle])
            angle[node] = found if found is not None else 2 * math.pi * n / len(placed)
    pos = {root: (0.0, 0.0)}
    for node in nodes[1:]:
        radius = RINGS.get(kinds.get(node, ""), 0.9)
        theta = angle.get(node, 0.0)
        pos[node] = (radius * math.cos(theta), radius * math.sin(theta))
    return pos


def draw_html(graph: nx.MultiDiGraph, path: str | Path, title: str = "") -> Path:
    """An interactive page (pyvis/vis.js), self-contained so it opens offline."""
    from pyvis.network import Network

    net = Network(
        height="750px", width="100%", directed=True, heading=title, cdn_resources="in_line"
    )
    for node, data in graph.nodes(data=True):
        label = data.get("_label", "")
        name = str(data.get("name", node))[:40]
        net.add_node(node, label=name, title=f"{label}: {node}", color=node_color(data))
    for u, v, data in graph.edges(data=True):
        net.add_edge(u, v, title=data.get("_type", ""), label=data.get("_type", ""))
    Path(path).write_text(net.generate_html(notebook=False), encoding="utf-8")
    return Path(path)
