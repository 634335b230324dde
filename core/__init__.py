"""distill: the LLM orchestrates and teaches, small trained models do the work.

The public API is small on purpose; everything else lives in a subpackage named
after its concern (`distill.plugins`, `distill.llm`, `distill.graph`, `distill.agent`).
"""

from distill.config import Config, load_config
from distill.errors import ConfigError, DistillError, LLMError, PluginError

__version__ = "0.1.0"


def ingest(paths, config=None, **options):  # type: ignore[no-untyped-def]
    """Ingest documents into the knowledge graph; see `distill.agent.ingest.ingest`."""
    from distill.agent.ingest import ingest as run

    return run(paths, config, **options)


__all__ = [
    "Config",
    "ConfigError",
    "DistillError",
    "LLMError",
    "PluginError",
    "__version__",
    "ingest",
    "load_config",
]
