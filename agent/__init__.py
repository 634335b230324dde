"""LangGraph graphs: the ingest pipeline and the chat agent with its guardrail."""
