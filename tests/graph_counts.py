"""The counts a graph store keeps on Product nodes, recomputed from its facts: a test oracle."""

from __future__ import annotations

from collections import Counter, defaultdict

from distill.graph.bulk import POLARITIES
from distill.graph.cypher_store import CypherStore
from distill.graph.store import GraphStore


def counts_from_facts(store: GraphStore) -> tuple[dict, list]:
    """({product: (mentions, opinions, documents)}, [(product, aspect, {polarity: n})])."""
    graph = store.to_networkx()
    products: dict[str, tuple[int, int, int]] = {}
    aspects: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for key, data in graph.nodes(data=True):
        if data["_label"] != "Product":
            continue
        refers = [d for _, _, d in graph.in_edges(key, data=True) if d["_type"] == "REFERS_TO"]
        about = [o for o, _, d in graph.in_edges(key, data=True) if d["_type"] == "ABOUT"]
        products[data["id"]] = (len(refers), len(about), len({d["doc_id"] for d in refers}))
        for opinion in about:
            node = graph.nodes[opinion]
            aspects[(data["id"], node["aspect"])][node["polarity"]] += 1
    summary = [
        (pid, aspect, {pol: counts[pol] for pol in POLARITIES})
        for (pid, aspect), counts in sorted(aspects.items())
    ]
    return products, summary


def assert_counts_match_facts(store: GraphStore) -> None:
    """The kept counts (products, opinion_summary) are exactly what the facts say."""
    products, summary = counts_from_facts(store)
    kept = {p.id: (p.mentions, p.opinions, p.documents) for p in store.products()}
    assert kept == products
    kept_summary = [(s.product_id, s.aspect, s.counts()) for s in store.opinion_summary()]
    assert kept_summary == summary
    for s in store.opinion_summary():
        scores = s.positive - s.negative
        assert s.count == sum(s.counts().values()) and s.avg_polarity == scores / s.count
    if isinstance(store, CypherStore):  # (:Entity)-[:LINKS {mentions}]->(:Product)
        graph = store.to_networkx()
        refers = Counter(
            (graph.nodes[a]["id"], graph.nodes[b]["id"])
            for a, b, d in graph.edges(data=True)
            if d["_type"] == "REFERS_TO"
        )
        rows = store._run(
            "MATCH (e:Entity)-[l:LINKS]->(p:Product) RETURN e.id AS e, p.id AS p, l.mentions AS n"
        )
        assert {(r["e"], r["p"]): r["n"] for r in rows} == dict(refers)
