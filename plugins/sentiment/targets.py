"""Which product an opinion is about, from the NER/linker output already on the `Doc`.

Rule (simple on purpose, and the same for every backend): the nearest PRODUCT
entity in the same sentence as the opinion's term; an opinion without a term
(category level) goes to the sentence's only product, or the document's only
product. The target is the entity's catalog id (`kb_id_`, set by the linker) when
there is one, else its text. Opinions that already have a target keep it.
"""

from __future__ import annotations

import re

from spacy.tokens import Doc, Span

PRODUCT_LABELS = {"PRODUCT", "product"}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def sentence_bounds(text: str) -> list[tuple[int, int]]:
    """Character ranges of sentences: a split after . ! ? and whitespace (no parser needed)."""
    bounds, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        bounds.append((start, match.start()))
        start = match.end()
    bounds.append((start, len(text)))
    return bounds


def _name(ent: Span) -> str:
    return ent.kb_id_ or ent.text


def attach_targets(doc: Doc, opinions: list) -> list:
    products = [ent for ent in doc.ents if ent.label_ in PRODUCT_LABELS]
    if not products:
        return opinions
    bounds = sentence_bounds(doc.text)

    def sentence_of(offset: int) -> tuple[int, int]:
        return next((b for b in bounds if b[0] <= offset <= b[1]), bounds[-1])

    attached = []
    for opinion in opinions:
        if opinion.target is None:
            target = None
            if opinion.start is not None:
                lo, hi = sentence_of(opinion.start)
                near = [p for p in products if lo <= p.start_char < hi]
                if near:
                    nearest = min(near, key=lambda p: abs(p.start_char - opinion.start))
                    target = _name(nearest)
            if target is None and len({_name(p) for p in products}) == 1:
                target = _name(products[0])
            opinion = opinion.model_copy(update={"target": target})
        attached.append(opinion)
    return attached


def product_contexts(doc: Doc) -> list[tuple[str, str, str]]:
    """(target, mention text, context) for each product the doc mentions.

    The context of a product is every sentence that names it, plus the sentences
    after the last one naming it, until another product is named ("It lasts two
    days" talks about the product named last). The trained backend classifies each
    context per aspect, so opinions in a review about several products land on the
    right one.
    """
    products = [ent for ent in doc.ents if ent.label_ in PRODUCT_LABELS]
    if not products:
        return []
    sentences: dict[str, list[str]] = {}
    mention: dict[str, str] = {}
    current: list[str] = []
    for lo, hi in sentence_bounds(doc.text):
        named = [_name(p) for p in products if lo <= p.start_char < hi]
        for product in products:
            if lo <= product.start_char < hi:
                mention.setdefault(_name(product), product.text)
        for target in dict.fromkeys(named) if named else current:
            sentences.setdefault(target, []).append(doc.text[lo:hi])
        if named:
            current = [named[-1]]  # "It lasts two days" is about the last product named
    return [(target, mention[target], " ".join(sentences[target])) for target in sentences]
