"""Fine-tune the aspect-sentiment model (`model.AbsaModel`) on gold `Doc`s.

Every gold doc is one text unit (a sentence, or a short review) that may teach either
head or both:

- **terms**: opinions with a term and its character span (SemEval-2014 terms, SemEval-2016
  restaurant targets) train the term head;
- **aspects**: opinions whose aspect is one of the model's slots train the aspect head; a
  doc without given terms is labelled for every slot (`none` where it has no opinion),
  except slots listed in `meta["unlabelled_aspects"]` (data that cannot say, e.g.
  restaurant reviews about a phone's battery) and slots with opposite polarities (for
  two products of one review, each product's stretch of it then teaches its own:
  `product_stretches`).

Training starts from the shipped general model (`init="general"`) when there is one, so
a model trained on term-level data alone still finds aspects at ingest. The frozen
bottom layers run once over all texts; each epoch trains the top layers and heads on
those cached states. The best epoch on dev is kept.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import BaseModel, Field
from spacy.tokens import Doc

from distill.errors import DistillError
from distill.plugins.averaging import WeightAverage
from distill.plugins.linker.embed import run_top_layers
from distill.plugins.sentiment.model import (
    NEUTRAL,
    NONE,
    TEXT_MAX_TOKENS,
    WEIGHTS,
    AbsaModel,
    Heads,
    aspect_words,
    mark_term,
    mean_pool,
)
from distill.plugins.sentiment.targets import PRODUCT_LABELS, sentence_bounds
from distill.plugins.sentiment.task import Opinion, given_terms

Progress = Callable[[str, dict[str, Any]], None]
IGNORE = -100
TERM_CLASSES = ["positive", "negative", "neutral"]
ASPECT_CLASSES = [NONE, "positive", "negative", NEUTRAL]
"""`conflict` is too rare to learn (2% of SemEval-2014 terms); those terms are skipped."""


class SentimentTrainConfig(BaseModel):
    max_epochs: int = Field(6, gt=0)
    patience: int = Field(2, ge=1)
    max_minutes: float = Field(15.0, gt=0)
    batch_size: int = Field(32, gt=0)
    learn_rate: float = Field(1e-4, gt=0, description="of the fine-tuned top encoder layers")
    head_learn_rate: float = Field(2e-3, gt=0)
    seed: int = 0
    order_seed: int | None = Field(
        None,
        description="seed of the batch order and dropout, when it should differ from `seed` "
        "(which then only starts the heads): reruns of one recipe that differ in order "
        "alone (BENCHMARKS.md: the weight soup tried with them)",
    )
    threads: int | None = Field(None, description="torch CPU threads (default: torch's)")
    none_weight: float = Field(
        1.0, gt=0, description="loss weight of the 'no opinion' class (lower it for small data)"
    )
    frozen: int = Field(4, ge=0, le=6, description="bottom encoder layers kept as shipped")
    init: Literal["general", "base"] | Path = Field(
        "general",
        description="start from the shipped general model (general), plain MiniLM (base), or "
        "the model in this directory (to train it further)",
    )
    cache_dir: Path | None = Field(
        None,
        description="keep the frozen layers' output here, so later runs on the same texts skip "
        "computing it",
    )
    term_marks: bool | None = Field(
        None,
        description="one pass per given term, marked in its sentence (default: as the model "
        "it starts from)",
    )
    neutral_weight: float = Field(
        1.0,
        gt=0,
        description="loss weight of the neutral term class (rarer than positive and negative, "
        "and the class a model learns last)",
    )
    vector_weight: float | None = Field(
        None,
        ge=0,
        description="weight of a loss keeping the fine-tuned top's mean-pooled output the base "
        "model's sentence vector, so the document index reads it off the sentiment pass instead "
        "of running the base model's top layers (default: 1 when the model it starts from does "
        "so, else 0)",
    )
    average_from: int | None = Field(
        None,
        ge=1,
        description="from this epoch on, score and keep the mean of the epoch-end weights "
        "(checkpoint averaging) instead of the last epoch's",
    )


CONFIG = SentimentTrainConfig
MIN_TUNING_OPINIONS = 50
"""Dev opinions (aspects with a polarity) below which training keeps the model's aspect
threshold instead of choosing one on dev: picked from a dozen opinions, one or two of them
decide it (`distill demo`'s 6 dev reviews, 12 opinions, moved it from 0.4 to 0.7)."""
OWN_VECTORS_MIN = 0.9
"""The mean cosine (model's own pooled output against the base sentence vector, on dev) from
which ingest's document index takes the model's own vectors; below it, the base model's top
layers run as before. On HaluEval qa retrieval a model at 0.92 ranks passages as well as the
base vectors (BENCHMARKS.md, Ingest at scale)."""


@dataclass
class Item:
    text: str
    aspects: list[int] | None
    """Class index per slot (IGNORE where unknown), or None: the doc teaches no aspect."""
    terms: list[tuple[int, int, int]]
    """(char start, char end, class index) of each given term."""


def aspect_labels(doc: Doc, slots: list[str], classes: list[str]) -> list[int] | None:
    """Per slot: the polarity class, `none`, or IGNORE; None for term-level docs."""
    if given_terms(doc) is not None or not slots:
        return None
    unknown = set((doc._.meta or {}).get("unlabelled_aspects") or [])
    found: dict[str, set[str]] = {}
    for o in doc._.opinions or []:
        if o.aspect in slots:
            found.setdefault(o.aspect, set()).add(o.polarity)
    labels = []
    for slot in slots:
        polarities = found.get(slot, set())
        if slot in unknown and not polarities:
            labels.append(IGNORE)
        elif not polarities:
            labels.append(classes.index(NONE))
        elif len(polarities) == 1 and next(iter(polarities)) in classes:
            labels.append(classes.index(next(iter(polarities))))
        else:
            labels.append(IGNORE)  # both ways within one unit: no single answer
    return labels


def items_of(
    docs: Sequence[Doc], slots: list[str], aspect_classes: list[str], term_marks: bool = False
) -> list[Item]:
    """One item per doc; with `term_marks`, each term is an item of its own (its text with that
    term marked, as `AbsaModel.predict` reads it) and the doc's item teaches aspects only."""
    items = []
    for doc in docs:
        terms = [
            (o.start, o.end, TERM_CLASSES.index(o.polarity))
            for o in doc._.opinions or []
            if o.term and o.start is not None and o.end is not None and o.polarity in TERM_CLASSES
        ]
        aspects = aspect_labels(doc, slots, aspect_classes)
        if term_marks:
            for s, e, label in terms:
                text, (start, end) = mark_term(doc.text, s, e)
                items.append(Item(text, None, [(start, end, label)]))
            terms = []
        if terms or aspects is not None:
            items.append(Item(doc.text, aspects, terms))
        if aspects is not None and IGNORE in aspects:
            items += product_stretches(doc, slots, aspect_classes)
    return items


def product_stretches(doc: Doc, slots: list[str], classes: list[str]) -> list[Item]:
    """Review-level gold with products (opinions with targets, no spans) that gives one slot
    both polarities ("the X2's battery is a joke, my old X1 lasted all day") teaches that
    slot nothing as one unit. Each product's stretch of the review then is a unit of its
    own: the sentences from one naming that product alone (or naming it last) up to the
    next naming another, as the trained backend attaches an opinion to the product named
    last. A stretch teaches its product's polarity for such a slot when it names the aspect
    and is that product's only stretch; its other slots stay unknown."""
    polarities: dict[str, dict[str, str]] = {}
    for o in doc._.opinions or []:
        if o.target and o.aspect in slots and o.polarity in classes:
            polarities.setdefault(o.aspect, {})[o.target] = o.polarity
    mixed = {a: by for a, by in polarities.items() if len(set(by.values())) > 1}
    if not mixed:
        return []
    products = [e for e in doc.ents if e.label_ in PRODUCT_LABELS]
    stretches: list[list] = []  # [product or "" (two named), start, end]
    last = ""
    for lo, hi in sentence_bounds(doc.text):
        named = [e.kb_id_ or e.text for e in products if lo <= e.start_char < hi]
        if named:
            stretches.append([named[0] if len(set(named)) == 1 else "", lo, hi])
            last = named[-1]
        elif stretches and stretches[-1][0] == last:
            stretches[-1][2] = hi
        elif last:
            stretches.append([last, lo, hi])
    count = Counter(product for product, _, _ in stretches)
    items = []
    for product, lo, hi in stretches:
        if not product or count[product] > 1:
            continue
        text = doc.text[lo:hi].strip()
        labels = [IGNORE] * len(slots)
        for aspect, by_target in mixed.items():
            words = aspect_words(aspect)
            if product in by_target and words is not None and words.search(text):
                labels[slots.index(aspect)] = classes.index(by_target[product])
        if any(label != IGNORE for label in labels):
            items.append(Item(text, labels, []))
    return items


CONTRASTS = (", but ", "; however, ", ", while ", ", although ", ", whereas ")
ALIKE = (", and ", "; also, ", ", and ", ", plus ")


def contrast_pairs(docs: Sequence[Doc], slots: list[str], count: int, seed: int = 0) -> list[Doc]:
    """`count` new training sentences, each two sentences of `docs` that teach one aspect
    one way joined into one: half with opposite polarities and a contrast ("The screen is
    gorgeous, but the battery died by noon."), half alike ("…, and …"). Reviews state
    contrasts all the time while most training sentences have one polarity, so a model
    trained on them alone gives every aspect of a sentence the sentence's polarity; the
    alike half keeps it from learning that two halves always disagree. Each pair keeps
    both opinions; the slots either half leaves unknown stay unknown."""
    from distill.doc import make_doc

    polar = ("positive", "negative")
    singles: list[tuple[Doc, str, str, list[str]]] = []
    for doc in docs:
        labels = aspect_labels(doc, slots, ASPECT_CLASSES)
        if labels is None or len(doc.text.split()) > 25:
            continue
        said = [(slots[i], ASPECT_CLASSES[c]) for i, c in enumerate(labels) if c not in (IGNORE, 0)]
        if len(said) == 1 and said[0][1] in polar:
            unknown = [slots[i] for i, c in enumerate(labels) if c == IGNORE]
            singles.append((doc, said[0][0], said[0][1], unknown))
    by_polarity = {p: [s for s in singles if s[2] == p] for p in polar}
    if not all(by_polarity.values()):
        return []
    rng = random.Random(seed)
    out: list[Doc] = []
    while len(out) < count:
        contrast = len(out) % 2 == 0
        first = rng.choice(singles)
        wanted = polar[(first[2] == "positive") == contrast]
        second = rng.choice(by_polarity[wanted])
        if first[1] == second[1]:
            continue
        head = first[0].text.strip().rstrip(".!?")
        tail = second[0].text.strip()
        if tail[:1].isupper() and tail[1:2].islower():
            tail = tail[0].lower() + tail[1:]
        text = head + rng.choice(CONTRASTS if contrast else ALIKE) + tail
        unknown = sorted({*first[3], *second[3]})
        doc = make_doc(text, f"pair:{len(out)}", {"unlabelled_aspects": unknown})
        doc._.opinions = [
            Opinion(aspect=first[1], polarity=first[2]),  # type: ignore[arg-type]
            Opinion(aspect=second[1], polarity=second[2]),  # type: ignore[arg-type]
        ]
        out.append(doc)
    return out


def layout(docs: Sequence[Doc], labels: Sequence[str]) -> list[str]:
    """The aspect slots: the label set asked for, else the aspects the data uses (empty for
    term-level data, which keeps the slots of the model it starts from)."""
    aspect_docs = [d for d in docs if given_terms(d) is None]
    return list(labels) or sorted({o.aspect for d in aspect_docs for o in d._.opinions or []})


def start_path(config: SentimentTrainConfig) -> Path | None:
    """The model directory training starts from; None for plain MiniLM."""
    from distill.plugins.sentiment.general import general_model_path

    if isinstance(config.init, Path):
        return config.init
    return general_model_path() if config.init == "general" else None


def weights_fingerprint(directory: Path | None) -> str | None:
    """A short hash of a model directory's weights: which model a fine-tune started from."""
    import hashlib

    if directory is None or not (directory / WEIGHTS).is_file():
        return None
    return hashlib.sha256((directory / WEIGHTS).read_bytes()).hexdigest()[:16]


def is_current(directory: str | Path) -> bool:
    """Whether a model fine-tuned from the shipped general model started from the one
    shipped now (`distill demo` trains its model again after the general model changed)."""
    from distill.model_card import load_card
    from distill.plugins.sentiment.general import general_model_path

    try:
        training = load_card(directory, "sentiment").training
    except (OSError, ValueError, DistillError):
        return False
    if (training.get("config") or {}).get("init") != "general":
        return True
    return training.get("started_from") == weights_fingerprint(general_model_path())


def start_model(slots: list[str], classes: list[str], config: SentimentTrainConfig) -> AbsaModel:
    """The general model, adapted to these slots, or plain MiniLM with new heads."""
    general = start_path(config)
    if general is None:
        return AbsaModel(
            slots, classes, TERM_CLASSES, frozen=config.frozen, term_marks=bool(config.term_marks)
        )
    model = AbsaModel.load(general)
    if config.term_marks is not None:
        model.term_marks = config.term_marks
    if not slots or model.slots == slots:
        return model
    hidden = model.encoder.config.hidden_size
    heads = Heads(hidden, model.describe(slots), len(classes), len(TERM_CLASSES))
    own = model.heads.state_dict()
    heads.load_state_dict(
        {k: v for k, v in own.items() if k not in ("descriptions", "aspect_bias")}, strict=False
    )
    with torch.no_grad():
        for i, slot in enumerate(slots):
            if slot in model.slots:
                heads.aspect_bias[i] = model.heads.aspect_bias[model.slots.index(slot)]
    model.heads = heads
    model.slots, model.aspect_classes = slots, classes
    model.trained = {"aspects": False, "terms": model.trained.get("terms", False)}
    return model


def merge_items(items: list[Item]) -> list[Item]:
    """Items of one text in one: the same sentence teaching aspects (SemEval-2014 restaurant
    categories) and terms goes through the top layers once per epoch, not twice."""
    merged: dict[str, Item] = {}
    out: list[Item] = []
    for item in items:
        seen = merged.get(item.text)
        if seen is not None and (seen.aspects is None or item.aspects is None):
            seen.aspects = seen.aspects if seen.aspects is not None else item.aspects
            seen.terms = seen.terms + [t for t in item.terms if t not in seen.terms]
            continue
        copy = Item(item.text, item.aspects, list(item.terms))
        merged.setdefault(item.text, copy)
        out.append(copy)
    return out


class Cached:
    """The frozen layers' output for every text, computed once (and kept in `directory`,
    when given, for the next run: the frozen layers are the base model's, whatever is
    trained on top)."""

    def __init__(
        self,
        model: AbsaModel,
        items: list[Item],
        batch_size: int = 64,
        directory: Path | None = None,
    ) -> None:
        texts = sorted({item.text for item in items})
        encoded = model.tokenize(texts)
        self.index = {text: i for i, text in enumerate(texts)}
        self.offsets = encoded["offset_mapping"]
        self.states: list[torch.Tensor] = [torch.empty(0)] * len(texts)
        stored: dict[str, torch.Tensor] = {}
        file = directory / f"frozen{model.frozen}-{TEXT_MAX_TOKENS}.pt" if directory else None
        if file is not None and file.is_file():
            stored = torch.load(file, weights_only=True)
        missing = []
        for i, text in enumerate(texts):
            if text in stored and len(stored[text]) == len(encoded["input_ids"][i]):
                self.states[i] = stored[text]
            else:
                missing.append(i)
        order = sorted(missing, key=lambda i: len(encoded["input_ids"][i]))
        model.train(False)
        for start in range(0, len(order), batch_size):
            ids = order[start : start + batch_size]
            batch = model.tokenizer.pad(
                {"input_ids": [encoded["input_ids"][i] for i in ids]}, return_tensors="pt"
            )
            hidden = model.bottom(batch["input_ids"], batch["attention_mask"])
            for row, i in enumerate(ids):
                n = int(batch["attention_mask"][row].sum())
                self.states[i] = hidden[row, :n].to(torch.float16)
        if file is not None and missing:
            file.parent.mkdir(parents=True, exist_ok=True)
            stored.update({texts[i]: self.states[i] for i in missing})
            torch.save(stored, file)

    def batches(self, items: list[Item], size: int) -> list[list[Item]]:
        """Shuffled batches of similar length (less padding), in shuffled order."""
        jittered = sorted(
            items, key=lambda it: len(self.states[self.index[it.text]]) + random.random() * 8
        )
        batches = [jittered[i : i + size] for i in range(0, len(jittered), size)]
        random.shuffle(batches)
        return batches

    def batch(self, model: AbsaModel, items: list[Item]) -> dict[str, torch.Tensor]:
        rows = [self.index[item.text] for item in items]
        longest = max(len(self.states[r]) for r in rows)
        hidden = torch.zeros(len(rows), longest, self.states[rows[0]].shape[-1])
        mask = torch.zeros(len(rows), longest, dtype=torch.long)
        for b, r in enumerate(rows):
            n = len(self.states[r])
            hidden[b, :n] = self.states[r].float()
            mask[b, :n] = 1
        spans, term_labels, aspect_rows, aspect_labels_ = [], [], [], []
        for b, (item, r) in enumerate(zip(items, rows, strict=True)):
            for s, e, label in item.terms:
                first, last = model.token_span(self.offsets[r], s, e)
                if last > first:
                    spans.append((b, first, last))
                    term_labels.append(label)
            if item.aspects is not None:
                aspect_rows.append(b)
                aspect_labels_.append(item.aspects)
        return {
            "hidden": hidden,
            "mask": mask,
            "spans": torch.tensor(spans, dtype=torch.long).reshape(-1, 3),
            "term_labels": torch.tensor(term_labels, dtype=torch.long),
            "aspect_rows": torch.tensor(aspect_rows, dtype=torch.long),
            "aspect_labels": torch.tensor(aspect_labels_, dtype=torch.long).reshape(
                len(aspect_rows), len(model.slots)
            ),
        }


def forward(
    model: AbsaModel, batch: dict[str, torch.Tensor], states: torch.Tensor | None = None
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    if states is None:
        states = model.top(batch["hidden"], batch["mask"])
    aspects = terms = None
    if len(batch["aspect_rows"]) and model.slots:
        rows = batch["aspect_rows"]
        aspects = model.heads.aspects(states[rows], batch["mask"][rows])
    if len(batch["spans"]):
        terms = model.heads.terms(states, batch["mask"], batch["spans"])
    return aspects, terms


@torch.inference_mode()
def dev_scores(
    model: AbsaModel, cache: Cached, items: list[Item], batch_size: int, tune: bool = False
) -> dict:
    """Term accuracy and aspect micro P/R/F1 (over slot, polarity pairs) on dev items. With
    `tune`, first set `model.threshold` to the value (0.1-0.7) with the best aspect F1, when
    dev has enough opinions to choose one (`MIN_TUNING_OPINIONS`)."""
    model.train(False)
    correct = total = 0
    probs, golds = [], []
    for start in range(0, len(items), batch_size):
        batch = cache.batch(model, items[start : start + batch_size])
        aspects, terms = forward(model, batch)
        if terms is not None:
            correct += int((terms.argmax(-1) == batch["term_labels"]).sum())
            total += len(batch["term_labels"])
        if aspects is not None:
            probs.append(aspects.softmax(-1))
            golds.append(batch["aspect_labels"])
    scores: dict[str, Any] = {}
    if total:
        scores.update(term_accuracy=correct / total, terms=total)
    if probs:
        prob, gold = torch.cat(probs), torch.cat(golds)
        none = model.aspect_classes.index(NONE)
        opinions = int(((gold != IGNORE) & (gold != none)).sum())
        if tune and opinions >= MIN_TUNING_OPINIONS:
            grid = [round(0.1 * k, 1) for k in range(1, 8)]
            model.threshold = max(grid, key=lambda t: _aspect_prf(model, prob, gold, t)[2])
        p, r, f = _aspect_prf(model, prob, gold, model.threshold)
        scores.update(
            aspect_precision=p, aspect_recall=r, aspect_f1=f, aspect_threshold=model.threshold
        )
    return scores


def vector_cosine(
    model: AbsaModel, batch: dict[str, torch.Tensor], states: torch.Tensor
) -> torch.Tensor:
    """Per text, the cosine between the fine-tuned top's mean-pooled output (`states`) and
    the base model's sentence vector (its own top layers over the same frozen states)."""
    with torch.no_grad():
        base = run_top_layers(model.base_top, batch["hidden"], batch["mask"])
    return torch.nn.functional.cosine_similarity(
        mean_pool(states, batch["mask"]), mean_pool(base, batch["mask"]), dim=-1
    )


@torch.inference_mode()
def vector_agreement(model: AbsaModel, cache: Cached, items: list[Item]) -> float:
    """Mean `vector_cosine` over (up to 1,000 of) `items`: how well the model's own pooled
    output stands in for the base model's sentence vector."""
    model.train(False)
    sample = items[:: max(1, len(items) // 1000)]
    cosines = []
    for start in range(0, len(sample), 64):
        batch = cache.batch(model, sample[start : start + 64])
        cosines.append(vector_cosine(model, batch, model.top(batch["hidden"], batch["mask"])))
    return float(torch.cat(cosines).mean()) if cosines else 0.0


def _aspect_prf(
    model: AbsaModel, prob: torch.Tensor, gold: torch.Tensor, threshold: float
) -> tuple[float, float, float]:
    none = model.aspect_classes.index(NONE)
    predicted = model.decide(prob, threshold)
    known = gold != IGNORE
    n_pred = int(((predicted != none) & known).sum())
    n_gold = int(((gold != none) & known).sum())
    tp = int(((predicted == gold) & (gold != none) & known).sum())
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


def selection_metric(scores: dict[str, Any]) -> float:
    """Mean of what the dev data can measure: term accuracy and aspect F1."""
    parts = [scores[k] for k in ("term_accuracy", "aspect_f1") if k in scores]
    return sum(parts) / len(parts) if parts else 0.0


def support(
    items: Sequence[Item], slots: list[str], classes: list[str], before: dict[str, int]
) -> dict[str, int]:
    """Opinions (not `none`) per slot in `items`, added to those of earlier trainings: what
    `AbsaModel.rare_slots` reads to find aspects the head has barely seen by their words."""
    counts = {slot: before.get(slot, 0) for slot in slots}
    none = classes.index(NONE)
    for item in items:
        for slot, label in zip(slots, item.aspects or [], strict=False):
            if label not in (none, IGNORE):
                counts[slot] += 1
    return counts


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
    model = start_model(layout(train_docs, labels), ASPECT_CLASSES, config)
    if config.order_seed is not None:
        random.seed(config.order_seed)
        torch.manual_seed(config.order_seed)
    slots, classes = model.slots, model.aspect_classes
    items = merge_items(items_of(train_docs, slots, classes, model.term_marks))
    dev_items = merge_items(items_of(dev_docs, slots, classes, model.term_marks))
    if not items:
        raise DistillError(
            "no sentiment training examples: the data has neither aspect terms with spans "
            f"nor opinions on the aspects {slots}; check --format and the labels"
        )
    started = time.perf_counter()
    cache = Cached(model, items + dev_items, directory=config.cache_dir)
    has_aspects = any(item.aspects is not None for item in items)
    has_terms = any(item.terms for item in items)
    model.trained = {
        "aspects": has_aspects or model.trained.get("aspects", False),
        "terms": has_terms or model.trained.get("terms", False),
    }
    model.support = support(items, slots, classes, model.support)
    optimizer = torch.optim.AdamW(
        [
            {"params": list(model.top_layers.parameters()), "lr": config.learn_rate},
            {"params": list(model.heads.parameters()), "lr": config.head_learn_rate},
        ],
        weight_decay=0.01,
    )
    weights = torch.ones(len(classes))
    weights[classes.index(NONE)] = config.none_weight
    aspect_loss = torch.nn.CrossEntropyLoss(weight=weights, ignore_index=IGNORE)
    term_weights = torch.ones(len(TERM_CLASSES))
    term_weights[TERM_CLASSES.index("neutral")] = config.neutral_weight
    term_loss = torch.nn.CrossEntropyLoss(weight=term_weights)
    vector_weight = config.vector_weight
    if vector_weight is None:  # inherited: keep the vectors a model started from keeps
        vector_weight = 1.0 if model.own_vectors else 0.0
    average = WeightAverage([model.top_layers, model.heads]) if config.average_from else None
    out = Path(out)
    best, stale, history, best_scores, best_epoch = -1.0, 0, [], {}, 0
    saved_own_vectors = model.own_vectors
    if dev_items and start_path(config) is not None:
        # the model training starts from competes too (epoch 0): a fine-tune that only
        # loses on dev keeps it, so training never hands back a worse model than it took
        best_scores = dev_scores(model, cache, dev_items, 64, tune=True)
        best = selection_metric(best_scores)
        start_row = {
            "epoch": 0,
            **{k: round(v, 4) for k, v in best_scores.items() if isinstance(v, float)},
        }
        history.append(start_row)
        if progress:
            progress("epoch", start_row)
        model.save(out)
        saved_own_vectors = model.own_vectors
    for epoch in range(1, config.max_epochs + 1):
        model.train(True)
        total = 0.0
        batches = cache.batches(items, config.batch_size)
        for i, chunk in enumerate(batches):
            batch = cache.batch(model, chunk)
            states = model.top(batch["hidden"], batch["mask"])
            aspects, terms = forward(model, batch, states)
            loss = torch.zeros(())
            if vector_weight:
                cosine = vector_cosine(model, batch, states)
                loss = loss + vector_weight * (1 - cosine).mean()
            if aspects is not None and (batch["aspect_labels"] != IGNORE).any():
                loss = loss + aspect_loss(
                    aspects.reshape(-1, len(classes)), batch["aspect_labels"].reshape(-1)
                )
            if terms is not None:
                loss = loss + term_loss(terms, batch["term_labels"])
            if not loss.requires_grad:
                continue
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.trainable(), 1.0)
            optimizer.step()
            total += float(loss.detach())
            if progress:
                progress("batch", {"epoch": epoch, "done": i + 1, "total": len(batches)})
        averaged = average is not None and epoch >= (config.average_from or 0)
        if averaged:
            average.add()
            average.swap()
        scores = dev_scores(model, cache, dev_items, 64, tune=True) if dev_items else {}
        metric = selection_metric(scores)
        # a measured property of these weights: the start model (epoch 0) keeps its own
        # flag, an epoch trained without the loss never claims it
        model.own_vectors = False
        if vector_weight:
            scores["vector_cosine"] = vector_agreement(model, cache, dev_items or items)
            model.own_vectors = scores["vector_cosine"] >= OWN_VECTORS_MIN
        row = {
            "epoch": epoch,
            "loss": round(total / max(1, len(batches)), 4),
            **{k: round(v, 4) for k, v in scores.items() if isinstance(v, float)},
            "minutes": round((time.perf_counter() - started) / 60, 2),
            **({"averaged_epochs": average.count} if averaged and average else {}),
        }
        history.append(row)
        if progress:
            progress("epoch", row)
        if metric > best or not dev_items:
            best, best_scores, stale, best_epoch = metric, scores, 0, epoch
            model.save(out)
            saved_own_vectors = model.own_vectors
        else:
            stale += 1
        if averaged:
            average.swap()  # training goes on from this epoch's own weights
        if stale >= config.patience or row["minutes"] >= config.max_minutes:
            break
    return {
        "kind": "minilm-absa",
        "labels": slots,
        # the layout the model has (one started from a model keeps that model's); where
        # this machine cached the frozen layers' output is no property of the model
        "config": config.model_dump(mode="json", exclude={"cache_dir"})
        | {
            "frozen": model.frozen,
            "term_marks": model.term_marks,
            "vector_weight": vector_weight,
            "own_vectors": saved_own_vectors,  # of the epoch kept, not the last
        },
        "started_from": weights_fingerprint(start_path(config)),
        "classes": classes,
        "history": history,
        "best_epoch": best_epoch,
        "seconds": round(time.perf_counter() - started, 1),
        "dev_scores": best_scores,
    }
