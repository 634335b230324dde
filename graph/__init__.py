"""The knowledge graph: schema with provenance, stores and queries.

from distill.graph import open_store
with open_store(config.graph) as store:
    store.write_document(facts_from_doc(doc, {"ner": "trained"}))
    store.opinion_summary("P123")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from distill.graph.errors import GraphError
from distill.graph.schema import DocumentFacts, MentionFact, OpinionFact, Provenance

if TYPE_CHECKING:
    from distill.config import GraphConfig
    from distill.graph.store import GraphStore

__all__ = [
    "DocumentFacts",
    "GraphError",
    "MentionFact",
    "OpinionFact",
    "Provenance",
    "open_store",
]


def open_store(config: GraphConfig, *, read_only: bool = False) -> GraphStore:
    """The store `[graph] store` names, from the plugin registry (plugins may add their own)."""
    import distill.graph.stores  # noqa: F401  (built-ins, even before the registry loads)
    from distill.registry import registry

    factory = registry().store(config.store).obj
    if hasattr(factory, "from_config"):
        return factory.from_config(config, read_only=read_only)
    return factory(config, read_only=read_only)
