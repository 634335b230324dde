"""An in-memory networkx store, persisted atomically to one file; for tests and analytics.

Every write runs under an `flock`: reload if another process saved since, apply,
save to a temp file, fsync, `os.replace`. A reader therefore sees the old file or
the new one, never a torn one, and a SIGKILL loses only the write in flight.
Cypher runs through grand-cypher, which can only read (its grammar has no write, file
or procedure clause); the guard still checks and renders every query (no quoted names,
double-quoted strings, parameters written in). grand-cypher is pure Python with no
timeout, and a cartesian MATCH builds every combination as a dict in one list
comprehension (no function call to interrupt, gigabytes in seconds), so a query runs in
a forked child: killed at the timeout, its address space capped.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import re
import resource
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx

from distill.graph.bulk import POLARITIES, PRODUCT_COUNTS, Tally
from distill.graph.cypher_store import (
    SHARED_LABELS,
    _check_label,
    aspect_summary,
    edge_attrs,
    neighbour_groups,
    node_attrs,
    node_key,
)
from distill.graph.errors import GraphError
from distill.graph.guard import GRAND_CYPHER
from distill.graph.schema import (
    EDGE_TYPES,
    NODE_COLUMNS,
    NODE_LABELS,
    AspectSummary,
    DocumentFacts,
    GraphRecords,
    GraphStats,
    MentionRow,
    ProductSummary,
    now,
)
from distill.graph.store import (
    LOCK_TIMEOUT_S,
    FileLock,
    GraphStore,
    Row,
    query_error,
    store_file,
)

if TYPE_CHECKING:
    from distill.config import GraphConfig

GRAPH_FILE = "graph.nx.pickle"
COUNTS_VERSION = 1
"""`graph.graph["counts"]`: the version of the counts kept on Product nodes (none: recount)."""


class NetworkXStore(GraphStore):
    kind = "networkx"
    dialect = GRAND_CYPHER

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        read_only: bool = False,
        lock_timeout: float = LOCK_TIMEOUT_S,
    ) -> None:
        self.file = store_file(path, GRAPH_FILE) if path is not None else None
        super().__init__(str(self.file) if self.file else ":memory:", read_only=read_only)
        self._lock_timeout = lock_timeout
        self._graph = _new_graph()
        self._stamp: tuple[int, int, int] | None = None
        if self.file is not None and not self.file.exists() and read_only:
            raise GraphError(f"no graph at {self.file}: ingest documents first")
        self._refresh()

    @classmethod
    def from_config(cls, config: GraphConfig, *, read_only: bool = False) -> NetworkXStore:
        return cls(config.path, read_only=read_only)

    # persistence

    def _current_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = self.file.stat()  # type: ignore[union-attr]
        except (FileNotFoundError, AttributeError):
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _refresh(self) -> None:
        """Reload if another process saved since we last looked (cheap: one stat)."""
        stamp = self._current_stamp()
        if stamp is None or stamp == self._stamp:
            return
        with self.file.open("rb") as handle:  # type: ignore[union-attr]
            graph = pickle.load(handle)
        if graph.graph.get("counts") != COUNTS_VERSION:  # saved before counts were kept
            _recount(graph)
        self._graph = graph
        self._stamp = stamp

    def _save(self) -> None:
        assert self.file is not None
        self.file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_name(f".{self.file.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as handle:
            pickle.dump(self._graph, handle, protocol=pickle.HIGHEST_PROTOCOL)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.file)
        dir_fd = os.open(self.file.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        self._stamp = self._current_stamp()

    def _mutate(self, change: Callable[[nx.MultiDiGraph], None]) -> None:
        """Apply `change` all or nothing: on failure the last committed graph comes back."""
        self._check_writable()
        if self.file is None:
            snapshot = self._graph.copy()
            try:
                change(self._graph)
            except Exception:
                self._graph = snapshot
                raise
            return
        with FileLock(self.file.with_name(self.file.name + ".lock"), self._lock_timeout):
            self._refresh()
            try:
                change(self._graph)
                self._save()
            except Exception:
                self._stamp = None
                self._graph = _new_graph()
                self._refresh()
                raise

    # writing

    def _replace_many(self, items: list[tuple[str, GraphRecords | None]]) -> None:
        def apply(g: nx.MultiDiGraph) -> None:
            for doc_id, records in items:
                _apply(g, doc_id, records)

        self._mutate(apply)

    def rebuild_counts(self) -> None:
        self._mutate(_recount)

    def bulk_load(self, many: Iterable[DocumentFacts]) -> int:
        """All documents in one save: the whole batch is one atomic unit."""
        count = 0

        def load(g: nx.MultiDiGraph) -> None:
            nonlocal count
            for facts in many:
                _apply(g, facts.document.id, DocumentFacts.model_validate(facts).records())
                count += 1

        self._mutate(load)
        return count

    # reading

    def _read_query(
        self,
        cypher: str,
        params: dict[str, Any],
        *,
        timeout: float,
        max_rows: int,
        isolated: bool = True,
    ) -> list[Row]:
        from grandcypher import GrandCypher

        self._refresh()
        graph = self._graph

        def run() -> list[Row]:
            result = GrandCypher(graph).run(cypher)
            columns = [str(c) for c in result]
            values = [list(v) for v in result.values()]
            return [
                {col: _plain(val) for col, val in zip(columns, row, strict=True)}
                for row in list(zip(*values, strict=True))[:max_rows]
            ]

        if not isolated:
            try:
                return run()
            except Exception as exc:
                raise GraphError(f"query failed (grand-cypher): {_first_line(exc)}") from exc
        status, value = run_isolated(run, timeout, QUERY_MEMORY_BYTES)
        if status == "ok":
            return value
        if status == "timeout":
            raise query_error(TimeoutError("timed out"), timeout)
        if status == "memory":
            raise query_error(MemoryError(f"out of memory {value}"), timeout)
        raise GraphError(f"query failed (grand-cypher): {value}")

    def _nodes(self, label: str) -> Iterable[tuple[str, Row]]:
        return ((k, d) for k, d in self._graph.nodes(data=True) if d["_label"] == label)

    def _edges(self, key: str, edge: str, *, incoming: bool) -> list[tuple[str, Row]]:
        if incoming:
            found = self._graph.in_edges(key, data=True)
            return [(u, d) for u, _, d in found if d["_type"] == edge]
        found = self._graph.out_edges(key, data=True)
        return [(v, d) for _, v, d in found if d["_type"] == edge]

    def document(self, doc_id: str) -> Row | None:
        self._refresh()
        key = node_key("Document", doc_id)
        if key not in self._graph:
            return None
        data = self._graph.nodes[key]
        return {column: data.get(column) for column in NODE_COLUMNS["Document"]}

    def products(self, limit: int | None = None) -> list[ProductSummary]:
        self._refresh()
        found = sorted(
            ((-data.get("mentions", 0), data["id"], data) for _, data in self._nodes("Product")),
            key=lambda item: item[:2],
        )
        return [_summary(data) for *_, data in (found[:limit] if limit else found)]

    def product(self, product_id: str) -> ProductSummary | None:
        self._refresh()
        data = self._graph.nodes.get(node_key("Product", product_id))
        return _summary(data) if data is not None else None

    def opinion_summary(self, product_id: str | None = None) -> list[AspectSummary]:
        self._refresh()
        if product_id is None:
            products = [data for _, data in self._nodes("Product")]
        else:
            found = self._graph.nodes.get(node_key("Product", product_id))
            products = [found] if found is not None else []
        return [
            aspect_summary(data["id"], aspect, counts)
            for data in sorted(products, key=lambda d: d["id"])
            for aspect, counts in sorted(data.get("_aspects", {}).items())
        ]

    def mentions(self, product_id: str, limit: int | None = None) -> list[MentionRow]:
        self._refresh()
        key = node_key("Product", product_id)
        if key not in self._graph:
            return []
        docs = sorted({d["doc_id"] for _, d in self._edges(key, "REFERS_TO", incoming=True)})
        rows = []
        for doc_id in docs[:limit] if limit else docs:
            for entity, m in self._edges(node_key("Document", doc_id), "MENTIONS", incoming=False):
                if m.get("product_id") != product_id:
                    continue
                rows.append(
                    MentionRow(
                        doc_id=doc_id,
                        text=m.get("text"),
                        char_start=m.get("char_start"),
                        char_end=m.get("char_end"),
                        entity_id=self._graph.nodes[entity]["id"],
                        tool=m.get("tool"),
                        backend=m.get("backend"),
                        model=m.get("model"),
                        confidence=m.get("confidence"),
                        link_tool=m.get("link_tool"),
                        link_backend=m.get("link_backend"),
                        link_confidence=m.get("link_confidence"),
                        created_at=m.get("created_at"),
                    )
                )
        rows.sort(key=lambda r: (r.doc_id, r.char_start is None, r.char_start or 0))
        return rows[:limit] if limit else rows

    def documents_behind(self, label: str, node_id: str, limit: int | None = None) -> list[Row]:
        _check_label(label)
        self._refresh()
        key = node_key(label, node_id)
        if key not in self._graph:
            return []
        if label == "Document":
            return [self.document(node_id) or {}]
        edges = [*self._graph.in_edges(key, data=True), *self._graph.out_edges(key, data=True)]
        ids = sorted({d["doc_id"] for _, _, d in edges if d.get("doc_id")})
        docs = (self.document(i) for i in (ids[:limit] if limit else ids))
        return [d for d in docs if d is not None]

    def neighbours(self, label: str, node_id: str, limit: int = 100) -> list[Row]:
        _check_label(label)
        self._refresh()
        key = node_key(label, node_id)
        if key not in self._graph:
            return []
        found: dict[tuple[str, str], set[str]] = defaultdict(set)
        for _, other, data in self._graph.out_edges(key, data=True):
            found[(data["_type"], "out")].add(other)
        for other, _, data in self._graph.in_edges(key, data=True):
            found[(data["_type"], "in")].add(other)
        rows: list[Row] = []
        for edge, other_label, direction in neighbour_groups(label):
            nodes = [self._graph.nodes[k] for k in found.get((edge, direction), ())]
            named = "name" in NODE_COLUMNS[other_label]
            rows += sorted(
                (
                    {
                        "label": other_label,
                        "edge": edge,
                        "direction": direction,
                        "id": node["id"],
                        "name": node.get("name") if named else node["id"],
                        **({"polarity": node.get("polarity")} if other_label == "Opinion" else {}),
                    }
                    for node in nodes
                    if node["_label"] == other_label
                ),
                key=lambda row: row["id"],
            )
        return rows[:limit]

    def entities(self, label: str | None = None) -> list[Row]:
        self._refresh()
        rows = [
            {"id": d["id"], "label": d.get("label"), "name": d.get("name")}
            for _, d in self._nodes("Entity")
            if label is None or d.get("label") == label.upper()
        ]
        return sorted(rows, key=lambda r: r["id"])

    def stats(self) -> GraphStats:
        self._refresh()
        nodes = dict.fromkeys(NODE_LABELS, 0)
        for _, label in self._graph.nodes(data="_label"):
            nodes[label] += 1
        edges = dict.fromkeys(EDGE_TYPES, 0)
        for _, _, edge in self._graph.edges(data="_type"):
            edges[edge] += 1
        return GraphStats(store=self.kind, location=self.location, nodes=nodes, edges=edges)

    def to_networkx(self) -> nx.MultiDiGraph:
        self._refresh()
        return self._graph.copy()

    # resolution

    def merge(self, a: str, b: str, *, confidence: float = 1.0, method: str = "manual") -> None:
        if a == b:
            return
        a, b = sorted((a, b))
        ka, kb = node_key("Entity", a), node_key("Entity", b)

        def link(g: nx.MultiDiGraph) -> None:
            if ka not in g or kb not in g:
                raise GraphError(
                    f"cannot merge {a!r} and {b!r}: both must be Entity ids in the graph"
                )
            _drop_same_as(g, ka, kb)
            props = {
                "tool": "resolve",
                "method": method,
                "confidence": confidence,
                "created_at": now(),
            }
            g.add_edge(ka, kb, **edge_attrs("SAME_AS", props))

        self._mutate(link)

    def unmerge(self, a: str, b: str) -> bool:
        ka, kb = node_key("Entity", a), node_key("Entity", b)
        self._refresh()
        if kb not in self._same_as_keys(ka):
            return False
        self._mutate(lambda g: _drop_same_as(g, ka, kb))
        return True

    def _same_as_keys(self, key: str) -> set[str]:
        if key not in self._graph:
            return set()
        out = {v for v, _ in self._edges(key, "SAME_AS", incoming=False)}
        return out | {u for u, _ in self._edges(key, "SAME_AS", incoming=True)}

    def _same_as_neighbours(self, entity: str) -> list[str]:
        self._refresh()
        keys = self._same_as_keys(node_key("Entity", entity))
        return sorted(self._graph.nodes[k]["id"] for k in keys)


def _drop_same_as(g: nx.MultiDiGraph, ka: str, kb: str) -> None:
    for u, v in ((ka, kb), (kb, ka)):
        for k, d in list(g.get_edge_data(u, v, default={}).items()):
            if d["_type"] == "SAME_AS":
                g.remove_edge(u, v, k)


def _new_graph() -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph()
    graph.graph["counts"] = COUNTS_VERSION
    return graph


def _summary(data: Row) -> ProductSummary:
    return ProductSummary(
        id=data["id"], name=data.get("name"), **{c: data.get(c, 0) for c in PRODUCT_COUNTS}
    )


def _stored_tally(g: nx.MultiDiGraph, doc: str) -> Tally:
    """What the stored version of a document adds to the counts, read from its edges."""
    tally = Tally()
    linked: set[str] = set()
    for _, other, data in g.out_edges(doc, data=True):
        if data["_type"] == "MENTIONS" and data.get("product_id"):
            tally.product(data["product_id"])[0] += 1
            linked.add(data["product_id"])
        elif data["_type"] == "EXPRESSES":
            opinion = g.nodes[other]
            for _, target, about in g.out_edges(other, data=True):
                if about["_type"] == "ABOUT" and g.nodes[target]["_label"] == "Product":
                    pid = g.nodes[target]["id"]
                    tally.product(pid)[1] += 1
                    tally.opinion(pid, opinion["aspect"], opinion["polarity"])
    for pid in linked:
        tally.product(pid)[2] += 1
    return tally


def _count(g: nx.MultiDiGraph, tally: Tally, sign: int) -> None:
    """Add (sign 1) or take off (sign -1) a tally from the counts on Product nodes."""
    for pid, counts in tally.products.items():
        node = g.nodes[node_key("Product", pid)]
        for column, n in zip(PRODUCT_COUNTS, counts, strict=True):
            node[column] = node.get(column, 0) + sign * n
    for (pid, aspect), counts in tally.aspects.items():
        node = g.nodes[node_key("Product", pid)]
        stats = dict(node.get("_aspects", {}))  # a new dict: a rollback's snapshot shares the old
        old = stats.get(aspect, [0] * len(POLARITIES))
        new = [a + sign * b for a, b in zip(old, counts, strict=True)]
        if any(new):
            stats[aspect] = new
        else:
            stats.pop(aspect, None)
        node["_aspects"] = stats


def _recount(g: nx.MultiDiGraph) -> None:
    """All counts again from the facts (a graph saved before counts were kept)."""
    for _, data in g.nodes(data=True):
        if data["_label"] == "Product":
            data.update(dict.fromkeys(PRODUCT_COUNTS, 0), _aspects={})
    for key, label in list(g.nodes(data="_label")):
        if label == "Document":
            _count(g, _stored_tally(g, key), 1)
    g.graph["counts"] = COUNTS_VERSION


def _apply(g: nx.MultiDiGraph, doc_id: str, records: GraphRecords | None) -> None:
    """Drop the stored facts of `doc_id`, add `records`, GC shared nodes left unconnected;
    the counts on Product nodes follow."""
    doc = node_key("Document", doc_id)
    touched: set[str] = set()
    if doc in g:
        _count(g, _stored_tally(g, doc), -1)
        for _, other, k, data in list(g.out_edges(doc, keys=True, data=True)):
            if data["_type"] == "MENTIONS":
                touched.add(other)
                g.remove_edge(doc, other, k)
            elif data["_type"] == "EXPRESSES":
                touched.update(g.successors(other))
                g.remove_node(other)
            elif data["_type"] == "HAS_FACT":  # a plugin's facts: this document's own
                g.remove_node(other)
        for entity in [t for t in touched if t.startswith("Entity:")]:
            for _, product, k, data in list(g.out_edges(entity, keys=True, data=True)):
                if data["_type"] == "REFERS_TO" and data.get("doc_id") == doc_id:
                    touched.add(product)
                    g.remove_edge(entity, product, k)
        if records is None:
            g.remove_node(doc)
    if records is not None:
        for node in records.nodes.values():
            key = node_key(node.label, node.id)
            if key in g and node.label in SHARED_LABELS:
                g.nodes[key].update({k: v for k, v in node.props.items() if v is not None})
            else:
                if key in g:
                    g.nodes[key].clear()
                g.add_node(key, **node_attrs(node.label, node.props))
        for e in records.edges:
            g.add_edge(
                node_key(e.src_label, e.src),
                node_key(e.dst_label, e.dst),
                **edge_attrs(e.type, e.props),
            )
        tally = Tally()
        tally.add(records)
        _count(g, tally, 1)
    for key in touched:
        if key in g and g.degree(key) == 0 and not g.nodes[key].get("catalog"):
            g.remove_node(key)


def _props(data: Row) -> Row:
    return {k: v for k, v in data.items() if not k.startswith("_")}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        out = _props(value)
        if "_label" in value:
            out["_label"] = value["_label"]
        if "_type" in value:
            out["_type"] = value["_type"]
        return out
    if isinstance(value, set):
        return sorted(value)
    return value


QUERY_MEMORY_BYTES = 2 * 1024**3
"""Address space a query's child may add to what it inherits."""


def run_isolated(function: Callable[[], Any], timeout: float, memory: int) -> tuple[str, Any]:
    """`function()` in a forked child: ("ok", value), or ("timeout" | "memory" | "error", why).

    The child is killed when `timeout` passes and gets a MemoryError past `memory` more
    bytes of address space; the value comes back pickled through a pipe.
    """
    context = multiprocessing.get_context("fork")
    reader, writer = context.Pipe(duplex=False)

    def child() -> None:
        reader.close()
        try:
            _cap_address_space(memory)
            writer.send(("ok", function()))
        except MemoryError:
            writer.send(("memory", ""))
        except BaseException as exc:  # the parent reports it; nothing may escape the child
            writer.send(("error", _first_line(exc)))
        finally:
            writer.close()

    process = context.Process(target=child, daemon=True)
    process.start()
    writer.close()
    try:
        if not reader.poll(timeout):
            return "timeout", ""
        return reader.recv()
    except EOFError:  # killed (the kernel's OOM killer) or crashed before answering
        process.join(1)
        return "memory", f"the query process ended with exit code {process.exitcode}"
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        reader.close()


def _cap_address_space(extra: int) -> None:
    """RLIMIT_AS = what the child inherited + `extra` (Linux; elsewhere only the timeout)."""
    status_file = Path("/proc/self/status")
    if not status_file.exists():
        return
    status = status_file.read_text(encoding="ascii", errors="replace")
    match = re.search(r"VmSize:\s+(\d+) kB", status)
    if match:
        limit = int(match.group(1)) * 1024 + extra
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[0][:500] if lines else type(exc).__name__
