"""From an annotated spaCy `Doc` to `DocumentFacts`: all ingestion needs before `write_document`.

Entities come from `doc.ents` (catalog ids in `kb_id_`), opinions from
`doc._.opinions`, a plugin task's output from `doc._.results[task]` (as `Fact`s),
confidences from `distill.doc.get_confidence`. Provenance names
the tool, the backend that ran it and its model, so every fact can be traced; an
opinion's span is where it is said (its term, or its sentence) and its ABOUT edge
says how its product was chosen (`method`: same sentence, document subject, …).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from spacy.tokens import Doc

from distill.doc import get_confidence
from distill.graph.errors import GraphError
from distill.graph.resolve import normalize
from distill.graph.schema import (
    DocumentFacts,
    DocumentNode,
    MentionFact,
    OpinionFact,
    PluginFact,
    Provenance,
)

SUBJECT = "document subject"
"""`Opinion.method` of an opinion attached to the document's subject (`meta.product`)."""


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def facts_from_doc(
    doc: Doc,
    tool_backends: Mapping[str, str],
    *,
    models: Mapping[str, str] | None = None,
    model_versions: Mapping[str, str] | None = None,
    products: Mapping[str, str] | None = None,
) -> DocumentFacts:
    """Everything `doc` says, as facts of document `doc._.doc_id`.

    `tool_backends` maps task to backend (`{"ner": "trained", "linker": "prompt"}`);
    `models`/`model_versions` map task to model name/version; `products` maps
    catalog id to product name.
    """
    doc_id = doc._.doc_id
    if not doc_id:
        raise GraphError("the document has no id (doc._.doc_id); give every document an id")
    models, versions = dict(models or {}), dict(model_versions or {})
    text, ents = doc.text, doc.ents  # spaCy builds both from the tokens on every access

    def prov(tool: str, start: int | None, end: int | None, confidence: float | None) -> Provenance:
        return Provenance(
            doc_id=doc_id,
            char_start=start,
            char_end=end,
            tool=tool,
            backend=tool_backends.get(tool),
            model=models.get(tool),
            model_version=versions.get(tool),
            confidence=confidence,
        )

    mentions = []
    by_text: dict[str, tuple[str, str | None]] = {}
    for ent in ents:
        s, e = ent.start_char, ent.end_char
        kb_id = ent.kb_id_ or None
        link = prov("linker", s, e, get_confidence(doc, "linker", s, e)) if kb_id else None
        mentions.append(
            MentionFact(
                text=ent.text,
                label=ent.label_,
                product_id=kb_id,
                provenance=prov("ner", s, e, get_confidence(doc, "ner", s, e)),
                link=link,
            )
        )
        by_text.setdefault(normalize(ent.text), (ent.label_, kb_id))
    products = dict(products or {})
    kb_ids = {ent.kb_id_ for ent in ents if ent.kb_id_} | set(products)
    meta = doc._.meta or {}

    opinions = []
    for raw in doc._.opinions or []:
        op: dict[str, Any] = raw if isinstance(raw, dict) else raw.model_dump()
        target, product_id, label = op.get("target"), None, "PRODUCT"
        if target in kb_ids:
            product_id, target = target, None
        elif target and op.get("method") == SUBJECT:
            # the document says which product it is about (meta.product): a product by fiat
            product_id, target = target, None
            name = meta.get("product_name") or meta.get("product")
            # a name no catalog entry took (`product_id` unset) names its own node
            named = name and (name != product_id or not meta.get("product_id"))
            products.setdefault(product_id, name if named else None)
        elif target:
            label, product_id = by_text.get(normalize(target), ("PRODUCT", None))
            target = None if product_id else target
        opinions.append(
            OpinionFact(
                aspect=op["aspect"],
                polarity=op["polarity"],
                product_id=product_id,
                target=target,
                target_label=label,
                term=op.get("term"),
                method=op.get("method"),
                provenance=prov("sentiment", op.get("start"), op.get("end"), op.get("confidence")),
            )
        )
    facts = [
        PluginFact(
            task=task,
            payload=payload,
            text=text[start:end] if start is not None and end is not None else None,
            provenance=prov(task, start, end, confidence),
        )
        for task, output in (doc._.results or {}).items()
        if task in tool_backends  # what this run's tools wrote, not leftovers
        for payload, start, end, confidence in plugin_items(output, len(text))
    ]
    return DocumentFacts(
        document=DocumentNode(
            id=doc_id,
            content_hash=content_hash(text),
            source=meta.get("source"),
            title=meta.get("title"),
            n_chars=len(text),
        ),
        products={k: v for k, v in products.items() if v},
        mentions=mentions,
        opinions=opinions,
        facts=facts,
    )


def plugin_items(
    output: Any, n_chars: int
) -> list[tuple[dict[str, Any], int | None, int | None, float | None]]:
    """A plugin task's typed output as (payload, start, end, confidence) facts.

    An output with one list of objects (`Prices.prices`) gives one fact per object, its
    span from `start`/`end` (or `char_start`/`char_end`) and its `confidence` when it has
    them; any other output is one fact about the whole document."""
    data = output.model_dump(mode="json") if isinstance(output, BaseModel) else output
    if not isinstance(data, dict):
        data = {"value": data}
    lists = [v for v in data.values() if isinstance(v, list)]
    if len(lists) == 1 and all(isinstance(item, dict) for item in lists[0]):
        items = lists[0]
    else:
        return [(data, None, None, _number(data.get("confidence")))] if data else []
    out = []
    for item in items:
        start = item.get("start", item.get("char_start"))
        end = item.get("end", item.get("char_end"))
        valid = isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= n_chars
        out.append(
            (
                item,
                start if valid else None,
                end if valid else None,
                _number(item.get("confidence")),
            )
        )
    return out


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and 0 <= value <= 1 else None
