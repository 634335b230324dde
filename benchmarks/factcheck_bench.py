"""Fact-checking: teach, train the shipped entailment checker, and write its BENCHMARKS.md rows.

    .venv/bin/python -m benchmarks.factcheck_bench teach --minutes 25   # the LLM teaches
    .venv/bin/python -m benchmarks.factcheck_bench train      # -> plugins/factcheck/general
    .venv/bin/python -m benchmarks.factcheck_bench window     # a checker trained before
                                                              # its window was chosen on dev
    .venv/bin/python -m benchmarks.factcheck_bench evaluate --prompt-n 20

`all` runs the three in order. Splits and subsets: `benchmarks/factcheck_data.py`.
Generated data (the taught claims) goes to --work, never the repo; the trained model
goes to plugins/factcheck/general/ (committed, with its model card). The rows and the
note the section is rebuilt from: `benchmarks/results/factcheck.json`, `factcheck_note.md`.
`train --contrast W` adds the contrastive claims (`factcheck_contrast.py`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import factcheck_data as data  # noqa: E402
from benchmarks.factcheck_contrast import contrastive_split  # noqa: E402
from benchmarks.report import machine, write_section  # noqa: E402

TITLE = "Fact-checking"
WORK = Path("/tmp/distill-factcheck-bench")
# tracked in git: the BENCHMARKS.md section is rebuilt from them
RESULTS = Path(__file__).resolve().parent / "results" / "factcheck.json"
NOTE = RESULTS.with_name("factcheck_note.md")


def taught_path(args: argparse.Namespace) -> Path:
    return args.work / "taught.jsonl"


# teach


def judge_with_prompt_backend() -> Any:
    """The factcheck task's `prompt` backend as `judge(evidence, claims) -> labels`."""
    from distill.config import load_config
    from distill.plugins.factcheck.task import FactCheckInput
    from distill.plugins.factory import make_backend, make_task

    config = load_config().config
    task = make_task("factcheck", config)
    backend = make_backend("factcheck", config, backend="prompt")

    def judge(evidence: str, claims: list[str]) -> list[Any]:
        doc = task.to_doc(FactCheckInput(answer=" ".join(claims), evidence=[evidence]))
        doc._.meta["claims"] = list(claims)
        backend.predict([doc])
        verdicts = task.read(doc).verdicts
        return [v.label for v in verdicts] if len(verdicts) == len(claims) else [None] * len(claims)

    return judge


def run_teach(args: argparse.Namespace) -> None:
    from distill.config import load_config
    from distill.llm import chat_model
    from distill.plugins.factcheck.teach import teach

    items = data.teaching_items(args.data_dir)
    llm = chat_model(load_config().config.llm)
    records = teach(items, llm, judge_with_prompt_backend(), taught_path(args), args.minutes * 60)
    kept = [r for r in records if r.kept]
    print(f"taught {len(records)} claims, kept {len(kept)} where the judge agrees", flush=True)


# train


HALUEVAL_FILES = ["halueval/qa_data.first20pct.json", "halueval/dialogue_data.first20pct.json"]
"""The shared files the checker trains on (the records before its dev and test parts)."""


def halueval(args: argparse.Namespace, variant: str) -> tuple[list, list, list]:
    path = args.data_dir / "halueval" / f"{variant}_data.first20pct.json"
    return data.halueval_split(path)


def training_sets(args: argparse.Namespace) -> tuple[list, list, dict[str, int]]:
    """(train, dev, counts): HaluEval qa (`--qa all`: every train answer, weighted so that
    length carries no information; `matched`: the length-matched subset), dialogue (every
    train answer, or the first `--dialogue`), the demo's claims (r01–r36), the taught
    claims that the judge agreed with. Dev: qa length-matched, dialogue (all 400 or the
    first `--dialogue-dev`), demo dev."""
    qa_train, qa_dev, _ = halueval(args, "qa")
    dialogue_train, dialogue_dev, _ = halueval(args, "dialogue")
    demo_train, demo_dev, _ = data.demo_split()
    taught = data.taught_docs(taught_path(args))
    qa = (
        data.length_balance_weights(qa_train, args.qa_weight)
        if args.qa == "all"
        else data.length_matched(qa_train)
    )
    parts = {
        "halueval_qa": qa,
        "halueval_dialogue": dialogue_train[: args.dialogue],
        "demo_claims": demo_train,
        "taught": taught,
    }
    for doc in parts["taught"]:
        doc._.meta["weight"] = args.taught_weight
    dev = data.length_matched(qa_dev) + dialogue_dev[: args.dialogue_dev] + demo_dev
    if args.contrast:
        contrast_train, contrast_dev, _ = contrastive_split(args.data_dir)
        for doc in contrast_train:
            doc._.meta["weight"] = args.contrast
        parts["contrast"] = contrast_train
        dev += contrast_dev
    train = [doc for docs in parts.values() for doc in docs]
    return train, dev, {name: len(docs) for name, docs in parts.items()}


def run_train(args: argparse.Namespace) -> None:
    from distill.model_card import data_info, shared_files
    from distill.plugins.factcheck.general import GENERAL_DIR
    from distill.plugins.factcheck.train import FactCheckTrainConfig
    from distill.workflow.train import fit

    train, dev, counts = training_sets(args)
    out = args.out or GENERAL_DIR
    settings = FactCheckTrainConfig(
        **{
            "model": args.model,
            "init": args.init,
            "epochs": args.epochs,
            "threads": 2,
            "learn_rate": args.learn_rate,
            "max_minutes": args.max_minutes,
            **dict(item.split("=", 1) for item in args.set or []),
        }
    )
    print(f"training on {counts} ({len(train)}), dev {len(dev)} -> {out}", flush=True)
    card = fit(
        "factcheck",
        train,
        dev,
        out,
        [],
        settings,
        train_info={
            "docs": len(train),
            "parts": counts,
            "built_by": "python -m benchmarks.factcheck_bench " + " ".join(sys.argv[1:]),
        }
        # `distill evaluate` warns when it scores one of these (`model_card.seen_data`)
        | shared_files(args.data_dir, HALUEVAL_FILES),
        dev_info=data_info(None, "halueval+demo", dev)
        | {"parts": "qa length-matched, dialogue, demo"},
        progress=_log,
    )
    print(f"dev {card.dev_scores}", flush=True)


def run_window(args: argparse.Namespace) -> None:
    """Choose a trained checker's evidence window on the training dev sets, as `train` now
    does at its end (`nli_train.choose_window`), and record it in the model's layout and
    card: for a checker trained before that step (the shipped one)."""
    from distill.model_card import CARD_FILE
    from distill.plugins.factcheck.general import GENERAL_DIR
    from distill.plugins.factcheck.nli import LAYOUT, NliModel
    from distill.plugins.factcheck.nli_train import choose_window

    out = args.out or GENERAL_DIR
    _, dev, _ = training_sets(args)
    model = NliModel.load(out)
    tried = choose_window(model, dev)
    for window, scores in tried.items():
        print(window, json.dumps(scores), flush=True)
    # the layout alone: the weights file stays as it was trained
    (out / LAYOUT).write_text(json.dumps(model.layout(), indent=2) + "\n", encoding="utf-8")
    card = json.loads((out / CARD_FILE).read_text(encoding="utf-8"))
    card["training"] |= {"check_words": model.window, "window_dev": tried}
    (out / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    print(f"{out}: checks read {model.window} evidence words", flush=True)


def _log(kind: str, info: dict) -> None:
    """Training events on stdout; batches every 50th (an epoch has hundreds)."""
    if kind != "batch" or info["done"] % 50 == 0:
        print(kind, json.dumps(info), flush=True)


# evaluate

PARAPHRASES = ROOT / "tests" / "fixtures" / "factcheck_paraphrases.jsonl"


def paraphrase_docs() -> list:
    """Hand-written claims about the held-out demo reviews (r37–r48) and two invented
    phone reviews: faithful paraphrases vs. flipped polarity, wrong numbers, swaps."""
    from distill.doc import make_doc
    from distill.plugins.factcheck.task import Verdict

    docs = []
    for n, line in enumerate(PARAPHRASES.read_text(encoding="utf-8").splitlines()):
        item = json.loads(line)
        meta = {"evidence": item["evidence"], "claims": [item["claim"]], "kind": item["kind"]}
        doc = make_doc(item["claim"], f"paraphrase-{n:02d}", meta=meta)
        doc._.verdicts = [Verdict(claim=item["claim"], label=item["label"], confidence=1.0)]
        docs.append(doc)
    return docs


def balanced(docs: list, n: int) -> list:
    """The first n docs taking labels in turn (HaluEval test pairs are already balanced)."""
    by_label: dict[str, list] = {}
    for doc in docs:
        by_label.setdefault(doc._.verdicts[0].label, []).append(doc)
    out: list = []
    while len(out) < n and any(by_label.values()):
        for label in sorted(by_label):
            if by_label[label] and len(out) < n:
                out.append(by_label[label].pop(0))
    return out


def supported_accuracy(gold: list, predicted: list) -> float:
    """Supported vs. not: what the guardrail acts on."""
    pairs = [
        (g._.verdicts[0].label, p._.verdicts[0].label if p._.verdicts else None)
        for g, p in zip(gold, predicted, strict=True)
    ]
    return sum((a == "supported") == (b == "supported") for a, b in pairs) / len(pairs)


def kind_of(model: Path) -> str:
    from distill.model_card import load_card

    kind = load_card(model, "factcheck").kind
    if kind.startswith("factcheck-stacked"):
        return "stacked: lexical + cross-encoder"
    return "MiniLM cross-encoder" if kind.startswith("factcheck-nli") else "lexical"


def score_row(
    name: str, split: str, gold: list, backend: str, model: Path | None, label: str | None = None
) -> dict:
    from distill.model_card import dir_size_mb
    from distill.workflow.evaluate import evaluate_backend

    load = os.getloadavg()[0]
    run = evaluate_backend("factcheck", gold, backend, model=model, batch_size=64)
    result = run.result
    size = "1117 (LLM)" if backend == "prompt" else f"{dir_size_mb(model)}"
    row = {
        "name": name,
        "split": split,
        "backend": backend if model is None else f"trained: {label or kind_of(model)}",
        "n": result.n,
        "accuracy": result.accuracy,
        "binary": supported_accuracy(gold, run.predicted),
        "per_second": round(len(gold) / result.seconds, 1) if result.seconds else None,
        "model_mb": size,
        "load": round(load, 1),
    }
    print(json.dumps(row), flush=True)
    return row


def run_evaluate(args: argparse.Namespace) -> None:
    from distill.plugins.factcheck.general import GENERAL_DIR

    models = [args.out or GENERAL_DIR, *(args.compare or [])]
    part = 1 if args.split == "dev" else 2
    qa = halueval(args, "qa")[part]
    dialogue = halueval(args, "dialogue")[part]
    demo = data.demo_split()[part]
    contrast = contrastive_split(args.data_dir)
    sets = [
        ("halueval_qa", f"{args.split}, length-matched", data.length_matched(qa)),
        ("halueval_dialogue", args.split, dialogue),
        ("demo_claims", "dev r01–r36" if part == 1 else "held-out r37–r48", demo),
        ("contrastive", "dev reviews" if part == 1 else "held-out r37–r48", contrast[part]),
        ("paraphrases", "hand-written, r37–r48 + 2", paraphrase_docs()),
    ]
    if args.only:
        sets = [s for s in sets if s[0] in args.only]
    results = RESULTS
    for name, split, gold in sets:
        rows = []
        if not args.prompt_only:
            for n, model in enumerate(models):
                label = args.labels[n] if args.labels and n < len(args.labels) else None
                rows.append(score_row(name, split, gold, "trained", Path(model), label))
        if args.prompt_n:
            small = balanced(gold, args.prompt_n)
            few = f"{split}, first {len(small)}"
            if not args.prompt_only:
                rows.append(score_row(name, few, small, "trained", Path(models[0])))
            if not args.no_prompt:
                rows.append(score_row(name, few, small, "prompt", None))
        merged = merge(results, rows)  # after every set: a long run keeps its rows so far
        if not args.no_write:
            write_section(TITLE, section(merged))
    print(table(merge(results, [])))


def merge(path: Path, rows: list[dict]) -> list[dict]:
    """The stored rows with these replacing the ones of the same set, split and backend
    (the prompt rows and the trained rows may come from separate runs)."""

    def key(r: dict) -> tuple:
        return (r["name"], r["split"], r["backend"])

    stored = json.loads(path.read_text()) if path.is_file() else []
    fresh = {key(r) for r in rows}
    merged = [r for r in stored if key(r) not in fresh] + rows
    order = ["halueval_qa", "halueval_dialogue", "demo_claims", "contrastive", "paraphrases"]
    merged.sort(key=lambda r: (order.index(r["name"]) if r["name"] in order else 9, r["split"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(merged, indent=1))
    return merged


def section(rows: list[dict]) -> str:
    """The table, then the note of what was tried (`NOTE`), which every rewrite keeps."""
    note = NOTE.read_text(encoding="utf-8").strip() if NOTE.is_file() else ""
    return table(rows) + (f"\n\n{note}" if note else "")


def table(rows: list[dict]) -> str:
    def pct(value: Any) -> str:
        return "—" if value is None else f"{value:.3f}"

    lines = [
        f"Machine of the newest rows: {machine()}; rows that name no CPU are from an AMD EPYC "
        "with AVX2 only (float32), 2026-12-02. `load`: the 1-minute load average when the "
        "row started (the 2 cores are shared, so checks/s are lower bounds).",
        "",
        "Reproduce: `python -m benchmarks.factcheck_bench train --model nli --init base "
        "--epochs 6 --learn-rate 1e-4 --max-minutes 12 --set frozen=2` (the shipped checker; "
        "`--out DIR` elsewhere), `train --model lexical --out DIR`, then "
        "`evaluate [--split dev] --no-prompt --prompt-n 0 --compare DIR ...`. Splits "
        "(`benchmarks/factcheck_data.py`), by record or review: HaluEval's shared 20% per "
        "variant, last 20% of records test, the 10% before them dev; qa **length-matched** "
        "(per answer length as many right as hallucinated answers); demo claims r37–r48 "
        "held out; *contrastive*: `benchmarks/factcheck_contrast.py` on r37–r48 (review "
        "sentences paraphrased, then flipped, negated, renumbered or given another "
        "product); *paraphrases*: 36 hand-written claims "
        "(`tests/fixtures/factcheck_paraphrases.jsonl`), 17 faithful, 19 altered. "
        "*supported vs. not* is what the guardrail acts on. The cross-encoder runs "
        "bfloat16 where the CPU multiplies it in hardware (AMX or AVX512-BF16), else "
        "float32; int8 only on request. Each row's backend says its precision and CPU.",
        "",
        "| set | split | backend | n | accuracy | supported vs. not | checks/s | model MB | load |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['split']} | {r['backend']} | {r['n']} | {pct(r['accuracy'])} | "
            f"{pct(r['binary'])} | {r['per_second'] or '—'} | {r['model_mb']} | {r['load']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "command", choices=["teach", "train", "window", "evaluate", "report", "all"]
    )
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--minutes", type=float, default=25, help="teach: LLM time budget")
    parser.add_argument("--prompt-n", type=int, default=20, help="evaluate: prompt-row items")
    parser.add_argument("--model", choices=["nli", "lexical", "stacked"], default="nli")
    parser.add_argument("--set", nargs="*", help="train: more settings, e.g. frozen=2")
    parser.add_argument("--init", default="base", help="train: base, general or a model dir")
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--max-minutes", type=float, help="train: time budget after caching")
    parser.add_argument("--learn-rate", type=float, default=5e-5)
    parser.add_argument("--qa", choices=["all", "matched"], default="all", help="train: qa data")
    parser.add_argument("--qa-weight", type=float, default=3.0, help="train: --qa all scale")
    parser.add_argument("--dialogue", type=int, help="dialogue train answers (default: all)")
    parser.add_argument("--dialogue-dev", type=int, help="dialogue dev answers (default: all)")
    parser.add_argument("--taught-weight", type=float, default=2.0)
    parser.add_argument(
        "--contrast",
        type=float,
        default=0.0,
        help="train: add the contrastive claims (`factcheck_contrast.py`) at this weight",
    )
    parser.add_argument("--out", type=Path, help="train: model dir (default: the shipped one)")
    parser.add_argument("--split", choices=["test", "dev"], default="test", help="evaluate")
    parser.add_argument("--only", nargs="*", help="evaluate: these sets only")
    parser.add_argument("--labels", nargs="*", help="evaluate: backend names of the models")
    parser.add_argument("--prompt-only", action="store_true", help="evaluate: prompt rows only")
    parser.add_argument("--no-prompt", action="store_true", help="evaluate: no prompt rows")
    parser.add_argument("--compare", nargs="*", type=Path, help="evaluate: more model dirs")
    parser.add_argument("--merge", nargs="*", type=Path, help="report: more results.json")
    parser.add_argument(
        "--note", help="report: the text after the table (what was tried; kept in results/)"
    )
    parser.add_argument("--no-write", action="store_true", help="do not touch BENCHMARKS.md")
    args = parser.parse_args()
    args.data_dir = args.data_dir.resolve()
    if args.command in ("teach", "all"):
        run_teach(args)
    if args.command in ("train", "all"):
        run_train(args)
    if args.command == "window":
        run_window(args)
    if args.command in ("evaluate", "all"):
        run_evaluate(args)
    if args.command == "report":  # rewrite the section from --work's results.json (+ --merge)
        rows: list[dict] = []
        for extra in args.merge or []:
            rows += json.loads(Path(extra).read_text())
        if args.note:
            NOTE.write_text(args.note + "\n", encoding="utf-8")
        write_section(TITLE, section(merge(RESULTS, rows)))


if __name__ == "__main__":
    main()
