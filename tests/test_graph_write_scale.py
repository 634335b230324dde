"""LadybugDB writes that stay cheap as the graph grows: new documents' own nodes are
CREATEd (MERGE costs more with the table's size), and the writer checkpoints less often."""

from __future__ import annotations

from typing import Any

import pytest
from graph_counts import assert_counts_match_facts

from distill.graph import cypher_store
from distill.graph.cypher_store import OWN_LABELS, SHARED_LABELS, upsert_statements
from distill.graph.ladybug_store import WRITER_CHECKPOINT_BYTES, LadybugStore
from distill.graph.networkx_store import NetworkXStore
from distill.graph.testing import sample_facts


def _node_verbs(statements: list[tuple[str, Any]]) -> dict[str, str]:
    verbs = {}
    for cypher, _ in statements:
        for verb in ("CREATE", "MERGE"):
            for label in (*OWN_LABELS, *SHARED_LABELS):
                if f"{verb} (n:{label} " in cypher:
                    verbs[label] = verb
    return verbs


def test_create_only_touches_the_documents_own_nodes() -> None:
    records = sample_facts("d1", n_mentions=3).records()
    assert set(_node_verbs(upsert_statements(records)).values()) == {"MERGE"}
    verbs = _node_verbs(upsert_statements(records, create=True))
    assert {label for label, verb in verbs.items() if verb == "CREATE"} == {"Document", "Opinion"}
    assert all(verbs[label] == "MERGE" for label in SHARED_LABELS if label in verbs)


def test_rewrites_keep_merging_and_everything_matches_one_by_one(tmp_path, monkeypatch) -> None:
    seen: list[bool] = []
    real = cypher_store.upsert_statements

    def spy(records, typed, create=False):  # type: ignore[no-untyped-def]
        seen.append(create)
        return real(records, typed, create)

    monkeypatch.setattr(cypher_store, "upsert_statements", spy)
    docs = [sample_facts(f"d{i}", n_mentions=1 + i % 4, seed=i) for i in range(8)]
    with LadybugStore(tmp_path / "g") as store:
        store.write_documents(docs[:4], batch_size=4)  # all new: CREATE
        store.write_documents([docs[2], *docs[4:]], batch_size=8)  # d2 stored: MERGE
        store.write_documents([sample_facts("d3", n_mentions=1, seed=9)], batch_size=1)
        store.write_documents(docs[4:], batch_size=8)  # all stored again: MERGE
        assert seen == [True, False, False, False]
        reference = NetworkXStore()
        for facts in [*docs[:3], sample_facts("d3", n_mentions=1, seed=9), *docs[4:]]:
            reference.write_document(facts)
        assert store.stats().nodes == reference.stats().nodes
        assert store.stats().edges == reference.stats().edges
        assert store.products() == reference.products()
        assert store.opinion_summary() == reference.opinion_summary()
        assert_counts_match_facts(store)


@pytest.mark.parametrize("read_only", [False, True])
def test_the_writer_checkpoints_less_often(tmp_path, read_only) -> None:
    LadybugStore(tmp_path / "g").close()
    with LadybugStore(tmp_path / "g", read_only=read_only) as store:
        rows = store._run("CALL current_setting('checkpoint_threshold') RETURN *")
        threshold = int(next(iter(rows[0].values())))
        assert (threshold == WRITER_CHECKPOINT_BYTES) is not read_only
