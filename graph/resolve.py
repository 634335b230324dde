"""Entity resolution: one node per real thing, and reversible merges where we are unsure.

Certain cases are resolved by construction: a catalog id is one Product node, and
entities whose names normalize to the same text (case, whitespace, aliases) share
one Entity node. Uncertain cases (similar names) never collapse nodes: they get a
SAME_AS edge with the method and score, so a wrong merge is undone by deleting it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import TYPE_CHECKING

from rapidfuzz import fuzz

if TYPE_CHECKING:
    from distill.graph.store import GraphStore

_SPACE = re.compile(r"\s+")
_EDGE_PUNCT = "\"'`“”‘’.,;:!?()[]{}"

_aliases: dict[str, str] = {}


def normalize(text: str) -> str:
    """Compatibility-fold, casefold, collapse whitespace, trim quotes; then apply aliases."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = _SPACE.sub(" ", folded).strip().strip(_EDGE_PUNCT).strip()
    return _aliases.get(folded, folded)


def entity_id(label: str, name: str) -> str:
    """The Entity node key: same label and normalized name, same node."""
    return f"{label.upper()}:{normalize(name)}"


def set_aliases(aliases: Mapping[str, str]) -> None:
    """Declare `alias -> canonical name` pairs (e.g. "iphone fifteen" -> "iphone 15").

    Aliases change what new facts resolve to; re-ingest documents to apply them to old ones.
    """
    _aliases.clear()
    for alias, canonical in aliases.items():
        key = _SPACE.sub(" ", unicodedata.normalize("NFKC", alias).casefold()).strip()
        _aliases[key] = normalize(canonical)


def similarity(a: str, b: str) -> float:
    """0..1 similarity of two normalized names, robust to word order and small typos."""
    return fuzz.token_sort_ratio(a, b) / 100.0


def propose_same_as(
    store: GraphStore, *, threshold: float = 0.9, label: str | None = None
) -> list[tuple[str, str, float]]:
    """Link similar but not identical entities of one label with SAME_AS (score as confidence).

    Quadratic in the entities of a label: meant for periodic batch resolution,
    not for every write. Returns the pairs it linked.
    """
    by_label: dict[str, list[tuple[str, str]]] = {}
    for ent in store.entities(label):
        by_label.setdefault(ent["label"] or "", []).append((ent["id"], ent["name"] or ""))
    linked: list[tuple[str, str, float]] = []
    for items in by_label.values():
        items.sort()
        for i, (id_a, name_a) in enumerate(items):
            for id_b, name_b in items[i + 1 :]:
                score = similarity(name_a, name_b)
                if score >= threshold:
                    store.merge(id_a, id_b, confidence=score, method="token_sort_ratio")
                    linked.append((id_a, id_b, score))
    return linked
