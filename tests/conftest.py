"""Shared fixtures. Tests are fast by default; `real` ones load real models, `slow` ones are long."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the response cache of unit tests out of the user's cache (model files stay shared)."""
    monkeypatch.setenv("DISTILL_TEST_TMP", str(tmp_path_factory.getbasetemp()))
    for name in [n for n in __import__("os").environ if n.startswith("DISTILL_") and "__" in n]:
        monkeypatch.delenv(name)
