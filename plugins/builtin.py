"""The built-in tools; importing this module registers them (as an installed plugin would)."""

import distill.plugins.factcheck.trained
import distill.plugins.linker.prompt
import distill.plugins.linker.trained
import distill.plugins.ner.trained

# backends: the generic prompt backend serves every task that has a prompt template
import distill.plugins.prompt_backend
import distill.plugins.sentiment.trained  # noqa: F401
from distill.graph import stores  # noqa: F401  (registers ladybug, networkx, falkordb)
from distill.llm import providers  # noqa: F401  (registers local, ollama, openai, anthropic)
from distill.plugins.factcheck import FactCheckTask
from distill.plugins.linker import LinkerTask
from distill.plugins.ner import NERTask
from distill.plugins.sentiment import SentimentTask

__all__ = ["FactCheckTask", "LinkerTask", "NERTask", "SentimentTask"]
