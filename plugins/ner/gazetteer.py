"""The catalog gazetteer: product and brand names of the configured catalog, found in text.

spaCy `PhraseMatcher`s built from each entry's names and aliases (PRODUCT) and the
brands (BRAND), so a new catalog is recognised with no training. Most forms match
case-insensitively (reviews are often lower-cased); a one-word form that is also an
English word ("Bold", "Apple", "Sharp") matches only as written, so "an apple" is not
a brand. A name without its brand ("Nokia 6610" → "6610") is added only when no
other product has it and it cannot be an ordinary word or number: it needs a model
number of three or more characters, and a bare number needs four digits and must not
look like a year or a round figure ("2004", "5000").

`clean` trims what a statistical model tags around a name (punctuation, lower-case
function words) and drops spans with no letter ("#38", "3.5 )", "last 8") or made of
lower-case English words only ("zones", "flip phones"). It applies to name labels only
(`NAMES`, PRODUCT and BRAND by default): an INGREDIENT "garlic" or an EQUIPMENT "cast
iron pan" is lower-case English and right, so other labels' spans are kept as found.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence

from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans
from spacy.vocab import Vocab

from distill.doc import tokenizer
from distill.plugins.linker.catalog import (
    Catalog,
    CatalogEntry,
    brandless_ok,
    english,
    is_word,
    normalize,
)

PRODUCT, BRAND = "PRODUCT", "BRAND"
NAMES = (PRODUCT, BRAND)
"""The labels `clean` treats as names unless a backend is told otherwise (`options.names`)."""


def product_forms(entry: CatalogEntry) -> list[str]:
    """The entry's own names and aliases (the brand-less form is judged separately)."""
    brandless = normalize(entry.brandless() or "")
    return [f for f in entry.names() if normalize(f) != brandless]


def network_variants(entry: CatalogEntry) -> list[str]:
    """The short and brand-less names without a trailing network generation ("5G", "LTE")."""
    out = []
    for form in (entry.short_name(), entry.brandless() or ""):
        words = form.split()
        if len(words) > 2 and words[-1].lower() in ("5g", "4g", "3g", "lte"):
            out.append(" ".join(words[:-1]))
    return out


class Gazetteer:
    """Finds catalog names in Docs; one per catalog (build it once, reuse for every batch)."""

    def __init__(self, catalog: Catalog, vocab: Vocab | None = None) -> None:
        self.catalog = catalog
        self.vocab = vocab or tokenizer().vocab
        self.caseless = PhraseMatcher(self.vocab, attr="LOWER")
        self.cased = PhraseMatcher(self.vocab, attr="ORTH")
        owners: dict[str, set[str]] = {}
        for entry in catalog.entries:
            for form in entry.names():
                owners.setdefault(normalize(form), set()).add(entry.id)
        caseless: dict[str, list[str]] = {PRODUCT: [], BRAND: []}
        cased: dict[str, list[str]] = {PRODUCT: [], BRAND: []}
        variants: dict[str, set[str]] = {}
        for entry in catalog.entries:
            for form in network_variants(entry):
                variants.setdefault(normalize(form), set()).add(entry.id)
        for entry in catalog.entries:
            for form in product_forms(entry):
                self._add(form, PRODUCT, caseless, cased)
            brandless = entry.brandless()
            unique = brandless and owners[normalize(brandless)] == {entry.id}
            if unique and brandless_ok(brandless):
                caseless[PRODUCT].append(brandless)
            for form in network_variants(entry):  # "Galaxy S21 Ultra" for the "… Ultra 5G"
                key = normalize(form)
                if variants[key] == {entry.id} and key not in owners and brandless_ok(form):
                    caseless[PRODUCT].append(form)
        for brand in sorted(catalog.brands().values()):
            self._add(brand, BRAND, caseless, cased)
        for matcher, table in ((self.caseless, caseless), (self.cased, cased)):
            for label, forms in table.items():
                unique = sorted(set(forms))
                if unique:
                    matcher.add(label, list(tokenizer().tokenizer.pipe(unique)))

    @staticmethod
    def _add(
        form: str, label: str, caseless: dict[str, list[str]], cased: dict[str, list[str]]
    ) -> None:
        if not re.search(r"[^\W\d_]", form) or len(normalize(form)) < 2:
            return  # no letter ("6610" as an alias is judged as a brand-less form)
        if len(form.split()) == 1 and is_word(form) and not re.search(r"\d", form):
            cased[label] += [form, form[:1].upper() + form[1:]]  # "Apple", "Bold"
        else:
            caseless[label].append(form)

    def spans(self, doc: Doc) -> list[Span]:
        """Non-overlapping PRODUCT/BRAND spans, longest first ("Nokia 6610" over "Nokia")."""
        found = [
            Span(doc, start, end, label=self.vocab.strings[match_id])
            for matcher in (self.caseless, self.cased)
            for match_id, start, end in matcher(doc)
            if self.vocab.strings[match_id] != PRODUCT or not _in_compound(doc, start, end)
        ]
        return filter_spans(found)


def _in_compound(doc: Doc, start: int, end: int) -> bool:
    """A one-word product name without digits glued by a hyphen to another word is part
    of a compound, not the product: "mega-static" in a Nokia review is no Coolpad Mega (a
    brand stays a brand: "ex-Nokia")."""
    if end - start != 1 or not doc[start].is_alpha:
        return False
    before = start >= 2 and doc[start - 1].text == "-" and not doc[start - 2].whitespace_
    before = before and not doc[start - 1].whitespace_ and doc[start - 2].is_alpha
    after = end + 1 < len(doc) and doc[end].text == "-" and not doc[start].whitespace_
    after = after and not doc[end].whitespace_ and doc[end + 1].is_alpha
    return before or after


def clean(spans: Iterable[Span], names: Collection[str] = NAMES) -> list[Span]:
    """Statistical spans of the `names` labels trimmed of edge punctuation and lower-case
    function words; those left without a letter, made of plain words or a quantity, and
    products with neither a capital nor a digit are dropped ("#38", "3.5 )", "last 8",
    "zones", "4x zoom", "mms technology"). Spans of other labels are kept as found."""
    kept = []
    for span in spans:
        if span.label_ not in names:
            kept.append(span)
            continue
        start, end = span.start, span.end
        doc = span.doc
        while start < end and _edge_junk(doc[start]):
            start += 1
        while end > start and _edge_junk(doc[end - 1]):
            end -= 1
        while end - start > 1 and _describing(doc[start]):
            start += 1  # "expensive sanyo 5500", "old motorola l7089"
        while span.label_ == "BRAND" and end - start > 1 and _plain_word(doc[end - 1]):
            end -= 1  # "sony phones": the brand is what comes before
        if end > start and re.search(r"[^\W\d_]", doc[start:end].text):
            trimmed = Span(doc, start, end, label=span.label_)
            if not _plain_words(trimmed) and not _quantity(trimmed) and _named(trimmed):
                kept.append(trimmed)
    return kept


STANDARDS = frozenset(
    (  # noqa: SIM905 (a word list reads best as words)
        "gsm gprs edge cdma tdma umts lte wcdma hsdpa usb wifi wlan bluetooth irda mp aac wav "
        "jpeg jpg gif png lcd tft oled amoled hd sd sdhc ram rom cpu gpu ghz mhz mah tri dual "
        "quad band sim dvd cd vcd mpeg divx hdmi vga dvi ntsc pal"
    ).split()
)
"""Standards, formats and parts: words of spans that are no product ("gsm900", "usb 1.0",
"tri-band gsm850"), though they carry a number as model names do."""


def _standard(span: Span) -> bool:
    """Only standards, English words and numbers, one standard at least."""
    chunks = re.findall(r"[a-z]+", span.text.lower())
    return any(c in STANDARDS for c in chunks) and all(c in STANDARDS or english(c) for c in chunks)


def _named(span: Span) -> bool:
    """A product a model finds is written with a capital or a model number ("Zen Xtra",
    "s105", "sanyo 5500"); a lower-case run of words is not trusted as one ("mms
    technology", "fav c-phone" in lower-cased reviews): it would take the sentence's
    opinions from the product the review is about. Catalog names come from the gazetteer."""
    if span.label_ != "PRODUCT":
        return True
    return bool(re.search(r"[\dA-Z]", span.text)) and not _standard(span)


_DESCRIBING = re.compile(
    r"^(new|old|brand-new|cheap|great|good|nice|best|better|bad|worst|little|big|small|"
    r"[a-z]+(ive|ous|ful|able|ible|less|ish))$"
)


def _describing(token) -> bool:  # type: ignore[no-untyped-def]
    """A lower-case adjective that describes a product rather than names it."""
    return token.is_lower and bool(_DESCRIBING.match(token.text)) and english(token.text)


def _number(token) -> bool:  # type: ignore[no-untyped-def]
    return any(c.isdigit() for c in token.text)


def _plain_word(token) -> bool:  # type: ignore[no-untyped-def]
    return token.is_punct or token.like_num or (token.is_lower and english(token.text))


def _quantity(span: Span) -> bool:
    """A number with its unit or a plain word ("4x zoom", "16gb", "2 mp"): no name."""
    return bool(_QUANTITY.match(span.text)) and _plain_words(span[1:])


def _plain_words(span: Span) -> bool:
    """Only lower-case English words and numbers ("zones", "flip phones", "last 8"): in
    lower-cased reviews that is no name; a real one is capitalised or not a word."""
    return all(_plain_word(t) for t in span)


_QUANTITY = re.compile(
    r"^\d+(\.\d+)?\s?(x|gb|mb|tb|mp|mpx|megapixels?|mah|ghz|mhz|hz|mm|in|inch)\b", re.I
)


def _edge_junk(token) -> bool:  # type: ignore[no-untyped-def]
    return token.is_punct or token.is_space or (token.is_stop and token.is_lower)


def merge(preferred: Sequence[Span], others: Sequence[Span]) -> list[Span]:
    """`preferred` spans (the gazetteer's) plus the `others` that overlap none of them; a
    product of `others` that holds a preferred brand and a model number ("sony f717" over
    the catalog's brand "sony"; not "Aurex pair") is the more precise reading and
    replaces it."""
    products = [s for s in others if s.label_ == "PRODUCT" and any(_number(t) for t in s)]
    preferred = [
        s
        for s in preferred
        if s.label_ != "BRAND"
        or not any(o.start <= s.start and s.end <= o.end and len(o) > len(s) for o in products)
    ]
    taken = [(s.start, s.end) for s in preferred]
    extra = [s for s in others if all(s.end <= a or s.start >= b for a, b in taken)]
    return sorted([*preferred, *filter_spans(extra)], key=lambda s: s.start)
