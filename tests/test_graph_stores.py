"""One suite, every store: ladybug (embedded), networkx (file), falkordb (server)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from graph_counts import assert_counts_match_facts

import distill.graph.stores  # noqa: F401  (registers the stores)
from distill.config import GraphConfig
from distill.graph import GraphError, open_store
from distill.graph.ladybug_store import LadybugStore
from distill.graph.networkx_store import NetworkXStore
from distill.graph.resolve import propose_same_as
from distill.graph.schema import DocumentFacts, PluginFact, Provenance
from distill.graph.store import GraphStore
from distill.graph.testing import falkordb_server, sample_facts

_graph_names = itertools.count()


@pytest.fixture(scope="session")
def falkordb_url() -> Iterator[str]:
    try:
        with falkordb_server() as url:
            yield url
    except RuntimeError as exc:
        pytest.skip(f"FalkorDB server could not start: {exc}")


@pytest.fixture(
    params=[
        "ladybug",
        "networkx",
        "networkx-memory",
        pytest.param("falkordb", marks=pytest.mark.real),
    ]
)
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[GraphStore]:
    kind = request.param
    if kind == "ladybug":
        opened: GraphStore = LadybugStore(tmp_path / "g")
    elif kind == "networkx":
        opened = NetworkXStore(tmp_path / "g")
    elif kind == "networkx-memory":
        opened = NetworkXStore()
    else:
        from distill.graph.falkordb_store import FalkorDBStore

        base = request.getfixturevalue("falkordb_url").rsplit("/", 1)[0]
        opened = FalkorDBStore(f"{base}/t{next(_graph_names)}")
    yield opened
    if kind == "falkordb":
        opened.drop()  # type: ignore[attr-defined]
    opened.close()


def with_plugin_facts(facts: DocumentFacts, n: int) -> DocumentFacts:
    """`facts` with `n` plugin facts (Fact nodes, the document's own like its opinions)."""
    doc = facts.document.id
    plugin = [
        PluginFact(
            task="price", payload={"eur": i}, provenance=Provenance(doc_id=doc, tool="price")
        )
        for i in range(n)
    ]
    return facts.model_copy(update={"facts": plugin})


def expected(*facts) -> tuple[int, int]:
    """(nodes, edges) the facts should produce, computed from the records, not a store."""
    nodes, edges = set(), 0
    for f in facts:
        rec = f.records()
        nodes |= set(rec.nodes)
        edges += len(rec.edges)
    return len(nodes), edges


def test_write_counts_match_the_records(store: GraphStore) -> None:
    a, b = sample_facts("d1"), sample_facts("d2", seed=1)
    store.write_documents([a, b])
    stats = store.stats()
    assert (stats.total_nodes, stats.total_edges) == expected(a, b)
    assert stats.nodes["Document"] == 2


def test_rewriting_a_document_is_idempotent(store: GraphStore) -> None:
    facts = sample_facts("d1")
    store.write_document(facts)
    first = store.stats()
    store.write_document(facts)
    store.write_document(sample_facts("d1"))
    assert store.stats() == first


def test_rewrite_replaces_facts_and_collects_orphans(store: GraphStore) -> None:
    store.write_document(sample_facts("d1", n_mentions=4))
    smaller = sample_facts("d1", n_mentions=1)
    store.write_document(smaller)
    stats = store.stats()
    assert (stats.total_nodes, stats.total_edges) == expected(smaller)
    assert stats.nodes["Product"] == 1


def test_delete_document(store: GraphStore) -> None:
    store.write_document(sample_facts("d1"))
    store.write_document(sample_facts("d2", seed=2))
    assert store.delete_document("d1") is True
    assert store.delete_document("d1") is False
    assert (store.stats().total_nodes, store.stats().total_edges) == expected(
        sample_facts("d2", seed=2)
    )
    store.delete_document("d2")
    assert store.stats().total_nodes == 0


def test_has_document_checks_the_content_hash(store: GraphStore) -> None:
    store.write_document(sample_facts("d1", seed=3))
    assert store.has_document("d1")
    assert store.has_document("d1", "h3")
    assert not store.has_document("d1", "other")
    assert not store.has_document("nope")


def test_one_product_node_and_normalized_entities_across_documents(store: GraphStore) -> None:
    for i in range(4):
        store.write_document(sample_facts(f"d{i}", n_mentions=2, n_products=1))
    stats = store.stats()
    assert stats.nodes["Product"] == 1
    # "Phone P0" and "phone  p0" normalize to one entity; plus the BRAND entity
    assert {e["id"] for e in store.entities()} == {"PRODUCT:phone p0", "BRAND:acme z"}
    assert store.entities("brand") == [{"id": "BRAND:acme z", "label": "BRAND", "name": "acme z"}]


def test_query_api(store: GraphStore) -> None:
    store.write_document(sample_facts("d1", n_mentions=3))
    store.write_document(sample_facts("d2", n_mentions=3, seed=1))
    products = {p.id: p for p in store.products()}
    assert products["P1"].mentions == 2 and products["P1"].documents == 2
    assert products["P1"].opinions == 2 and products["P1"].name == "Phone P1"
    assert store.products(limit=1)[0].mentions == 2

    summary = store.opinion_summary("P1")
    assert [(s.aspect, s.count, s.negative, s.avg_polarity) for s in summary] == [
        ("camera", 2, 2, -1.0)
    ]
    everything = store.opinion_summary()
    assert sum(s.count for s in everything) == 6
    assert all(s.aspect == s.aspect.lower() for s in everything)

    mentions = store.mentions("P1")
    assert [(m.doc_id, m.char_start, m.char_end) for m in mentions] == [
        ("d1", 20, 28),
        ("d2", 0, 8),
    ]
    first = mentions[0]
    assert (first.tool, first.backend, first.model, first.confidence) == (
        "ner",
        "trained",
        "ner-small",
        0.9,
    )
    assert (first.link_tool, first.link_backend, first.link_confidence) == ("linker", "prompt", 0.7)
    assert store.mentions("P404") == []

    assert [d["id"] for d in store.documents_behind("Product", "P1")] == ["d1", "d2"]
    assert [d["id"] for d in store.documents_behind("Opinion", "d2#op0")] == ["d2"]
    assert [d["id"] for d in store.documents_behind("Aspect", "design")] == ["d1", "d2"]
    assert store.documents_behind("Document", "d1")[0]["content_hash"] == "h0"
    with pytest.raises(GraphError, match="unknown node label"):
        store.documents_behind("Nope) DETACH DELETE (x", "1")

    around = [
        (n["label"], n["edge"], n["direction"], n["id"]) for n in store.neighbours("Product", "P1")
    ]
    assert around == [
        ("Entity", "REFERS_TO", "in", "PRODUCT:phone p1"),
        ("Opinion", "ABOUT", "in", "d1#op1"),
        ("Opinion", "ABOUT", "in", "d2#op0"),
    ]
    assert store.neighbours("Product", "P1")[0]["name"] == "phone p1"
    assert store.neighbours("Product", "P1", limit=2) == store.neighbours("Product", "P1")[:2]
    mentioned = [n["id"] for n in store.neighbours("Document", "d1", limit=3)]
    assert mentioned == ["BRAND:acme z", "PRODUCT:phone p0", "PRODUCT:phone p1"]


def test_limits_return_the_first_rows_and_ids_look_up_directly(store: GraphStore) -> None:
    for i in range(5):
        store.write_document(sample_facts(f"d{i}", n_mentions=4, seed=i))
    everything = store.mentions("P1")
    assert len(everything) > 3 and store.mentions("P1", limit=3) == everything[:3]
    for limit in range(1, len(everything) + 2):
        assert store.mentions("P1", limit=limit) == everything[:limit]
    assert everything == sorted(everything, key=lambda m: (m.doc_id, m.char_start))
    behind = store.documents_behind("Product", "P1")
    assert [d["id"] for d in behind] == sorted(d["id"] for d in behind)
    assert store.documents_behind("Product", "P1", limit=2) == behind[:2]
    assert store.product("P1") == next(p for p in store.products() if p.id == "P1")
    assert store.product("P404") is None
    assert store.products(limit=2) == store.products()[:2]
    assert store.opinion_summary("P404") == []


def test_cypher_is_read_only(store: GraphStore) -> None:
    store.write_document(sample_facts("d1"))
    rows = store.query(
        "MATCH (p:Product) WHERE p.id = $id RETURN p.id AS id, p.name AS name", {"id": "P1"}
    )
    assert rows == [{"id": "P1", "name": "Phone P1"}]
    rows = store.query("MATCH (p:Product) WHERE p.name = 'Phone P2' RETURN p.id AS id // SET")
    assert rows == [{"id": "P2"}]
    for bad in ("MATCH (n) DETACH DELETE n", "match (p:Product) set p.name = 'x'", "CREATE (:X)"):
        with pytest.raises(GraphError, match="read-only"):
            store.query(bad)
    assert store.stats().nodes["Product"] == 3


def test_same_as_merge_is_reversible(store: GraphStore) -> None:
    store.write_document(sample_facts("d1", n_mentions=2, n_products=2))
    a, b = "PRODUCT:phone p0", "PRODUCT:phone p1"
    assert store.same_as_group(a) == {a}
    store.merge(a, b, confidence=0.8, method="test")
    store.merge(b, a, confidence=0.9, method="test")  # one SAME_AS per pair, not two
    assert store.stats().edges["SAME_AS"] == 1
    assert store.same_as_group(b) == {a, b}
    assert store.unmerge(b, a) is True
    assert store.unmerge(a, b) is False
    assert store.same_as_group(a) == {a}
    with pytest.raises(GraphError):
        store.merge(a, "PRODUCT:nope")


def test_propose_same_as_links_similar_names(store: GraphStore) -> None:
    store.write_document(sample_facts("d1", n_mentions=2, n_products=2))
    linked = propose_same_as(store, threshold=0.85)
    assert [(a, b) for a, b, _ in linked] == [("PRODUCT:phone p0", "PRODUCT:phone p1")]
    assert store.stats().edges["SAME_AS"] == 1


def test_to_networkx_matches_stats(store: GraphStore) -> None:
    store.write_document(sample_facts("d1"))
    graph = store.to_networkx()
    stats = store.stats()
    assert (graph.number_of_nodes(), graph.number_of_edges()) == (
        stats.total_nodes,
        stats.total_edges,
    )
    assert graph.nodes["Product:P1"]["__labels__"] == {"Product"}


def test_failed_write_leaves_the_previous_version(store: GraphStore, monkeypatch) -> None:
    store.write_document(sample_facts("d1", n_mentions=3))
    before = store.stats()
    if isinstance(store, NetworkXStore):
        import distill.graph.networkx_store as module

        real = module._apply

        def apply_then_fail(g, doc_id, records):  # type: ignore[no-untyped-def]
            real(g, doc_id, records)
            raise RuntimeError("boom")

        monkeypatch.setattr(module, "_apply", apply_then_fail)
        expected_error: type[Exception] = RuntimeError
    else:
        import distill.graph.cypher_store as module

        real = module.upsert_statements
        bad = ("UNWIND [1, 0] AS x CREATE (:Aspect {id: 'x' + toString(10 / x)})", {})
        monkeypatch.setattr(module, "upsert_statements", lambda *a: [*real(*a), bad])
        expected_error = GraphError
    with pytest.raises(expected_error):
        store.write_document(sample_facts("d1", n_mentions=1, seed=4))
    assert store.stats() == before
    assert store.has_document("d1", "h0")


def test_open_store_uses_the_registry(tmp_path) -> None:
    with open_store(GraphConfig(store="networkx", path=str(tmp_path / "nx"))) as store:
        assert isinstance(store, NetworkXStore)
        store.write_document(sample_facts("d1"))
    with open_store(GraphConfig(path=str(tmp_path / "lb"))) as store:
        assert isinstance(store, LadybugStore)
        store.write_document(sample_facts("d1"))
    with open_store(GraphConfig(path=str(tmp_path / "lb")), read_only=True) as store:
        assert store.has_document("d1")
        with pytest.raises(GraphError, match="read-only"):
            store.write_document(sample_facts("d2"))
    with pytest.raises(GraphError, match="no graph"):
        open_store(GraphConfig(path=str(tmp_path / "missing")), read_only=True)
    from distill.errors import PluginError

    with pytest.raises(PluginError, match="unknown graph store"):
        open_store(GraphConfig(store="ladybugg", path=str(tmp_path)))


def test_networkx_file_store_sees_other_writers(tmp_path) -> None:
    a, b = NetworkXStore(tmp_path / "g"), NetworkXStore(tmp_path / "g")
    a.write_document(sample_facts("d1"))
    b.write_document(sample_facts("d2", seed=1))
    assert a.has_document("d2") and b.has_document("d1")
    assert a.stats() == b.stats()


def test_counts_follow_writes_rewrites_and_deletes(store: GraphStore) -> None:
    store.write_documents([sample_facts(f"d{i}", n_mentions=4, seed=i) for i in range(6)])
    assert_counts_match_facts(store)
    store.write_document(sample_facts("d2", n_mentions=1, seed=7))  # fewer facts, other products
    store.write_documents([sample_facts("d3", n_mentions=4, seed=3), sample_facts("d4", seed=1)])
    assert_counts_match_facts(store)
    store.delete_document("d0")
    store.write_documents([sample_facts("d5", n_mentions=2, seed=2)], batch_size=1)
    assert_counts_match_facts(store)
    for i in range(1, 6):
        store.delete_document(f"d{i}")
    assert store.products() == [] and store.opinion_summary() == []
    assert store.stats().total_nodes == 0


def test_a_batch_writes_what_one_by_one_writes(store: GraphStore) -> None:
    docs = [sample_facts(f"d{i}", n_mentions=1 + i % 4, seed=i) for i in range(10)]
    result = store.write_documents([*docs, docs[3]], batch_size=4)  # d3 twice: no duplicate
    assert result.written == [f"d{i}" for i in range(10)] + ["d3"] and result.failures == []
    assert (store.stats().total_nodes, store.stats().total_edges) == expected(*docs)
    assert_counts_match_facts(store)
    again = store.write_documents(docs, batch_size=64)  # re-ingest: replaced, never duplicated
    assert len(again.written) == 10
    assert (store.stats().total_nodes, store.stats().total_edges) == expected(*docs)
    assert_counts_match_facts(store)
    one_by_one = NetworkXStore()
    for facts in docs:
        one_by_one.write_document(facts)
    assert store.products() == one_by_one.products()
    assert store.opinion_summary() == one_by_one.opinion_summary()
    assert store.mentions("P1") == one_by_one.mentions("P1")


def test_a_bad_document_costs_only_itself(store: GraphStore, monkeypatch) -> None:
    old_bad = with_plugin_facts(sample_facts("bad", n_mentions=2, seed=9), 2)
    store.write_document(old_bad)
    before = store.document("bad")
    if isinstance(store, NetworkXStore):
        import distill.graph.networkx_store as module

        real = module._apply

        def apply(g, doc_id, records):  # type: ignore[no-untyped-def]
            real(g, doc_id, records)  # half-applied, then it fails: must be rolled back
            if doc_id == "bad":
                raise RuntimeError("boom")

        monkeypatch.setattr(module, "_apply", apply)
    else:
        import distill.graph.cypher_store as module

        real = module.upsert_statements

        def upsert(records, *args):  # type: ignore[no-untyped-def]
            statements = real(records, *args)
            if ("Document", "bad") in records.nodes:  # fail after the writes, in the database
                statements.append(
                    ("UNWIND [1, 0] AS x CREATE (:Aspect {id: toString(10 / x)})", {})
                )
            return statements

        monkeypatch.setattr(module, "upsert_statements", upsert)
    good = [sample_facts(f"g{i}", n_mentions=3, seed=i) for i in range(5)]
    broken = {"document": {"id": "broken"}, "mentions": "not a list"}
    new_bad = with_plugin_facts(sample_facts("bad", n_mentions=4, seed=1), 3)
    batch = [*good[:2], new_bad, broken, *good[2:]]
    result = store.write_documents(batch, batch_size=8)  # type: ignore[arg-type]
    assert result.written == [f"g{i}" for i in range(5)]
    assert [(f.index, f.doc_id) for f in result.failures] == [(2, "bad"), (3, "broken")]
    assert store.document("bad") == before  # the old version, untouched
    assert (store.stats().total_nodes, store.stats().total_edges) == expected(*good, old_bad)
    assert_counts_match_facts(store)


def test_bulk_load_gives_what_writes_give(store: GraphStore) -> None:
    docs = [sample_facts(f"d{i}", n_mentions=1 + i % 4, seed=i) for i in range(8)]
    tricky = sample_facts("d8", n_mentions=2, seed=3)
    tricky = tricky.model_copy(
        update={"products": {**tricky.products, "P3": 'Phone "P3", the\nbig one'}}
    )
    assert store.bulk_load([*docs, tricky]) == 9
    assert (store.stats().total_nodes, store.stats().total_edges) == expected(*docs, tricky)
    assert_counts_match_facts(store)
    assert store.product("P3").name == 'Phone "P3", the\nbig one'  # type: ignore[union-attr]
    one_by_one = NetworkXStore()
    one_by_one.write_documents([*docs, tricky])
    assert store.products() == one_by_one.products()
    assert store.opinion_summary() == one_by_one.opinion_summary()
    store.write_document(sample_facts("d0", n_mentions=1, seed=5))  # writes after a bulk load
    assert_counts_match_facts(store)


def test_writes_need_a_writable_store(tmp_path) -> None:
    LadybugStore(tmp_path / "g").close()
    with (
        LadybugStore(tmp_path / "g", read_only=True) as store,
        pytest.raises(GraphError, match="read-only"),
    ):
        store.write_documents([sample_facts("d1")])


def test_a_graph_from_before_the_counts_gets_them(tmp_path) -> None:
    docs = [sample_facts(f"d{i}", n_mentions=3, seed=i) for i in range(4)]
    with LadybugStore(tmp_path / "lb") as store:
        store.write_documents(docs)
        store._run("DROP TABLE ASPECT_STATS")
        store._run("DROP TABLE LINKS")
        for column in ("mentions", "opinions", "documents"):
            store._run(f"ALTER TABLE Product DROP {column}")
    with pytest.raises(GraphError, match="open it once for writing"):
        LadybugStore(tmp_path / "lb", read_only=True)
    with LadybugStore(tmp_path / "lb") as store:
        assert_counts_match_facts(store)
    with LadybugStore(tmp_path / "lb", read_only=True) as store:
        assert store.product("P1").mentions > 0  # type: ignore[union-attr]

    import pickle

    old = NetworkXStore(tmp_path / "nx")
    old.write_documents(docs)
    graph = old.to_networkx()
    del graph.graph["counts"]
    for _, data in graph.nodes(data=True):
        for column in ("mentions", "opinions", "documents", "_aspects"):
            data.pop(column, None)
    old.file.write_bytes(pickle.dumps(graph))  # type: ignore[union-attr]
    assert_counts_match_facts(NetworkXStore(tmp_path / "nx", read_only=True))


@pytest.mark.real
def test_a_falkordb_graph_from_before_the_counts_gets_them(falkordb_url: str) -> None:
    from distill.graph.falkordb_store import FalkorDBStore

    url = f"{falkordb_url.rsplit('/', 1)[0]}/old{next(_graph_names)}"
    with FalkorDBStore(url) as store:
        store.write_documents([sample_facts(f"d{i}", n_mentions=3, seed=i) for i in range(4)])
        store._run("MATCH (p:Product) REMOVE p.documents")
        store._run("MATCH ()-[s:ASPECT_STATS]->() DELETE s")
        store._run("MATCH ()-[s:LINKS]->() DELETE s")
    with pytest.raises(GraphError, match="open it once for writing"):
        FalkorDBStore(url, read_only=True)
    with FalkorDBStore(url) as store:
        assert_counts_match_facts(store)
        store.drop()


def test_plugin_facts_are_replaced_with_their_document(store: GraphStore) -> None:
    store.write_documents([with_plugin_facts(sample_facts("d1"), 3), sample_facts("d2", seed=1)])
    fewer = with_plugin_facts(sample_facts("d1"), 1)
    store.write_documents([fewer])
    assert store.stats().nodes["Fact"] == 1
    assert (store.stats().total_nodes, store.stats().total_edges) == expected(
        fewer, sample_facts("d2", seed=1)
    )
    store.delete_document("d1")
    assert store.stats().nodes["Fact"] == 0


def test_fixed_queries_run_in_process_on_networkx(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`isolated=False` (the code's own queries) never forks: a fork of a threaded
    process can hang on a lock another thread held."""
    import distill.graph.networkx_store as networkx_store

    store = NetworkXStore(tmp_path / "g")
    for doc_id in ("d1", "d2"):
        store.write_document(sample_facts(doc_id))
    query = "MATCH (d:Document) RETURN d.id AS id"
    isolated = store.query(query)

    def no_fork(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("forked")

    monkeypatch.setattr(networkx_store, "run_isolated", no_fork)
    assert sorted(map(str, store.query(query, isolated=False))) == sorted(map(str, isolated))
    with pytest.raises(AssertionError, match="forked"):
        store.query(query)
