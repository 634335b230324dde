"""Few-shot examples for the NER prompt, written once for every label set.

Each example marks its mentions with a *kind*; a task's labels map onto kinds by
name (`PER`, `PERSON`, `person` → person), so CoNLL, WNUT, r/cooking and product
labels all get examples in their own label names. Labels without a kind get none.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

KINDS: dict[str, set[str]] = {
    "person": {"per", "person", "people"},
    "org": {"org", "organization", "organisation", "corporation", "company", "brand", "group"},
    "location": {"loc", "location", "gpe", "place"},
    "misc": {"misc", "miscellaneous", "norp", "event", "nationality"},
    "product": {"product", "device", "model"},
    "work": {"creative-work", "work_of_art", "work", "title"},
    "dish": {"dish", "food", "meal"},
    "ingredient": {"ingredient"},
    "equipment": {"equipment", "tool", "utensil"},
}

DESCRIPTIONS: dict[str, str] = {
    "person": "names of people",
    "org": "companies, brands, teams, institutions",
    "location": "countries, cities, regions, places",
    "misc": "other names: nationalities, events, languages, titles",
    "product": "named products and models",
    "work": "titles of songs, films, books, shows",
    "dish": "prepared dishes and recipes",
    "ingredient": "foods used as ingredients",
    "equipment": "cooking tools and appliances",
}

EXAMPLES: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Tim Cook said Apple will sell the iPhone 15 in Germany, and Samsung shares fell.",
        [
            ("Tim Cook", "person"),
            ("Apple", "org"),
            ("iPhone 15", "product"),
            ("Germany", "location"),
            ("Samsung", "org"),
        ],
    ),
    (
        "The Italian striker joined Juventus after the World Cup in Paris.",
        [("Italian", "misc"), ("Juventus", "org"), ("World Cup", "misc"), ("Paris", "location")],
    ),
    (
        "I made lasagna with ricotta and fresh basil, baked in my cast iron skillet.",
        [
            ("lasagna", "dish"),
            ("ricotta", "ingredient"),
            ("basil", "ingredient"),
            ("cast iron skillet", "equipment"),
        ],
    ),
    (
        "Watching Breaking Bad on my Pixel 7 while Taylor Swift plays in Chicago",
        [
            ("Breaking Bad", "work"),
            ("Pixel 7", "product"),
            ("Taylor Swift", "person"),
            ("Chicago", "location"),
        ],
    ),
]


def kind_of(label: str) -> str | None:
    lowered = label.lower()
    return next((kind for kind, names in KINDS.items() if lowered in names), None)


def describe(labels: Sequence[str]) -> dict[str, str]:
    return {label: DESCRIPTIONS[kind] for label in labels if (kind := kind_of(label))}


def few_shot(labels: Sequence[str], limit: int = 2) -> list[dict[str, object]]:
    """Up to `limit` examples, mentions relabelled with `labels` (unmapped ones dropped);
    `answer` is the compact JSON the prompt backend asks for: `{"entities":[["text","LABEL"]]}`."""
    label_of = {kind_of(label): label for label in labels if kind_of(label)}
    chosen = []
    for text, mentions in sorted(
        EXAMPLES, key=lambda ex: -sum(kind in label_of for _, kind in ex[1])
    ):
        entities = [{"text": m, "label": label_of[k]} for m, k in mentions if k in label_of]
        if entities:
            pairs = [[e["text"], e["label"]] for e in entities]
            answer = json.dumps({"entities": pairs}, ensure_ascii=False, separators=(",", ":"))
            chosen.append({"text": text, "entities": entities, "answer": answer})
    return chosen[:limit]
