"""Would a MiniLM cross-encoder lift the trained matcher on the Ditto sets?

Ditto reads both records of a pair in one transformer pass (RoBERTa-base: Amazon-Google
75.6 test F1, where our gradient-boosted pair features score 72.8 on valid). This probe
fine-tunes the bundled all-MiniLM-L6-v2 the same way (records as "title | maker | price",
both orders, mean pool, one logit, AdamW 3e-5, bfloat16 autocast) and stacks it on our
matcher, without touching valid until the end:

- `train.txt` is split 80/20 by pair (seed 0); the cross-encoder and `distill train linker`
  (the shipped recipe) train on the 80%;
- a logistic regression over the two logits, and its F1 threshold, are fit on the 20%;
- valid.txt is scored once, for the matcher alone, the cross-encoder alone and the stack.

    python -m benchmarks.pair_cross_encoder_probe [--set Amazon-Google] [--epochs 4]
        [--data ../shared/data] [--work /tmp/distill-pair-ce]

Not part of the product: it prints what it measured, BENCHMARKS.md (*Entity linking and
fact-checking*) quotes it.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from distill.corpora.ditto import parse_record

Pair = tuple[dict[str, str], dict[str, str], int, str]


def read_pairs(path: Path) -> list[Pair]:
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if len(fields) == 3:
            left, right = parse_record(fields[0]), parse_record(fields[1])
            if left is not None and right is not None:
                pairs.append((left, right, int(fields[2]), line))
    return pairs


def record_text(record: dict[str, str]) -> str:
    title = record.get("title") or record.get("name") or ""
    return " | ".join([title, *(v for k, v in record.items() if k not in ("title", "name") and v)])


def f1_at(probs: np.ndarray, gold: np.ndarray, threshold: float) -> float:
    predicted = probs >= threshold
    hits = int((predicted & (gold == 1)).sum())
    return 0.0 if hits == 0 else 2 * hits / (int(predicted.sum()) + int((gold == 1).sum()))


def best_threshold(probs: np.ndarray, gold: np.ndarray) -> tuple[float, float]:
    grid = np.linspace(0.02, 0.98, 97)
    scores = [f1_at(probs, gold, t) for t in grid]
    best = int(np.argmax(scores))
    return float(grid[best]), scores[best]


class CrossEncoder(nn.Module):
    def __init__(self, path: Path) -> None:
        from transformers import AutoModel

        super().__init__()
        self.encoder = AutoModel.from_pretrained(path)
        self.head = nn.Linear(self.encoder.config.hidden_size, 1)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        states = self.encoder(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        return self.head((states * mask).sum(1) / mask.sum(1)).squeeze(-1)


def train_cross_encoder(fit: list[Pair], hold: list[Pair], epochs: int) -> tuple:
    """The model of the epoch with the best F1 on `hold`, its tokenizer."""
    from transformers import AutoTokenizer

    from distill.plugins.linker.embed import minilm_path

    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    model = CrossEncoder(minilm_path())

    def encode(items: list[Pair]) -> dict[str, torch.Tensor]:
        return tokenizer(
            [record_text(p[0]) for p in items],
            [record_text(p[1]) for p in items],
            truncation=True,
            max_length=128,
            padding=True,
            return_tensors="pt",
        )

    positives = sum(p[2] for p in fit)
    loss_fn = nn.BCEWithLogitsLoss(
        pos_weight=torch.tensor((len(fit) - positives) / max(positives, 1)) ** 0.5
    )
    optimizer = torch.optim.AdamW(
        [
            {"params": model.encoder.parameters(), "lr": 3e-5},
            {"params": model.head.parameters(), "lr": 1e-3},
        ],
        weight_decay=0.01,
    )
    steps = epochs * ((len(fit) + 31) // 32)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, s / (0.1 * steps)) * max(0.0, (steps - s) / (0.9 * steps))
    )
    gold_hold = np.array([p[2] for p in hold])
    best: tuple[float, dict | None] = (-1.0, None)
    flips = random.Random(0)
    for epoch in range(epochs):
        model.train()
        order = list(range(len(fit)))
        random.Random(epoch).shuffle(order)
        started = time.perf_counter()
        for start in range(0, len(order), 32):
            items = [fit[i] for i in order[start : start + 32]]
            if flips.random() < 0.5:  # matching is symmetric: both orders
                items = [(p[1], p[0], p[2], p[3]) for p in items]
            with torch.autocast("cpu", dtype=torch.bfloat16):
                logits = model(encode(items)).float()
            loss = loss_fn(logits, torch.tensor([float(p[2]) for p in items]))
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
        probs, _ = predict(model, encode, hold)
        threshold, f1 = best_threshold(probs, gold_hold)
        seconds = time.perf_counter() - started
        print(f"epoch {epoch + 1}: {seconds:.0f} s, 20% F1 {f1:.3f} at {threshold:.2f}", flush=True)
        if f1 > best[0]:
            best = (f1, {k: v.clone() for k, v in model.state_dict().items()})
    assert best[1] is not None
    model.load_state_dict(best[1])
    return model, encode


@torch.inference_mode()
def predict(model: CrossEncoder, encode, items: list[Pair]) -> tuple[np.ndarray, float]:
    """Match probabilities and pairs per second (bfloat16 autocast, length-sorted batches)."""
    model.eval()
    out = np.zeros(len(items))
    order = sorted(range(len(items)), key=lambda i: len(items[i][3]))
    started = time.perf_counter()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        for start in range(0, len(order), 64):
            ids = order[start : start + 64]
            logits = model(encode([items[i] for i in ids])).float()
            out[ids] = torch.sigmoid(logits).numpy()
    return out, len(items) / (time.perf_counter() - started)


def matcher_probs(model_dir: Path, items: list[Pair]) -> np.ndarray:
    from distill.plugins.linker.model import LinkerModel, record_side

    model = LinkerModel.load(model_dir)
    sides = [(record_side(p[0]), record_side(p[1])) for p in items]
    return model.probabilities(model.pair_matrix(sides))


def logit(probs: np.ndarray) -> np.ndarray:
    clipped = np.clip(probs, 1e-4, 1 - 1e-4)
    return np.log(clipped / (1 - clipped))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="Amazon-Google")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/distill-pair-ce"))
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression

    torch.manual_seed(0)
    folder = args.data / "magellan_er" / args.set
    work = args.work / args.set
    work.mkdir(parents=True, exist_ok=True)
    train, valid = read_pairs(folder / "train.txt"), read_pairs(folder / "valid.txt")
    random.Random(0).shuffle(train)
    cut = int(len(train) * 0.8)
    fit, hold = train[:cut], train[cut:]
    (work / "fit.txt").write_text("".join(p[3] + "\n" for p in fit), encoding="utf-8")
    print(f"{args.set}: {len(fit)} pairs to fit, {len(hold)} to stack on, {len(valid)} valid")

    matcher_dir = work / "matcher"
    command = [sys.executable, "-m", "distill.cli", "train", "linker"]
    command += ["--data", str(work / "fit.txt"), "--format", "ditto", "--out", str(matcher_dir)]
    subprocess.run(command, check=True, capture_output=True)
    model, encode = train_cross_encoder(fit, hold, args.epochs)

    gold_hold = np.array([p[2] for p in hold])
    gold_valid = np.array([p[2] for p in valid])
    matcher_hold, matcher_valid = (
        matcher_probs(matcher_dir, hold),
        matcher_probs(matcher_dir, valid),
    )
    cross_hold, _ = predict(model, encode, hold)
    cross_valid, rate = predict(model, encode, valid)
    rows = {
        "matcher alone": (matcher_hold, matcher_valid),
        "cross-encoder alone": (cross_hold, cross_valid),
    }
    stack = LogisticRegression().fit(np.c_[logit(matcher_hold), logit(cross_hold)], gold_hold)
    rows["stacked"] = tuple(
        stack.predict_proba(np.c_[logit(m), logit(c)])[:, 1]
        for m, c in ((matcher_hold, cross_hold), (matcher_valid, cross_valid))
    )
    for name, (on_hold, on_valid) in rows.items():
        threshold, f1 = best_threshold(on_hold, gold_hold)
        valid_f1 = f1_at(on_valid, gold_valid, threshold)
        print(f"{name}: 20% F1 {f1:.3f} at {threshold:.2f}, valid F1 {valid_f1:.3f}")
    print(f"cross-encoder: {rate:.0f} pairs/s on valid")


if __name__ == "__main__":
    main()
