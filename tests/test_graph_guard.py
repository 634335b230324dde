"""The read-only guard: LadybugDB's lexer, an allow-list of clauses and functions, and the
rendering the database runs instead of the input (the attack suite is test_cypher_attacks)."""

from __future__ import annotations

import pytest

from distill.graph.errors import GraphError
from distill.graph.guard import (
    FALKORDB,
    GRAND_CYPHER,
    LADYBUG,
    MAX_DEPTH,
    MAX_RANGE,
    QueryRefused,
    ensure_read_only,
    read_query,
    tokenize,
)


def test_refusals_are_graph_errors() -> None:
    assert issubclass(QueryRefused, GraphError)


# the tokenizer: exactly LadybugDB's rules for names, strings and comments


def test_backslash_is_an_ordinary_character_in_backtick_names() -> None:
    """The issue-12 bypass: `x\\` is the whole name, so what follows is code."""
    tokens = tokenize("RETURN 1 AS `x\\` DETACH DELETE `x\\`")
    assert [(t.kind, t.value) for t in tokens][3:6] == [
        ("name", "x\\"),
        ("word", "DETACH"),
        ("word", "DELETE"),
    ]


def test_doubled_backticks_are_one_backtick() -> None:
    assert tokenize("RETURN 1 AS `a``b`")[-1].value == "a`b"


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        (r"'it\'s'", "it's"),
        (r'"say \"hi\""', 'say "hi"'),
        (r"'a\\'", "a\\"),
        (r"'tab\tnew\nline'", "tab\tnew\nline"),
        (r"'\u00e9\U0001F600\x41'", "é😀A"),
        ("'// not a comment; /* nor this */'", "// not a comment; /* nor this */"),
    ],
)
def test_strings_take_ladybugs_escapes(literal: str, value: str) -> None:
    assert tokenize(f"RETURN {literal}")[-1].value == value


@pytest.mark.parametrize(
    ("cypher", "why"),
    [
        (r"RETURN 'a\q'", "unknown escape"),
        (r"RETURN '\uD800'", "not a character"),
        ("RETURN 'open", "unterminated"),
        ("RETURN `open", "unterminated"),
        ("RETURN 1 /* open", "unterminated"),
        ("RETURN 1 AS ``", "empty"),
        ("MATCH (n)\u00a0RETURN n", "NO-BREAK SPACE"),
        ("MATCH (a)\u2014[:ABOUT]\u2014>(b) RETURN a", "EM DASH"),
        ("RETURN 1 \\ 2", "unexpected"),
        ("RETURN $1", "parameter"),
        ("RETURN 1abc", "malformed number"),
    ],
)
def test_the_tokenizer_refuses_what_it_cannot_read_exactly(cypher: str, why: str) -> None:
    with pytest.raises(QueryRefused, match=why):
        tokenize(cypher)


def test_comments_vanish_and_keep_their_place() -> None:
    query = read_query("MATCH (p:Product) /* DELETE */ RETURN p.id // ; DROP", {})
    assert query.render(LADYBUG) == "MATCH (`p`:`Product`) RETURN `p`.`id`"


# the allow-list


@pytest.mark.parametrize(
    "cypher",
    [
        "MaTcH (n) DeTaCh DeLeTe n",
        "CREATE (n:Product {id: 'x'})",
        "merge (n:Product {id: 'x'}) RETURN n",
        "MATCH (n) SET n.name = 'x' RETURN n",
        "MATCH (n) REMOVE n.name RETURN n",
        "LOAD FROM 'x.csv' RETURN *",
        "MATCH (n) /* harmless? */ DELETE n",
        "MATCH (n) // a comment\nDELETE n",
        "COPY Product FROM 'x.csv'",
        "DROP TABLE Product",
        "MATCH (n) WITH n AS `x\\` DETACH DELETE `x\\` // `",
    ],
)
def test_writes_are_refused(cypher: str) -> None:
    with pytest.raises(QueryRefused, match="read-only"):
        ensure_read_only(cypher)


@pytest.mark.parametrize(
    ("cypher", "why"),
    [
        ("MATCH (n) RETURN n; CREATE (m)", "one statement"),
        ("RETURN 1;;", "one statement"),
        ("CALL read_csv_serial('/etc/passwd') RETURN *", "procedure read_csv_serial"),
        ("CALL timeout=1", "read procedure"),
        ("CALL { MATCH (n) RETURN n } RETURN 1", "read procedure"),
        ("RETURN `read_csv`('/etc/passwd') AS x", "function read_csv"),
        ("RETURN nextval('s') AS x", "function nextval"),
        ("RETURN apoc.util.sleep(1) AS x", "namespaced"),
        ("MATCH (n) ORDER BY n.id RETURN n", "ORDER cannot come here"),
        ("MATCH (n) WITH n", "ends with RETURN"),
        ("RETURN 1 WHERE true", "WHERE cannot come here"),
        ("OPTIONAL (n) RETURN n", "OPTIONAL must be followed by MATCH"),
        ("UNWIND range(1, 3000000000) AS x RETURN x", "range"),
        ("UNWIND range(1, 10^10) AS x RETURN x", "integer literals"),
        ("UNWIND range(1, 5, 0) AS x RETURN x", "step"),
        ("RETURN " + "(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1), "nested"),
        ("RETURN (1", "unclosed"),
        ("RETURN 1)", "unbalanced"),
        ("", "empty"),
        ("  ;  ", "empty"),
    ],
)
def test_anything_but_one_read_query_is_refused(cypher: str, why: str) -> None:
    with pytest.raises(QueryRefused, match=why):
        ensure_read_only(cypher)


@pytest.mark.parametrize(
    "cypher",
    [
        "MATCH (n) RETURN n",
        "MATCH (n) RETURN n;",
        "MATCH (n) // DELETE n\nRETURN n",
        "MATCH (n) WHERE n.name = 'please DELETE me' RETURN n",
        'MATCH (n) WHERE n.name = "SET \\" REMOVE" RETURN n',
        "MATCH (n) RETURN n.set, n.create AS `DELETE`",
        "MATCH (n:Product) WHERE n.id = $delete RETURN count(*) AS created",
        "OPTIONAL MATCH (p:Product)<-[:ABOUT]-(o) WITH p, count(o) AS c ORDER BY c DESC "
        "LIMIT 3 WHERE c > 0 RETURN p.id, c ORDER BY c SKIP 1 LIMIT 2",
        "MATCH (a)-[r:ABOUT*1..3]->(b) WHERE a.name STARTS WITH 'x' RETURN a.id",
        "MATCH (n) RETURN n.id UNION ALL MATCH (m) RETURN m.id",
        "MATCH (n) WHERE EXISTS { MATCH (n)-->(m) } RETURN CASE WHEN n.x > 1 THEN 'a' END",
        "UNWIND range(1, 10) AS x RETURN x",
        "CALL show_tables() RETURN *",
        "RETURN CAST(1 AS INT64) AS x, -1.5e-3 AS y, [1, 2][0] AS z",
    ],
)
def test_reads_pass(cypher: str) -> None:
    read_query(cypher, None, LADYBUG)


def test_procedures_are_allowed_per_store() -> None:
    read_query("CALL db.labels() YIELD label RETURN label", {}, FALKORDB)
    with pytest.raises(QueryRefused, match="allowed on ladybug"):
        read_query("CALL db.labels() YIELD label RETURN label", {}, LADYBUG)
    with pytest.raises(QueryRefused, match="allowed on grand-cypher: none"):
        read_query("CALL show_tables() RETURN *", {}, GRAND_CYPHER)


def test_range_is_bounded() -> None:
    read_query(f"UNWIND range(1, {MAX_RANGE}) AS x RETURN count(*)")
    with pytest.raises(QueryRefused, match=f"the limit is {MAX_RANGE}"):
        read_query(f"UNWIND range(0, {MAX_RANGE}) AS x RETURN count(*)")


# parameters


@pytest.mark.parametrize(
    ("params", "why"),
    [
        ({}, "no such parameter"),
        ({"x": 1, "y": 2}, "not used"),
        ({"x": object()}, "only strings, numbers"),
        ({"x": b"bytes"}, "only strings, numbers"),
        ({"x": float("nan")}, "finite"),
        ({"x": 2**64}, "64 bits"),
        ({"x": [[[[[1]]]]]}, "nested"),
        ({"x": list(range(20_000))}, "more than"),
        ({"x": {"bad key": 1}}, "map key"),
        ({"x": "a\x00b"}, "control"),
    ],
)
def test_parameters_must_be_plain_values(params: dict, why: str) -> None:
    with pytest.raises(QueryRefused, match=why):
        read_query("RETURN $x AS x", params)


def test_plain_parameters_pass() -> None:
    query = read_query(
        "MATCH (p) WHERE p.id IN $ids AND p.x = $m.k RETURN p",
        {"ids": ["P1", "P2"], "m": {"k": 1.5}},
    )
    assert query.params == {"ids": ["P1", "P2"], "m": {"k": 1.5}}


# the rendering the database runs


def test_every_name_is_quoted_so_no_word_can_become_a_clause() -> None:
    query = read_query("MATCH (n) RETURN n.x AS `a``b`, n.y AS `LOAD` LIMIT 5", {})
    assert query.render(LADYBUG, row_cap=11) == (
        "MATCH (`n`) RETURN `n`.`x` AS `a``b`, `n`.`y` AS `LOAD` LIMIT 5"
    )


def test_strings_are_requoted() -> None:
    query = read_query(r"""RETURN "it's \"x\"" AS s, 'a\\b' AS t""", {})
    assert query.render(LADYBUG) == r"""RETURN 'it\'s "x"' AS `s`, 'a\\b' AS `t`"""


def test_a_row_cap_is_appended_unless_the_query_has_its_own() -> None:
    assert read_query("MATCH (n) RETURN n", {}).render(LADYBUG, 11).endswith(" LIMIT 11")
    assert read_query("MATCH (n) RETURN n LIMIT 3", {}).render(LADYBUG, 11).endswith("LIMIT 3")
    union = read_query("MATCH (n) RETURN n UNION MATCH (m) RETURN m", {})
    assert "LIMIT" not in union.render(LADYBUG, 11)
    inner = read_query("MATCH (n) WITH n LIMIT 3 RETURN n", {})
    assert inner.render(LADYBUG, 11).endswith("RETURN `n` LIMIT 11")


def test_grand_cypher_rendering() -> None:
    """No quoted names, double-quoted strings, parameters written in, COUNT in capitals,
    and no appended LIMIT (grand-cypher's LIMIT cuts matches before counting)."""
    query = read_query(
        "MATCH (n:Product) WHERE n.id = $id AND n.x = 'a\"b' RETURN count(n) AS c", {"id": "P1"}
    )
    assert query.render(GRAND_CYPHER, row_cap=11) == (
        'MATCH (n:Product) WHERE n.id = "P1" AND n.x = "a\\"b" RETURN COUNT(n) AS c'
    )
    with pytest.raises(QueryRefused, match="no quoted names"):
        read_query("MATCH (n) RETURN n.x AS `two words`", {}).render(GRAND_CYPHER)
