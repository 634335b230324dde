"""The Cypher attack suite (issue 12): hostile queries, and what every store must keep true.

Shared by `tests/test_cypher_attacks.py` (every store, and the agent's query tool with a
scripted model) and `benchmarks/cypher_attacks.py` (the counts in BENCHMARKS.md), like
`testing.py`. Each attack aims at an `AttackWorld`: a secret file outside the graph whose
canary must never appear in any output, an empty folder nothing may be written to, and a
shared library whose constructor would write there if it were ever loaded. Whatever a
query does, `check` demands: a clear refusal or a harmless read, no canary, no new file,
no library mapped into the process, and the graph's fingerprint unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from uuid import uuid4

from distill.errors import DistillError
from distill.graph.guard import QueryRefused
from distill.graph.ladybug_store import LadybugStore
from distill.graph.networkx_store import NetworkXStore
from distill.graph.store import GraphStore
from distill.graph.testing import falkordb_server, sample_facts

Params = Callable[["AttackWorld"], dict[str, Any]]


@dataclass(frozen=True)
class Attack:
    id: str
    family: str
    cypher: str
    """%SECRET%, %OUT% and %LIB% stand for the world's paths."""
    params: Params | None = None


class _Opaque:
    """A parameter value that is not plain data (an object, a frame, a DataFrame…)."""

    __module__ = "pandas.core.frame"  # what the ladybug client scans as a table


def _a(family: str, *queries: str) -> list[Attack]:
    return [Attack(f"{family}-{i}", family, q) for i, q in enumerate(queries, 1)]


def _p(name: str, cypher: str, params: Params) -> Attack:
    return Attack(f"params-{name}", "params", cypher, params)


ISSUE = _a(
    "issue",
    "MATCH (n) WITH n AS `x\\` DETACH DELETE `x\\` // `",
    'UNWIND [1] AS `x\\` LOAD FROM "%SECRET%" (file_format="csv", header=false) RETURN * // `',
    'RETURN 1 AS `x\\`; COPY (RETURN "ATTACKER CONTENT" AS l) TO "%OUT%/copied.csv" // `',
    'RETURN 1 AS `x\\`; LOAD EXTENSION "%LIB%" // `',
    "RETURN 1 AS `x\\`; COMMIT; MATCH (o:Opinion) DETACH DELETE o // `",
    "CALL read_csv_serial('%SECRET%') RETURN *",
    "CALL read_csv_parallel('%SECRET%') RETURN *",
    "CALL read_parquet('%SECRET%') RETURN *",
    "CALL read_npy('%SECRET%') RETURN *",
    "UNWIND range(1, 3000000000) AS x RETURN x",
    "UNWIND range(1, 3000000000) AS x RETURN count(*)",
    "MATCH (n) RETURN n LIMIT 1; MATCH (m) RETURN m LIMIT 1",
)
WRITES = _a(
    "write",
    "CREATE (:Product {id: 'evil'})",
    "create (n:Product {id: 'evil'}) RETURN n",
    "MERGE (p:Product {id: 'evil'}) RETURN p",
    "MATCH (p:Product) SET p.name = 'pwned' RETURN p",
    "MATCH (p:Product) SET p += {name: 'pwned'}",
    "MATCH (o:Opinion) DELETE o",
    "MATCH (n) DETACH DELETE n",
    "MaTcH (n) dEtAcH dElEtE n",
    "MATCH (n) REMOVE n.name RETURN n",
    "DROP TABLE Opinion",
    "ALTER TABLE Product DROP name",
    "MATCH (n) FOREACH (x IN [1] | DELETE n)",
    "MATCH (n) WITH n DETACH/**/DELETE n",
    "MATCH (n)\tdelete\nn",
    "MATCH (n) DE/**/LETE n RETURN n",
    "MATCH (n) RETURN n DETACH DELETE n",
    "OPTIONAL MATCH (n) DELETE n RETURN 1",
    "MATCH (n) WITH n LIMIT 1000 DETACH DELETE n RETURN count(*)",
    "CREATE NODE TABLE Evil(id STRING, PRIMARY KEY(id))",
    "CREATE MACRO evil(x) AS x",
    "COMMENT ON TABLE Product IS 'pwned'",
    "TRUNCATE Product",
)
BACKTICKS = _a(
    "backtick",
    "MATCH (n) WITH n AS `x\\` DETACH DELETE `x\\` RETURN 1",
    "RETURN 1 AS `a``b`; MATCH (n) DELETE n",
    "RETURN 1 AS `a`` DETACH DELETE n //`",
    "MATCH (`n`) DETACH DELETE `n`",
    "MATCH (n:Product) RETURN n.id AS `DELETE` LIMIT 2",
    "MATCH (n) RETURN `read_csv`('%SECRET%')",
    "RETURN `read_csv_serial`('%SECRET%') AS x",
    "CALL `read_csv_serial`('%SECRET%') RETURN *",
    "MATCH (n) RETURN n.id AS ``",
    "RETURN 1 AS `unterminated",
    "RETURN 1 AS ```; MATCH (n) DETACH DELETE n",
    "MATCH (n) RETURN n.`id` AS `x\\\\` // \\` DETACH DELETE n",
    "RETURN 1 AS `\\`, 2 AS `b\\`",
    "MATCH (n:`Product`) WHERE n.`id` = 'P1' RETURN n.`name` AS name",
    "UNWIND [1] AS `x\x00y` RETURN 1",
    "MATCH (n:Product) RETURN n.`x``DETACH DELETE n//` LIMIT 1",
)
STRINGS = _a(
    "string",
    "RETURN 'it\\'s' AS a; MATCH (n) DELETE n",
    'RETURN "a\\"; MATCH (n) DETACH DELETE n //" AS b',
    "RETURN 'a\\\\' AS b; MATCH (n) DELETE n // '",
    "RETURN 'a\\q' AS b",
    "RETURN '\\u0027; MATCH (n) DETACH DELETE n //' AS a",
    "RETURN 'unterminated AS a",
    "RETURN '\\x27 DETACH DELETE' AS a",
    "MATCH (p:Product) WHERE p.name = '*/ DETACH DELETE p /*' RETURN p.id",
    "RETURN '\\uD800' AS a",
    "RETURN 'x\\u0000y' AS a",
    "RETURN '\\U0001F600' AS a",
    'MATCH (p:Product) WHERE p.name = "\'; DROP TABLE Product; //" RETURN p.id',
    "RETURN '\\xff' AS a",
    "RETURN 'line\nbreak' AS a",
)
COMMENTS = _a(
    "comment",
    "MATCH (p:Product) RETURN p.id // ; DETACH DELETE p",
    "MATCH (n) /* ; */ DETACH DELETE n",
    "MATCH (n) /* **/ DETACH DELETE n /* */ RETURN n",
    "MATCH (n) /* /* */ DETACH DELETE n */ RETURN n",
    "MATCH (n) // comment\rDETACH DELETE n",
    "MATCH (n) // comment\u2028DETACH DELETE n",
    "RETURN 1 /* unterminated",
    "RETURN 1 AS a /*/ DETACH DELETE n /*/",
    "MATCH (p:Product) RETURN p.id // \\` ; DETACH DELETE p",
    "/* DELETE */ MATCH (p:Product) RETURN p.id LIMIT 2 // DELETE",
)
UNICODE = _a(
    "unicode",
    "MATCH (n) D\u0415TACH D\u0415LETE n",
    "MATCH (n) D\u0415TACH D\u0415LETE n RETURN n",
    "MATCH (n) RETURN n\uff1bDETACH DELETE n",
    "MATCH (n)\u00a0DETACH DELETE n",
    "MATCH (n)\u2003RETURN n",
    "MATCH (a)\u2014[:ABOUT]\u2014>(b) RETURN a",
    "MATCH (a)\u2212[:ABOUT]\u2212(b) DELETE a",
    "MATCH (n) RETURN n\u200b; DELETE n",
    "MATCH (p:Product) RETURN p.id /* \u202e */ AS x LIMIT 1",
    "\uff2d\uff21\uff34\uff23\uff28 (n) \uff24\uff25\uff2c\uff25\uff34\uff25 n",
    "MATCH (p:Product) RETURN p.na\u00efve AS x LIMIT 1",
    "MATCH (p:Product) WHERE p.name = '\u00dcn\u00efc\u00f6d\u00e9 \u2713' RETURN p.id",
    "MATCH (n) RETURN n \u037e DETACH DELETE n",
)
STATEMENTS = _a(
    "statements",
    "RETURN 1; RETURN 2",
    "RETURN 1;;",
    ";RETURN 1",
    "RETURN 1 AS one ; // done",
    "BEGIN TRANSACTION; MATCH (n) DETACH DELETE n; COMMIT",
    "COMMIT; MATCH (n) DETACH DELETE n RETURN 1",
    "ROLLBACK",
    "CHECKPOINT",
    "EXPLAIN MATCH (n) RETURN n",
    "PROFILE MATCH (n) RETURN n",
)
CALLS = _a(
    "call",
    "CALL read_json('%SECRET%') RETURN *",
    "CALL read_pandas('df') RETURN *",
    "CALL current_setting('home_directory') RETURN *",
    "CALL file_info('Product') RETURN *",
    "CALL storage_info('Product') RETURN *",
    "CALL disk_size_info() RETURN *",
    "CALL clear_warnings() RETURN *",
    "CALL project_graph('g', ['Product'], []) RETURN *",
    "CALL drop_projected_graph('g')",
    "CALL timeout=1",
    "CALL threads=64",
    "CALL home_directory='%OUT%'",
    "CALL file_search_path='%OUT%'",
    "CALL show_tables() RETURN *",
    "CALL table_info('Product') RETURN *",
    "CALL db.labels() YIELD label RETURN label",
    "CALL dbms.procedures() YIELD name RETURN name",
    "CALL apoc.load.json('file://%SECRET%') YIELD value RETURN value",
    "CALL { MATCH (n) DETACH DELETE n } RETURN 1",
    "CALL show_official_extensions() RETURN *",
    "CALL show_loaded_extensions() RETURN *",
    "CALL db.idx.fulltext.createNodeIndex('Product', 'name') RETURN 1",
    "CALL algo.pageRank('Product', 'REFERS_TO') YIELD node RETURN node",
    "CALL show_tables",
)
FILES = _a(
    "files",
    "LOAD FROM '%SECRET%' RETURN *",
    "LOAD WITH HEADERS (a STRING, b STRING) FROM '%SECRET%' RETURN *",
    "LOAD CSV FROM 'file://%SECRET%' AS row RETURN row",
    "LOAD CSV WITH HEADERS FROM 'file://%SECRET%' AS row RETURN row",
    "COPY Product FROM '%SECRET%'",
    "COPY (MATCH (p:Product) RETURN p.id) TO '%OUT%/dump.csv'",
    "COPY (RETURN 1) TO '%OUT%/x.parquet'",
    "EXPORT DATABASE '%OUT%/export'",
    "IMPORT DATABASE '%OUT%/export'",
    "ATTACH '%OUT%/other.lbdb' AS other (dbtype lbug)",
    "ATTACH '%SECRET%' AS s (dbtype duckdb)",
    "DETACH other",
    "USE other",
    "INSTALL httpfs",
    "FORCE INSTALL json FROM 'http://127.0.0.1:9/'",
    "LOAD EXTENSION '%LIB%'",
    "LOAD '%LIB%'",
    "LOAD json",
    "UNINSTALL json",
    "UPDATE json",
    "MATCH (n) LOAD FROM '%SECRET%' RETURN *",
    "UNWIND [1] AS x LOAD FROM '%SECRET%' RETURN *",
    "MATCH (n) RETURN n UNION LOAD FROM '%SECRET%' RETURN *",
)
FUNCTIONS = _a(
    "function",
    "RETURN read_csv('%SECRET%') AS x",
    "RETURN nextval('seq') AS x",
    "RETURN currval('seq') AS x",
    "RETURN setseed(0.5) AS x",
    "RETURN error('boom') AS x",
    "RETURN repeat('a', 2000000000) AS x",
    "RETURN lpad('a', 2000000000, 'b') AS x",
    "RETURN apoc.util.sleep(100000) AS x",
    "RETURN db.labels() AS x",
    "MATCH (n) RETURN n.id.`read_csv`('x') AS x",
    "RETURN copy_csv('%OUT%/f.csv') AS x",
    "RETURN to_json('{}') AS x",
    "RETURN load_extension('%LIB%') AS x",
)
PARAMS = [
    _p("object", "RETURN $x AS x", lambda w: {"x": object()}),
    _p("bytes", "RETURN $x AS x", lambda w: {"x": b"\x00\xffbytes"}),
    _p("dataframe", "LOAD FROM $df RETURN *", lambda w: {"df": _Opaque()}),
    _p("dataframe-unused", "RETURN 1 AS one", lambda w: {"df": _Opaque()}),
    _p("nan", "RETURN $x AS x", lambda w: {"x": float("nan")}),
    _p("bigint", "RETURN $x AS x", lambda w: {"x": 2**70}),
    _p("huge-list", "UNWIND $x AS y RETURN count(*)", lambda w: {"x": list(range(20_000))}),
    _p("nested", "RETURN $x AS x", lambda w: {"x": [[[[[[1]]]]]]}),
    _p("bad-key", "RETURN $x AS x", lambda w: {"x": {"$bad key": 1}}),
    _p("bad-name", "RETURN 1 AS one", lambda w: {"x-y": 1}),
    _p(
        "injection",
        "MATCH (p:Product) WHERE p.id = $x RETURN p.id",
        lambda w: {"x": "'; MATCH (n) DETACH DELETE n //"},
    ),
    _p("unused", "RETURN 1 AS one", lambda w: {"unused": 1}),
    _p("missing", "RETURN $missing AS a", lambda w: {}),
    _p("numbered", "RETURN $1 AS a", lambda w: {"1": 1}),
    _p("quoted", "RETURN $`x` AS a", lambda w: {"x": 1}),
    _p("control", "RETURN $x AS x", lambda w: {"x": "a\x00b"}),
    _p("surrogate", "RETURN $x AS x", lambda w: {"x": "\ud800"}),
    _p("path", "LOAD FROM $p RETURN *", lambda w: {"p": str(w.secret)}),
    _p("to-json", "RETURN to_json($x) AS j", lambda w: {"x": "{}"}),
]
RESOURCES = _a(
    "resource",
    "UNWIND range(1, 100000) AS x UNWIND range(1, 100000) AS y RETURN x, y",
    "UNWIND range(1, 100000) AS x UNWIND range(1, 100000) AS y RETURN collect(x) AS c",
    "UNWIND range(1, 10^10) AS x RETURN x",
    "UNWIND range(0, 9223372036854775807) AS x RETURN count(*)",
    "UNWIND range(1, 100000, 0) AS x RETURN x",
    "MATCH (a)-[*1..30]-(b) RETURN count(*)",
    "MATCH (a) MATCH (b) MATCH (c) MATCH (d) MATCH (e) RETURN count(a)",
    "RETURN '" + "a" * 30_000 + "' AS long",
    "RETURN " + "(" * 3000 + "1" + ")" * 3000 + " AS deep",
    "RETURN " + "[" * 40 + "1" + "]" * 40 + " AS deep",
)
READS = _a(
    "read",
    "MATCH (p:Product)<-[:ABOUT]-(o:Opinion) WHERE o.aspect = 'battery' "
    "RETURN p.name AS product, o.polarity AS polarity, count(*) AS n ORDER BY n DESC",
    "MATCH (p:Product) RETURN p.id AS id ORDER BY id LIMIT 3",
    "MATCH (p:Product) WHERE p.name = 'please DELETE me; DROP TABLE x' RETURN count(p) AS n",
    "MATCH (d:Document) RETURN d.id AS doc LIMIT 5",
    "MATCH (n:Product) RETURN n.id AS id UNION MATCH (a:Aspect) RETURN a.id AS id",
    "MATCH (p:Product) RETURN p.name AS set, p.id AS create LIMIT 2",
)

ATTACKS: list[Attack] = [
    *ISSUE,
    *WRITES,
    *BACKTICKS,
    *STRINGS,
    *COMMENTS,
    *UNICODE,
    *STATEMENTS,
    *CALLS,
    *FILES,
    *FUNCTIONS,
    *PARAMS,
    *RESOURCES,
    *READS,
]

_LIB_SOURCE = r"""
#include <stdio.h>
__attribute__((constructor)) static void pwned(void) {
    FILE *f = fopen("%MARKER%", "w");
    if (f) { fputs("constructor ran", f); fclose(f); }
}
"""


class AttackWorld:
    """Targets outside the graph: a secret file, an empty folder, a shared library."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.canary = f"CANARY-{uuid4().hex}"
        self.secret = root / "secret.csv"
        self.secret.write_text(f"name,value\nsecret,{self.canary}\n", encoding="utf-8")
        self.out = root / "outside"
        self.out.mkdir(exist_ok=True)
        self.lib = root / "evil.so"
        self.lib_built = _build_library(self.lib, self.out / "constructor-ran")

    def text(self, attack: Attack) -> str:
        return (
            attack.cypher.replace("%SECRET%", str(self.secret))
            .replace("%OUT%", str(self.out))
            .replace("%LIB%", str(self.lib))
        )

    def params(self, attack: Attack) -> dict[str, Any] | None:
        return attack.params(self) if attack.params else None

    def written(self) -> list[str]:
        return sorted(str(p.relative_to(self.out)) for p in self.out.rglob("*"))

    def library_mapped(self) -> bool:
        maps = Path("/proc/self/maps")
        return maps.exists() and str(self.lib) in maps.read_text(errors="replace")


def _build_library(lib: Path, marker: Path) -> bool:
    """A .so whose constructor writes `marker`; False when there is no C compiler."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return False
    source = lib.with_suffix(".c")
    source.write_text(_LIB_SOURCE.replace("%MARKER%", str(marker)), encoding="utf-8")
    done = subprocess.run(
        [compiler, "-shared", "-fPIC", "-o", str(lib), str(source)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def fingerprint(store: Any) -> str:
    """Counts, products and opinion summaries: any write shows up here."""
    stats = store.stats()
    state = {
        "nodes": stats.nodes,
        "edges": stats.edges,
        "products": [p.model_dump() for p in store.products()],
        "opinions": [a.model_dump() for a in store.opinion_summary()],
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()


UNCLEAR = ("Traceback", "object has no attribute", "bad_alloc", "Segmentation", "core dumped")


@dataclass
class Outcome:
    attack: str
    family: str
    verdict: Literal["refused", "read"]
    by: Literal["guard", "database", ""]
    """guard: refused before any database saw it; database: by the database or a store's
    time, memory or row cap"""
    message: str = ""
    rows: int = 0
    breaches: list[str] = field(default_factory=list)


def check(
    world: AttackWorld,
    attack: Attack,
    run: Callable[[], list[Any]],
    *,
    store: Any,
    before: str,
) -> Outcome:
    """Run one attack and judge it against every invariant; breaches are listed, not raised.

    The graph is fingerprinted again only when the query reached the database (its
    `_read_query` was called): one the guard refused cannot have changed anything.
    """
    rows: list[Any] = []
    reached = 0
    read_query = store._read_query

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal reached
        reached += 1
        return read_query(*args, **kwargs)

    store._read_query = counted
    unclear = ""
    try:
        rows = run()
        outcome = Outcome(attack.id, attack.family, "read", "", rows=len(rows))
    except (QueryRefused, DistillError) as exc:  # the agent tool's errors are DistillErrors
        outcome = Outcome(attack.id, attack.family, "refused", "guard", str(exc))
    except Exception as exc:  # anything else is not a clear error
        outcome = Outcome(attack.id, attack.family, "refused", "guard", f"{exc!r}")
        unclear = f"not a clear error: {type(exc).__name__}: {exc}"
    finally:
        del store._read_query
    if outcome.verdict == "refused" and reached:
        outcome.by = "database"  # the guard let it through; the database or a cap stopped it
    if unclear:
        outcome.breaches.append(unclear)
    if outcome.verdict == "refused" and (
        not outcome.message.strip() or any(word in outcome.message for word in UNCLEAR)
    ):
        outcome.breaches.append(f"unclear error: {outcome.message[:200]!r}")
    shown = outcome.message + json.dumps(rows, default=str)
    if world.canary in shown:
        outcome.breaches.append("a file outside the graph was read into the output")
    if written := world.written():
        outcome.breaches.append(f"files written outside the graph: {written}")
        for path in sorted(world.out.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
    if world.library_mapped():
        outcome.breaches.append(f"{world.lib} was loaded into the process")
    if reached and fingerprint(store) != before:
        outcome.breaches.append("the graph changed")
    return outcome


def run_on_store(
    store: Any, world: AttackWorld, attack: Attack, *, before: str, timeout: float = 0.5
) -> Outcome:
    """The attack through `store.query`, as `distill graph query` and the Python API run it."""
    params = world.params(attack)
    return check(
        world,
        attack,
        lambda: store.query(world.text(attack), params, timeout=timeout, max_rows=1000),
        store=store,
        before=before,
    )


class ScriptedCypherModel:
    """A chat model that answers every request for Cypher with one fixed query."""

    def __init__(self, cypher: str) -> None:
        self.cypher = cypher
        self.calls = 0

    def with_structured_output(self, schema: type) -> Any:
        model = self

        class _Runnable:
            def invoke(self, prompt: Any) -> Any:
                model.calls += 1
                return schema.model_validate({"cypher": model.cypher})

        return _Runnable()


TARGETS = ("ladybug-read-only", "ladybug-read-write", "networkx", "falkordb")
"""The CLI's read-only Ladybug open, the Python API's read-write one (where `COMMIT;` once
deleted every Opinion), networkx, and a FalkorDB server."""
SUITE_MEMORY = 256 * 1024**2
"""The attacked Ladybug stores' buffer pool: memory bombs fail fast."""


@contextlib.contextmanager
def open_target(kind: str, root: Path) -> Iterator[GraphStore]:
    """A small graph (four documents) in a store of `kind`; FalkorDB raises RuntimeError
    when its server cannot start."""
    path = root / "graph"
    with contextlib.ExitStack() as stack:
        if kind == "ladybug-read-only":
            with LadybugStore(path) as writer:
                _fill(writer)
            store: GraphStore = LadybugStore(path, read_only=True, buffer_pool_size=SUITE_MEMORY)
        elif kind == "ladybug-read-write":
            store = _fill(LadybugStore(path, buffer_pool_size=SUITE_MEMORY))
        elif kind == "networkx":
            store = _fill(NetworkXStore(path))
        elif kind == "falkordb":
            from distill.graph.falkordb_store import FalkorDBStore

            store = _fill(FalkorDBStore(stack.enter_context(falkordb_server())))
        else:
            raise ValueError(f"unknown target {kind!r}; known: {', '.join(TARGETS)}")
        stack.callback(store.close)
        yield store


def _fill(store: GraphStore) -> GraphStore:
    for i in range(4):
        store.write_document(sample_facts(f"d{i}", seed=i))
    return store
