"""Read-only Cypher: `distill graph query` must never change the graph, whatever it is sent.

Comments and string literals are blanked out before looking for write clauses, so
`// DELETE` or `'SET'` pass and `MaTcH (n) DeTaCh DeLeTe n` does not. Property
names (`n.set`) and labels (`:Create`) are not clauses. The stores add the
database's own read-only mode on top where it has one.
"""

from __future__ import annotations

import re

from distill.graph.errors import GraphError

WRITE_CLAUSES = frozenset(
    {
        "CREATE",
        "MERGE",
        "DELETE",
        "DETACH",
        "SET",
        "REMOVE",
        "LOAD",
        "DROP",
        "ALTER",
        "COPY",
        "IMPORT",
        "EXPORT",
        "INSTALL",
        "ATTACH",
        "FOREACH",
        "BEGIN",
        "COMMIT",
        "ROLLBACK",
        "CHECKPOINT",
    }
)
_WORD = re.compile(r"(?<![\w.$:])[A-Za-z_][A-Za-z_0-9]*")


def strip_comments_and_strings(cypher: str) -> str:
    """Blank out `// …`, `/* … */`, '…', "…" and `…` so only clauses and names remain."""
    out: list[str] = []
    i, n = 0, len(cypher)
    while i < n:
        if cypher.startswith("//", i):
            end = cypher.find("\n", i)
            i = n if end < 0 else end
            out.append(" ")
        elif cypher.startswith("/*", i):
            end = cypher.find("*/", i + 2)
            if end < 0:
                raise GraphError("query has an unterminated /* comment")
            i = end + 2
            out.append(" ")
        elif cypher[i] in "'\"`":
            quote, j = cypher[i], i + 1
            while j < n and cypher[j] != quote:
                j += 2 if cypher[j] == "\\" else 1
            if j >= n:
                raise GraphError(f"query has an unterminated {quote} string or name")
            out.append(" _ ")
            i = j + 1
        else:
            out.append(cypher[i])
            i += 1
    return "".join(out)


def write_clauses(cypher: str) -> list[str]:
    """The write clauses a query contains, upper-cased, in order."""
    code = strip_comments_and_strings(cypher)
    return [w.upper() for w in _WORD.findall(code) if w.upper() in WRITE_CLAUSES]


def ensure_read_only(cypher: str) -> None:
    """Raise GraphError naming the offending clauses if `cypher` could write."""
    if not cypher.strip():
        raise GraphError("empty query")
    found = write_clauses(cypher)
    if found:
        names = ", ".join(dict.fromkeys(found))
        raise GraphError(
            f"read-only queries only: refusing {names}. The graph changes only through "
            "ingestion (write_document) so every fact keeps its provenance."
        )
