"""Run import-linter's layer contract on the `distill.*` packages.

Why a wrapper: `pyproject.toml` maps folders to subpackages (`core/` is `distill`, `cli/` is
`distill.cli`, …) and import-linter finds subpackages by walking the root package's folder,
where they are not. So we lay out the namespace as it is installed, as symlinks in a
temporary folder, and point import-linter at it. The contract itself is in
`pyproject.toml` under `[tool.importlinter]`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def mirror(target: Path) -> None:
    """`target/distill/...` laid out like the installed package, as symlinks to the repo."""
    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-dir"
    ]
    package = target / "distill"
    package.mkdir()
    for entry in (ROOT / mapping["distill"]).iterdir():
        if entry.suffix == ".py":
            (package / entry.name).symlink_to(entry)
    for name, folder in mapping.items():
        if name != "distill":
            (package / name.removeprefix("distill.")).symlink_to(ROOT / folder)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        mirror(Path(tmp))
        env = {**os.environ, "PYTHONPATH": tmp}
        command = [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"]
        return subprocess.run(command, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
