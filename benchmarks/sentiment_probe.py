"""A general sentiment model's build, checked in two minutes: real dev terms and our probes.

    python -m benchmarks.sentiment_probe DIR [--data ../shared/data]

Prints, for the model in DIR (a `scripts/build_sentiment_model.py --out DIR` build, or
`plugins/sentiment/general`): term accuracy and macro-F1 on SemEval-2014 laptops dev and
the restaurants dev every build holds out (as `scripts/build_sentiment_model.py` carves
them), then how the ingest path reads 16 comparison sentences and 10 sentences that
state no opinion (both written by us for this probe; each about one reviewed product,
`meta.product`). Not part of the product; BENCHMARKS.md (*Aspect sentiment on real
reviews*, 2026-12-05) quotes it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMPARISONS = [
    # (sentence, aspect, polarity about the reviewed product)
    ("the battery lasts longer than my friend 's ipod .", "battery", "positive"),
    ("sound is better on this one though .", "sound", "positive"),
    ("the screen is much better than on my old phone .", "screen", "positive"),
    ("it is faster than my old laptop .", "performance", "positive"),
    ("the battery life is worse than my old phone .", "battery", "negative"),
    ("the pictures are sharper than my old camera .", "camera", "positive"),
    ("it costs $50 less than the other one .", "price", "positive"),
    ("my old phone had better reception .", "performance", "negative"),
    ("it is heavier than i expected .", "design", "negative"),
    ("The Pods 3 sound better than my old earbuds.", "sound", "positive"),
    ("Battery life is shorter than on my previous phone.", "battery", "negative"),
    ("My last camera took sharper photos than this one.", "camera", "negative"),
    ("The keyboard on my old laptop was much nicer.", "keyboard", "negative"),
    ("The screen is not as bright as my old one.", "screen", "negative"),
    ("This one charges faster than my old phone did.", "battery", "positive"),
    ("the reception is better than with my old motorola .", "performance", "positive"),
]
NO_OPINION = [
    "I bought a case for it.",
    "The box included a charger and a cable.",
    "I bought it for my daughter's birthday.",
    "I have had it for two months now.",
    "My husband uses the same model.",
    "The store had it in black and silver.",
    "i got it from amazon last week .",
    "we use it mostly in the car .",
    "I read the reviews before buying.",
    "It came with a 2gb memory card.",
]


def main(argv: list[str] | None = None) -> int:
    from distill.config import Config
    from distill.corpora import semeval
    from distill.ingest.pipeline import Pipeline
    from distill.ingest.readers import SourceDocument
    from distill.workflow.evaluate import run_evaluation

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", type=Path, help="a general sentiment model directory")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args(argv)
    config = Config().with_task("sentiment", model=str(args.model))
    for name in ("Laptop", "Restaurants"):
        docs = list(semeval.read_2014(args.data / f"semeval2014_absa/{name}_Train_v2.xml"))
        _, dev = semeval.dev_split_2014(docs)
        row, _ = run_evaluation("sentiment", dev, "trained", config)
        scores = f"accuracy {row.accuracy:.3f}, macro-F1 {row.macro_f1:.3f}"
        print(f"{name} dev: {row.n} terms, {scores}")
    pipeline = Pipeline(config)
    spec = pipeline.backends["sentiment"].task
    texts = [text for text, _, _ in COMPARISONS] + NO_OPINION
    sources = [
        SourceDocument(id=f"p{i}", text=text, source="probe", meta={"product": "acme-x"})
        for i, text in enumerate(texts)
    ]
    docs, _ = pipeline.annotate(sources)
    found = [{o.aspect: o.polarity for o in spec.read(doc).opinions} for doc in docs]
    right = 0
    for (text, aspect, polarity), got in zip(COMPARISONS, found, strict=False):
        right += got.get(aspect) == polarity
        print("  ok " if got.get(aspect) == polarity else "  BAD", got, "|", text)
    print(f"comparisons read right: {right} of {len(COMPARISONS)}")
    spurious = found[len(COMPARISONS) :]
    for text, got in zip(NO_OPINION, spurious, strict=True):
        if got:
            print("  spurious", got, "|", text)
    print(f"opinions on sentences that state none: {sum(map(len, spurious))} on {len(NO_OPINION)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
