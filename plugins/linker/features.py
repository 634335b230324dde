"""Pair features shared by catalog linking (mention vs entry) and Ditto matching (record vs record).

Product identity rests on a few signals a small model can weigh: the model number
("lds4821ww", "SM-G991B"), the brand, the words of the name (weighted by rarity),
fuzzy string similarity, the price, and the meaning of the text (MiniLM cosine).
Each side of a pair is a `Side`; `pair_features` turns two into a fixed-length vector.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import JaroWinkler, Levenshtein, Prefix

from distill.plugins.linker.catalog import normalize

_CODE = re.compile(r"^(?=.*\d)(?=.*[a-z])[a-z0-9]{3,}$|^\d{4,}$")
_VERSION = re.compile(r"(?<![a-z0-9])v?(\d+(?:\s?\.\s?\d+)*)(?![0-9])")
"""A number in a title, as a version: "v2 .0", "10.4.6", "2007" (a letter-digit code is not one)."""
_YEAR = re.compile(r"^(?:19[89]\d|20[0-4]\d)$")
_UNIT = re.compile(
    r"(\d+(?:\.\d+)?)\s?(gb|mb|tb|ghz|mhz|mp|mm|cm|inch|in|ft|lbs?|oz|w|watts?|v|volts?|hz|khz"
    r"|ohms?|x|pack|pk|pcs|users?|licen[cs]es?|cups?|qt|quarts?|gallons?|slices?|channels?|ch)"
    r"(?![a-z])"
)
"""A quantity with its unit ("16gb", "1000 w", "5 users"), for agreement between the sides."""


@dataclass
class Side:
    """One product as the features see it: a short title, all its text, brand and price."""

    title: str
    text: str = ""
    brand: str | None = None
    price: float | None = None
    _cache: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    def tokens(self, which: str = "title") -> set[str]:
        key = f"tokens:{which}"
        if key not in self._cache:
            self._cache[key] = set(
                normalize(self.title if which == "title" else self.all_text()).split()
            )
        return self._cache[key]  # type: ignore[return-value]

    def all_text(self) -> str:
        return f"{self.title} {self.text}" if self.text else self.title

    def norm_title(self) -> str:
        if "norm" not in self._cache:
            self._cache["norm"] = normalize(self.title)
        return self._cache["norm"]  # type: ignore[return-value]

    def codes(self, which: str = "title") -> set[str]:
        """Model-number-like tokens, hyphens and slashes removed ("SM-G991B" -> "smg991b")."""
        key = f"codes:{which}"
        if key not in self._cache:
            raw = self.title if which == "title" else self.all_text()
            found = set()
            for token in raw.lower().split():
                token = re.sub(r"[^a-z0-9]", "", token)
                if _CODE.match(token):
                    found.add(token)
            self._cache[key] = found
        return self._cache[key]  # type: ignore[return-value]

    def squashed(self) -> str:
        """All text without spaces or punctuation, to find a code split differently."""
        if "squashed" not in self._cache:
            self._cache["squashed"] = re.sub(r"[^a-z0-9]", "", self.all_text().lower())
        return self._cache["squashed"]  # type: ignore[return-value]

    def versions(self) -> tuple[set[str], set[str]]:
        """The title's version numbers and its years, normalized ("v2 .0" and "2" -> "2")."""
        if "versions" not in self._cache:
            found = set()
            for match in _VERSION.finditer(self.title.lower()):
                parts = re.sub(r"\s", "", match.group(1)).split(".")
                while len(parts) > 1 and set(parts[-1]) <= {"0"}:
                    parts.pop()
                found.add(".".join(parts))
            years = {v for v in found if _YEAR.match(v)}
            self._cache["versions"] = (found - years, years)
        return self._cache["versions"]  # type: ignore[return-value]

    def quantities(self) -> dict[str, set[float]]:
        """Quantities by unit in all the text ("16 GB" -> {"gb": {16.0}})."""
        if "quantities" not in self._cache:
            found: dict[str, set[float]] = {}
            for value, unit in _UNIT.findall(self.all_text().lower()):
                found.setdefault(unit.rstrip("s")[:4], set()).add(float(value))
            self._cache["quantities"] = found
        return self._cache["quantities"]  # type: ignore[return-value]

    def numbers(self) -> set[str]:
        if "numbers" not in self._cache:
            self._cache["numbers"] = set(re.findall(r"\d+(?:\.\d+)?", self.all_text()))
        return self._cache["numbers"]  # type: ignore[return-value]


def idf_table(texts: Iterable[str]) -> dict[str, float]:
    """Inverse document frequency of normalized tokens; rare words identify products."""
    counts: Counter[str] = Counter()
    n = 0
    for text in texts:
        n += 1
        counts.update(set(normalize(text).split()))
    return {token: math.log((n + 1) / (c + 1)) + 1 for token, c in counts.items()}


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def _weighted_overlap(a: set[str], b: set[str], idf: dict[str, float], default: float) -> float:
    """IDF-weighted cosine of two token sets."""
    if not a or not b:
        return 0.0
    weight = lambda t: idf.get(t, default)  # noqa: E731
    shared = sum(weight(t) ** 2 for t in a & b)
    norm = math.sqrt(sum(weight(t) ** 2 for t in a)) * math.sqrt(sum(weight(t) ** 2 for t in b))
    return shared / norm if norm else 0.0


def _code_features(a: Side, b: Side) -> list[float]:
    ca, cb = a.codes("all"), b.codes("all")
    ta, tb = a.codes(), b.codes()
    in_b = [c for c in ta if c in b.squashed()]
    in_a = [c for c in tb if c in a.squashed()]
    best = contained = prefix = digits = 0.0
    for x in ta or ca:
        for y in tb or cb:
            best = max(best, Levenshtein.normalized_similarity(x, y))
            if min(len(x), len(y)) >= 4 and (x in y or y in x):  # "sd990" in "sd990is"
                contained = max(contained, min(len(x), len(y)) / max(len(x), len(y)))
            prefix = max(prefix, Prefix.similarity(x, y) / max(len(x), len(y)))
            dx, dy = re.sub(r"\D", "", x), re.sub(r"\D", "", y)
            if len(dx) >= 3 and dx == dy:  # "lds4821ww" / "lds4821wh": same digits
                digits = 1.0
    return [
        float(len(ca & cb)),
        _jaccard(ca, cb),
        float(bool(ta)) + float(bool(tb)),
        len(in_b) / len(ta) if ta else -1.0,
        len(in_a) / len(tb) if tb else -1.0,
        best,
        contained,
        prefix if (ta or ca) and (tb or cb) else -1.0,
        digits,
    ]


def _agreement(a: set, b: set) -> float:
    """How far two sets of values agree: the share of the smaller found in the other;
    -1 when one side has none, -2 when neither has any."""
    if not a or not b:
        return -1.0 if a or b else -2.0
    return len(a & b) / min(len(a), len(b))


def _number_features(a: Side, b: Side) -> list[float]:
    """Versions ("instant immersion german v2 .0" vs "… 2.0"), major versions, years, and
    quantities of the same unit that agree or conflict ("16gb" vs "8 gb")."""
    (va, ya), (vb, yb) = a.versions(), b.versions()
    major = _agreement({v.split(".")[0] for v in va}, {v.split(".")[0] for v in vb})
    qa, qb = a.quantities(), b.quantities()
    units = qa.keys() & qb.keys()
    agree = sum(1 for unit in units if qa[unit] & qb[unit])
    return [_agreement(va, vb), major, _agreement(ya, yb), float(agree), float(len(units) - agree)]


def _soft_cover(a: Side, b: Side, idf: dict[str, float], default: float) -> float:
    """IDF mass of a's title words covered by their most similar word in b's title
    (Monge-Elkan weighted by rarity), so spelling variants and abbreviations still count:
    a word b also has counts 1, one that abbreviates a word of b 0.9 ("upg", "upgrade"),
    else Jaro-Winkler for words of four letters or more ("modeler", "modeller")."""
    words, other = a.tokens(), b.tokens()
    if not words or not other:
        return 0.0
    total = sum(idf.get(t, default) for t in words)
    covered = sum(idf.get(t, default) for t in words & other)
    rest, candidates = sorted(words - other), sorted(other - words)
    if rest and candidates:
        long_enough = np.array([len(u) >= 4 for u in candidates])
        similar = process.cdist(rest, candidates, scorer=JaroWinkler.similarity)
        for t, row in zip(rest, similar, strict=True):
            best = float(row[long_enough].max()) if len(t) >= 4 and long_enough.any() else 0.0
            if len(t) >= 3 and any(
                u.startswith(t) or t.startswith(u) for u in candidates if len(u) >= 3
            ):
                best = max(best, 0.9)
            covered += idf.get(t, default) * best
    return covered / total


def _rare_found(a: Side, b: Side, idf: dict[str, float], default: float) -> float:
    """IDF mass of a's title words that occur in b's squashed text ("vmavb", "ai sh hphone")."""
    tokens = [t for t in a.tokens() if len(t) >= 3]
    total = sum(idf.get(t, default) for t in tokens)
    found = sum(idf.get(t, default) for t in tokens if t in b.squashed())
    return found / total if total else 0.0


def _price(a: Side, b: Side) -> list[float]:
    if not a.price or not b.price:
        return [0.0, -1.0]
    return [1.0, abs(a.price - b.price) / max(a.price, b.price)]


def _brand(a: Side, b: Side) -> list[float]:
    if a.brand and b.brand:
        equal = normalize(a.brand) == normalize(b.brand)
        return [1.0 if equal else 0.0, fuzz.ratio(normalize(a.brand), normalize(b.brand)) / 100]
    brand = a.brand or b.brand
    other = b if a.brand else a
    if brand:
        return [0.5 if normalize(brand) in other.norm_title() else -0.5, -1.0]
    return [-1.0, -1.0]


FEATURE_NAMES = (
    "ratio",
    "partial_ratio",
    "token_set",
    "token_sort",
    "jaccard_title",
    "jaccard_all",
    "idf_title",
    "idf_all",
    "codes_shared",
    "codes_jaccard",
    "codes_present",
    "a_codes_in_b",
    "b_codes_in_a",
    "codes_best",
    "codes_contained",
    "codes_prefix",
    "codes_same_digits",
    "numbers_jaccard",
    "versions",
    "major_versions",
    "years",
    "units_agree",
    "units_conflict",
    "price_known",
    "price_diff",
    "brand_equal",
    "brand_ratio",
    "len_a",
    "len_b",
    "len_ratio",
    "rare_a_in_b",
    "rare_b_in_a",
    "soft_a_in_b",
    "soft_b_in_a",
    "emb_title",
    "emb_all",
)


def pair_features(
    a: Side,
    b: Side,
    idf: dict[str, float],
    emb_title: float = 0.0,
    emb_all: float = 0.0,
    default: float | None = None,
) -> list[float]:
    """The feature vector of one pair (order: FEATURE_NAMES); `default`: the IDF of an
    unseen word (the largest in `idf` when not given)."""
    ta, tb = a.norm_title(), b.norm_title()
    default = default if default is not None else max(idf.values(), default=1.0)
    la, lb = len(a.tokens()), len(b.tokens())
    return [
        fuzz.ratio(ta, tb) / 100,
        fuzz.partial_ratio(ta, tb) / 100,
        fuzz.token_set_ratio(ta, tb) / 100,
        fuzz.token_sort_ratio(ta, tb) / 100,
        _jaccard(a.tokens(), b.tokens()),
        _jaccard(a.tokens("all"), b.tokens("all")),
        _weighted_overlap(a.tokens(), b.tokens(), idf, default),
        _weighted_overlap(a.tokens("all"), b.tokens("all"), idf, default),
        *_code_features(a, b),
        _jaccard(a.numbers(), b.numbers()),
        *_number_features(a, b),
        *_price(a, b),
        *_brand(a, b),
        float(la),
        float(lb),
        min(la, lb) / max(la, lb) if la and lb else 0.0,
        _rare_found(a, b, idf, default),
        _rare_found(b, a, idf, default),
        _soft_cover(a, b, idf, default),
        _soft_cover(b, a, idf, default),
        emb_title,
        emb_all,
    ]


def word_pair(a: Side, b: Side) -> dict[str, float]:
    """The title words both sides share (`both:upgrade`) and those only one side has
    (`one:mac`): a linear model over them learns which words tell two products apart
    (an upgrade, the Mac edition, another version) and which are noise ("software")."""
    ta, tb = a.tokens(), b.tokens()
    return {f"both:{t}": 1.0 for t in ta & tb} | {f"one:{t}": 1.0 for t in ta ^ tb}


def batch_features(
    pairs: Sequence[tuple[Side, Side]],
    idf: dict[str, float],
    emb_title: Sequence[float] | None = None,
    emb_all: Sequence[float] | None = None,
) -> list[list[float]]:
    zeros = [0.0] * len(pairs)
    default = max(idf.values(), default=1.0)
    return [
        pair_features(a, b, idf, t, x, default)
        for (a, b), t, x in zip(pairs, emb_title or zeros, emb_all or zeros, strict=True)
    ]
