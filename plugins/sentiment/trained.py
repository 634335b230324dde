"""The `trained` aspect-sentiment backend: the shipped general model, or one from `distill train`.

Each document is cut into sentences; one encoder pass per sentence gives every aspect
`none` or a polarity, and each opinion found carries the sentence's character span.
Documents with given aspect terms (`doc._.meta["aspect_terms"]`, SemEval-2014) get the
polarity of each term instead, from the same single pass. Output goes through the task
spec (`write`), which attaches opinions to the products found by NER or to the
document's subject.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import torch
from spacy.tokens import Doc

from distill.backend import Backend, BackendOptions
from distill.doc import SentenceVector
from distill.errors import PluginError
from distill.model_card import dir_size_mb, load_card
from distill.plugins.linker.embed import use_bf16
from distill.plugins.sentiment.general import general_model_path
from distill.plugins.sentiment.model import NONE, AbsaModel, word_spans
from distill.plugins.sentiment.targets import sentence_bounds
from distill.plugins.sentiment.task import Opinion, Opinions, given_terms
from distill.registry import register_backend
from distill.spec import TaskSpec

log = logging.getLogger(__name__)


def units(doc: Doc) -> list[tuple[int, int]]:
    """The character spans the model reads: the whole text for term-level docs, else sentences
    (surrounding whitespace trimmed)."""
    text = doc.text  # spaCy joins the tokens on every `doc.text`: once per doc
    if given_terms(doc) is not None:
        return [(0, len(text))]
    spans = []
    for lo, hi in sentence_bounds(text):
        piece = text[lo:hi]
        if piece.strip():
            lo += len(piece) - len(piece.lstrip())
            hi -= len(piece) - len(piece.rstrip())
            spans.append((lo, hi))
    return spans


def predict_opinions(
    model: AbsaModel,
    docs: Sequence[Doc],
    batch_size: int = 64,
    sentence_vectors: bool = False,
    rare_aspect_words: bool = False,
) -> list[Opinions]:
    """Opinions per doc, also stored on `doc._.opinions` (used on dev splits too); with
    `sentence_vectors`, each doc's `doc._.sentence_vectors` too, from the same pass; with
    `rare_aspect_words`, rare aspects also where a word names them (`_named`)."""
    items = [(i, lo, hi) for i, doc in enumerate(docs) for lo, hi in units(doc)]
    whole = [doc.text for doc in docs]
    texts = [whole[i][lo:hi] for i, lo, hi in items]
    terms = [
        [(t["start"] - lo, t["end"] - lo) for t in given_terms(docs[i]) or []] for i, lo, _ in items
    ]
    prediction = model.predict(texts, terms, batch_size, pooled=sentence_vectors)
    rare = model.rare_slots() if rare_aspect_words and model.trained.get("aspects") else []
    aspects, term_probs, pooled = prediction.aspects, prediction.terms, prediction.pooled
    anchors = prediction.anchors or [[None] * len(model.slots) for _ in texts]
    if pooled is not None:
        vectors, counts = pooled[0].numpy(), pooled[1].tolist()
        for doc in docs:
            doc._.sentence_vectors = []
        for row, (i, lo, hi) in enumerate(items):
            docs[i]._.sentence_vectors.append(
                SentenceVector(start=lo, end=hi, tokens=int(counts[row]), vector=vectors[row])
            )
    per_doc: list[list[Opinion]] = [[] for _ in docs]
    for row, (i, lo, hi) in enumerate(items):
        given = given_terms(docs[i])
        if given is not None:
            for term, p in zip(given, term_probs[row], strict=True):
                best = int(p.argmax())
                per_doc[i].append(
                    Opinion(
                        aspect=term["term"],
                        polarity=model.term_classes[best],  # type: ignore[arg-type]
                        term=term["term"],
                        start=term["start"],
                        end=term["end"],
                        confidence=round(float(p[best]), 4),
                    )
                )
            continue
        if not model.trained.get("aspects"):
            continue
        chosen = model.decide(aspects[row])
        for slot, probs, best, anchor in zip(
            model.slots, aspects[row], chosen.tolist(), anchors[row], strict=True
        ):
            if model.aspect_classes[best] != NONE:
                per_doc[i].append(
                    Opinion(
                        aspect=slot,
                        polarity=model.aspect_classes[best],  # type: ignore[arg-type]
                        start=lo,
                        end=hi,
                        confidence=round(float(probs[best]), 4),
                        anchor=None if anchor is None else lo + anchor,
                    )
                )
        if rare:
            found = {o.aspect for o in per_doc[i] if o.start == lo}
            spans = word_spans(texts[row], [slot for slot in rare if slot not in found])
            per_doc[i] += _named(model, spans, aspects[row], lo, hi)
    results = [Opinions(opinions=o) for o in per_doc]
    for doc, output in zip(docs, results, strict=True):
        doc._.opinions = list(output.opinions)
    return results


def _named(
    model: AbsaModel, spans: list[tuple[str, int, int]], probs: torch.Tensor, lo: int, hi: int
) -> list[Opinion]:
    """Opinions on rare aspects from the words that name them (`spans`, in the sentence at
    `lo`): the head's `none` for a rare aspect is what its few examples taught it, but its
    polarity comes from the classifier all aspects share, so the likeliest polarity is
    kept when positive or negative (a neutral reading gives none). One opinion per
    aspect, anchored at the aspect's first word.

    Off unless asked for (`[tasks.sentiment] options = {rare_aspect_words = true}`): on
    reviews of a product that has no camera (Nokia 6610) most hits were wrong ("nice mms
    pictures", "the samsung flip camera phone"): the word names the aspect, the sentence's
    polarity is not about it. Meant for reviews of products that have the aspect."""
    none = model.aspect_classes.index(NONE)
    opinions: dict[str, Opinion] = {}
    for slot, start, _ in spans:
        if slot in opinions:
            continue
        polar = probs[model.slots.index(slot)].clone()
        polar[none] = 0.0
        polar /= polar.sum().clamp(min=1e-9)
        best = int(polar.argmax())
        polarity = model.aspect_classes[best]
        if polarity in ("positive", "negative"):
            opinions[slot] = Opinion(
                aspect=slot,
                polarity=polarity,  # type: ignore[arg-type]
                start=lo,
                end=hi,
                confidence=round(float(polar[best]), 4),
                anchor=lo + start,
            )
    return list(opinions.values())


@register_backend("sentiment", "trained")
class TrainedSentiment(Backend):
    def __init__(self, task: TaskSpec, options: BackendOptions | None = None) -> None:
        super().__init__(task, options)
        path = self.options.model_path or general_model_path()
        if path is None:
            raise PluginError(
                "the shipped general sentiment model is missing (plugins/sentiment/general): "
                "rebuild it with `python scripts/build_sentiment_model.py`, or set "
                "tasks.sentiment.model to a model from `distill train sentiment`"
            )
        self.path = Path(path)
        self.card = load_card(self.path, task.name)
        self.model = AbsaModel.load(self.path)
        if self.options.extra.get("int8", False):
            self.model.quantize()
        else:  # `options = {bf16 = false}` (or $DISTILL_BF16=0) keeps float32 on bfloat16 CPUs
            self.model.bf16 = use_bf16(self.options.extra.get("bf16"))
        if not self.model.trained.get("aspects"):
            log.warning(
                "sentiment model %s was trained on aspect terms only (e.g. --format semeval14 "
                "with --set init=base): it labels given terms but finds no aspects in plain "
                "text, so ingest gets no opinions from it. Retrain with the default "
                "`--set init=general`, or on aspect-level data (--format semeval16, distill).",
                self.path,
            )
        self.share_sentence_vectors = False
        """Set by ingest when the document index is on: the pass also leaves the base
        model's sentence vectors on each doc (`doc._.sentence_vectors`), a sixth of a pass
        more, and the index then embeds nothing itself."""
        known = [s for s in task.labels if s in self.model.slots]
        # aspects reported: the configured ones the model knows, else all it knows
        self.aspects = set(known or self.model.slots)
        if self.model.trained.get("aspects") and len(known) < len(task.labels):
            log.warning(
                "sentiment model %s knows the aspects %s; it reports %s (set "
                "tasks.sentiment.labels to match, or use the prompt backend for other sets)",
                self.path,
                ", ".join(self.model.slots),
                ", ".join(known or self.model.slots),
            )

    def predict(self, docs: Sequence[Doc]) -> list[Doc]:
        outputs = predict_opinions(
            self.model,
            docs,
            batch_size=min(64, self.options.batch_size),
            sentence_vectors=self.share_sentence_vectors,
            rare_aspect_words=bool(self.options.extra.get("rare_aspect_words", False)),
        )
        for doc, output in zip(docs, outputs, strict=True):
            if given_terms(doc) is None:
                output = Opinions(opinions=[o for o in output.opinions if o.aspect in self.aspects])
            self.task.write(doc, output)
        return list(docs)

    def model_name(self) -> str:
        return str(self.path)

    def size_mb(self) -> float | None:
        return dir_size_mb(self.path)
