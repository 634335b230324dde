"""Shared fixtures. Fast by default; `real` tests load real models; `slow` ones are long."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _no_config_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's DISTILL_* settings must not change what the tests see."""
    for name in [n for n in os.environ if n.startswith("DISTILL_") and "__" in n]:
        monkeypatch.delenv(name)
