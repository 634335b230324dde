"""The deterministic router: the common intents, recognised without a language model.

A 1.5B model sometimes answers from memory instead of calling a tool. For the
questions users ask most (which product is best/worst at an aspect, what people say
about a product, compare two products, which reviews mention X) a few rules find
the products and the aspect in the question and pick the tool calls, so those
questions are grounded whatever the model does. Product names are matched against
the catalog and the graph (aliases included); a name that looks like a product of a
known brand but matches nothing is reported as unknown rather than guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from distill.plugins.linker.catalog import normalize

ASPECT_WORDS: dict[str, tuple[str, ...]] = {
    "battery": ("battery", "batteries", "charge", "charging", "lasts", "last longer", "power"),
    "camera": ("camera", "cameras", "photo", "photos", "pictures", "zoom", "webcam", "selfie"),
    "screen": ("screen", "display", "oled", "brightness", "panel"),
    "performance": ("performance", "perform", "fast", "speed", "slow", "lag", "exports"),
    "design": ("design", "size", "weight", "heavy", "build", "looks", "fit", "pocket"),
    "price": ("price", "cost", "costs", "expensive", "cheap", "worth", "value", "money"),
    "software": ("software", "updates", "update", "apps", "notifications", "os", "bloatware"),
    "sound": ("sound", "speakers", "speaker", "audio", "bass", "noise cancelling", "music"),
}
"""Words that name an aspect; the keys are the demo's aspect labels. Aspects the graph
knows but this table does not are matched by their own name."""

_RANK = re.compile(
    r"\b(which|what)\b.*\b(best|worst|most|least|top|better|worse|praise|complain|hate|love)",
    re.IGNORECASE,
)
_NEGATIVE_RANK = re.compile(r"\b(worst|complain\w*|criticis\w*|criticiz\w*|hate|least)\b", re.I)
_MENTIONS = re.compile(
    r"\b(which|how many|list)\b.*\b(reviews?|documents?|posts?)\b.*\bmention", re.I
)
_MODEL_TOKEN = r"[a-z]*\d+[a-z0-9]*|pro|max|plus|mini|ultra|lite|s"


@dataclass(frozen=True)
class ProductName:
    """A name the resolver knows: the product id it means and how it is displayed."""

    product_id: str
    display: str
    label: str = "Product"
    """`Product` for catalog products, `Entity` for names the linker left unlinked."""


@dataclass
class Intent:
    """What the router understood; `calls` are (tool name, arguments) to run."""

    name: str
    products: list[ProductName] = field(default_factory=list)
    unknown_products: list[str] = field(default_factory=list)
    aspect: str | None = None
    calls: list[tuple[str, dict[str, object]]] = field(default_factory=list)


class ProductResolver:
    """Finds product names in free text: longest match first, whole words, aliases too."""

    def __init__(
        self, names: Iterable[tuple[str, ProductName]], brands: Iterable[str] = ()
    ) -> None:
        """`names`: (surface form, product) pairs; the first product of a form wins."""
        self.forms: dict[str, ProductName] = {}
        for form, product in names:
            key = normalize(form)
            if key and key not in self.forms:
                self.forms[key] = product
        self._by_length = sorted(self.forms, key=len, reverse=True)
        self.brands = {normalize(b) for b in brands if b}
        self.displays = {p.product_id: p.display for p in self.forms.values()}

    def find(self, text: str) -> list[ProductName]:
        """Products named in `text`, in order of appearance, each once."""
        return [product for _, product in self._matches(normalize(_drop_possessives(text)))]

    def resolve(self, name: str) -> ProductName | None:
        """The product a tool argument names: exact form, else the best whole-word match."""
        key = normalize(name)
        if key in self.forms:
            return self.forms[key]
        found = self.find(name)
        return found[0] if found else None

    def unknown(self, text: str) -> list[str]:
        """Brand + model-number phrases that match no known product ("Nebula X4")."""
        normalized = normalize(_drop_possessives(text))
        matched = {span for span, _ in self._matches(normalized)}
        out = []
        for brand in self.brands:
            pattern = rf"\b{re.escape(brand)}(?: (?:{_MODEL_TOKEN}))+\b"
            for match in re.finditer(pattern, normalized):
                span = match.span()
                covered = any(s <= span[0] and span[1] <= e for s, e in matched)
                if not covered and match.group(0) not in self.forms:
                    out.append(match.group(0).title())
        return out

    def _matches(self, normalized: str) -> list[tuple[tuple[int, int], ProductName]]:
        taken: list[tuple[int, int]] = []
        found: list[tuple[tuple[int, int], ProductName]] = []
        for form in self._by_length:
            for match in re.finditer(rf"(?<![a-z0-9]){re.escape(form)}(?![a-z0-9])", normalized):
                span = match.span()
                if all(span[1] <= s or span[0] >= e for s, e in taken):
                    taken.append(span)
                    found.append((span, self.forms[form]))
        found.sort(key=lambda item: item[0][0])
        unique: dict[str, tuple[tuple[int, int], ProductName]] = {}
        for span, product in found:
            unique.setdefault(product.product_id, (span, product))
        return list(unique.values())


def _drop_possessives(text: str) -> str:
    """ "the Lumen One's camera" is about the Lumen One, not the Lumen One S."""
    return re.sub(r"(?<=\w)['’]s\b", "", text)


def find_aspect(text: str, known: Sequence[str] = ()) -> str | None:
    """The aspect a question is about: a known aspect's name, else a word from the table."""
    normalized = f" {normalize(text)} "
    for aspect in known:
        if f" {normalize(aspect)} " in normalized:
            return aspect
    for aspect, words in ASPECT_WORDS.items():
        if any(f" {word} " in normalized for word in words):
            return aspect
    return None


CATEGORY_WORDS = {
    "phone": ("phone", "phones", "smartphone", "smartphones"),
    "laptop": ("laptop", "laptops", "notebook", "notebooks"),
    "tablet": ("tablet", "tablets"),
    "earbuds": ("earbuds", "earphones", "headphones", "buds", "pods"),
}


_ANAPHORA = re.compile(
    r"\b(it|its|it's|they|them|their|this one|that one|the same|the other|both|either)\b", re.I
)


def is_follow_up(question: str) -> bool:
    """A question that leans on the previous turn: "and its camera?", "what about them"."""
    return bool(_ANAPHORA.search(question)) or (
        len(question.split()) <= 5
        and question.lower().startswith(("and ", "what about", "how about"))
    )


def find_category(text: str) -> str | None:
    """The product category a question restricts to ("which *phone* …"), if any."""
    words = set(normalize(text).split())
    return next((c for c, names in CATEGORY_WORDS.items() if words & set(names)), None)


def route(
    question: str,
    resolver: ProductResolver,
    *,
    aspects: Sequence[str] = (),
    previous_products: Sequence[ProductName] = (),
) -> Intent:
    """The intent of `question` and the tool calls that answer it.

    `previous_products` resolve follow-ups ("and its camera?") to the products the
    conversation was about.
    """
    products = resolver.find(question)
    unknown = resolver.unknown(question)
    aspect = find_aspect(question, aspects)
    category = find_category(question)
    follow_up = not products and not unknown and bool(previous_products) and is_follow_up(question)
    if follow_up:
        products = list(previous_products)
    names = [p.display for p in products]
    search = {"query": question, "products": names}

    if unknown and not products:
        intent = Intent("unknown_product", unknown_products=unknown, aspect=aspect)
        intent.calls = [("product_opinions", {"products": unknown, "aspect": aspect})]
    elif _MENTIONS.search(question) and products:
        intent = Intent("mentions", products, unknown, aspect)
        intent.calls = [("product_opinions", {"products": names, "aspect": aspect})]
    elif len(products) >= 2:
        intent = Intent("compare", products[:3], unknown, aspect)
        intent.calls = [
            ("product_opinions", {"products": names[:3], "aspect": aspect}),
            ("search_reviews", {**search, "products": names[:3]}),
        ]
    elif products:
        intent = Intent("product", products[:1], unknown, aspect)
        intent.calls = [
            ("product_opinions", {"products": names[:1], "aspect": aspect}),
            ("search_reviews", {**search, "products": names[:1]}),
        ]
    elif _RANK.search(question) and (aspect or category):
        order = "worst" if _NEGATIVE_RANK.search(question) else "best"
        intent = Intent("rank", aspect=aspect)
        ranking = {"products": [], "aspect": aspect, "order": order, "category": category}
        intent.calls = [("product_opinions", ranking)]
    else:
        intent = Intent("search", aspect=aspect)
        intent.calls = [("search_reviews", {"query": question, "products": []})]
    return intent
