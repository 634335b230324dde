"""Plain language to read-only Cypher: the model writes a query from the graph's schema.

The schema text is generated from `distill.graph.schema`, so it never drifts from
what the stores hold. The model's query is untrusted: it runs only through
`store.query`, whose guard (`distill.graph.guard`) allows one read query and hands the
database its own rendering of it, under a shorter timeout and row cap than the CLI's.
A query that fails or is refused goes back to the model once with the message, which
fixes most small mistakes (a wrong property name, a missing alias).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from distill.errors import DistillError
from distill.graph.schema import EDGE_TYPES, NODE_COLUMNS
from distill.prompts import render

HIDDEN = {"content_hash", "created_at", "ingested_at", "model_version", "model", "source"}
TIMEOUT_S = 10.0
"""A model's query gets less time than a person's (`distill graph query` allows 30 s)."""
MAX_ROWS = 1_000


class CypherQuery(BaseModel):
    cypher: str = Field(description="one read-only Cypher query ending with RETURN … LIMIT")


def schema_text() -> str:
    """Node labels with their properties and edge types with their ends, one per line."""
    lines = ["Nodes:"]
    for label, columns in NODE_COLUMNS.items():
        props = ", ".join(c for c in columns if c not in HIDDEN)
        lines.append(f"  ({label} {{{props}}})")
    lines.append("Relationships:")
    for edge, ends in EDGE_TYPES.items():
        for source, target in ends:
            lines.append(f"  ({source})-[:{edge}]->({target})")
    return "\n".join(lines)


def generate_and_run(
    question: str, store: Any, llm: Any, limit: int = 50, timeout: float = TIMEOUT_S
) -> tuple[str, list[Any]]:
    """Ask the model for a query, run it read-only; one retry with the error message."""
    structured = llm.with_structured_output(CypherQuery)
    error: str | None = None
    cypher = ""
    for _ in range(2):
        message = render(
            "agent_cypher",
            schema=schema_text(),
            question=question,
            limit=limit,
            previous=cypher,
            error=error,
        )
        cypher = structured.invoke(message).cypher.strip()
        try:
            return cypher, store.query(cypher, timeout=timeout, max_rows=MAX_ROWS)
        except Exception as exc:  # the guard's or the DB's message is what the model needs
            error = (str(exc).splitlines() or [type(exc).__name__])[0][:300]
    raise DistillError(f"could not write a working query ({error}); last attempt: {cypher}")
