"""`seen_data`: a model card tells `distill evaluate` when the scored file is one it learnt from."""

from __future__ import annotations

import shutil
from pathlib import Path

from distill.model_card import ModelCard, data_info, seen_data, shared_files


def card(train: dict, dev: dict | None = None) -> ModelCard:
    return ModelCard(
        task="ner",
        task_version="1",
        kind="spacy-ner",
        labels=["PRODUCT"],
        train_data=train,
        dev_data=dev or {},
    )


def test_the_training_file_is_recognised_by_path_and_by_its_bytes(tmp_path: Path) -> None:
    train, other = tmp_path / "train.jsonl", tmp_path / "other.jsonl"
    train.write_text('{"text": "a"}\n')
    other.write_text('{"text": "b"}\n')
    model = card(data_info(train, "jsonl", []))
    assert "in-sample" in (seen_data(model, train) or "")
    copy = tmp_path / "elsewhere" / "renamed.jsonl"
    copy.parent.mkdir()
    shutil.copy(train, copy)
    assert "renamed.jsonl" in (seen_data(model, copy) or "")  # same bytes, another path
    assert seen_data(model, other) is None
    assert seen_data(model, tmp_path / "missing.jsonl") is None


def test_a_dev_split_carved_from_the_training_file_is_held_out(tmp_path: Path) -> None:
    train = tmp_path / "train.jsonl"
    train.write_text('{"text": "a"}\n')
    model = card(data_info(train, "jsonl", []), {"docs": 1, "carved_from": str(train)})
    assert seen_data(model, train, split="dev") is None
    assert "--split dev" in (seen_data(model, train, split="train") or "")
    assert "--split dev" in (seen_data(model, train) or "")


def test_the_dev_file_makes_the_scores_optimistic(tmp_path: Path) -> None:
    train, dev = tmp_path / "train.jsonl", tmp_path / "dev.jsonl"
    train.write_text('{"text": "a"}\n')
    dev.write_text('{"text": "b"}\n')
    model = card(data_info(train, "jsonl", []), data_info(dev, "jsonl", []))
    assert "optimistic" in (seen_data(model, dev) or "")


def test_shipped_models_name_their_shared_files(tmp_path: Path) -> None:
    """Built on another machine: the card holds paths below the shared data folder and
    their digests, so a copy anywhere is recognised, and a path ending the same way too."""
    shared = tmp_path / "shared" / "data"
    (shared / "wnut17").mkdir(parents=True)
    (shared / "wnut17" / "train.conll").write_text("Apple B-corporation\n")
    model = card(shared_files(shared, ["wnut17/train.conll"]))
    elsewhere = tmp_path / "copy.conll"
    shutil.copy(shared / "wnut17" / "train.conll", elsewhere)
    assert seen_data(model, elsewhere) is not None
    (shared / "wnut17" / "train.conll").write_text("edited\n")  # other bytes, same place
    assert seen_data(model, shared / "wnut17" / "train.conll") is not None
    assert seen_data(model, tmp_path / "copy.conll.bak") is None


def test_the_shipped_cards_list_their_training_files() -> None:
    import json

    root = Path(__file__).resolve().parents[1] / "plugins"
    for task in ("ner", "sentiment", "factcheck"):
        train = json.loads((root / task / "general" / "distill-model.json").read_text())
        files = train["train_data"]["files"]
        assert files and len(files) == len(train["train_data"]["file_sha256"])
