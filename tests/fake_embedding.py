"""A fake sentence embedder for fast tests: hashed bag of words, unit length."""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np

from distill.ingest.index import DIMENSION

STOPWORDS = {"the", "a", "an", "is", "it", "its", "and", "of", "to", "my", "this", "was", "for"}
STOPWORDS |= {"in", "by", "has", "i"}


def fake_embed(texts: Sequence[str]) -> np.ndarray:
    """Deterministic, instant, and texts sharing content words share dimensions."""
    vectors = np.zeros((len(texts), DIMENSION), dtype=np.float32)
    for row, text in enumerate(texts):
        vectors[row, 0] = 0.01  # never the zero vector
        for word in re.findall(r"[a-z0-9]+", text.lower()):
            if word not in STOPWORDS:
                vectors[row, 1 + zlib.crc32(word.encode()) % (DIMENSION - 1)] += 1.0
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
