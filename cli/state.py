"""What the global flags decided, shared by every command."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from distill.config import Config, LoadedConfig, load_config


@dataclass
class State:
    config_path: Path | None = None
    overrides: list[str] = field(default_factory=list)
    backends: list[str] = field(default_factory=list)

    @cached_property
    def loaded(self) -> LoadedConfig:
        return load_config(self.config_path, overrides=self.overrides, backends=self.backends)

    @property
    def config(self) -> Config:
        return self.loaded.config
