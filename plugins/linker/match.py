"""The `match` linker backend: links against whatever catalog is configured, no training.

A rule scorer over the candidate index (alias table, fuzzy, MiniLM + faiss), in the
order people trust such evidence: an exact name or alias beats a close spelling,
which beats a similar meaning. Model numbers must agree: "6610" never links to the
"6610i", a different phone. The best candidate is linked when its score reaches the
NIL threshold; otherwise the mention stays unlinked (NIL: not in the catalog).

Only the labels in `options.labels` (default PRODUCT) are linked: a brand is not a
catalog entry. No catalog configured: nothing is linked, with one note saying so.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein
from spacy.tokens import Doc

from distill.backend import Backend, BackendOptions
from distill.config import CatalogConfig
from distill.plugins.linker.candidates import Candidate, CandidateIndex, index_note
from distill.plugins.linker.catalog import (
    Catalog,
    CatalogEntry,
    brandless_ok,
    catalog_option,
    is_model_code,
    normalize,
)
from distill.plugins.linker.task import Link, Links
from distill.registry import register_backend
from distill.spec import TaskSpec

THRESHOLD = 0.8
"""NIL below this score (chosen on the GSMArena linking dev split: benchmarks/catalog_bench.py)."""
ALIAS, FUZZY, SEMANTIC = 1.0, 0.9, 0.8
"""Ceilings per kind of evidence: exact/alias > fuzzy > embedding."""
TOP_K = 10


@dataclass
class Scored:
    candidate: Candidate
    score: float
    reason: str


NETWORKS = frozenset({"2g", "3g", "4g", "5g"})
"""Network generations people leave out ("Galaxy S21 Ultra" for the "… Ultra 5G")."""


def codes(text: str) -> set[str]:
    """Tokens with a digit: model numbers ("6610", "s21") identify products; "5g" does
    not, nor does a specification ("4 GB", "40gb") or an ordinal ("3rd" generation), which
    an electronics catalog's names carry and people leave out ("the iPod shuffle")."""
    tokens = normalize(text).split()
    return {
        t
        for t, following in zip(tokens, [*tokens[1:], ""], strict=True)
        if t not in NETWORKS and is_model_code(t, following)
    }


def presence(code: str, tokens: list[str]) -> float:
    """1 when `code` is a token or adjacent tokens run together ("g5plus" = "g5 plus",
    "motoe7" = "moto e7"); 0.85 for a one-letter typo in a long code ("wath5" for
    "watch5"); 0 otherwise ("6610" is not "6610i")."""
    joined = {
        "".join(tokens[i:j])
        for i in range(len(tokens))
        for j in range(i + 1, min(i + 4, len(tokens)) + 1)
    }
    if code in joined:
        return 1.0
    digits, letters = re.sub(r"\D", "", code), re.sub(r"\d", "", code)
    for other in joined:
        same_digits = len(letters) >= 4 and re.sub(r"\D", "", other) == digits
        if same_digits and Levenshtein.distance(letters, re.sub(r"\d", "", other)) == 1:
            return 0.85
    return 0.0


def similarity(mention: str, form: str) -> float:
    """Character similarity of normalized names, spaces ignored too ("g5plus", "g5 plus")."""
    spaced = fuzz.ratio(mention, form)
    squashed = fuzz.ratio(mention.replace(" ", ""), form.replace(" ", ""))
    return max(spaced, squashed) / 100


def agreement(mention: str, form: str) -> float:
    """1 when the model numbers agree; 0.5 when the mention has one the form lacks (another
    product); less than 1 when the form has extra ones ("s21" vs "s21 5g" is close,
    "nokia" vs "nokia 6610" is not)."""
    mine, theirs = normalize(mention).split(), normalize(form).split()
    found = [presence(code, theirs) for code in codes(mention)]
    if any(value == 0.0 for value in found):
        return 0.5
    extra = [code for code in codes(form) if not presence(code, mine)]
    value = min(found, default=1.0)
    if extra:
        value *= 0.9 if found else 0.7
    return value


def safe_forms(entry: CatalogEntry) -> list[str]:
    """The entry's names, without a brand-less form that could be an ordinary word."""
    brandless = entry.brandless()
    return [f for f in entry.names() if f != brandless or brandless_ok(f)]


def score(mention: str, candidates: Sequence[Candidate], index: CandidateIndex) -> list[Scored]:
    """Every candidate's score in [0, 1], best first."""
    key = normalize(mention)
    entries = index.catalog.entries
    primary = index.primary.get(key, set())
    # a brand-less form alone ("mega" of "Coolpad Mega") is evidence only when it could
    # not be an ordinary word or number; the gazetteer applies the same rule
    alias_hits = [c for c in candidates if c.alias and (c.index in primary or brandless_ok(key))]
    preferred = {c.index for c in alias_hits if c.index in primary} or {c.index for c in alias_hits}
    scored = []
    for c in candidates:
        if c.alias and c.index in preferred:
            value = ALIAS if len(preferred) == 1 else ALIAS * 0.6 / len(preferred)
            scored.append(Scored(c, value, "alias" if len(preferred) == 1 else "ambiguous alias"))
            continue
        forms = [normalize(f) for f in safe_forms(entries[c.index])] or [""]
        best_form = max(forms, key=lambda f: similarity(key, f))
        fuzzy = FUZZY * similarity(key, best_form) * agreement(key, best_form)
        semantic = SEMANTIC * max(c.semantic, 0.0) * agreement(key, best_form)
        if fuzzy >= semantic:
            scored.append(Scored(c, fuzzy, "fuzzy"))
        else:
            scored.append(Scored(c, semantic, "semantic"))
    return sorted(scored, key=lambda s: -s.score)


def link(
    index: CandidateIndex, mentions: Sequence[str], threshold: float = THRESHOLD, k: int = TOP_K
) -> list[tuple[str | None, float, list[Scored]]]:
    """(catalog id or None, confidence, ranked candidates) per mention."""
    found = index.generate(mentions, k=k, semantic_after_alias=False)
    out = []
    for mention, candidates in zip(mentions, found, strict=True):
        ranked = score(mention, candidates, index)
        if ranked and ranked[0].score >= threshold:
            best = ranked[0]
            out.append((index.catalog.entries[best.candidate.index].id, best.score, ranked))
        else:
            out.append((None, 1 - (ranked[0].score if ranked else 0.0), ranked))
    return out


def open_index(settings: CatalogConfig, semantic: bool = True) -> CandidateIndex:
    """The candidate index of a configured catalog, from its cache when built before."""
    return CandidateIndex(Catalog.from_config(settings), semantic=semantic, cache=settings.cache)


@register_backend("linker", "match")
class MatchLinker(Backend):
    """Alias > fuzzy > embedding match against the configured catalog; NIL under a threshold."""

    def __init__(self, task: TaskSpec, options: BackendOptions | None = None) -> None:
        super().__init__(task, options)
        extra = self.options.extra
        self.settings = catalog_option(extra.get("catalog"), extra.get("columns"))
        self.threshold = float(extra.get("threshold", THRESHOLD))  # type: ignore[arg-type]
        self.semantic = bool(extra.get("semantic", True))
        self.labels = {str(x) for x in extra.get("labels", ["PRODUCT"])}  # type: ignore[union-attr]
        self._index: CandidateIndex | None = None

    def index(self) -> CandidateIndex | None:
        if self._index is None and self.settings is not None:
            self._index = open_index(self.settings, self.semantic)
        return self._index

    def pending_setup(self) -> str | None:
        if self._index is not None or self.settings is None:
            return None
        catalog = Catalog.from_config(self.settings)
        return index_note(catalog, self.semantic, self.settings.cache)

    def predict(self, docs: Sequence[Doc]) -> list[Doc]:
        index = self.index()
        if index is None:
            _note_no_catalog()
            for doc in docs:
                self.task.write(doc, Links())
            return list(docs)
        mentions = [(i, ent) for i, doc in enumerate(docs) for ent in doc.ents]
        chosen = [(i, ent) for i, ent in mentions if ent.label_ in self.labels]
        decisions = link(index, [ent.text for _, ent in chosen], self.threshold)
        links: dict[int, list[Link]] = {i: [] for i in range(len(docs))}
        for (i, ent), (kb_id, confidence, _) in zip(chosen, decisions, strict=True):
            links[i].append(
                Link(
                    text=ent.text,
                    start=ent.start_char,
                    end=ent.end_char,
                    kb_id=kb_id,
                    confidence=round(confidence, 4),
                )
            )
        for i, doc in enumerate(docs):
            self.task.write(doc, Links(links=links[i]))
        return list(docs)

    def warm_up(self) -> None:
        """The index, and the encoder its semantic candidates need (loaded on first use)."""
        index = self.index()
        if index is not None and self.semantic:
            index.generate(["warm up"], k=1, semantic_after_alias=False)

    def model_name(self) -> str:
        if self.settings is None:
            return "match (no catalog)"
        digest = Catalog.from_config(self.settings).digest[:8]
        return f"match:{Path(self.settings.path or '').name}@{digest}"


_noted: list[bool] = []


def _note_no_catalog() -> None:
    if not _noted:
        _noted.append(True)
        warnings.warn(
            "no catalog configured: products are found but not linked "
            '(set [catalog] path = "products.jsonl" in distill.toml)',
            stacklevel=3,
        )
