"""Build the general product NER model that ships in `plugins/ner/general/` (one command).

    .venv/bin/python scripts/build_ner_model.py [--data-dir ../shared/data] [--conll 2000]

Training data: the WNUT-17 train split (`product` → PRODUCT, `corporation` → BRAND;
every other type is left unlabelled), optionally the first N CoNLL-2003 train sentences
with ORG → BRAND (`--conll N`). Reviews are often lower-cased (Hu & Liu's are), so
every sentence is also added lower-cased. Dev: the official WNUT-17 dev split, mapped
the same way; the best epoch on it is kept. The catalog gazetteer is not in the model:
it is built at run time from whatever catalog is configured.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from spacy.tokens import Doc, Span

ROOT = Path(__file__).resolve().parents[1]
WNUT = {"product": "PRODUCT", "corporation": "BRAND"}
CONLL = {"ORG": "BRAND"}
LABELS = ["PRODUCT", "BRAND"]


def mapped(docs: list[Doc], mapping: dict[str, str], lower: bool = False) -> list[Doc]:
    """Copies with labels renamed (unmapped types dropped), lower-cased when asked."""
    out = []
    for doc in docs:
        words = [t.text.lower() if lower else t.text for t in doc]
        copy = Doc(doc.vocab, words=words, spaces=[bool(t.whitespace_) for t in doc])
        copy.ents = [
            Span(copy, e.start, e.end, label=mapping[e.label_])
            for e in doc.ents
            if e.label_ in mapping
        ]
        out.append(copy)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "plugins" / "ner" / "general")
    parser.add_argument("--conll", type=int, default=2000, help="CoNLL-2003 sentences (ORG→BRAND)")
    parser.add_argument("--max-minutes", type=float, default=18.0)
    parser.add_argument("--max-epochs", type=int, default=40)
    parser.add_argument(
        "--base", default=None, help="installed spaCy pipeline whose tok2vec to start from"
    )
    args = parser.parse_args()

    from distill.corpora import conll
    from distill.model_card import data_info
    from distill.plugins.ner.train import NERTrainConfig
    from distill.workflow.train import fit

    wnut = args.data_dir / "wnut17"
    raw_train = list(conll.read(wnut / "wnut17train.conll"))
    raw_dev = list(conll.read(wnut / "emerging.dev.conll"))
    train = mapped(raw_train, WNUT) + mapped(raw_train, WNUT, lower=True)
    if args.conll:
        news = list(conll.read(args.data_dir / "conll2003" / "train.txt"))[: args.conll]
        train += mapped(news, CONLL) + mapped(news, CONLL, lower=True)
    dev = mapped(raw_dev, WNUT) + mapped(raw_dev, WNUT, lower=True)
    settings = NERTrainConfig(
        max_minutes=args.max_minutes, max_epochs=args.max_epochs, patience=4, base=args.base
    )
    if args.out.exists():
        shutil.rmtree(args.out)

    def progress(kind: str, row: dict) -> None:
        if kind == "epoch":
            print(row, flush=True)

    card = fit(
        "ner",
        train,
        dev,
        args.out,
        LABELS,
        settings,
        train_info=data_info(wnut / "wnut17train.conll", "conll", train)
        | {"mapping": WNUT, "conll_sentences": args.conll, "lowercased_copies": True},
        dev_info=data_info(wnut / "emerging.dev.conll", "conll", dev) | {"mapping": WNUT},
        progress=progress,
    )
    print("dev", card.dev_scores, file=sys.stderr)


if __name__ == "__main__":
    main()
