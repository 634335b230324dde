"""The knowledge graph: schema with provenance, stores and queries."""
