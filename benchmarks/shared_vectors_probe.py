"""Could the document index's sentence vectors come from the sentiment pass alone?

Ingest runs one MiniLM pass per sentence: the frozen bottom layers, the sentiment model's
fine-tuned top layers, and the base model's own top layers, which only the document index
needs (its vectors must be all-MiniLM-L6-v2's, since questions are embedded with it). Those
base layers are a third of the sentiment stage. This probe fits a ridge map from what the pass
has anyway (mean-pooled states of the fine-tuned top, of the frozen layers, of one or two base
layers) to the true sentence vector, on sentences of SemEval, CoNLL, r/cooking and HaluEval
dialogue, and measures on domains it did not fit: cosine to the true vector (HaluEval qa
knowledge sentences, Nokia 6610 reviews) and HaluEval qa retrieval (each question against the
2,000 knowledge passages, a passage pooled from its sentences as the index does), recall@1/5/10.

    python -m benchmarks.shared_vectors_probe [--data ../shared/data] [--model DIR]

Not part of the product: it prints a table, BENCHMARKS.md (*Ingest at scale*) quotes it.
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

import numpy as np
import torch

from distill.corpora import conll, halueval, huliu, prodigy, semeval
from distill.plugins.linker.embed import attention_kernel, run_top_layers
from distill.plugins.sentiment.general import GENERAL_DIR
from distill.plugins.sentiment.model import AbsaModel, mean_pool

SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
FEATURES = ("frozen", "sentiment", "base4", "base5", "base")


def sentences(texts: list[str]) -> list[str]:
    return [s for t in texts for s in SENTENCE_END.split(t.strip()) if s.strip()]


def halueval_records(path: Path) -> list[dict]:
    """Each HaluEval record once (its right answer's doc): evidence and question."""
    docs = halueval.read(path)
    return [d._.meta for d in docs if d._.verdicts and d._.verdicts[0].label == "supported"]


@torch.inference_mode()
def pooled_states(model: AbsaModel, texts: list[str]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Mean-pooled states per text at each point of the ingest pass, and token counts."""
    encoder = model._bf16_encoder or model.encoder
    base_top = model._bf16_base_top or model.base_top
    encoded = model.tokenize(texts)
    order = sorted(range(len(texts)), key=lambda i: len(encoded["input_ids"][i]))
    out = {name: np.zeros((len(texts), 384), np.float32) for name in FEATURES}
    counts = np.zeros(len(texts), np.float32)
    with attention_kernel(encoder, "sdpa"):
        for start in range(0, len(order), 64):
            ids = order[start : start + 64]
            batch = model.tokenizer.pad(
                {"input_ids": [encoded["input_ids"][i] for i in ids]}, return_tensors="pt"
            )
            mask = batch["attention_mask"]
            states = encoder(
                input_ids=batch["input_ids"], attention_mask=mask, output_hidden_states=True
            )

            def mean(hidden: torch.Tensor, mask: torch.Tensor = mask) -> np.ndarray:
                return mean_pool(hidden, mask).float().numpy()

            frozen = states.hidden_states[model.frozen]
            base4 = run_top_layers(base_top[:1], frozen, mask)
            base5 = run_top_layers(base_top[1:2], base4, mask)
            out["frozen"][ids] = mean(frozen)
            out["sentiment"][ids] = mean(states.last_hidden_state)
            out["base4"][ids], out["base5"][ids] = mean(base4), mean(base5)
            out["base"][ids] = mean(run_top_layers(base_top[2:], base5, mask))
            counts[ids] = mask.sum(1).float().numpy()
    return out, counts


def fit_texts(data: Path) -> list[str]:
    texts = []
    for name in ("Laptop_Train_v2.xml", "Restaurants_Train_v2.xml"):
        texts += [d.text for d in semeval.read_2014(data / "semeval2014_absa" / name)]
    news = [d.text for d in conll.read(data / "conll2003/train.txt")]
    random.Random(0).shuffle(news)
    cooking = [d.text for d in prodigy.read(data / "reddit_cooking_ner/unlabeled.jsonl")]
    dialogue = halueval_records(data / "halueval/dialogue_data.first20pct.json")
    texts += news[:4000] + sentences(cooking)[:4000]
    texts += sentences([r["evidence"][0] for r in dialogue])[:2000]
    texts += [r["question"][-300:] for r in dialogue][:1000]
    return [t for t in texts if t.strip()]


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def ridge(x: np.ndarray, y: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    x1 = np.hstack([x, np.ones((len(x), 1), np.float32)])
    return np.linalg.solve(x1.T @ x1 + alpha * np.eye(x1.shape[1], dtype=np.float32), x1.T @ y)


def apply(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.hstack([x, np.ones((len(x), 1), np.float32)]) @ w


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--model", type=Path, default=GENERAL_DIR)
    args = parser.parse_args(argv)
    model = AbsaModel.load(args.model)
    model.bf16 = True
    model.train(False)
    fit, _ = pooled_states(model, fit_texts(args.data))
    qa = halueval_records(args.data / "halueval/qa_data.first20pct.json")
    passage_sentences = [SENTENCE_END.split(r["evidence"][0].strip()) for r in qa]
    owner = np.array([i for i, ss in enumerate(passage_sentences) for _ in ss])
    passages, counts = pooled_states(model, [s for ss in passage_sentences for s in ss])
    questions = pooled_states(model, [r["question"] for r in qa])[0]["base"]
    reviews = args.data / "phone_catalog_reviews/hu_liu_customer_reviews/Nokia 6610.txt"
    nokia = pooled_states(model, [d.text for d in huliu.read(reviews) if d.text.strip()])[0]

    def recall(sentence_vectors: np.ndarray) -> list[float]:
        docs = np.zeros((len(qa), 384), np.float32)
        np.add.at(docs, owner, sentence_vectors * counts[:, None])
        sims = unit(questions) @ unit(docs).T
        rank = (sims > np.diag(sims)[:, None]).sum(1)
        return [float((rank < k).mean()) for k in (1, 5, 10)]

    print("| sentence vector from | extra layers | cosine (qa / Nokia) | recall@1 / 5 / 10 |")
    print("|---|---:|---|---|")
    r = recall(passages["base"])
    shipped = "the base model's top layers (shipped)"
    print(f"| {shipped} | 3 | 1 / 1 | {r[0]:.3f} / {r[1]:.3f} / {r[2]:.3f} |")
    own_qa = float((unit(passages["sentiment"]) * unit(passages["base"])).sum(1).mean())
    own_nokia = float((unit(nokia["sentiment"]) * unit(nokia["base"])).sum(1).mean())
    r = recall(passages["sentiment"])
    print(
        f"| the sentiment top's own mean (no map) | 0 | {own_qa:.3f} / {own_nokia:.3f} "
        f"| {r[0]:.3f} / {r[1]:.3f} / {r[2]:.3f} |",
        flush=True,
    )
    for keys, extra in (
        (["sentiment"], 0),
        (["sentiment", "frozen"], 0),
        (["frozen"], 0),
        (["base4", "sentiment"], 1),
        (["base5", "sentiment"], 2),
    ):
        w = ridge(np.hstack([fit[k] for k in keys]), fit["base"])
        guess = apply(w, np.hstack([passages[k] for k in keys]))
        cos_qa = float((unit(guess) * unit(passages["base"])).sum(1).mean())
        guess_nokia = apply(w, np.hstack([nokia[k] for k in keys]))
        cos_nokia = float((unit(guess_nokia) * unit(nokia["base"])).sum(1).mean())
        r = recall(guess)
        print(
            f"| ridge map of {' + '.join(keys)} | {extra} | {cos_qa:.3f} / {cos_nokia:.3f} "
            f"| {r[0]:.3f} / {r[1]:.3f} / {r[2]:.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
