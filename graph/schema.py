"""The graph's schema: what one document contributes, with provenance on every fact.

`DocumentFacts` is the unit of writing: a store replaces all facts of a document at
once, so re-ingesting never duplicates and a crash never leaves half a document.
`records()` flattens it into plain nodes and edges that every backend writes the
same way, so the backends cannot drift apart on what a fact looks like.

    (:Document)-[:MENTIONS]->(:Entity)-[:REFERS_TO]->(:Product)
    (:Document)-[:EXPRESSES]->(:Opinion)-[:ABOUT]->(:Product | :Entity)
                                        (:Opinion)-[:ON_ASPECT]->(:Aspect)
    (:Entity)-[:SAME_AS]->(:Entity)     uncertain resolution, reversible
    (:Document)-[:HAS_FACT]->(:Fact)    a plugin task's output: task, JSON payload, span

ABOUT edges say how the opinion's product was chosen (`method`: same sentence, document
subject, context, only product); an opinion's span is where it is said.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from distill.graph.resolve import entity_id, normalize

Polarity = Literal["positive", "negative", "neutral", "conflict"]
POLARITY_SCORE: dict[str, float] = {
    "positive": 1.0,
    "negative": -1.0,
    "neutral": 0.0,
    "conflict": 0.0,
}

NODE_LABELS = ("Document", "Product", "Entity", "Aspect", "Opinion", "Fact")
EDGE_TYPES: dict[str, tuple[tuple[str, str], ...]] = {
    "MENTIONS": (("Document", "Entity"),),
    "REFERS_TO": (("Entity", "Product"),),
    "EXPRESSES": (("Document", "Opinion"),),
    "ABOUT": (("Opinion", "Product"), ("Opinion", "Entity")),
    "ON_ASPECT": (("Opinion", "Aspect"),),
    "SAME_AS": (("Entity", "Entity"),),
    "HAS_FACT": (("Document", "Fact"),),
}

PROVENANCE_COLUMNS: dict[str, str] = {
    "doc_id": "STRING",
    "char_start": "INT64",
    "char_end": "INT64",
    "tool": "STRING",
    "backend": "STRING",
    "model": "STRING",
    "model_version": "STRING",
    "confidence": "DOUBLE",
    "created_at": "STRING",
}
"""Columns every edge (and the Opinion node) carries; typed for the DDL of Ladybug."""

EDGE_COLUMNS: dict[str, str] = {
    **PROVENANCE_COLUMNS,
    "text": "STRING",
    "method": "STRING",
    "product_id": "STRING",
    "link_tool": "STRING",
    "link_backend": "STRING",
    "link_confidence": "DOUBLE",
}
"""`product_id` and `link_*` on MENTIONS repeat the link's provenance, so listing a product's
mentions needs no join on spans (quadratic for popular products)."""

NODE_COLUMNS: dict[str, dict[str, str]] = {
    "Document": {
        "id": "STRING",
        "content_hash": "STRING",
        "source": "STRING",
        "title": "STRING",
        "n_chars": "INT64",
        "ingested_at": "STRING",
    },
    "Product": {"id": "STRING", "name": "STRING", "catalog": "BOOLEAN"},
    "Entity": {"id": "STRING", "label": "STRING", "name": "STRING"},
    "Aspect": {"id": "STRING", "name": "STRING"},
    "Opinion": {
        "id": "STRING",
        "polarity": "STRING",
        "score": "DOUBLE",
        "term": "STRING",
        "aspect": "STRING",
        "target": "STRING",
        **PROVENANCE_COLUMNS,
    },
    "Fact": {
        "id": "STRING",
        "task": "STRING",
        "payload": "STRING",
        "text": "STRING",
        **PROVENANCE_COLUMNS,
    },
}


def now() -> str:
    """UTC time as ISO 8601: sortable text, identical in every backend."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Provenance(_Model):
    """Where a fact came from: which document and span, which tool, backend and model."""

    doc_id: str = Field(min_length=1)
    char_start: int | None = Field(None, ge=0)
    char_end: int | None = Field(None, ge=0)
    tool: str = Field(description="task that produced the fact: ner, linker, sentiment…")
    backend: str | None = Field(None, description="trained, prompt, …")
    model: str | None = None
    model_version: str | None = None
    confidence: float | None = Field(None, ge=0, le=1)
    created_at: str = Field(default_factory=now)

    @model_validator(mode="after")
    def _span_in_order(self) -> Provenance:
        if None not in (self.char_start, self.char_end) and self.char_end < self.char_start:  # type: ignore[operator]
            raise ValueError(f"char_end {self.char_end} < char_start {self.char_start}")
        return self


class DocumentNode(_Model):
    id: str = Field(min_length=1)
    content_hash: str | None = Field(None, description="lets ingest skip unchanged documents")
    source: str | None = None
    title: str | None = None
    n_chars: int | None = Field(None, ge=0)
    ingested_at: str = Field(default_factory=now)


class MentionFact(_Model):
    """An entity mentioned in the document; `product_id` when the linker found it."""

    text: str
    label: str
    name: str | None = Field(None, description="canonical name; default: normalized text")
    product_id: str | None = None
    provenance: Provenance
    link: Provenance | None = Field(None, description="provenance of the catalog link")

    @property
    def entity_id(self) -> str:
        return entity_id(self.label, self.name or self.text)

    @property
    def canonical(self) -> str:
        return normalize(self.name or self.text)


class OpinionFact(_Model):
    """An opinion on an aspect of a product (by catalog id) or of an unlinked entity."""

    aspect: str = Field(min_length=1)
    polarity: Polarity
    product_id: str | None = None
    target: str | None = Field(None, description="entity text when not linked to the catalog")
    target_label: str = "PRODUCT"
    term: str | None = None
    method: str | None = Field(
        None, description="how the target was chosen: same sentence, document subject, …"
    )
    provenance: Provenance


class PluginFact(_Model):
    """One item of a plugin task's output (a price, a warranty term, …): `payload` is the
    item as JSON, its span and confidence are in the provenance."""

    task: str = Field(min_length=1)
    payload: dict[str, Any] = Field(default_factory=dict)
    text: str | None = Field(None, description="the text it was found in (its span)")
    provenance: Provenance


class DocumentFacts(_Model):
    """Everything one document contributes; written and replaced as one unit."""

    document: DocumentNode
    products: dict[str, str] = Field(default_factory=dict, description="catalog id -> name")
    mentions: list[MentionFact] = Field(default_factory=list)
    opinions: list[OpinionFact] = Field(default_factory=list)
    facts: list[PluginFact] = Field(default_factory=list, description="plugin tasks' output")

    @model_validator(mode="after")
    def _provenance_is_this_document(self) -> DocumentFacts:
        doc_id = self.document.id
        provenances = [m.provenance for m in self.mentions]
        provenances += [m.link for m in self.mentions if m.link is not None]
        provenances += [o.provenance for o in self.opinions]
        provenances += [f.provenance for f in self.facts]
        for prov in provenances:
            if prov.doc_id != doc_id:
                raise ValueError(f"a fact of document {doc_id!r} cites document {prov.doc_id!r}")
        return self

    def records(self) -> GraphRecords:
        return _records(self)


@dataclass(frozen=True)
class NodeRecord:
    label: str
    id: str
    props: dict[str, Any]


@dataclass(frozen=True)
class EdgeRecord:
    type: str
    src_label: str
    src: str
    dst_label: str
    dst: str
    props: dict[str, Any]


@dataclass
class GraphRecords:
    """A document's facts as plain nodes and edges, deduplicated by (label, id)."""

    nodes: dict[tuple[str, str], NodeRecord] = field(default_factory=dict)
    edges: list[EdgeRecord] = field(default_factory=list)

    def node(self, node_label: str, node_id: str, **props: Any) -> None:
        label = node_label
        key = (label, node_id)
        old = self.nodes.get(key)
        merged = {**(old.props if old else {}), **{k: v for k, v in props.items() if v is not None}}
        self.nodes[key] = NodeRecord(label, node_id, {"id": node_id, **merged})

    def edge(self, type_: str, src: tuple[str, str], dst: tuple[str, str], **props: Any) -> None:
        full = {column: props.get(column) for column in EDGE_COLUMNS}
        self.edges.append(EdgeRecord(type_, src[0], src[1], dst[0], dst[1], full))


def edge_props(prov: Provenance, **extra: Any) -> dict[str, Any]:
    return {**prov.model_dump(), **extra}


def _records(facts: DocumentFacts) -> GraphRecords:
    rec = GraphRecords()
    doc = facts.document
    doc_key = ("Document", doc.id)
    rec.node("Document", doc.id, **doc.model_dump(exclude={"id"}))
    for mention in facts.mentions:
        ent = ("Entity", mention.entity_id)
        rec.node("Entity", ent[1], label=mention.label, name=mention.canonical)
        prov = mention.provenance
        link = (mention.link or prov).model_copy(
            update={"char_start": prov.char_start, "char_end": prov.char_end}
        )
        link_cols = (
            {
                "link_tool": link.tool,
                "link_backend": link.backend,
                "link_confidence": link.confidence,
            }
            if mention.product_id
            else {}
        )
        rec.edge(
            "MENTIONS",
            doc_key,
            ent,
            **edge_props(prov, text=mention.text, product_id=mention.product_id, **link_cols),
        )
        if mention.product_id:
            _product(rec, facts, mention.product_id, mention.text)
            rec.edge(
                "REFERS_TO",
                ent,
                ("Product", mention.product_id),
                **edge_props(link, text=mention.text, product_id=mention.product_id),
            )
    for index, opinion in enumerate(facts.opinions):
        op = ("Opinion", f"{doc.id}#op{index}")
        aspect = normalize(opinion.aspect)
        target = opinion.product_id or opinion.target
        rec.node(
            "Opinion",
            op[1],
            polarity=opinion.polarity,
            score=POLARITY_SCORE[opinion.polarity],
            term=opinion.term,
            aspect=aspect,
            target=target,
            **opinion.provenance.model_dump(),
        )
        prov = edge_props(opinion.provenance, text=opinion.term)
        rec.edge("EXPRESSES", doc_key, op, **prov)
        rec.node("Aspect", aspect, name=aspect)
        rec.edge("ON_ASPECT", op, ("Aspect", aspect), **prov)
        about = {**prov, "method": opinion.method}
        if opinion.product_id:
            _product(rec, facts, opinion.product_id, None)
            rec.edge("ABOUT", op, ("Product", opinion.product_id), **about)
        elif opinion.target:
            ent = ("Entity", entity_id(opinion.target_label, opinion.target))
            rec.node("Entity", ent[1], label=opinion.target_label, name=normalize(opinion.target))
            rec.edge("ABOUT", op, ent, **about)
    for index, fact in enumerate(facts.facts):
        node = ("Fact", f"{doc.id}#fact{index}")
        payload = json.dumps(fact.payload, sort_keys=True, ensure_ascii=False, default=str)
        rec.node(
            "Fact",
            node[1],
            task=fact.task,
            payload=payload,
            text=fact.text,
            **fact.provenance.model_dump(),
        )
        rec.edge("HAS_FACT", doc_key, node, **edge_props(fact.provenance, text=fact.text))
    return rec


def _product(rec: GraphRecords, facts: DocumentFacts, product_id: str, text: str | None) -> None:
    name = facts.products.get(product_id) or text
    if ("Product", product_id) in rec.nodes and not facts.products.get(product_id):
        return  # keep the first surface form as the name
    rec.node("Product", product_id, name=name)


class ProductSummary(BaseModel):
    id: str
    name: str | None = None
    mentions: int = 0
    opinions: int = 0
    documents: int = 0


class AspectSummary(BaseModel):
    product_id: str
    aspect: str
    count: int
    positive: int = 0
    negative: int = 0
    neutral: int = 0
    conflict: int = 0
    avg_polarity: float | None = Field(None, description="mean of +1 / -1 / 0 scores")

    def counts(self) -> dict[str, int]:
        """Opinions per polarity."""
        return {p: getattr(self, p) for p in ("positive", "negative", "neutral", "conflict")}


class MentionRow(BaseModel):
    """One mention of a product, with the provenance of both the mention and the link."""

    doc_id: str
    text: str | None
    char_start: int | None
    char_end: int | None
    entity_id: str
    tool: str | None = None
    backend: str | None = None
    model: str | None = None
    confidence: float | None = None
    link_tool: str | None = None
    link_backend: str | None = None
    link_confidence: float | None = None
    created_at: str | None = None


class GraphStats(BaseModel):
    store: str
    location: str
    nodes: dict[str, int]
    edges: dict[str, int]

    @property
    def total_nodes(self) -> int:
        return sum(self.nodes.values())

    @property
    def total_edges(self) -> int:
        return sum(self.edges.values())
