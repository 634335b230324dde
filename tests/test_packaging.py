"""The install story: one `distill` namespace, and plugins found by installing a package."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_installed_under_distill() -> None:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapping: dict[str, str] = setuptools["package-dir"]
    assert all(name == "distill" or name.startswith("distill.") for name in mapping)
    declared = set(setuptools["packages"])
    found = set()
    for package, folder in mapping.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((package, *relative)))
    assert found <= declared, f"add to pyproject packages: {sorted(found - declared)}"


@pytest.mark.real
def test_a_built_wheel_carries_the_shipped_models_and_the_web_files(tmp_path: Path) -> None:
    """`pip install .` (not editable) gets the committed models: the data folders are
    packages of their own, so setuptools neither warns about nor drops them."""
    import shutil
    import zipfile

    build = [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation"]
    leftover = not (ROOT / "build").exists()  # setuptools builds in the tree: tidy up after
    try:
        out = subprocess.run(
            [*build, "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True
        )
    finally:
        if leftover:
            shutil.rmtree(ROOT / "build", ignore_errors=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "is absent from the `packages` configuration" not in out.stdout + out.stderr
    names = set(zipfile.ZipFile(next(tmp_path.glob("distill-*.whl"))).namelist())
    for shipped in (
        "distill/plugins/sentiment/general/weights.pt",
        "distill/plugins/factcheck/general/weights.pt",
        "distill/plugins/ner/general/pipeline/ner/model",
        "distill/plugins/ner/general/pipeline/vocab/strings.json",
        "distill/web/static/chat.js",
        "distill/prompts/ner.jinja",
    ):
        assert shipped in names, shipped


def test_no_bare_top_level_agent_or_graph_is_installed() -> None:
    code = "import importlib.util as u; print(u.find_spec('agent'), u.find_spec('graph'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert out.stdout.strip() == "None None"


@pytest.mark.real
def test_installing_the_example_plugin_makes_it_discoverable(tmp_path: Path) -> None:
    """A real `pip install` of examples/distill-prices into a fresh location is picked up."""
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(ROOT / "examples" / "distill-prices"),
        ],
        check=True,
        timeout=300,
    )
    assert (target / "distill_prices").is_dir()
    code = (
        "from distill.plugins import registry, as_tool; import distill_prices; "
        "e = registry().tasks['prices']; print(e.source, distill_prices.__file__); "
        "print(as_tool('prices').invoke({'text': 'only 20 EUR'})['prices'][0]['amount'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    source, module_file, amount = out.stdout.split()
    assert source == "distill-prices"
    assert module_file.startswith(str(target))  # the freshly installed copy, found by entry point
    assert amount == "20.0"
