"""`distill-model.json`: what a trained model directory says about itself.

Every trained backend writes one next to its weights, so a model directory is
self-contained: which task and spec version it serves, its labels, what data it
was trained on, when, and how it scored on the dev split.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from spacy.tokens import Doc

from distill.errors import PluginError

CARD_FILE = "distill-model.json"


class ModelCard(BaseModel):
    task: str
    task_version: str
    backend: str = "trained"
    kind: str = Field(description="what the weights are, e.g. spacy-ner, minilm-absa")
    labels: list[str]
    train_data: dict[str, Any] = Field(default_factory=dict)
    dev_data: dict[str, Any] = Field(default_factory=dict)
    created: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    training: dict[str, Any] = Field(default_factory=dict)
    dev_scores: dict[str, Any] = Field(default_factory=dict)

    def save(self, directory: str | Path) -> None:
        path = Path(directory) / CARD_FILE
        path.write_text(json.dumps(self.model_dump(), indent=2) + "\n", encoding="utf-8")


def load_card(directory: str | Path | None, task: str) -> ModelCard:
    """The card of a model directory, checked to serve `task`; the error says what to run."""
    if not directory:
        raise PluginError(
            f"the trained {task} backend needs a model directory: pass --model DIR or set "
            f"tasks.{task}.model (train one with `distill train {task} ...`)"
        )
    path = Path(directory) / CARD_FILE
    if not path.is_file():
        raise PluginError(f"{directory} is not a distill model directory (no {CARD_FILE})")
    card = ModelCard.model_validate_json(path.read_text(encoding="utf-8"))
    if card.task != task:
        raise PluginError(f"{directory} holds a {card.task} model, not a {task} model")
    return card


def data_info(path: str | Path | None, format: str | None, docs: list[Doc]) -> dict[str, Any]:
    """What a card says of a data file: its path, format, size, and a digest of its bytes,
    so `distill evaluate` can tell the same file under another path."""
    info = {"path": str(path) if path else None, "format": format, "docs": len(docs)}
    digest = file_digest(path)
    return info | {"sha256": digest} if digest else info


def file_digest(path: str | Path | None) -> str | None:
    """sha256 of a file's bytes; None for no path, a folder or a missing file."""
    if not path or not Path(path).is_file():
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def shared_files(root: Path, files: list[str]) -> dict[str, Any]:
    """A card's record of the files under `root` (the shared data folder) a model was built
    from: their paths below it and their digests, which `seen_data` recognises anywhere."""
    return {"files": files, "file_sha256": [file_digest(root / name) for name in files]}


def _names(data: Path, info: dict[str, Any], digest: str | None) -> bool:
    """Whether a card's data entry (`train_data`, `dev_data`) is the file `data`: the same
    bytes (`sha256`, or one of `file_sha256` for models built from several files), the
    same file, or a path ending like one of its `files` ("semeval2014_absa/Laptop_Train_v2.xml")."""
    if digest and digest in (info.get("sha256"), *info.get("file_sha256", ())):
        return True
    path = info.get("path")
    if path and Path(path).exists() and data.exists() and Path(path).samefile(data):
        return True
    return any(data.resolve().as_posix().endswith("/" + tail) for tail in info.get("files", []))


def seen_data(card: ModelCard, data: str | Path, split: str = "all") -> str | None:
    """Why scores of this model on `data` would flatter it, or None: it trained on that
    file (in-sample), or chose its epochs and thresholds on it (optimistic). `split="dev"`
    of the file its dev was carved from (`distill train` without --dev) is held out."""
    data = Path(data)
    digest = file_digest(data)
    if _names(data, card.train_data, digest):
        carved = card.dev_data.get("carved_from")  # dev came out of this very file
        if split == "dev" and carved:
            return None
        return (
            f"this {card.task} model trained on {data.name}, all or part of it (its model "
            "card says so): "
            "these scores are in-sample, not what it does on new text; score a file it did "
            "not train on"
            + (", or --split dev (the part `distill train` held out)" if carved else "")
        )
    if _names(data, card.dev_data, digest):
        return (
            f"this {card.task} model chose its epochs and thresholds on {data.name} (its dev "
            "data): these scores are optimistic; a file it never saw says more"
        )
    return None


def split_dev(docs: list[Doc], fraction: float = 0.1, seed: int = 0) -> tuple[list[Doc], list[Doc]]:
    """Carve a deterministic dev split from train when no dev file is given: whole
    documents when the corpus says which one each item belongs to (`meta["document"]`:
    CoNLL's `-DOCSTART-` documents, a review's sentences), so no document has sentences
    on both sides; else items at random."""
    groups = [(doc._.meta or {}).get("document") for doc in docs]
    if None not in groups and len(set(groups)) > 1:
        keys = sorted(set(groups), key=str)
        random.Random(seed).shuffle(keys)
        size = Counter(groups)
        chosen, taken = set(), 0
        for key in keys:
            if taken >= len(docs) * fraction:
                break
            chosen.add(key)
            taken += size[key]
        return [d for d, g in zip(docs, groups, strict=True) if g not in chosen], [
            d for d, g in zip(docs, groups, strict=True) if g in chosen
        ]
    order = list(range(len(docs)))
    random.Random(seed).shuffle(order)
    n_dev = max(1, int(len(docs) * fraction)) if len(docs) > 1 else 0
    dev = set(order[:n_dev])
    return [d for i, d in enumerate(docs) if i not in dev], [
        d for i, d in enumerate(docs) if i in dev
    ]


def dir_size_mb(directory: str | Path) -> float:
    files = [p for p in Path(directory).rglob("*") if p.is_file()]
    return round(sum(p.stat().st_size for p in files) / 1e6, 2)
