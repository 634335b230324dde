"""Entity linking and fact-checking benchmarks: one command for every row.

    .venv/bin/python benchmarks/match_bench.py [--data-dir ../shared/data] [--prompt-n 30]

- Abt-Buy, Amazon-Google, Walmart-Amazon (Ditto serialization): train on `train.txt`
  exactly as `distill train linker --data train.txt --format ditto` does (the 10% dev
  carve rejoins training; the threshold is chosen on out-of-fold probabilities over all
  of `train.txt`), score on `valid.txt`, which no setting was chosen on — the official
  test split is held out and not in the shared data, so `valid` serves as the test.
  Match F1 of the positive class, as Ditto reports.
- gsmarena_linking: a mention-to-catalog set built here from the GSMArena catalog
  (12,261 devices) and review sentences (Hu & Liu), with NIL mentions; catalog
  entries are disjoint between train, dev and test. Real review mentions of the Nokia
  6610 are added to test. Only `Nokia 6610.txt` is read: the other four Hu & Liu files
  are held out for independent evaluation. Accuracy@1 with NIL, candidate recall@k,
  mentions/second.
- HaluEval qa and dialogue: the shared first 20% of each file, split by record
  (last 20% of records test, 10% of the rest dev); both answers of every record.

Prompt rows run on the first `--prompt-n` items of a fixed subset (the local LLM
takes seconds per call); the trained backend is scored on the same subset beside it.
Models go to --models (default /tmp/distill-match-bench/models/<name>/), generated data
to --work: never the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.report import machine, write_section  # noqa: E402

MAGELLAN = {
    "abt_buy": "Abt-Buy",
    "amazon_google": "Amazon-Google",
    "walmart_amazon": "Walmart-Amazon",
}
PUBLISHED = {  # test-split F1 (Ditto: Li et al. 2020; HierGAT: Yao et al. 2021, as issue 14 cites)
    "abt_buy": "Ditto 89.33",
    "amazon_google": "Ditto 75.58, HierGAT 76.4",
    "walmart_amazon": "Ditto 86.76",
}
HALUEVAL = {"halueval_qa": "qa", "halueval_dialogue": "dialogue"}
TITLE = "Entity linking and fact-checking"


def register() -> None:
    """Until the modules are in `plugins/builtin.py` / `corpora/__init__.py`."""
    import distill.plugins.factcheck.trained
    import distill.plugins.linker.prompt
    import distill.plugins.linker.trained
    import distill.plugins.prompt_backend  # noqa: F401
    from distill.registry import registry

    registry()


def fit(
    task: str,
    name: str,
    train_docs: list,
    dev_docs: list,
    out: Path,
    settings: Any,
    data: Path,
    fmt: str,
) -> None:
    """What `distill train` does: the task's trainer, then the model card."""
    from distill.model_card import data_info
    from distill.workflow.train import fit as train_and_card

    card = train_and_card(
        task,
        train_docs,
        dev_docs,
        out,
        [],
        settings,
        train_info=data_info(data, fmt, train_docs),
        dev_info=data_info(data, fmt, dev_docs) | {"carved_from": str(data)},
    )
    print(f"trained {name}: dev {card.dev_scores}", flush=True)


def evaluate(task: str, gold: list, backend: str, model: Path) -> dict[str, Any]:
    from distill.model_card import dir_size_mb
    from distill.workflow.evaluate import run_evaluation

    result, failures = run_evaluation(task, gold, backend, model=model)
    row = result.model_dump()
    row["per_second"] = round(result.n / result.seconds, 1) if result.seconds else None
    row["failures"] = len(failures)
    row["load"] = round(os.getloadavg()[0], 2)  # 1-minute load average at the end of the run
    row["mb"] = dir_size_mb(model) if backend == "trained" else None
    print(f"{task}/{backend} {model.name}: {json.dumps(row)}", flush=True)
    return row


def subset(docs: list, n: int, positive: Any) -> list:
    """A fixed subset: a third positives, the rest negatives, in file order."""
    pos = [d for d in docs if positive(d)][: max(1, n // 3)]
    neg = [d for d in docs if not positive(d)][: n - len(pos)]
    return pos + neg


# Magellan / Ditto


def run_magellan(args: argparse.Namespace, name: str, rows: list[dict[str, Any]]) -> None:
    from distill.corpora import ditto
    from distill.model_card import split_dev
    from distill.plugins.linker.train import LinkerTrainConfig

    folder = args.data_dir / "magellan_er" / MAGELLAN[name]
    train_docs, dev_docs = split_dev(list(ditto.read(folder / "train.txt")))
    test = list(ditto.read(folder / "valid.txt"))
    out = args.models / name
    variants = {  # the defaults `distill train linker` uses (static title vectors), the
        # MiniLM encoder's title vectors instead, and no title vectors
        "trained": (out, LinkerTrainConfig()),
        "trained, MiniLM vectors": (
            args.models / f"{name}_minilm",
            LinkerTrainConfig(vectors="minilm"),
        ),
        "trained, no vectors": (
            args.models / f"{name}_no_vectors",
            LinkerTrainConfig(embeddings=False),
        ),
    }
    if not args.minilm:
        del variants["trained, MiniLM vectors"]
    for label, (directory, settings) in variants.items():
        started = time.perf_counter()
        fit(
            "linker", name, train_docs, dev_docs, directory, settings, folder / "train.txt", "ditto"
        )
        train_seconds = time.perf_counter() - started
        rows.append(
            {
                "name": name,
                "set": f"valid ({len(test)} pairs)",
                "train_seconds": round(train_seconds),
                **evaluate("linker", test, "trained", directory),
                "backend": label,
            }
        )
    if args.prompt_n:
        small = subset(test, args.prompt_n, lambda d: bool(d.ents[0].kb_id_))
        for backend in ("trained", "prompt"):
            rows.append(
                {
                    "name": name,
                    "backend": backend,
                    "set": f"subset {len(small)}",
                    **evaluate("linker", small, backend, out),
                }
            )


# HaluEval


def halueval_split(path: Path) -> tuple[list, list, list]:
    """By record (both answers of a record on one side): last 20% test, 10% of the rest dev."""
    from distill.corpora import halueval

    docs = list(halueval.read(path))
    records = len(docs) // 2
    test_from = int(records * 0.8) * 2
    dev_from = int(records * 0.8 * 0.9) * 2
    return docs[:dev_from], docs[dev_from:test_from], docs[test_from:]


def run_halueval(args: argparse.Namespace, name: str, rows: list[dict[str, Any]]) -> None:
    from distill.plugins.factcheck.train import FactCheckTrainConfig

    path = args.data_dir / "halueval" / f"{HALUEVAL[name]}_data.first20pct.json"
    train_docs, dev_docs, test = halueval_split(path)
    out = args.models / name
    embeddings = args.fc_embeddings and name != "halueval_qa"
    started = time.perf_counter()
    fit(
        "factcheck",
        name,
        train_docs,
        dev_docs,
        out,
        # the lexical checker, as before; the entailment model's rows are written by
        # benchmarks/factcheck_bench.py ("Fact-checking")
        FactCheckTrainConfig(model="lexical", embeddings=embeddings),
        path,
        "halueval",
    )
    train_seconds = time.perf_counter() - started
    row = evaluate("factcheck", test, "trained", out)
    rows.append(
        {
            "name": name,
            "backend": "trained",
            "set": f"test ({len(test)} answers)",
            "train_seconds": round(train_seconds),
            **row,
        }
    )
    if args.prompt_n:
        small = test[: args.prompt_n]  # both answers of each record: balanced
        for backend in ("trained", "prompt"):
            rows.append(
                {
                    "name": name,
                    "backend": backend,
                    "set": f"subset {len(small)}",
                    **evaluate("factcheck", small, backend, out),
                }
            )


# GSMArena linking

NOKIA = Path("phone_catalog_reviews/hu_liu_customer_reviews/Nokia 6610.txt")
"""The one Hu & Liu file development may read (the other four are held out)."""
REVIEW_PRODUCTS = {
    # regex over the Nokia 6610 review sentences -> gold catalog id
    r"\b(?:nokia )?6610\b": "nokia-6610-phone",
}
TEMPLATES = (
    "I bought the {m} last month and {s}",
    "{S} That is my experience with the {m} anyway.",
    "my old {m} finally died, so {s}",
    "Is the {m} worth it? {S}",
    "Compared to my previous phone, the {m} is different: {s}",
    "{S} I would still pick the {m} again.",
)
FAKE_BRANDS = ("Nebula", "Zentro", "Quorra", "Vexa", "Lumio", "Orbix")


def review_lines(path: Path) -> list[str]:
    """The annotated sentences of a Hu & Liu file (the text after `##`)."""
    lines = path.read_text(encoding="latin-1").splitlines()
    return [line.split("##", 1)[1].strip() for line in lines if "##" in line]


def review_sentences(path: Path) -> list[str]:
    return [text for text in review_lines(path) if 30 <= len(text) <= 160]


def surface(rng: random.Random, entry: Any) -> str:
    """How people write a device: with or without the brand, lower case, a squeezed space."""
    from distill.plugins.linker.catalog import strip_suffix

    name = strip_suffix(entry.name)
    words = name.split()
    choice = rng.random()
    if choice < 0.3 and len(words) > 2 and entry.brand:
        name = " ".join(words[1:])
    if rng.random() < 0.5:
        name = name.lower()
    if rng.random() < 0.15 and len(name.split()) > 2:
        parts = name.split()
        i = rng.randrange(1, len(parts))
        name = " ".join([*parts[: i - 1], parts[i - 1] + parts[i], *parts[i + 1 :]])
    if rng.random() < 0.15:  # a typo: one letter dropped from a longer word
        words = name.split()
        long = [i for i, w in enumerate(words) if len(w) >= 5]
        if long:
            i = rng.choice(long)
            j = rng.randrange(1, len(words[i]) - 1)
            words[i] = words[i][:j] + words[i][j + 1 :]
            name = " ".join(words)
    return name


def nil_surface(rng: random.Random, entry: Any, known: set[str]) -> str | None:
    """A device that does not exist: a model number moved, or a made-up brand."""
    from distill.plugins.linker.catalog import normalize, strip_suffix

    name = strip_suffix(entry.name)
    if rng.random() < 0.3:
        candidate = f"{rng.choice(FAKE_BRANDS)} {' '.join(name.split()[1:]) or 'X'}"
    else:
        numbers = list(re.finditer(r"\d+", name))
        if not numbers:
            return None
        last = numbers[-1]
        value = int(last.group()) + rng.choice([7, 13, 21, 40])
        candidate = name[: last.start()] + str(value) + name[last.end() :]
    if any(normalize(candidate) == k or normalize(candidate) in k.split(" / ") for k in known):
        return None
    return candidate.lower() if rng.random() < 0.5 else candidate


def make_record(
    rng: random.Random, sentences: list[str], mention: str, kb_id: str | None, catalog: Path
) -> dict[str, Any]:
    sentence = rng.choice(sentences)
    template = rng.choice(TEMPLATES)
    text = template.replace("{S}", sentence[:1].upper() + sentence[1:]).replace("{s}", sentence)
    start = text.index("{m}")
    text = text.replace("{m}", mention, 1)
    return {
        "text": text,
        "span": [start, start + len(mention)],
        "kb_id": kb_id,
        "catalog": str(catalog),
    }


def build_gsmarena(data_dir: Path, work: Path, seed: int = 0) -> dict[str, Path]:
    from distill.plugins.linker.catalog import GSMARENA_COLUMNS, Catalog, normalize

    catalog_path = data_dir / "phone_catalog_reviews" / "gsmarena_catalog" / "gsmarena_dataset.csv"
    reviews = data_dir / NOKIA
    catalog = Catalog.load(catalog_path, GSMARENA_COLUMNS)
    known = {normalize(form) for e in catalog.entries for form in e.names()}
    sentences = review_sentences(reviews)
    rng = random.Random(seed)
    entries = [e for e in catalog.entries if len(e.name) < 60 and e.brand]
    rng.shuffle(entries)
    sizes = {"train": 1500, "dev": 300, "test": 800}
    out: dict[str, Path] = {}
    offset = 0
    work.mkdir(parents=True, exist_ok=True)
    for split, size in sizes.items():
        chosen, offset = entries[offset : offset + size], offset + size
        records = []
        for entry in chosen:
            if rng.random() < 0.2:
                mention = nil_surface(rng, entry, known)
                if mention:
                    records.append(make_record(rng, sentences, mention, None, catalog_path))
                    continue
            records.append(make_record(rng, sentences, surface(rng, entry), entry.id, catalog_path))
        if split == "test":
            records += review_mentions(reviews, catalog_path)
        path = work / f"gsmarena_linking.{split}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        out[split] = path
    return out


def review_mentions(path: Path, catalog_path: Path) -> list[dict[str, Any]]:
    """Real mentions of the Nokia 6610 (in the catalog) in its reviews."""
    records = []
    for text in review_lines(path):
        for pattern, kb_id in REVIEW_PRODUCTS.items():
            match = re.search(pattern, text)
            if match:
                records.append(
                    {
                        "text": text,
                        "span": [match.start(), match.end()],
                        "kb_id": kb_id,
                        "catalog": str(catalog_path),
                    }
                )
                break
    return records[:200]


def run_gsmarena(args: argparse.Namespace, rows: list[dict[str, Any]], extra: dict) -> None:
    from distill.corpora import linking
    from distill.plugins.linker.candidates import CandidateIndex, recall_at_k
    from distill.plugins.linker.train import LinkerTrainConfig

    paths = build_gsmarena(args.data_dir, args.work)
    train_docs, dev_docs, test = (list(linking.read(paths[s])) for s in ("train", "dev", "test"))
    out = args.models / "gsmarena_linking"
    catalog = train_docs[0]._.meta["catalog"]
    settings = LinkerTrainConfig(
        catalog=catalog,
        catalog_columns={"id": None, "name": "Model", "brand": None, "release_date": "Year"},
        embeddings=False,
        top_k=5,
    )
    started = time.perf_counter()
    fit(
        "linker", "gsmarena_linking", train_docs, dev_docs, out, settings, paths["train"], "linking"
    )
    train_seconds = time.perf_counter() - started
    row = evaluate("linker", test, "trained", out)
    nil = sum(not e.kb_id_ for d in test for e in d.ents)
    rows.append(
        {
            "name": "gsmarena_linking",
            "backend": "trained",
            "set": f"test ({len(test)} mentions, {nil} NIL)",
            "train_seconds": round(train_seconds),
            **row,
        }
    )
    from distill.plugins.linker.model import LinkerModel

    index = LinkerModel.load(out).index()
    mentions = [e.text for d in test for e in d.ents]
    gold = [e.kb_id_ for d in test for e in d.ents]
    recall = {
        f"fuzzy+alias@{k}": round(recall_at_k(index, mentions, gold, k), 4) for k in (1, 5, 10)
    }
    if args.embeddings:
        semantic = CandidateIndex(index.catalog, semantic=True)
        recall |= {
            f"+semantic@{k}": round(recall_at_k(semantic, mentions, gold, k), 4) for k in (1, 5, 10)
        }
    extra["gsmarena_recall"] = recall
    print("recall", recall, flush=True)
    if args.prompt_n:
        small = subset(test, args.prompt_n, lambda d: bool(d.ents[0].kb_id_))
        for backend in ("trained", "prompt"):
            rows.append(
                {
                    "name": "gsmarena_linking",
                    "backend": backend,
                    "set": f"subset {len(small)}",
                    **evaluate("linker", small, backend, out),
                }
            )


def table(rows: list[dict[str, Any]], extra: dict[str, Any]) -> str:
    def pct(value: Any) -> str:
        return "—" if value is None else f"{100 * value:.1f}"

    lines = [
        f"Machine: {machine()}.",
        "",
        "Ditto sets: two splits. *Dev* = `valid.txt` (Ditto's validation split): every row "
        "here is scored on it (or on a fixed subset of it). The match threshold is chosen on "
        "out-of-fold predictions over `train.txt` (5 folds), never on valid; features and "
        "settings were compared out of fold too, but valid F1 of the exploration runs was seen "
        "as well (notes below), so valid is a slightly optimistic proxy for test. "
        "*Test* = Ditto's `test.txt`, held out: it is "
        "not in the shared data, so no row is a test figure; the references are published "
        "test F1. Model: `distill train linker --data <set>/train.txt --format ditto --out DIR` "
        "(what this script runs; default settings). `load`: 1-minute load average at the "
        "end of the timed run; MB: the model directory (MiniLM itself comes from its package). "
        "HaluEval: shared first 20%, split by record (last 20% test). gsmarena_linking: built by "
        "`benchmarks/match_bench.py` (disjoint catalog entries per split, ~20% NIL, plus real "
        "review mentions). Prompt rows: the embedded local LLM on a fixed subset, with the "
        "trained backend on the same subset for comparison. `/s`: pairs, mentions or checks "
        "per second (2 shared CPU cores). Caveat: in HaluEval qa the hallucinated answer is "
        "usually a full sentence and the right one a short span, and the trained model's "
        "length/wording features exploit that; its qa figure says more about the data than "
        "about fact-checking (dialogue has no such shortcut). The GSMArena prompt subset is "
        "two-thirds NIL mentions, where the small LLM tends to pick a near-miss candidate.",
        "",
        "| model | backend | set | n | F1 | P | R | accuracy | /s | load | MB | train s "
        "| reference (test F1) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    order = [*MAGELLAN, "gsmarena_linking", *HALUEVAL]
    for r in sorted(rows, key=lambda r: order.index(r["name"]) if r["name"] in order else 99):
        reference = PUBLISHED.get(
            r["name"], "ChatGPT 62.59 (acc)" if r["name"] == "halueval_qa" else ""
        )
        lines.append(
            f"| {r['name']} | {r['backend']} | {r['set']} | {r['n']} | {pct(r['f1'])} | "
            f"{pct(r['precision'])} | {pct(r['recall'])} | {pct(r['accuracy'])} | "
            f"{r['per_second'] or '—'} | {r.get('load', '—')} | {r.get('mb') or '—'} | "
            f"{r.get('train_seconds', '—')} | {reference} |"
        )
    if "gsmarena_recall" in extra:
        recall = ", ".join(f"{k} {100 * v:.1f}" for k, v in extra["gsmarena_recall"].items())
        lines += ["", f"GSMArena candidate recall (non-NIL test mentions): {recall}."]
    return "\n".join([*lines, "", DITTO_NOTES])


DITTO_NOTES = """\
**Issue 14 goals on the Ditto sets** (dev = `valid.txt` F1; the goals are on the held-out \
test split, which we cannot run): Amazon-Google >= 76, Abt-Buy >= 90, at >= 1,000 pairs/s. \
What the trained matcher is: the pair features of `plugins/linker/features.py` (the same \
code serves catalog linking), TF-IDF cosines, a logistic regression over the title words \
both records share and the words only one has (`word_pair`: it learns that "upgrade", \
"mac" or another version year separate two products; its out-of-fold probability is one \
more feature), and the cosine of the two titles' vectors; gradient-boosted trees on top; \
the match threshold chosen on 5-fold out-of-fold probabilities over all of `train.txt`. \
Three rows per set: `trained` is the default since 2026-12-02, *static* title vectors \
(`plugins/linker/static_vectors.py`: every MiniLM wordpiece run through MiniLM once, a \
title = the mean of its wordpieces' vectors, so matching runs no transformer; the 23 MB \
table is built once per machine into the cache directory and is not in MB); `MiniLM \
vectors` embeds each distinct title with the encoder (`--set vectors=minilm`, the default \
before, bfloat16 weights where the CPU has AMX); `no vectors` is `--set embeddings=false`. \
The `subset 30` rows are from the 2026-12-01 run (previous features).

2026-12-02, features for near-identical titles (both modes): version numbers normalized \
("v2 .0" = "2.0" = "2") and compared, major versions, years, quantities of the same unit \
that agree or conflict ("16gb" / "8 gb"), model codes' common prefix and same digits \
("lds4821ww" / "lds4821wh"), and an IDF-weighted soft cover of each title's words by the \
other's (a word counts when the other title has it, abbreviates it, "upg" / "upgrade", or \
spells it close, "modeler" / "modeller"). Out-of-fold F1 over train.txt, mean of three \
fold seeds, no vectors: Amazon-Google 71.1 -> 72.4 (versions alone +1.1, soft cover +0.8 \
on top, codes +0.3, units +0.1), Abt-Buy 91.8 -> 91.8; valid F1 of the same exploration \
runs 71.4 -> 73.6-74.2 and 89.5 -> 90.0-90.6. They cost speed (the soft cover most): \
no-vector rows 1,791 / 1,985 pairs/s, were 2,472 / 4,073. Title vectors, out of fold \
(before the new features): Amazon-Google none 70.1, MiniLM 70.3, static 70.2 (70.8 with \
IDF-weighted wordpieces); Abt-Buy 91.7, 91.5, 91.3 — no kind of title vector adds \
measurably on these sets, and the rows agree (within 1.5 points of each other on every \
set); static vectors make the default variant as fast as the one without (1,346-2,528 \
pairs/s against 453-688 for MiniLM, load 1.0-1.5). Catalog linking (gsmarena_linking, \
same features): 97.6, was 96.6. With the new features the NIL threshold tuned on dev first \
fell to 0.1 (dev 298/300 there, 296 at 0.5; the dev mentions are synthetic) and 61 bare \
"g3" mentions of the Canon G3 reviews went to the LG G3 or an IceMobile G3: 92.6. The \
threshold is now the middle of the dev plateau within a point of the best \
(`train.PLATEAU`). **Correction (2026-12-05):** until then this benchmark built the \
GSMArena set from all five Hu & Liu files, so its train and dev templates and its test \
mentions included sentences of the four files held out for independent evaluation (the \
Canon G3 above among them), and the plateau rule was chosen after seeing those test \
mentions. It now reads `Nokia 6610.txt` only, as the later benchmarks do; the rule stays \
(it is the dev plateau's middle, whatever the test set), and the row above is rerun on \
the Nokia-only set: 98.7 on 826 mentions, 144 of them NIL (all synthetic now; the `subset 20` rows \
of 2026-11-23 come from the old set). Valid F1 moves by 1-1.5 points between equivalent \
settings (the same \
model with its features fit on 90% or 100% of train.txt: AG 73.4 vs 72.0; the same code \
in two runs of this session: AG 73.5 and 72.8), so differences under that are noise.

Tried and not kept (2026-12-02, out of fold as above): a log price ratio (the relative \
price difference is already a feature: +0.0), first-word (brand) agreement (AG +0.3, \
Abt-Buy 0.0), a logistic regression over the character 3-4-grams the titles share or not, \
stacked like `word_pair` (alone 64 / 60 F1; stacked AG 73.0 at C 0.3, 72.3 at C 1 against \
72.4, Abt-Buy -0.1), the manufacturer's words put into the title when it lacks them (AG \
71.7 against 72.4). Not used on purpose: 95% of the valid pairs' left records also occur \
in train.txt, so a record's known matches in train (or a ranking of the pairs that share \
a record within the evaluated batch) would raise valid F1 by exploiting how the Ditto \
splits were cut, not by matching better. Earlier (2026-12-01): a word-pair model \
(67.8 / 89.2 / 81.4 -> 73.0 / 88.4 / 85.0 AG / Abt-Buy / Walmart-Amazon on valid) and the \
out-of-fold threshold (73.4 / 91.0 / 83.7); tree settings (learning rate 0.03-0.08, \
15-63 leaves, 300-800 iterations, balanced class weights: out-of-fold F1 0.708-0.717 on \
AG, within noise); word-model variants (C 0.3 / 3, title bigrams, words found inside the \
other record's squashed text, left- and right-only words, all text instead of the title: \
no better); the MiniLM cosine of whole records (no gain); a MiniLM cross-encoder (top 3 \
layers + head trained: AG valid 68.2-69.8 alone, 71.3-73.6 blended with the trees, ~40 \
pairs/s per core). Not shipped. Again 2026-12-06 with all six layers trained and the \
blend fit without valid (`python -m benchmarks.pair_cross_encoder_probe`: the \
cross-encoder and the trees train on 80% of train.txt, a logistic regression over both \
and its threshold are fit on the other 20%, valid is scored once): Amazon-Google 66.0 \
alone, trees 72.3, both 73.7 (+1.4, inside the 1-1.5 points two equivalent runs differ \
by); Abt-Buy 73.2 alone, trees 90.4, both 89.6; the cross-encoder runs 265 \
(Amazon-Google) and 92 (Abt-Buy, longer records) pairs/s on both cores (bfloat16), a \
quarter of the speed floor or less. Not shipped.

Against the goals: **Abt-Buy 90: met on valid** in all three variants (90.4 static, 90.3 \
MiniLM, 90.2 without; was 89.9 / 89.1), but by less than the noise of the line. \
**Amazon-Google 76: not met** (72.8 static, 73.3 MiniLM, 72.5 without; Ditto's test \
figure is 75.6 with RoBERTa-base, 125M parameters, a few pairs/s on 2 cores). **>= 1,000 \
pairs/s: met by the default** (static vectors: 1,346 Abt-Buy, 2,528 Amazon-Google at load \
1.0-1.3) and without vectors (1,791 / 1,985), not with MiniLM (515 / 688). Every trained \
row beats the prompt backend on the same 30-pair subsets (F1 80-95 vs 0-57), 100x or more \
faster."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--models", type=Path, default=None, help="default: WORK/models")
    parser.add_argument("--work", type=Path, default=Path("/tmp/distill-match-bench"))
    parser.add_argument(
        "--prompt-n", type=int, default=30, help="0: no prompt rows (--only: keep the last ones)"
    )
    parser.add_argument("--only", nargs="*", help="model names to run (default: all)")
    parser.add_argument(
        "--embeddings",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="semantic candidate recall for GSMArena",
    )
    parser.add_argument(
        "--fc-embeddings",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="MiniLM features for HaluEval dialogue",
    )
    parser.add_argument(
        "--minilm",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Ditto sets: also the row with MiniLM title vectors (the slow one)",
    )
    parser.add_argument("--report-only", action="store_true", help="rewrite the section only")
    parser.add_argument("--no-write", action="store_true", help="do not touch BENCHMARKS.md")
    args = parser.parse_args()
    args.data_dir = args.data_dir.resolve()
    args.models = args.models or args.work / "models"
    # index files go to the work folder, never beside the catalogs in the shared data
    os.environ.setdefault("DISTILL_LINKER_INDEX_DIR", str(args.work / "index"))
    if args.report_only:  # rewrite the section from the last run's results.json
        stored = json.loads((args.work / "results.json").read_text())
        write_section(TITLE, table(stored.pop("rows"), stored))
        return
    register()
    names = args.only or [*MAGELLAN, "gsmarena_linking", *HALUEVAL]
    rows: list[dict[str, Any]] = []
    extra: dict[str, Any] = {}
    previous = args.work / "results.json"
    if args.only and previous.is_file():  # keep the other sets' rows from the last run
        stored = json.loads(previous.read_text())
        # --prompt-n 0 keeps the last run's subset rows (prompt beside trained) of these sets
        rows = [
            r
            for r in stored.pop("rows")
            if r["name"] not in names or (not args.prompt_n and r["set"].startswith("subset"))
        ]
        extra = stored if "gsmarena_linking" not in names else {}
    for name in names:
        if name in MAGELLAN:
            run_magellan(args, name, rows)
        elif name in HALUEVAL:
            run_halueval(args, name, rows)
        elif name == "gsmarena_linking":
            run_gsmarena(args, rows, extra)
        args.work.mkdir(parents=True, exist_ok=True)
        (args.work / "results.json").write_text(json.dumps({"rows": rows, **extra}, indent=1))
        if not args.no_write:  # after every set, so a long run leaves its rows so far
            write_section(TITLE, table(rows, extra))
    print(table(rows, extra))


if __name__ == "__main__":
    main()
