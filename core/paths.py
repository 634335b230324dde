"""Where distill keeps files it creates: model files and the LLM response cache."""

import os
from pathlib import Path


def cache_dir() -> Path:
    """`$DISTILL_CACHE_DIR`, else `$XDG_CACHE_HOME/distill`, else `~/.cache/distill`."""
    if explicit := os.environ.get("DISTILL_CACHE_DIR"):
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "distill"
