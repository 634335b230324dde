"""Build the shipped general aspect-sentiment model (plugins/sentiment/general/).

    python scripts/build_sentiment_model.py [--data ../shared/data] [--out DIR] [--no-nokia]

Training data, all train splits, labels mapped to the default aspects
(`distill.corpora.semeval.category_aspect`, `distill.corpora.huliu.feature_aspect`):

- SemEval-2014 laptops: term polarity. Dev = the last 10% of sentence ids: consecutive ids
  are sentences of one review, so this carves by review (only the border review is cut).
- SemEval-2014 restaurants: term polarity, and categories (price, service, misc) as aspects.
- SemEval-2016 laptops and restaurants: categories as aspects; restaurant targets as terms.
  Laptop dev = every 10th review id.
- Hu & Liu `Nokia 6610.txt` (the only Hu & Liu file used; `--no-nokia` leaves it out):
  sentences with their features as aspects and terms.
- Sentences the LLM wrote and labelled for an aspect the data above lacks (camera: 5
  opinions in all of it), kept where its judge agreed (`scripts/teach_sentiment.py`,
  `plugins/sentiment/taught_camera.jsonl`); `--no-taught` leaves them out.
- 2,000 pairs of the one-opinion sentences above joined into one, half with opposite
  polarities and a contrast word, half alike (`train.contrast_pairs`; `--pairs N`): most
  training sentences have one polarity, reviews often have two.
- With `--comparisons N` (not in the shipped build), N comparison sentences written from
  templates ("the battery lasts longer than my old phone", "my old phone had a better
  screen"; `comparisons.comparison_sentences`): the real data has few, and the shipped
  model reads "longer" or "sharper" in a comparison as a complaint. Measured, not shipped:
  BENCHMARKS.md, *Aspect sentiment on real reviews*, 2026-12-05.

No sentence a dev row scores is trained on, whichever file holds it: the carves above, plus
SemEval-2014 restaurants' last 10% of ids (what `benchmarks/nlp_bench.py` scores), are
removed from every source by text. The files share sentences: 254 of the 2014 laptop dev
sentences are in the 2016 laptop train file, 160 of the 2016 laptop dev sentences in the
2014 file, 100 of the 2014 restaurant dev sentences in the 2016 restaurant file. And only
the 2016 sentences the 2014 train file of their domain also has are trained on (`also_in`):
the other 802 laptop sentences about match the 2014 laptop test split's 800, which is never
read (`--shared-only` also keeps only the 2014 sentences the 2016 train file has: the
2016 test split may hold 2014 train sentences). Models built before 2026-12-03 (fifth
session) trained on all of them, so their dev figures were partly in-sample and the 2014
test may have been too; `--with-dev-copies` trains on them again. BENCHMARKS.md (*Aspect
sentiment on real reviews*) has what the committed model, built this way, scores.
Prints the dev scores; writes the model and its card to --out (default: the package's
general/ folder).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from spacy.tokens import Doc

from distill.corpora import huliu, semeval
from distill.doc import make_doc
from distill.model_card import shared_files
from distill.plugins.sentiment import Opinion
from distill.plugins.sentiment.comparisons import comparison_sentences
from distill.plugins.sentiment.general import DEFAULT_ASPECTS, GENERAL_DIR
from distill.plugins.sentiment.teach import TAUGHT, taught_docs
from distill.plugins.sentiment.train import SentimentTrainConfig, contrast_pairs
from distill.workflow.train import fit

NOKIA = "phone_catalog_reviews/hu_liu_customer_reviews/Nokia 6610.txt"
LAPTOPS14 = "semeval2014_absa/Laptop_Train_v2.xml"
RESTAURANTS14 = "semeval2014_absa/Restaurants_Train_v2.xml"
LAPTOPS16 = "semeval2016_absa/ABSA16_Laptops_Train_SB1_v2.xml"
RESTAURANTS16 = "semeval2016_absa/ABSA16_Restaurants_Train_SB1_v2.xml"
TRAIN_FILES = (LAPTOPS14, RESTAURANTS14, LAPTOPS16, RESTAURANTS16)
SETTINGS = {
    "init": "base",
    "frozen": 3,
    "term_marks": True,
    "max_epochs": 6,
    "patience": 6,
    "max_minutes": 90.0,
    "batch_size": 32,
    "learn_rate": 2e-4,
    "average_from": 2,
}
"""What builds the shipped model: the top three of MiniLM's six layers fine-tuned, given terms
read one marked pass each (`term_marks`), six epochs, the model kept the mean of the weights
after epochs 2-6 (`average_from`: since 2026-12-03, fifth session; one epoch's weights moved
SemEval-2014 laptops dev between 0.726 and 0.772 with the seed, their mean scores 0.779 with
either seed). Six epochs since 2026-12-04 (ninth session): the same run goes on from four
(epochs 1-4 are the same weights), laptops dev 0.785 -> 0.792 and the held-out SemEval-2014
restaurants dev, never used to pick anything, 0.763 -> 0.783 (macro-F1 0.736 -> 0.761). The
time budget only guards a very slow machine; about 2 minutes an epoch on an AVX512-BF16 EPYC
once `--set cache_dir=DIR` holds the frozen layers' output. Until 2026-12-03 (third session)
only the top layer was fine-tuned (`--set frozen=5 --set term_marks=false`): SemEval-2014
laptops dev 0.722 / macro-F1 0.667 against 0.786 / 0.750 for this recipe (both built with
the dev copies, so in part in-sample; built without them, the previous recipe 0.730 / 0.685
and this one 0.726 / 0.673, so the gain on unseen sentences is not that), a sentence that
praises one aspect and criticises another read right for both 0.21 of the time against 0.53,
for about 15% more time at ingest (the document index's sentence vectors then run the base
model's top three layers on the shared pass instead of one; BENCHMARKS "Aspect sentiment on
real reviews")."""


def mapped(doc: Doc) -> Doc:
    """A SemEval-2016 `doc` with its categories mapped to the default aspects; categories no
    default fits keep their name (they still teach term polarity) and make `overall` unknown.
    (Hu & Liu docs come mapped: `huliu.read` applies `feature_aspect`.)"""
    opinions, unknown = [], set()
    for o in doc._.opinions or []:
        aspect = semeval.category_aspect(o.aspect) if "#" in o.aspect else o.aspect
        if aspect is None or aspect not in DEFAULT_ASPECTS:
            unknown.add("overall")
        opinions.append(o.model_copy(update={"aspect": aspect or o.aspect}))
    out = make_doc(doc.text, doc._.doc_id, {**(doc._.meta or {}), "unlabelled_aspects": []})
    out._.meta["unlabelled_aspects"] = sorted(unknown)
    out._.opinions = opinions
    return out


def category_docs(docs: list[Doc]) -> list[Doc]:
    """Aspect-level docs from SemEval-2014 restaurant categories (same sentences, no terms)."""
    out = []
    for doc in docs:
        meta = {k: v for k, v in (doc._.meta or {}).items() if k != "aspect_terms"}
        categories = meta.pop("aspect_categories", [])
        if not categories:
            continue
        opinions, unknown = [], set()
        for c in categories:
            aspect = semeval.category_aspect(c["category"])
            if aspect is None:
                unknown.add("overall")
            elif c["polarity"] != "conflict":
                opinions.append(Opinion(aspect=aspect, polarity=c["polarity"]))
        new = make_doc(doc.text, f"{doc._.doc_id}:categories", meta)
        new._.meta["unlabelled_aspects"] = sorted(unknown)
        new._.opinions = opinions
        out.append(new)
    return out


def aspects_only(doc: Doc) -> Doc:
    """`doc` teaching its aspects but no term polarity: Hu & Liu label only opinionated
    features (no neutral class), so their terms would teach the term head that neutral is rare."""
    doc._.opinions = [o.model_copy(update={"start": None, "end": None}) for o in doc._.opinions]
    return doc


def datasets(
    data: Path,
    nokia: bool,
    nokia_terms: bool = True,
    taught: Path | None = None,
    dev_copies: bool = False,
    shared_only: bool = False,
) -> tuple[list[Doc], list[Doc], dict]:
    laptops14 = list(semeval.read_2014(data / LAPTOPS14))
    lap14_train, lap14_dev = semeval.dev_split_2014(laptops14)
    cut = min(int(d._.doc_id) for d in lap14_dev)
    rest14 = list(semeval.read_2014(data / RESTAURANTS14))
    lap16 = [mapped(d) for d in semeval.read_2016(data / LAPTOPS16)]
    lap16_train, lap16_dev = semeval.dev_split_2016(lap16)
    dev_reviews = {semeval.review_id(d) for d in lap16_dev}
    rest16 = [mapped(d) for d in semeval.read_2016(data / RESTAURANTS16)]
    nokia_docs = [mapped(d) for d in huliu.read(data / NOKIA)] if nokia else []
    if not nokia_terms:
        nokia_docs = [aspects_only(d) for d in nokia_docs]
    taught_train = taught_docs(taught, DEFAULT_ASPECTS) if taught is not None else []
    rest14_train, rest14_dev = (rest14, []) if dev_copies else semeval.dev_split_2014(rest14)
    lap16_kept, rest16_kept = lap16_train, rest16
    if not dev_copies:
        lap16_kept = also_in(lap16_train, laptops14)
        rest16_kept = also_in(rest16, rest14)
    if shared_only:
        lap14_train = also_in(lap14_train, lap16)
        rest14_train = also_in(rest14_train, rest16)
    train = lap14_train + rest14_train + category_docs(rest14_train) + lap16_kept + rest16_kept
    train += nokia_docs + taught_train
    dev = lap14_dev + lap16_dev
    unseen = train if dev_copies else without_copies(train, dev + rest14_dev)
    info = {
        "semeval14_laptops": f"{len(lap14_train)} sentences (dev: {len(lap14_dev)}, ids >= {cut})",
        "semeval14_restaurants": f"{len(rest14_train)} sentences (dev held out: {len(rest14_dev)})",
        "dev_sentences_removed_from_train": len(train) - len(unseen),
        "semeval16_laptops": f"{len(lap16_kept)} of {len(lap16_train)} sentences (the others "
        f"are not in the 2014 train file; dev: {len(lap16_dev)}, {len(dev_reviews)} reviews)",
        "semeval16_restaurants": f"{len(rest16_kept)} of {len(rest16)} sentences (the others "
        "are not in the 2014 train file)",
        "huliu_nokia_6610": (
            f"{len(nokia_docs)} sentences" + ("" if nokia_terms else " (aspects only)")
            if nokia
            else "not used"
        ),
        "llm_taught": f"{len(taught_train)} sentences" if taught is not None else "not used",
    }
    return unseen, dev, info


def same_text(doc: Doc) -> str:
    """A sentence as the files repeat it: case and spacing aside."""
    return " ".join(doc.text.lower().split())


def also_in(docs: list[Doc], other: list[Doc]) -> list[Doc]:
    """The `docs` whose sentence the `other` train file (the other year, same domain) also
    has. The 2016 train files reuse the 2014 sentences: 1,698 of the 2,500 laptop sentences
    are in the 2014 laptop train file, and the other 802 about match the 800 sentences of
    the 2014 laptop test split (restaurants: 843 others, 800 test sentences). The test split
    is never read, so the only way to be sure none of its sentences is trained on is to keep
    only the 2016 sentences 2014 train also has (and, with `--shared-only`, the other way
    round for the 2016 test split)."""
    texts = {same_text(d) for d in other}
    return [d for d in docs if same_text(d) in texts]


def without_copies(train: list[Doc], scored: list[Doc]) -> list[Doc]:
    """`train` without any sentence a dev row scores, whichever file it came from."""
    texts = {same_text(d) for d in scored}
    return [d for d in train if same_text(d) not in texts]


def trained_files(nokia: bool = True) -> list[str]:
    """The shared data files the build trains on (most of each: dev and copies removed)."""
    return [*TRAIN_FILES, NOKIA] if nokia else list(TRAIN_FILES)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    root = Path(__file__).resolve().parent.parent
    parser.add_argument("--data", type=Path, default=root.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=GENERAL_DIR)
    parser.add_argument("--no-nokia", action="store_true", help="leave the Nokia 6610 file out")
    parser.add_argument(
        "--no-nokia-terms",
        action="store_true",
        help="the Nokia 6610 file teaches aspects only, not term polarity",
    )
    parser.add_argument(
        "--no-taught", action="store_true", help="leave out the LLM's camera sentences"
    )
    parser.add_argument(
        "--pairs",
        type=int,
        default=2000,
        help="joined pairs of one-opinion training sentences to add, half contrasting, half "
        "alike (`train.contrast_pairs`; 0: none)",
    )
    parser.add_argument(
        "--comparisons",
        type=int,
        default=0,
        help="comparison sentences written from templates to add ('the battery lasts longer "
        "than my old phone'; `comparisons.comparison_sentences`; 0: none)",
    )
    parser.add_argument(
        "--with-dev-copies",
        action="store_true",
        help="keep the dev sentences other files repeat, all restaurant sentences and the "
        "2016 sentences the 2014 train files lack (probably 2014 test sentences) in training: "
        "how models before 2026-12-03 were built (their dev figures are partly in-sample)",
    )
    parser.add_argument(
        "--shared-only",
        action="store_true",
        help="SemEval sentences only where both years' train files have them: the 2016 test "
        "split may hold 2014 train sentences, as the 2014 test split 2016 train ones",
    )
    parser.add_argument("--set", action="append", default=[], help="training setting KEY=VALUE")
    args = parser.parse_args(argv)
    settings = dict(SETTINGS)
    for item in args.set:
        key, _, value = item.partition("=")
        settings[key] = json.loads(value) if value[:1].isdigit() or value[:1] == "-" else value
    train, dev, info = datasets(
        args.data,
        nokia=not args.no_nokia,
        nokia_terms=not args.no_nokia_terms,
        taught=None if args.no_taught else TAUGHT,
        dev_copies=args.with_dev_copies,
        shared_only=args.shared_only,
    )
    if args.pairs:
        train += contrast_pairs(train, list(DEFAULT_ASPECTS), args.pairs)
        info["contrast_pairs"] = f"{args.pairs} sentences (train.contrast_pairs, seed 0)"
    if args.comparisons:
        train += comparison_sentences(list(DEFAULT_ASPECTS), args.comparisons)
        info["comparisons"] = f"{args.comparisons} sentences (comparisons, seed 0)"
    print(json.dumps(info, indent=2), file=sys.stderr)
    started = time.perf_counter()

    def progress(event: str, row: dict) -> None:
        if event == "epoch":
            print(json.dumps(row), file=sys.stderr)

    card = fit(
        "sentiment",
        train,
        dev,
        args.out,
        list(DEFAULT_ASPECTS),
        SentimentTrainConfig(**settings),
        progress=progress,
        # `distill evaluate` warns when it scores one of these files (`model_card.seen_data`)
        train_info={"sources": info} | shared_files(args.data, trained_files(not args.no_nokia)),
        dev_info={"sources": "semeval14 laptops ids >= cut; semeval16 laptops every 10th review"},
    )
    print(
        f"wrote {args.out} in {time.perf_counter() - started:.0f} s; dev {card.dev_scores}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
