"""Evidence: what the agent's tools found, each piece traceable to a document span.

Tools return `Evidence`; the answer cites it by number, the guardrail checks claims
against it, and the CLI prints its snippets. A passage is text from a document; a
graph fact is an aggregate or a row of the graph, carrying the documents behind it; a
catalog fact is an entry of the configured catalog (no document behind it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, Field


class Source(BaseModel):
    """One document span behind a piece of evidence."""

    doc_id: str
    char_start: int | None = None
    char_end: int | None = None


class Evidence(BaseModel):
    kind: Literal["passage", "graph", "tool", "catalog"]
    text: str = Field(description="what the model reads and the fact-checker checks against")
    tool: str = Field(description="the agent tool that found it")
    sources: list[Source] = Field(default_factory=list)
    score: float | None = Field(None, description="search similarity, for passages")
    about: list[str] = Field(
        default_factory=list,
        description="products the passage's document is about, when a tool scoped its search "
        'to products: a review says "the phone" where the question names the product',
    )

    @property
    def doc_ids(self) -> list[str]:
        return list(dict.fromkeys(source.doc_id for source in self.sources))


def opinion_fact_text(product: str, aspect: str, counts: Mapping[str, int]) -> str:
    """The one wording of an opinion aggregate, shared by the tools, the guardrail and
    the demo fact-checker's training claims (so the checker sees the form it was
    trained on): `Nebula X2 / battery: 0 positive, 7 negative (7 opinions)`."""
    parts = [f"{counts.get(p, 0)} {p}" for p in ("positive", "negative")]
    parts += [f"{counts[p]} {p}" for p in ("neutral", "conflict") if counts.get(p)]
    total = sum(counts.values())
    return f"{product} / {aspect}: {', '.join(parts)} ({total} opinion{'s' * (total != 1)})"
