"""Fine-tune the aspect-sentiment model (`model.AbsaModel`) on gold `Doc`s.

Term mode when the docs carry given aspect terms (SemEval-2014), category mode
otherwise (SemEval-2016). A few epochs of AdamW; the best epoch on dev is kept.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, Field
from spacy.tokens import Doc

from distill.plugins.sentiment.model import NONE, AbsaModel
from distill.plugins.sentiment.targets import product_contexts
from distill.plugins.sentiment.task import SentimentTask, given_terms

Progress = Callable[[str, dict[str, Any]], None]


class SentimentTrainConfig(BaseModel):
    max_epochs: int = Field(4, gt=0)
    patience: int = Field(2, ge=1)
    max_minutes: float = Field(12.0, gt=0)
    batch_size: int = 16
    learn_rate: float = 5e-5
    head_learn_rate: float = 1e-3
    seed: int = 0
    threads: int | None = Field(None, description="torch CPU threads (default: torch's)")
    none_weight: float = Field(
        1.0, gt=0, description="loss weight of the 'no opinion' class (lower it for small data)"
    )


CONFIG = SentimentTrainConfig
POLARITIES = ["positive", "negative", "neutral", "conflict"]


def examples(
    docs: Sequence[Doc], mode: str, slots: list[str], classes: list[str]
) -> list[tuple[str, str | None, list[int]]]:
    """(text, pair text or None, class index per slot) for every training item."""
    items: list[tuple[str, str | None, list[int]]] = []
    for doc in docs:
        opinions = doc._.opinions or []
        if mode == "term":
            for o in opinions:
                if o.polarity in classes:
                    items.append((o.term or o.aspect, doc.text, [classes.index(o.polarity)]))
        elif mode == "product":
            for target, mention, context in product_contexts(doc):
                labels = [classes.index(NONE)] * len(slots)
                for o in opinions:
                    if o.target == target and o.aspect in slots:
                        labels[slots.index(o.aspect)] = classes.index(o.polarity)
                items.append((mention, context, labels))
        else:
            target = [classes.index(NONE)] * len(slots)
            for o in opinions:
                if o.aspect in slots:
                    target[slots.index(o.aspect)] = classes.index(o.polarity)
            items.append((doc.text, None, target))
    return items


def layout(docs: Sequence[Doc], labels: Sequence[str]) -> tuple[str, list[str], list[str]]:
    polarities = {o.polarity for d in docs for o in d._.opinions or []}
    classes = [p for p in POLARITIES if p in polarities]
    if any(given_terms(d) is not None for d in docs):
        return "term", ["term"], classes
    slots = list(labels) or sorted({o.aspect for d in docs for o in d._.opinions or []})
    if any(o.target for d in docs for o in d._.opinions or []) and any(d.ents for d in docs):
        return "product", slots, [NONE, *classes]
    slots = list(labels) or sorted({o.aspect for d in docs for o in d._.opinions or []})
    return "category", slots, [NONE, *classes]


def train(
    train_docs: Sequence[Doc],
    dev_docs: Sequence[Doc],
    out: str | Path,
    labels: Sequence[str],
    config: SentimentTrainConfig | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    config = config or SentimentTrainConfig()
    if config.threads:
        torch.set_num_threads(config.threads)
    random.seed(config.seed)
    torch.manual_seed(config.seed)
    mode, slots, classes = layout(train_docs, labels)
    model = AbsaModel(mode, slots, classes)
    items = examples(train_docs, mode, slots, classes)
    optimizer = torch.optim.AdamW(
        [
            {"params": model.net.encoder.parameters(), "lr": config.learn_rate},
            {"params": model.net.head.parameters(), "lr": config.head_learn_rate},
        ],
        weight_decay=0.01,
    )
    weights = torch.ones(len(classes))
    if NONE in classes:
        weights[classes.index(NONE)] = config.none_weight
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
    task = SentimentTask(labels=slots if mode in ("category", "product") else None)
    out = Path(out)
    started, best, stale, history = time.perf_counter(), -1.0, 0, []
    best_scores: dict[str, Any] = {}
    for epoch in range(1, config.max_epochs + 1):
        random.shuffle(items)
        model.net.train()
        total = 0.0
        batches = [
            items[i : i + config.batch_size] for i in range(0, len(items), config.batch_size)
        ]
        for i, batch in enumerate(batches):
            texts = [t for t, _, _ in batch]
            pairs = [p for _, p, _ in batch] if mode == "term" else None
            logits = model.net(**model.encode(texts, pairs))
            target = torch.tensor([y for _, _, y in batch])
            loss = loss_fn(logits.reshape(-1, len(classes)), target.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.net.parameters(), 1.0)
            optimizer.step()
            total += float(loss.detach())
            if progress:
                progress("batch", {"epoch": epoch, "done": i + 1, "total": len(batches)})
        scores = _dev_scores(model, task, dev_docs)
        metric = scores.get("accuracy") if mode == "term" else scores.get("f1")
        row = {
            "epoch": epoch,
            "loss": round(total / max(1, len(batches)), 4),
            **{k: round(v, 4) for k, v in scores.items() if isinstance(v, float)},
            "minutes": round((time.perf_counter() - started) / 60, 2),
        }
        history.append(row)
        if progress:
            progress("epoch", row)
        if (metric or 0.0) > best or not dev_docs:
            best, best_scores, stale = metric or 0.0, scores, 0
            model.save(out)
        else:
            stale += 1
        if stale >= config.patience or row["minutes"] >= config.max_minutes:
            break
    return {
        "kind": f"minilm-absa-{mode}",
        "labels": slots if mode in ("category", "product") else [],
        "config": config.model_dump(),
        "mode": mode,
        "classes": classes,
        "history": history,
        "seconds": round(time.perf_counter() - started, 1),
        "dev_scores": best_scores,
    }


def _dev_scores(model: AbsaModel, task: SentimentTask, dev_docs: Sequence[Doc]) -> dict[str, Any]:
    from distill.plugins.sentiment.trained import predict_opinions

    if not dev_docs:
        return {}
    predicted = [doc.copy() for doc in dev_docs]
    for doc in predicted:
        doc._.opinions = []
    predict_opinions(model, predicted)
    scores = task.score(list(dev_docs), predicted)
    return {k: v for k, v in scores.model_dump().items() if v is not None}
