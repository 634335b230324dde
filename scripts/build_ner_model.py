"""Build the general product NER model that ships in `plugins/ner/general/` (one command).

    .venv/bin/python scripts/build_ner_model.py [--data-dir ../shared/data] [--conll 2000]
        [--products 3000]

Training data: the WNUT-17 train split (`product` → PRODUCT, `corporation` → BRAND;
every other type is left unlabelled), optionally the first N CoNLL-2003 train sentences
with ORG → BRAND (`--conll N`), and N review sentences (`--products N`) made from
`scripts/product_templates.txt` (sentences we wrote, with slots) filled with product
names from the Magellan product tables: a record's brand plus its title's words up to
the first model code ("Logitech Gamepad F310", "Sony MDR-XD100"), the code alone, or
the brand alone. WNUT-17's 3,400 tweets hold too few products for a model to learn
what a product name looks like (the model built from them alone scored F1 0.03 on its
dev split and found no "canon s30" in a review); the tables hold thousands. Reviews
are often lower-cased (Hu & Liu's are), so every sentence is also added lower-cased.
Dev: the official WNUT-17 dev split, mapped the same way; the best epoch on it is kept.
The catalog gazetteer is not in the model: it is built at run time from whatever
catalog is configured.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import shutil
import sys
from pathlib import Path

from spacy.tokens import Doc, Span

ROOT = Path(__file__).resolve().parents[1]
WNUT = {"product": "PRODUCT", "corporation": "BRAND"}
CONLL = {"ORG": "BRAND"}
LABELS = ["PRODUCT", "BRAND"]
TEMPLATES = ROOT / "scripts" / "product_templates.txt"
_UNIT = re.compile(
    r"^\d+(\.\d+)?-?(gb|tb|mb|mp|inch|in|mm|cm|w|mw|mbps|ghz|mhz|bay|key|tier|x|pk|pack|ft|"
    r"lb|oz|v|mah|hz|port|ch)$",
    re.I,
)


def _is_code(word: str) -> bool:
    """A model code ("F310", "MDR-XD100", "5670"), not a quantity ("16GB", "7-Inch")."""
    if _UNIT.match(word):
        return False
    digits, letters = any(c.isdigit() for c in word), any(c.isalpha() for c in word)
    return (digits and letters and len(word) >= 2) or (word.isdigit() and len(word) >= 3)


def short_name(brand: str, title: str) -> tuple[str, str] | None:
    """(name, code) as a reviewer writes it: the brand and the title's words up to the first
    model code, at most three words after the brand; None when the title has no code."""
    words = title.split()
    brand_words = brand.lower().split()
    if [w.lower() for w in words[: len(brand_words)]] != brand_words:
        return None
    rest = [w.strip(",()") for w in words[len(brand_words) :] if w not in ("-", "/", "|")]
    for i, word in enumerate(rest[:3]):
        if word and _is_code(word):
            return " ".join(words[: len(brand_words)] + rest[: i + 1]), word
    return None


def product_names(data_dir: Path) -> list[tuple[str, str, str]]:
    """(brand, name, code) from the Magellan product tables that have a brand: the
    Walmart-Amazon `brand` column, and the first word of an Abt-Buy name."""
    found = set()
    tables = data_dir / "magellan_er"
    for name in ("tableA.csv", "tableB.csv"):
        for row in _rows(tables / "Walmart-Amazon" / "source_tables" / name):
            brand = (row.get("brand") or "").strip()
            named = short_name(brand, row["title"]) if 0 < len(brand) <= 20 else None
            if named:
                found.add((brand, *named))
        for row in _rows(tables / "Abt-Buy" / "source_tables" / name):
            brand = row["name"].split()[0] if row["name"].split() else ""
            named = short_name(brand, row["name"]) if brand.isalpha() else None
            if named:
                found.add((brand, *named))
    return sorted(found)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", errors="replace", newline="") as rows:
        return list(csv.DictReader(rows))


def product_sentences(data_dir: Path, count: int, seed: int = 0) -> list[Doc]:
    """About `count` template sentences with products (PRODUCT) and brands (BRAND) in the slots:
    {P} and {Q} a name (one time in five its code alone), {M} a code, {B} a brand."""
    from distill.doc import make_doc

    rng = random.Random(seed)
    names = product_names(data_dir)
    templates = [t for t in TEMPLATES.read_text(encoding="utf-8").splitlines() if t.strip()]
    docs = []
    for _ in range(count):
        template = rng.choice(templates)
        text, spans, cursor = "", [], 0
        for slot in re.finditer(r"\{([PQMB])\}", template):
            brand, name, code = rng.choice(names)
            kind = slot.group(1)
            if kind in "PQ" and rng.random() < 0.2:
                kind = "M"
            if kind == "B":
                value, label = brand, "BRAND"
            else:
                value, label = (code if kind == "M" else name), "PRODUCT"
            text += template[cursor : slot.start()]
            spans.append((len(text), len(text) + len(value), label))
            text += value
            cursor = slot.end()
        text += template[cursor:]
        doc = make_doc(text)
        ents = [doc.char_span(a, b, label=label) for a, b, label in spans]
        if all(ents):  # a name the tokenizer does not cut off ("NC9100H." is one token)
            doc.ents = ents
            docs.append(doc)
    return docs


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
    parser.add_argument(
        "--products", type=int, default=3000, help="template review sentences with product names"
    )
    parser.add_argument("--max-minutes", type=float, default=18.0)
    parser.add_argument("--max-epochs", type=int, default=40)
    parser.add_argument(
        "--base", default=None, help="installed spaCy pipeline whose tok2vec to start from"
    )
    args = parser.parse_args()

    from distill.corpora import conll
    from distill.model_card import data_info, shared_files
    from distill.plugins.ner.train import NERTrainConfig
    from distill.workflow.train import fit

    wnut = args.data_dir / "wnut17"
    raw_train = list(conll.read(wnut / "wnut17train.conll"))
    raw_dev = list(conll.read(wnut / "emerging.dev.conll"))
    train = mapped(raw_train, WNUT) + mapped(raw_train, WNUT, lower=True)
    if args.conll:
        news = list(conll.read(args.data_dir / "conll2003" / "train.txt"))[: args.conll]
        train += mapped(news, CONLL) + mapped(news, CONLL, lower=True)
    made = product_sentences(args.data_dir, args.products) if args.products else []
    if made:
        train += made + mapped(made, {"PRODUCT": "PRODUCT", "BRAND": "BRAND"}, lower=True)
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
        | {
            "mapping": WNUT,
            "conll_sentences": args.conll,
            "product_sentences": len(made),
            "product_tables": "magellan_er Walmart-Amazon, Abt-Buy source_tables",
            "lowercased_copies": True,
        }
        # `distill evaluate` warns when it scores one of these (`model_card.seen_data`)
        | shared_files(args.data_dir, ["wnut17/wnut17train.conll", "conll2003/train.txt"]),
        dev_info=data_info(wnut / "emerging.dev.conll", "conll", dev)
        | {"mapping": WNUT}
        | shared_files(args.data_dir, ["wnut17/emerging.dev.conll"]),
        progress=progress,
    )
    print("dev", card.dev_scores, file=sys.stderr)


if __name__ == "__main__":
    main()
