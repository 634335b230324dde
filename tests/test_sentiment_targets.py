"""Opinions about several products in one review land on the right product."""

from __future__ import annotations

import pytest

from distill.doc import make_doc
from distill.plugins.sentiment.targets import sentence_bounds
from distill.plugins.sentiment.task import (
    Opinion,
    Opinions,
    SentimentTask,
    _category_schema,
    _products,
)


def review():  # type: ignore[no-untyped-def]
    text = (
        "I moved from the Nebula X1 to the Orion 5. It lasts two days. "
        "The camera is great. My old X1 died by lunch."
    )
    doc = make_doc(text, "r")
    spans = [
        doc.char_span(17, 26, label="PRODUCT", kb_id="nebula-x1"),
        doc.char_span(34, 41, label="PRODUCT", kb_id="orion-5"),
        doc.char_span(90, 92, label="PRODUCT", kb_id="nebula-x1"),
    ]
    doc.ents = spans
    return doc


def test_context_carries_over_until_another_product_is_named() -> None:
    doc = review()
    opinions = [
        Opinion(aspect=aspect, polarity="positive", start=lo, end=hi)
        for aspect, (lo, hi) in zip(
            ["overall", "battery", "camera", "battery"], sentence_bounds(doc.text), strict=True
        )
    ]
    SentimentTask().write(doc, Opinions(opinions=opinions))
    assert [(o.target, o.method) for o in doc._.opinions] == [
        ("orion-5", "same sentence"),  # moved *from* the X1: the opinion is the Orion's
        ("orion-5", "context"),
        ("orion-5", "context"),
        ("nebula-x1", "same sentence"),
    ]


def test_llm_schema_names_the_products_and_maps_back_to_catalog_ids() -> None:
    doc = review()
    task = SentimentTask()
    schema = task.llm_schema(doc)
    item = schema.model_json_schema()["properties"]["opinions"]["items"]["prefixItems"]
    assert item[0]["enum"] == ["Nebula X1", "Orion 5", "X1"]
    parsed = schema.model_validate({"opinions": [["X1", "battery", "negative"]]})
    [opinion] = task.from_llm(doc, parsed).opinions
    assert (opinion.target, opinion.aspect, opinion.polarity) == (
        "nebula-x1",
        "battery",
        "negative",
    )
    assert _products(make_doc("no products")) == {}
    pair = _category_schema(("battery", "camera")).model_json_schema()["properties"]["opinions"]
    assert [p["enum"] for p in pair["items"]["prefixItems"]] == [
        ["battery", "camera"],
        ["positive", "negative", "neutral"],
    ]


def test_a_sentence_about_another_brand_is_not_the_subjects() -> None:
    text = (
        "Great phone overall. The motorola I had before has a horrible battery. "
        "Nokia beats Samsung on keys."
    )
    doc = make_doc(text, "r", meta={"product": "nokia-6610-phone"})
    doc.ents = [
        doc.char_span(text.index("motorola"), text.index("motorola") + 8, label="BRAND"),
        doc.char_span(text.index("Nokia"), text.index("Nokia") + 5, label="BRAND"),
        doc.char_span(text.index("Samsung"), text.index("Samsung") + 7, label="BRAND"),
    ]
    bounds = sentence_bounds(text)
    opinions = [
        Opinion(aspect=aspect, polarity="positive", start=lo, end=hi)
        for aspect, (lo, hi) in zip(["overall", "battery", "keyboard"], bounds, strict=True)
    ]
    SentimentTask().write(doc, Opinions(opinions=opinions))
    assert [(o.target, o.method) for o in doc._.opinions] == [
        ("nokia-6610-phone", "document subject"),
        ("motorola", "other brand"),
        ("nokia-6610-phone", "document subject"),  # the subject's maker is named too
    ]


def test_a_term_with_quotes_is_not_a_grammar_constant() -> None:
    """llama.cpp's grammar parser fails (and the process dies) on an escaped quote inside a
    constant: such a term takes any string and its position is not checked."""
    from distill.plugins.sentiment.task import _term_schema

    terms = ('left "mouse" button', "screen")
    schema = _term_schema(terms)
    items = schema.model_json_schema()["properties"]["opinions"]["prefixItems"]
    assert [i["prefixItems"][0].get("const") for i in items] == [None, "screen"]
    doc = make_doc('The left "mouse" button sticks, the screen is fine.', "d")
    doc._.meta["aspect_terms"] = [
        {"term": terms[0], "start": 4, "end": 23},
        {"term": "screen", "start": 36, "end": 42},
    ]
    parsed = schema(opinions=[("left mouse button", "negative"), ("screen", "positive")])
    out = SentimentTask().from_llm(doc, parsed)
    assert [(o.term, o.polarity) for o in out.opinions] == [
        (terms[0], "negative"),
        ("screen", "positive"),
    ]


def with_products(text: str, products: dict[str, str]):  # type: ignore[no-untyped-def]
    """A doc whose PRODUCT entities are the first occurrences of `products` (name -> id)."""
    doc = make_doc(text, "r")
    spans = [
        doc.char_span(text.index(name), text.index(name) + len(name), "PRODUCT", kb_id=kb_id)
        for name, kb_id in products.items()
    ]
    doc.ents = spans
    return doc


def test_an_anchored_opinion_goes_to_the_product_named_before_its_anchor() -> None:
    """One sentence, two products: each opinion goes to the product it is said of."""
    text = "The Aurex Pods 2 win on sound, the Buds 2 fit better."
    doc = with_products(text, {"Aurex Pods 2": "aurex-pods-2", "Buds 2": "buds-2"})
    end = len(text)
    opinions = [
        Opinion(aspect="sound", polarity="positive", start=0, end=end, anchor=text.index("sound")),
        Opinion(aspect="design", polarity="positive", start=0, end=end, anchor=text.index("fit")),
        Opinion(aspect="price", polarity="neutral", start=0, end=end, anchor=0),  # before both
        Opinion(aspect="overall", polarity="positive", start=0, end=end),  # no anchor: nearest
    ]
    SentimentTask().write(doc, Opinions(opinions=opinions))
    assert [o.target for o in doc._.opinions] == [
        "aurex-pods-2",
        "buds-2",
        "aurex-pods-2",
        "aurex-pods-2",
    ]


def test_the_trained_model_anchors_each_aspect_where_it_is_spoken_of() -> None:
    """The real shipped model: the aspect queries' attention points at the aspect's words,
    and each opinion goes to the product named before them."""
    from distill.plugins.sentiment.general import general_model_path
    from distill.plugins.sentiment.model import AbsaModel
    from distill.plugins.sentiment.trained import predict_opinions

    text = "The Orion 6 has a terrible battery, and the Nebula X2 has an awful screen."
    doc = with_products(text, {"Orion 6": "orion-6", "Nebula X2": "nebula-x2"})
    [found] = predict_opinions(AbsaModel.load(general_model_path()), [doc])
    anchored = {o.aspect: text[o.anchor :].split()[0] for o in found.opinions if o.anchor}
    assert anchored["battery"].startswith("battery")
    assert anchored["screen"].startswith("screen")
    SentimentTask().write(doc, found)
    targets = {(o.aspect, o.polarity): o.target for o in doc._.opinions}
    assert targets[("battery", "negative")] == "orion-6"
    assert targets[("screen", "negative")] == "nebula-x2"


@pytest.mark.real
def test_the_trained_model_reads_a_sentence_that_praises_and_criticises() -> None:
    """One sentence, two verdicts: the model with its top three layers fine-tuned reads both
    halves (the one before read both one way; BENCHMARKS.md, One sentence, two verdicts)."""
    from distill.plugins.sentiment.general import general_model_path
    from distill.plugins.sentiment.model import AbsaModel
    from distill.plugins.sentiment.trained import predict_opinions

    text = "The Orion 6 has a terrible battery, but the Nebula X2 has a gorgeous screen."
    [found] = predict_opinions(AbsaModel.load(general_model_path()), [make_doc(text)])
    said = {(o.aspect, o.polarity) for o in found.opinions}
    assert {("battery", "negative"), ("screen", "positive")} <= said
