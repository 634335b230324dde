"""Which product an opinion is about, from the NER/linker output and the document's subject.

Rule (simple on purpose, and the same for every backend), for an opinion with no target:

1. `same sentence`: the PRODUCT entity of the sentence where it is expressed: the last
   one named before the opinion's anchor (where the aspect is spoken of, when the backend
   gives one), else the nearest one; never one named as what is compared with or
   replaced ("better than the nokia 3650", "replaced with the x105": `_compared`);
   `other brand`: else, when the sentence names a BRAND that does not make the product
   the rules below would pick (and names none that does), that brand: "the motorola has
   a horrible battery" in a Nokia review is about Motorola, not the Nokia;
2. `document subject`: the product the document is about (`meta.product_id`, else
   `meta.product`: a catalog id or a name, from the JSONL/CSV record), so opinions in a
   review that never names its product, and "it" / "this phone" / no-target opinions,
   land on it;
3. `context`: else the product named last before that sentence ("It lasts two days"
   talks about the product named last);
4. `only product`: else the document's only product.

The target is the entity's catalog id (`kb_id_`, set by the linker) when there is one,
else its text; a mention whose words are all in the subject's name ("the v3" in a review
of the "Vela V3", "6610" in one of the Nokia 6610) is the subject. The rule used is
kept in `Opinion.method` and reaches the graph's provenance. Opinions that already have
a target keep it.
"""

from __future__ import annotations

import re
from typing import Any

from spacy.tokens import Doc, Span

PRODUCT_LABELS = {"PRODUCT", "product"}
BRAND_LABELS = {"BRAND", "brand"}
SAME_SENTENCE, OTHER_BRAND, SUBJECT, CONTEXT, ONLY_PRODUCT = (
    "same sentence",
    "other brand",
    "document subject",
    "context",
    "only product",
)
_WORD = re.compile(r"[a-z0-9]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\s*\n\s*")


def sentence_bounds(text: str) -> list[tuple[int, int]]:
    """Character ranges of sentences: a split after . ! ? and whitespace, or at a line break."""
    bounds, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        if match.start() > start:
            bounds.append((start, match.start()))
        start = match.end()
    if start < len(text) or not bounds:
        bounds.append((start, len(text)))
    return bounds


def _name(ent: Span) -> str:
    return ent.kb_id_ or ent.text


def document_subject(doc: Doc) -> str | None:
    """The product `doc` is about, from its metadata: a linked mention of the same name
    gives the catalog id; otherwise the value as given (a catalog id or a name)."""
    meta: dict[str, Any] = doc._.meta or {}
    subject = meta.get("product_id") or meta.get("product")
    if subject is None or not str(subject).strip():
        return None
    subject = str(subject).strip()
    for ent in doc.ents:
        if ent.kb_id_ and ent.text.lower() == subject.lower():
            return ent.kb_id_
    return subject


def attach_targets(doc: Doc, opinions: list) -> list:
    products = [ent for ent in doc.ents if ent.label_ in PRODUCT_LABELS]
    brands = [ent for ent in doc.ents if ent.label_ in BRAND_LABELS]
    subject = document_subject(doc)
    if not products and subject is None:
        return opinions
    bounds = sentence_bounds(doc.text)

    def sentence_of(offset: int) -> tuple[int, int]:
        return next((b for b in bounds if b[0] <= offset < max(b[1], b[0] + 1)), bounds[-1])

    named = _words(" ".join(_subject_names(doc, subject)))

    def name_of(ent: Span) -> str:
        """The subject when the mention names it, else the entity's id or text. It names
        it when its words are all in the subject's name ("the v3" in a review of the "Vela
        V3") or its model numbers are ("the vela pro v3": a line name the file's name
        leaves out); "the v2" (another number) or "the nova v3 max" (two words it lacks)
        do not."""
        words = _words(ent.text)
        if subject is None or not words:
            return _name(ent)
        numbers = {w for w in words if any(c.isdigit() for c in w)}
        if words <= named or (numbers and numbers <= named and len(words - named) == 1):
            return subject
        return _name(ent)

    attached = []
    for opinion in opinions:
        if opinion.target is None:
            target, method = _target(opinion, products, subject, sentence_of, name_of)
            if target is not None and method != SAME_SENTENCE and opinion.start is not None:
                lo, hi = sentence_of(opinion.start)
                other = _other_brand([b for b in brands if lo <= b.start_char < hi], target)
                if other is not None:
                    target, method = other, OTHER_BRAND
            opinion = opinion.model_copy(update={"target": target, "method": method})
        attached.append(opinion)
    return attached


def _words(name: str) -> set[str]:
    return set(_WORD.findall(name.lower()))


def _other_brand(brands: list[Span], target: str) -> str | None:
    """The sentence's brand that does not make `target`, unless one of them does (a brand
    makes a product when all its words are in the product's id or name)."""
    words = _words(target)
    makers = [b for b in brands if _words(b.text) and _words(b.text) <= words]
    others = [  # not one compared with: "better than my samsung"
        b for b in brands if _words(b.text) and not _words(b.text) <= words and not _compared(b)
    ]
    if makers or not others:
        return None
    return _name(others[0])


_COMPARED = re.compile(
    r"\b(than|unlike|compared (to|with)|vs\.?|versus|instead of|rather than|replaced (it )?"
    r"(with|by)|beats?|over|(switched|upgraded|moved( up)?|switching|upgrading) from|"
    r"(superior|inferior|similar|next) to|same as|(just|much|more|looks?|feels?) like|"
    r"as (?!well\b)\w+( \w+)? as)\s+"
    r"((the|a|an|my|our|his|her|their|that|this|old|older|previous|last|new|newer)\s+){0,3}$",
    re.I,
)


def _compared(ent: Span) -> bool:
    """Whether `ent` is named as what something else is compared with, likened to or
    replaces ("better than the nokia 3650", "unlike my samsung", "not as loud as the t610",
    "just like my old z4", "replaced with the x105", "beats my old z4"): the sentence's
    opinion is then about the other product, not this one. "I like the X" and "as well
    as the X" name X itself."""
    # the dozen tokens before it, not `doc.text` (spaCy joins every token on each access)
    before = ent.doc[max(0, ent.start - 12) : ent.start].text_with_ws[-60:]
    before = re.split(r"[.!?;]", before)[-1]
    return bool(_COMPARED.search(before))


def _said_of(near: list[Span], opinion: Any) -> Span:
    """The product of the sentence an opinion is said of: with an anchor (where the aspect
    is spoken of), the last one named before it ("the Aurex wins on sound, the Buds 2 on
    comfort"), else the first one after it; without, the one nearest the opinion's start."""
    if opinion.anchor is None:
        return min(near, key=lambda p: abs(p.start_char - opinion.start))
    before = [p for p in near if p.start_char <= opinion.anchor]
    if before:
        return max(before, key=lambda p: p.start_char)
    return min(near, key=lambda p: p.start_char)


def _subject_names(doc: Doc, subject: str | None) -> list[str]:
    meta: dict[str, Any] = doc._.meta or {}
    if subject is None:
        return []
    return [subject, *(str(meta[key]) for key in ("product", "product_name") if meta.get(key))]


def _target(
    opinion: Any, products: list[Span], subject: str | None, sentence_of: Any, name_of: Any
) -> tuple[str | None, str | None]:
    lo = None
    if opinion.start is not None:
        lo, hi = sentence_of(opinion.start)
        near = [p for p in products if lo <= p.start_char < hi and not _compared(p)]
        if near:
            said_of = _said_of(near, opinion)
            target = name_of(said_of)
            if target == subject and not said_of.kb_id_:  # "the v3" of the "Vela V3"
                return target, SUBJECT
            return target, SAME_SENTENCE
    if subject is not None:
        return subject, SUBJECT
    if lo is not None:
        before = [p for p in products if p.start_char < lo]
        if before:
            return name_of(before[-1]), CONTEXT
    if len({name_of(p) for p in products}) == 1:
        return name_of(products[0]), ONLY_PRODUCT
    return None, None
