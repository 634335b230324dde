"""The built-in tools; importing this module registers them (as an installed plugin would)."""

from distill.graph import stores  # noqa: F401  (registers ladybug, networkx, falkordb)
from distill.llm import providers  # noqa: F401  (registers local, ollama, openai, anthropic)
from distill.plugins.factcheck import FactCheckTask
from distill.plugins.linker import LinkerTask
from distill.plugins.ner import NERTask
from distill.plugins.sentiment import SentimentTask

# backends: the generic prompt backend serves every task that has a prompt template
import distill.plugins.prompt_backend  # noqa: E402, F401, I001
import distill.plugins.ner.trained  # noqa: E402, F401
import distill.plugins.sentiment.trained  # noqa: E402, F401
import distill.plugins.linker.trained  # noqa: E402, F401
import distill.plugins.linker.prompt  # noqa: E402, F401
import distill.plugins.factcheck.trained  # noqa: E402, F401

__all__ = ["FactCheckTask", "LinkerTask", "NERTask", "SentimentTask"]
