"""Importing this registers the built-in graph stores: ladybug, networkx, falkordb."""

from distill.graph.falkordb_store import FalkorDBStore
from distill.graph.ladybug_store import LadybugStore
from distill.graph.networkx_store import NetworkXStore

__all__ = ["FalkorDBStore", "LadybugStore", "NetworkXStore"]
