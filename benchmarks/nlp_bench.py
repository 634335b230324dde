"""NER and aspect-sentiment benchmarks: train the trained backend, score both backends.

    python -m benchmarks.nlp_bench [--data-dir ../shared/data] [--only conll2003 ...]
                                   [--prompt-limit 50] [--retrain]

For each dataset: read the train split natively, carve a deterministic dev split
(`split_dev`, as `distill train` does without --dev), train into
`benchmarks/models/<name>/` (skipped when a model exists, unless --retrain), then
score the trained backend on the whole dev split and the prompt backend on its first
`--prompt-limit` docs, with the same code as `distill evaluate`. Rows accumulate in
`benchmarks/.cache/nlp_results.json`; the `## NER and aspect sentiment` section of
BENCHMARKS.md is rewritten from them after every dataset.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "benchmarks" / "models"
RESULTS = ROOT / "benchmarks" / ".cache" / "nlp_results.json"
SECTION = "## NER and aspect sentiment"


@dataclass(frozen=True)
class Dataset:
    name: str
    task: str
    format: str
    train: str
    metric: str
    gold: str | None = None
    """A separate gold file to evaluate on (r/cooking): train on silver minus its texts."""
    settings: tuple[tuple[str, Any], ...] = ()
    prompt_limit: int | None = None
    """Cap on prompt-backend docs for long texts (overrides --prompt-limit when lower)."""


DATASETS = [
    Dataset(
        "conll2003",
        "ner",
        "conll",
        "conll2003/train.txt",
        "F1",
        settings=(("max_epochs", 12), ("max_minutes", 14), ("patience", 2)),
    ),
    Dataset(
        "wnut17",
        "ner",
        "conll",
        "wnut17/wnut17train.conll",
        "F1",
        settings=(("max_epochs", 20), ("max_minutes", 5), ("patience", 3)),
    ),
    Dataset(
        "reddit_cooking_ner",
        "ner",
        "prodigy",
        "reddit_cooking_ner/gpt3-5-zeroshot.jsonl",
        "F1",
        gold="reddit_cooking_ner/hmwk-1-review.jsonl",
        settings=(("max_epochs", 30), ("max_minutes", 4), ("patience", 4)),
    ),
    Dataset(
        "semeval2014_laptops",
        "sentiment",
        "semeval14",
        "semeval2014_absa/Laptop_Train_v2.xml",
        "accuracy",
        settings=(("max_epochs", 2), ("max_minutes", 5)),
    ),
    Dataset(
        "semeval2016_laptops",
        "sentiment",
        "semeval16",
        "semeval2016_absa/ABSA16_Laptops_Train_SB1_v2.xml",
        "F1",
        settings=(("max_epochs", 3), ("max_minutes", 5), ("learn_rate", 1e-4)),
    ),
    Dataset(
        "semeval2014_restaurants",
        "sentiment",
        "semeval14",
        "semeval2014_absa/Restaurants_Train_v2.xml",
        "accuracy",
        settings=(("max_epochs", 2), ("max_minutes", 5)),
    ),
]


def splits(ds: Dataset, data_dir: Path) -> tuple[list, list, str]:
    """(train docs, evaluation docs, description of the evaluation split)."""
    from distill.corpora import read_corpus
    from distill.model_card import split_dev

    docs = read_corpus(data_dir / ds.train, ds.format, ds.task)
    if ds.gold is None:
        train, dev = split_dev(docs)
        return train, dev, f"dev (10% of {Path(ds.train).name}, seed 0)"
    gold = read_corpus(data_dir / ds.gold, ds.format, ds.task)
    gold_texts = {d.text for d in gold}
    silver = [d for d in docs if d.text not in gold_texts]
    return silver, gold, f"gold {Path(ds.gold).name} (all; silver minus these texts for training)"


def run(ds: Dataset, data_dir: Path, prompt_limit: int, retrain: bool) -> list[dict[str, Any]]:
    from distill.corpora import labels_of
    from distill.model_card import split_dev
    from distill.workflow.evaluate import run_evaluation
    from distill.workflow.train import fit, trainer_for

    train_docs, eval_docs, split = splits(ds, data_dir)
    out = MODELS / ds.name
    if retrain or not (out / "distill-model.json").is_file():
        trainer = trainer_for(ds.task)
        fit_docs, dev_docs = split_dev(train_docs) if ds.gold else (train_docs, eval_docs)
        print(f"[{ds.name}] training on {len(fit_docs)} docs, dev {len(dev_docs)}", flush=True)
        fit(
            ds.task,
            fit_docs,
            dev_docs,
            out,
            labels_of(train_docs, ds.task),
            trainer.CONFIG(**dict(ds.settings)),
            train_info={"path": ds.train, "docs": len(fit_docs)},
            dev_info={"split": split, "docs": len(dev_docs)},
        )
    rows = []
    limit = min(prompt_limit, ds.prompt_limit or prompt_limit)
    for backend, docs in (("trained", eval_docs), ("prompt", eval_docs[:limit])):
        print(f"[{ds.name}] evaluating {backend} on {len(docs)} docs", flush=True)
        result, failures = run_evaluation(
            ds.task, docs, backend, model=out if backend == "trained" else None
        )
        row = result.model_dump() | {
            "dataset": ds.name,
            "split": split if backend == "trained" else f"first {len(docs)} of {split}",
            "metric": ds.metric,
            "invalid_llm_outputs": len(failures),
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def machine() -> str:
    cpu = "unknown CPU"
    try:
        text = Path("/proc/cpuinfo").read_text()
        cpu = re.search(r"model name\s*:\s*(.+)", text).group(1).strip()  # type: ignore[union-attr]
    except (OSError, AttributeError):
        pass
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} CPU cores ({cpu}), {ram:.0f} GB RAM, {platform.system()} "
        f"{platform.machine()}, Python {platform.python_version()}; machine shared with other jobs"
    )


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def section(rows: list[dict[str, Any]]) -> str:
    lines = [
        SECTION,
        "",
        f"Run {date.today().isoformat()} on {machine()}.",
        "Reproduce: `python -m benchmarks.nlp_bench`.",
        "Trained models: spaCy CNN NER (blank `en`, efficiency tok2vec); MiniLM-L6 fine-tuned for "
        "aspect sentiment. Prompt backend: the embedded Qwen2.5-Coder-1.5B Q4_K_M (llama.cpp, "
        "JSON-schema decoding), evaluated on a fixed prefix of the same split (it is slow). "
        "Each dev split is carved from train (10%, seed 0); r/cooking trains on the GPT-3.5 silver "
        "annotations whose texts are not among the 177 reviewed ones and evaluates on those 177.",
        "",
        "| dataset | split | metric | backend | n | P | R | F1 | accuracy | words/s | model MB "
        "| LLM calls | invalid LLM outputs |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['dataset']} | {r['split']} | {r['metric']} | {r['backend']} | {r['n']} "
            f"| {fmt(r['precision'])} | {fmt(r['recall'])} | {fmt(r['f1'])} | {fmt(r['accuracy'])} "
            f"| {fmt(r['words_per_second'], 1)} | {fmt(r['model_size_mb'], 1)} | {r['llm_calls']} "
            f"| {r.get('invalid_llm_outputs', 0)} |"
        )
    lines.append("")
    lines.append(
        "n is documents (sentences) for NER and SemEval-2016, aspect terms for SemEval-2014. "
        "Words/s counts tokens over prediction time only (model loading excluded)."
    )
    return "\n".join(lines) + "\n"


def write_section(rows: list[dict[str, Any]], path: Path = ROOT / "BENCHMARKS.md") -> None:
    """Replace only our section (up to the next `## `), keeping everyone else's."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n\n"
    new = section(rows)
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = (
        pattern.sub(lambda _: new + "\n", text)
        if pattern.search(text)
        else text.rstrip() + "\n\n" + new
    )
    path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--only", nargs="*", choices=[d.name for d in DATASETS])
    parser.add_argument("--prompt-limit", type=int, default=50)
    parser.add_argument("--retrain", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    stored = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for ds in DATASETS:
        if args.only and ds.name not in args.only:
            continue
        stored[ds.name] = run(ds, args.data_dir, args.prompt_limit, args.retrain)
        RESULTS.write_text(json.dumps(stored, indent=2))
        order = [d.name for d in DATASETS]
        write_section([r for name in order if name in stored for r in stored[name]])


if __name__ == "__main__":
    main()
