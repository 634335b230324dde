"""The registry: built-ins, decorators, entry-point plugins that clash or fail."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.tools import StructuredTool
from pydantic import BaseModel
from spacy.tokens import Doc

from distill.errors import PluginError
from distill.plugins import (
    Backend,
    PluginWarning,
    TaskSpec,
    as_tool,
    make_backend,
    register_backend,
    register_task,
    registry,
)

registry_module = importlib.import_module("distill.registry")


class Echo(BaseModel):
    text: str


class EchoTask(TaskSpec):
    name = "echo_test"
    description = "Repeat the text back."
    output_schema = Echo
    default_backend = "rules"

    def read(self, doc: Doc) -> Echo:
        return doc._.results.get(self.name) or Echo(text="")

    def write(self, doc: Doc, output: BaseModel) -> None:
        doc._.results[self.name] = output


class EchoRules(Backend):
    def predict(self, docs: list[Doc]) -> list[Doc]:
        for doc in docs:
            if "boom" in doc.text:
                raise RuntimeError("the backend exploded")
            self.task.write(doc, Echo(text=doc.text.upper()))
        return docs


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[registry_module.Registry]:
    """A registry holding only the built-ins, so tests can register freely."""
    real = registry()
    fresh = registry_module.Registry()
    for kind in ("tasks", "backends", "stores", "llm_providers"):
        builtins = {k: e for k, e in getattr(real, kind).items() if e.source == "distill"}
        setattr(fresh, kind, builtins)
    monkeypatch.setattr(registry_module, "_registry", fresh)
    monkeypatch.setattr(registry_module, "_loaded", False)
    yield fresh


class FakeDist:
    def __init__(self, name: str) -> None:
        self.name = name


class FakeEntryPoint:
    def __init__(self, package: str, load: Any) -> None:
        self.dist = FakeDist(package)
        self.name = package
        self.value = f"{package.replace('-', '_')}"
        self._load = load

    def load(self) -> Any:
        return self._load()


def install_fake_plugins(monkeypatch: pytest.MonkeyPatch, *plugins: FakeEntryPoint) -> None:
    monkeypatch.setattr(registry_module, "entry_points", lambda group: list(plugins))


def test_builtin_tasks_and_providers_are_registered() -> None:
    reg = registry()
    assert {"ner", "linker", "sentiment", "factcheck"} <= set(reg.tasks)
    assert {"local", "ollama", "openai", "anthropic"} <= set(reg.llm_providers)
    assert reg.tasks["ner"].source == "distill"


def test_example_plugin_package_is_discovered() -> None:
    entry = registry().tasks["prices"]
    assert entry.source == "distill-prices"
    assert registry().backend("prices", "rules").source == "distill-prices"


def test_decorators_register_with_their_module_as_source(fresh_registry: Any) -> None:
    register_task(EchoTask)
    register_backend("echo_test", "rules")(EchoRules)
    assert fresh_registry.tasks["echo_test"].source == __name__
    assert fresh_registry.backend("echo_test", "rules").obj is EchoRules


def test_duplicate_name_warns_once_naming_the_plugin(
    fresh_registry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def clash() -> None:
        class OtherNER(EchoTask):
            name = "ner"

        register_task(OtherNER)

    install_fake_plugins(monkeypatch, FakeEntryPoint("distill-clash", clash))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reg = registry_module.load_plugins()
    messages = [str(w.message) for w in caught if issubclass(w.category, PluginWarning)]
    assert len(messages) == 1
    assert "distill-clash" in messages[0] and "'ner'" in messages[0]
    assert reg.tasks["ner"].source == "distill"  # the first registration wins


def test_plugin_that_raises_is_skipped_and_leaves_nothing(
    fresh_registry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        register_task(EchoTask)  # registers, then fails half-way
        raise ImportError("No module named 'torchvision'")

    install_fake_plugins(monkeypatch, FakeEntryPoint("distill-broken", broken))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reg = registry_module.load_plugins()
    messages = [str(w.message) for w in caught if issubclass(w.category, PluginWarning)]
    assert len(messages) == 1 and "distill-broken" in messages[0] and "torchvision" in messages[0]
    assert "echo_test" not in reg.tasks
    assert "ner" in reg.tasks  # everything else keeps working
    assert "distill-broken" in reg.failed


def test_unknown_names_get_suggestions() -> None:
    with pytest.raises(PluginError, match="Did you mean 'sentiment'"):
        registry().task("sentimen")
    with pytest.raises(PluginError, match="Did you mean 'ollama'"):
        registry().llm_provider("olama")
    with pytest.raises(
        PluginError, match="task 'prices' has no backend 'trained'; available: rules"
    ):
        registry().backend("prices", "trained")


def test_task_becomes_an_agent_tool_with_args_schema(fresh_registry: Any) -> None:
    register_task(EchoTask)
    register_backend("echo_test", "rules")(EchoRules)
    tool = as_tool("echo_test")
    assert isinstance(tool, StructuredTool)
    assert tool.name == "echo_test"
    assert tool.description == EchoTask.description
    assert set(tool.args_schema.model_json_schema()["properties"]) == {"text"}
    assert tool.invoke({"text": "hi"}) == {"text": "HI"}


def test_a_failing_backend_becomes_a_readable_tool_error(fresh_registry: Any) -> None:
    register_task(EchoTask)
    register_backend("echo_test", "rules")(EchoRules)
    result = as_tool("echo_test").invoke({"text": "boom"})
    assert "echo_test failed: RuntimeError: the backend exploded" in result


def test_example_plugin_runs_as_a_tool() -> None:
    result = as_tool("prices").invoke({"text": "Paid $899 for it; now €749.99 elsewhere."})
    assert [(p["amount"], p["currency"]) for p in result["prices"]] == [
        (899.0, "USD"),
        (749.99, "EUR"),
    ]
    assert result["prices"][0]["start"] == 5


def test_backend_options_carry_the_configured_model_path() -> None:
    from distill.config import load_config

    config = load_config(None, overrides=["tasks.prices.model=some/dir"], environ={}).config
    backend = make_backend("prices", config)
    assert backend.options.model_path == "some/dir"
    assert backend.task.labels == ("USD", "EUR", "GBP")


def test_labels_are_configurable_per_task_instance() -> None:
    from distill.config import load_config
    from distill.plugins import make_task

    config = load_config(
        None, overrides=['tasks.ner.labels=["PER","ORG","LOC","MISC"]'], environ={}
    ).config
    assert make_task("ner", config).labels == ("PER", "ORG", "LOC", "MISC")
    assert make_task("ner").labels == ("PRODUCT", "BRAND")


# issue 12, item 3: a broken plugin costs one warning and nothing else


def test_plugin_raising_system_exit_is_skipped_with_one_warning(
    fresh_registry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def exits() -> None:
        raise SystemExit(3)

    install_fake_plugins(monkeypatch, FakeEntryPoint("distill-exits", exits))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reg = registry_module.load_plugins()
    messages = [str(w.message) for w in caught if issubclass(w.category, PluginWarning)]
    assert len(messages) == 1 and "distill-exits" in messages[0] and "SystemExit: 3" in messages[0]
    assert reg.failed == {"distill-exits": "SystemExit: 3"} and "ner" in reg.tasks


def test_keyboard_interrupt_while_loading_a_plugin_still_stops(
    fresh_registry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted() -> None:
        raise KeyboardInterrupt

    install_fake_plugins(monkeypatch, FakeEntryPoint("distill-slow", interrupted))
    with pytest.raises(KeyboardInterrupt):
        registry_module.load_plugins()


def test_a_builtin_name_taken_in_process_first_stays_the_builtin() -> None:
    """Code that registers `ner` before the registry loads loses the name, and is named."""

    class MyNER(EchoTask):
        name = "ner"

    class BuiltinNER(EchoTask):
        name = "ner"

    reg = registry_module.Registry()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reg.add("tasks", "ner", MyNER)  # in-process, before the built-ins load
        with registry_module._source(registry_module.BUILTIN):
            reg.add("tasks", "ner", BuiltinNER)
    assert reg.tasks["ner"].obj is BuiltinNER and reg.tasks["ner"].source == "distill"
    [message] = [str(w.message) for w in caught if issubclass(w.category, PluginWarning)]
    assert message.startswith(f"{__name__!r} registers task 'ner', a name distill itself provides")


def _site_with_broken_plugin(root: Path, body: str) -> Path:
    """A folder holding an installed (dist-info) plugin whose module runs `body`."""
    site = root / "site"
    info = site / "distill_broken-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: distill-broken\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[distill.plugins]\nbroken = distill_broken\n")
    (site / "distill_broken.py").write_text(f'"""A plugin that fails."""\n\n\n\n{body}\n')
    return site


def _run(args: list[str], site: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site), "COLUMNS": "1000"}  # one line per message
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=180
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("raise ImportError(\"No module named 'torchvision'\")", "ImportError"),
        ("raise SystemExit(3)", "SystemExit: 3"),
    ],
)
def test_an_installed_plugin_that_fails_costs_one_warning(
    tmp_path: Path, body: str, reason: str
) -> None:
    """On the real path: an installed entry point, the real CLI, its real warning printer."""
    site = _site_with_broken_plugin(tmp_path, body)
    result = _run(["-m", "distill.cli", "tools"], site, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "MarkupError" not in result.stderr
    [warning] = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert reason in warning
    assert f"[{site / 'distill_broken.py'}:5]" in warning  # printed, never read as markup
    assert "ner" in result.stdout and "prices" in result.stdout


def test_an_in_process_registration_before_loading_keeps_the_builtin(tmp_path: Path) -> None:
    script = (
        "import warnings\n"
        "from distill.registry import register_task, registry\n"
        "from distill.spec import TaskSpec\n"
        "class Mine(TaskSpec):\n"
        "    name = 'ner'\n"
        "register_task(Mine)\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    entry = registry().tasks['ner']\n"
        "print(entry.source, entry.obj is Mine)\n"
        "print([str(w.message) for w in caught])\n"
    )
    result = _run(["-c", script], tmp_path, tmp_path)
    assert result.returncode == 0, result.stderr
    first, messages = result.stdout.splitlines()
    assert first == "distill False"
    assert "'__main__' registers task 'ner', a name distill itself provides" in messages
