"""Errors meant for the user: the message says what went wrong and what to do next."""


class DistillError(Exception):
    """Base class; the CLI prints these without a traceback."""


class ConfigError(DistillError):
    """A config file, environment variable or flag is invalid."""


class LLMError(DistillError):
    """A language model could not be built, reached or understood."""


class PluginError(DistillError):
    """A task, backend or plugin is unknown or misbehaved."""
