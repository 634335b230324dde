"""The LLM writes and labels training sentences for aspects the real training data lacks.

    python scripts/teach_sentiment.py [--aspects camera] [--rounds 4] [--minutes 30]

The writer is the configured chat model (the embedded LLM by default), the judge the
sentiment task's `prompt` backend with every default aspect (`distill.plugins.sentiment.
teach`). Appends to --out (default: plugins/sentiment/taught_camera.jsonl, committed, so
`scripts/build_sentiment_model.py` rebuilds without an LLM run); a rerun skips
what is there. Prints written and kept counts per aspect and polarity.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from distill.config import load_config
from distill.doc import make_doc
from distill.llm import chat_model
from distill.plugins.factory import make_backend, make_task
from distill.plugins.sentiment.general import DEFAULT_ASPECTS
from distill.plugins.sentiment.teach import TAUGHT, requests, summary, teach


def prompt_judge():
    """The sentiment `prompt` backend as `judge(sentences) -> [(aspect, polarity), ...]`."""
    config = load_config().config.with_task("sentiment", labels=list(DEFAULT_ASPECTS))
    task = make_task("sentiment", config)
    backend = make_backend("sentiment", config, backend="prompt")

    def judge(sentences: list[str]) -> list[list[tuple[str, str]] | None]:
        docs = [make_doc(text) for text in sentences]
        try:
            backend.predict(docs)
        except Exception:  # a failed batch: nothing from it is kept
            return [None] * len(sentences)
        return [[(o.aspect, o.polarity) for o in task.read(doc).opinions] for doc in docs]

    return judge


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--aspects", nargs="+", default=["camera"])
    parser.add_argument("--rounds", type=int, default=4, help="requests per kind and polarity")
    parser.add_argument(
        "--polarities",
        nargs="+",
        default=["positive", "negative", "neutral"],
        help="the 1.5B writer's 'neutral' sentences carry opinions: its judge kept none",
    )
    parser.add_argument("--per-request", type=int, default=5, help="sentences per request")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--out", type=Path, default=TAUGHT)
    args = parser.parse_args(argv)
    llm = chat_model(load_config().config.llm)
    records = teach(
        requests(args.aspects, args.rounds, args.polarities),
        llm,
        prompt_judge(),
        args.out,
        args.minutes * 60,
        per_request=args.per_request,
    )
    print(json.dumps(summary(records), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
