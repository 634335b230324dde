"""The read-only guard: write clauses refused whatever the case, comments or strings."""

from __future__ import annotations

import pytest

from distill.graph.errors import GraphError
from distill.graph.guard import ensure_read_only, write_clauses
from distill.graph.networkx_store import to_grand_cypher


@pytest.mark.parametrize(
    "cypher",
    [
        "MaTcH (n) DeTaCh DeLeTe n",
        "CREATE (n:Product {id: 'x'})",
        "merge (n:Product {id: 'x'})",
        "MATCH (n) SET n.name = 'x'",
        "MATCH (n) REMOVE n.name",
        "LOAD CSV FROM 'file:///x' AS row RETURN row",
        "MATCH (n) /* harmless? */ DELETE n",
        "MATCH (n) // a comment\nDELETE n",
        "MATCH (n)\tdelete\nn",
        "MATCH (n) WITH n DETACH/**/DELETE n",
        "COPY Product FROM 'x.csv'",
        "DROP TABLE Product",
        "MATCH (n) RETURN n; CREATE (m)",
    ],
)
def test_writes_are_refused(cypher: str) -> None:
    with pytest.raises(GraphError, match="read-only"):
        ensure_read_only(cypher)


@pytest.mark.parametrize(
    "cypher",
    [
        "MATCH (n) RETURN n",
        "MATCH (n) // DELETE n\nRETURN n",
        "MATCH (n) /* CREATE (m) */ RETURN n",
        "MATCH (n) WHERE n.name = 'please DELETE me' RETURN n",
        'MATCH (n) WHERE n.name = "SET \\" REMOVE" RETURN n',
        "MATCH (n) RETURN n.set, n.create AS `DELETE`",
        "MATCH (n:Product) WHERE n.id = $delete RETURN count(*) AS created",
    ],
)
def test_reads_pass(cypher: str) -> None:
    ensure_read_only(cypher)


def test_clauses_are_reported_in_order() -> None:
    assert write_clauses("match (n) detach delete n set n.x = 1") == ["DETACH", "DELETE", "SET"]


@pytest.mark.parametrize("cypher", ["", "   ", "MATCH (n) /* open", "MATCH (n) WHERE n.x = 'open"])
def test_broken_queries_are_refused(cypher: str) -> None:
    with pytest.raises(GraphError):
        ensure_read_only(cypher)


def test_grand_cypher_translation() -> None:
    assert to_grand_cypher(
        "MATCH (n) WHERE n.id = $id AND n.x = 'a\"b' RETURN n", {"id": "P1"}
    ) == ('MATCH (n) WHERE n.id = "P1" AND n.x = "a\\"b" RETURN n')
    with pytest.raises(GraphError, match=r"\$missing"):
        to_grand_cypher("MATCH (n) WHERE n.id = $missing RETURN n", {})
