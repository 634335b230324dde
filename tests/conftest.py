"""Shared fixtures. Fast by default; `real` tests load real models; `slow` ones are long."""

from __future__ import annotations

import os

import pytest


@pytest.hookimpl(tryfirst=True)  # before `-m "not slow"` deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test class may list its slow tests by name in `slow_tests`: LangChain's standard
    suites fail a test that is overridden just to add a mark."""
    for item in items:
        slow = getattr(getattr(item, "cls", None), "slow_tests", ())
        if item.name in slow or getattr(item, "originalname", None) in slow:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _no_config_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's DISTILL_* settings must not change what the tests see."""
    for name in [n for n in os.environ if n.startswith("DISTILL_") and "__" in n]:
        monkeypatch.delenv(name)
