"""Opinions about several products in one review land on the right product."""

from __future__ import annotations

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
    contexts = {
        target: (mention, context) for target, mention, context in product_contexts(review())
    }
    assert set(contexts) == {"nebula-x1", "orion-5"}
    assert contexts["orion-5"][1] == (
        "I moved from the Nebula X1 to the Orion 5. It lasts two days. The camera is great."
    )
    assert contexts["nebula-x1"][1] == (
        "I moved from the Nebula X1 to the Orion 5. My old X1 died by lunch."
    )


def test_llm_schema_names_the_products_and_maps_back_to_catalog_ids() -> None:
    doc = review()
    task = SentimentTask()
    schema = task.llm_schema(doc)
    item = schema.model_json_schema()["$defs"]["AspectPolarity"]["properties"]
    assert item["product"]["enum"] == ["Nebula X1", "Orion 5", "X1"]
    parsed = schema.model_validate(
        {"opinions": [{"product": "X1", "aspect": "battery", "polarity": "negative"}]}
    )
    [opinion] = task.from_llm(doc, parsed).opinions
    assert (opinion.target, opinion.aspect, opinion.polarity) == (
        "nebula-x1",
        "battery",
        "negative",
    )
    assert _products(make_doc("no products")) == {}
    assert (
        "product"
        not in _category_schema(("battery",)).model_json_schema()["$defs"]["AspectPolarity"][
            "properties"
        ]
    )
