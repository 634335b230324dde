"""The built-in tasks and backends; importing this module registers them, as an installed plugin
would. The registry loads it (with `distill.llm.providers` and `distill.graph.stores`) before
any entry point."""

import distill.plugins.factcheck.trained
import distill.plugins.linker.match
import distill.plugins.linker.prompt
import distill.plugins.linker.trained
import distill.plugins.ner.trained

# backends: the generic prompt backend serves every task that has a prompt template
import distill.plugins.prompt_backend
import distill.plugins.sentiment.trained  # noqa: F401
from distill.plugins.factcheck import FactCheckTask
from distill.plugins.linker import LinkerTask
from distill.plugins.ner import NERTask
from distill.plugins.sentiment import SentimentTask

__all__ = ["FactCheckTask", "LinkerTask", "NERTask", "SentimentTask"]
