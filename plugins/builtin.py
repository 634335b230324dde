"""The built-in tools; importing this module registers them (as an installed plugin would)."""

from distill.llm import providers  # noqa: F401  (registers local, ollama, openai, anthropic)
from distill.plugins.factcheck import FactCheckTask
from distill.plugins.linker import LinkerTask
from distill.plugins.ner import NERTask
from distill.plugins.sentiment import SentimentTask

__all__ = ["FactCheckTask", "LinkerTask", "NERTask", "SentimentTask"]
