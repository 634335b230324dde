"""Importing this registers the built-in graph stores: ladybug, networkx, falkordb.

Registration lives here, not in the store modules, so that importing one store
(a crash-test subprocess, the benchmark) does not import the plugin system and spaCy.
"""

from distill.graph.falkordb_store import FalkorDBStore
from distill.graph.ladybug_store import LadybugStore
from distill.graph.networkx_store import NetworkXStore
from distill.registry import register_store

register_store("ladybug")(LadybugStore)
register_store("networkx")(NetworkXStore)
register_store("falkordb")(FalkorDBStore)

__all__ = ["FalkorDBStore", "LadybugStore", "NetworkXStore"]
