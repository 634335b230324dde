"""Fine-tune the entailment checker (`nli.NliModel`) on gold fact-check docs.

Each gold verdict is one example (claim, the doc's evidence and question, label). Two
kinds of label:

- claim-level data (the demo claims, taught claims) says which of the three labels;
- answer-level data (HaluEval, `doc._.meta["answer_level"]`) only says whether the
  answer is supported; a hallucinated answer may be contradicted or unverifiable, so
  its loss is -log(p(contradicted) + p(not_enough_info)), not a guess at one of them.

`doc._.meta["weight"]` scales an example's loss (the benchmark uses it to balance
HaluEval qa's classes within each answer length). Training starts from the shipped
general model when there is one (`init="general"`), else from the MiniLM package; the
state with the best dev score is kept, and the threshold on p(supported) is tuned on
dev for the task's own score; then the evidence window is shortened while dev holds
(`choose_window`).
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from spacy.tokens import Doc

from distill.plugins.averaging import WeightAverage
from distill.plugins.factcheck.claims import evidence_of, question_of
from distill.plugins.factcheck.model import Check
from distill.plugins.factcheck.nli import (
    CHECK_WINDOWS,
    EVIDENCE_WORDS,
    LABELS,
    NliModel,
    autocast,
)
from distill.plugins.factcheck.task import FactCheckTask, Verdict, Verdicts

Progress = Callable[[str, dict[str, Any]], None]
MIN_WINDOW_CHECKS = 200
"""Dev checks below which training keeps the evidence window it trained with
(`choose_window`; the shipped checker's dev has 598)."""
UNSUPPORTED = -1
"""Target of an answer-level "not supported": contradicted or not_enough_info."""


def examples(docs: Sequence[Doc]) -> tuple[list[Check], list[int], list[float]]:
    checks, targets, weights = [], [], []
    for doc in docs:
        meta = doc._.meta or {}
        for verdict in doc._.verdicts or []:
            checks.append(Check(verdict.claim, evidence_of(doc), question_of(doc)))
            if verdict.label != "supported" and meta.get("answer_level"):
                targets.append(UNSUPPORTED)
            else:
                targets.append(LABELS.index(verdict.label))
            weights.append(float(meta.get("weight", 1.0)))
    return checks, targets, weights


def loss_of(logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Cross-entropy; for UNSUPPORTED targets, on the merged not-supported class."""
    log_p = logits.log_softmax(-1)
    exact = -log_p.gather(1, targets.clamp(min=0).unsqueeze(1)).squeeze(1)
    merged = -torch.logsumexp(log_p[:, 1:], dim=-1)
    per_example = torch.where(targets == UNSUPPORTED, merged, exact)
    return (per_example * weights).sum() / weights.sum().clamp(min=1e-6)


def _batches(lengths: Sequence[int], size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar length: sort within shuffled chunks of 50 batches."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    chunk = size * 50
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: lengths[i])
        batches += [part[i : i + size] for i in range(0, len(part), size)]
    rng.shuffle(batches)
    return batches


def cache_bottom(
    model: NliModel, checks: Sequence[Check], batch_size: int = 32
) -> list[torch.Tensor]:
    """Each example's states after the frozen layers (float16, unpadded): computed once,
    so an epoch runs only the trained layers."""
    model.train(False)
    ids = model.tokenize(model.pairs(checks))
    out: list[torch.Tensor] = [torch.empty(0)] * len(ids)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        with autocast():
            states = model.bottom(model.batch([ids[i] for i in rows]))
        for row, i in enumerate(rows):
            out[i] = states[row, : len(ids[i])].half()
    return out


def _stack(states: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad cached states to one batch; the attention mask marks real tokens."""
    longest = max(len(s) for s in states)
    hidden = torch.zeros(len(states), longest, states[0].shape[-1])
    mask = torch.zeros(len(states), longest, dtype=torch.long)
    for row, s in enumerate(states):
        hidden[row, : len(s)] = s.float()
        mask[row, : len(s)] = 1
    return hidden, mask


@torch.no_grad()
def cached_probabilities(model: NliModel, states: Sequence[torch.Tensor]) -> np.ndarray:
    model.train(False)
    out = np.zeros((len(states), len(LABELS)), dtype=np.float32)
    order = sorted(range(len(states)), key=lambda i: len(states[i]))
    for start in range(0, len(order), 64):
        rows = order[start : start + 64]
        with autocast():
            logits = model.top(*_stack([states[i] for i in rows]))
        out[rows] = logits.float().softmax(-1).numpy()
    return out


Best = tuple[float, Any, float, dict[str, Any]]


def fine_tune(
    model: NliModel,
    train_docs: Sequence[Doc],
    dev_docs: Sequence[Doc],
    epochs: float,
    batch_size: int,
    learn_rate: float,
    head_learn_rate: float,
    seed: int,
    progress: Progress | None = None,
    max_minutes: float | None = None,
    average_from: int | None = None,
    max_steps: int | None = None,
) -> dict[str, Any]:
    """Train in place; keep the best dev state; return training facts and dev scores.

    `max_minutes` ends training early (after a last dev evaluation): on a shared CPU a
    fixed time budget is what can be promised, not a number of epochs. `max_steps` ends
    it after that many batches, the learning-rate schedule still planned for `epochs`:
    what a time-bounded run did, repeatable on any machine. From epoch
    `average_from` on, the running mean of the epoch-end weights (checkpoint averaging)
    competes on dev beside the epoch's own weights; training goes on from its own."""
    torch.manual_seed(seed)
    rng = random.Random(seed)
    started = time.perf_counter()
    checks, targets, weights = examples(train_docs)
    states = cache_bottom(model, checks) if epochs > 0 else []
    dev_checks = examples(dev_docs)[0]
    dev_states = cache_bottom(model, dev_checks)
    if progress:
        progress(
            "cached", {"examples": len(states), "seconds": round(time.perf_counter() - started)}
        )
    y, w = torch.tensor(targets), torch.tensor(weights, dtype=torch.float32)
    steps_per_epoch = max(1, -(-len(states) // batch_size))
    total = int(steps_per_epoch * epochs)
    optimizer = torch.optim.AdamW(
        [
            {"params": [p for p in model.top_layers.parameters()], "lr": learn_rate},
            {"params": list(model.head.parameters()), "lr": head_learn_rate},
        ],
        weight_decay=0.01,
    )
    warmup = max(1, total // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup + 1))),
    )
    evaluations = {min(total, int(steps_per_epoch * (e + 1))) for e in range(int(np.ceil(epochs)))}
    average = WeightAverage([model.top_layers, model.head]) if average_from else None
    best: Best = (-1.0, model.state(), model.threshold, {})
    if dev_docs:
        threshold, scores = tune(model, dev_docs, cached_probabilities(model, dev_states))
        best = (scores["accuracy"], model.state(), threshold, scores)
        if progress:
            progress("epoch", {"step": 0, "dev": scores, "threshold": threshold})
    step, done = 0, total == 0
    deadline = time.perf_counter() + 60 * max_minutes if max_minutes else None
    while not done:
        for rows in _batches([len(s) for s in states], batch_size, rng):
            model.train(True)
            with autocast():
                logits = model.top(*_stack([states[i] for i in rows]))
            loss = loss_of(logits.float(), y[rows], w[rows])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.trainable(), 1.0)
            optimizer.step()
            schedule.step()
            step += 1
            if progress:  # the same "batch" event as the other trainers: the CLI's bar
                epoch, done_in_epoch = divmod(step - 1, steps_per_epoch)
                batch = {"epoch": epoch + 1, "done": done_in_epoch + 1, "total": steps_per_epoch}
                progress("batch", batch | {"loss": round(loss.item(), 4)})
            out_of_time = deadline is not None and time.perf_counter() > deadline
            done = step >= total or out_of_time or step == max_steps
            if dev_docs and (step in evaluations or done):
                best = _evaluate(model, dev_docs, dev_states, step, best, progress)
                if average is not None and -(-step // steps_per_epoch) >= (average_from or 0):
                    average.add()
                    average.swap()
                    best = _evaluate(
                        model, dev_docs, dev_states, step, best, progress, average.count
                    )
                    average.swap()
            if done:
                break
    if dev_docs:
        model.restore(best[1])
        model.threshold = best[2]
    return {
        "examples": len(states),
        "steps": step,
        "train_seconds": round(time.perf_counter() - started, 1),
        "dev_scores": best[3],
    }


def _evaluate(
    model: NliModel,
    dev_docs: Sequence[Doc],
    dev_states: Sequence[torch.Tensor],
    step: int,
    best: Best,
    progress: Progress | None,
    averaged: int = 0,
) -> Best:
    """Score dev at this step; the new best (score, state, threshold, scores) or the old.
    `averaged`: the model holds the mean of that many epoch-end weights."""
    threshold, scores = tune(model, dev_docs, cached_probabilities(model, dev_states))
    if averaged:
        scores = {**scores, "averaged_epochs": averaged}
    if progress:
        progress("epoch", {"step": step, "dev": scores, "threshold": threshold})
    return (
        (scores["accuracy"], model.state(), threshold, scores)
        if scores["accuracy"] > best[0]
        else best
    )


def _groups(docs: Sequence[Doc]) -> dict[str, list[int]]:
    """Dev docs by what they are (`meta["group"]`, else the HaluEval variant, else
    claim-level), scored apart."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, doc in enumerate(docs):
        meta = doc._.meta or {}
        name = str(meta.get("variant", "claims")) if meta.get("answer_level") else "claims"
        name = str(meta.get("group") or name)
        groups[name].append(i)
    return groups


def tune(
    model: NliModel, dev_docs: Sequence[Doc], probs: np.ndarray | None = None
) -> tuple[float, dict[str, Any]]:
    """The threshold on p(supported) with the best mean dev accuracy over the groups
    (each HaluEval variant, the claim-level docs): one forward pass, then a sweep."""
    checks, _, _ = examples(dev_docs)
    probs = model.probabilities(checks) if probs is None else probs
    best: tuple[float, float, dict[str, Any]] = (0.5, -1.0, {})
    for threshold in np.arange(0.1, 0.91, 0.05):
        verdicts = [
            model.verdict(c, p, float(threshold)) for c, p in zip(checks, probs, strict=True)
        ]
        scores = group_scores(dev_docs, verdicts)
        mean = float(np.mean(list(scores.values())))
        if mean > best[1]:
            best = (round(float(threshold), 2), mean, {"accuracy": round(mean, 4), **scores})
    return best[0], best[2]


def group_scores(dev_docs: Sequence[Doc], verdicts: Sequence[Verdict]) -> dict[str, float]:
    """Accuracy per dev group (`_groups`) of `verdicts`, one per gold verdict in doc order."""
    task = FactCheckTask()
    cursor, predicted = 0, []
    for doc in dev_docs:
        n = len(doc._.verdicts or [])
        copy = doc.copy()
        task.write(copy, Verdicts(verdicts=list(verdicts[cursor : cursor + n])))
        predicted.append(copy)
        cursor += n
    return {
        name: round(
            task.score([dev_docs[i] for i in rows], [predicted[i] for i in rows]).accuracy or 0.0, 4
        )
        for name, rows in _groups(dev_docs).items()
    }


def group_accuracy(model: NliModel, dev_docs: Sequence[Doc]) -> dict[str, float]:
    """Accuracy per dev group at the model's own threshold and window."""
    checks, _, _ = examples(dev_docs)
    return group_scores(dev_docs, model.verdicts(checks))


def choose_window(model: NliModel, dev_docs: Sequence[Doc]) -> dict[str, Any]:
    """Walk the evidence window down `CHECK_WINDOWS` from the one trained with, and keep the
    last before any dev group scores lower than with the full window: a shorter pair costs
    less (HaluEval qa's knowledge fills the 80 words), and the sentences sharing most
    words with the claim, the ones that decide, are kept first. Sets `model.window`;
    returns each window's dev accuracy per group (nothing, and the trained window kept,
    when dev has fewer than `MIN_WINDOW_CHECKS` checks: a few claims cannot show a loss)."""
    model.window = EVIDENCE_WORDS
    if len(examples(dev_docs)[0]) < MIN_WINDOW_CHECKS:
        return {}
    base = group_accuracy(model, dev_docs)
    tried: dict[str, Any] = {str(EVIDENCE_WORDS): base}
    chosen = EVIDENCE_WORDS
    for window in CHECK_WINDOWS:
        model.window = window
        scores = group_accuracy(model, dev_docs)
        tried[str(window)] = scores
        if any(scores[name] < base[name] for name in base):
            break
        chosen = window
    model.window = chosen
    return tried


def train_nli(
    train_docs: Sequence[Doc],
    dev_docs: Sequence[Doc],
    out: Path,
    init: Path | None,
    frozen: int,
    epochs: float,
    batch_size: int,
    learn_rate: float,
    head_learn_rate: float,
    seed: int,
    threads: int | None,
    progress: Progress | None = None,
    max_minutes: float | None = None,
    average_from: int | None = None,
    max_steps: int | None = None,
) -> dict[str, Any]:
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)  # the head's initial weights too: a rerun is the same model
    model = NliModel.load(init) if init is not None else NliModel(frozen=frozen)
    model.window = EVIDENCE_WORDS  # a checker it starts from may read less; training reads all
    facts = fine_tune(
        model,
        train_docs,
        dev_docs,
        epochs,
        batch_size,
        learn_rate,
        head_learn_rate,
        seed,
        progress,
        max_minutes,
        average_from,
        max_steps,
    )
    windows = choose_window(model, dev_docs) if dev_docs else {}
    model.save(out)
    facts |= {"check_words": model.window} | ({"window_dev": windows} if windows else {})
    return {**facts, "threshold": model.threshold, "frozen": model.frozen}
