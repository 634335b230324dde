"""The shipped general fact-checker, so the guardrail works on a fresh machine.

What ships (`general/`, 1.3 MB): the gradient-boosted lexical checker (`model.py`) trained by
`python -m benchmarks.factcheck_bench train --model lexical --out plugins/factcheck/general`
on HaluEval qa and dialogue (the shared 20%, train part), the demo's claims (reviews
r01–r36) and the claims the LLM taught (`teach.py`); 30 s on 2 cores. It is weak on its
own (BENCHMARKS.md, "Fact-checking"); the guardrail leans on it only for sentences the graph
and the question-word rules do not decide. The MiniLM cross-encoder (`nli.py`, `train
--model nli`) replaces it here once it is trained long enough to beat it: on 2 shared cores
it stayed below. The `trained` factcheck backend uses this folder whenever
`tasks.factcheck.model` is not set.
"""

from __future__ import annotations

from pathlib import Path

GENERAL_DIR = Path(__file__).resolve().parent / "general"


def general_model_path() -> Path | None:
    """The shipped model's directory, or None when it has not been built."""
    return GENERAL_DIR if (GENERAL_DIR / "distill-model.json").is_file() else None
