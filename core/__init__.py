"""distill: the LLM orchestrates and teaches, small trained models do the work.

The root package is the bottom layer: config, the shared Doc, errors, and the plugin
protocol (`distill.registry`, `distill.spec`, `distill.backend`, `distill.model_card`).
Everything else lives in a subpackage named after its concern, and imports only
downwards (see ARCHITECTURE.md): `distill.llm`, `distill.graph`, `distill.plugins`,
`distill.corpora`, `distill.workflow`, `distill.ingest`, `distill.agent`, `distill.cli`.
"""

from distill.config import Config, load_config
from distill.errors import ConfigError, DistillError, LLMError, PluginError

__version__ = "0.1.0"


__all__ = [
    "Config",
    "ConfigError",
    "DistillError",
    "LLMError",
    "PluginError",
    "__version__",
    "load_config",
]
