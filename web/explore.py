"""What the Explore page and the document viewer read: the graph and the document index,
read-only, shaped for the browser.

Every answer here is computed from the configured graph store and document index; nothing
is written. The graph is opened per request (as the agent does), the index once.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from distill.errors import DistillError
from distill.graph.schema import AspectSummary, MentionRow, ProductSummary

if TYPE_CHECKING:
    from distill.config import Config
    from distill.graph.store import GraphStore
    from distill.ingest.index import DocumentIndex

QUOTES_PER_POLARITY = 3
MENTIONS_SHOWN = 50
NEIGHBOURS = 10
"""Nodes around a product in the graph view: more would make the labels collide."""


class NotFound(DistillError):
    """Something the browser asked for is not in the graph, index or review store."""


class ProductHit(BaseModel):
    id: str
    name: str
    mentions: int = 0
    opinions: int = 0
    documents: int = 0
    score: float | None = None


class Quote(BaseModel):
    """A sentence of a review that expresses an opinion on the product, with the opinion's
    span inside it (when the sentiment tool recorded one)."""

    doc_id: str
    aspect: str
    polarity: str
    confidence: float | None = None
    char_start: int = Field(description="the quote's span in the document")
    char_end: int
    text: str
    highlight_start: int | None = Field(None, description="the opinion's span in the document")
    highlight_end: int | None = None


class Neighbour(BaseModel):
    kind: str = Field(description="aspect: opinions on it; product: reviewed in the same documents")
    id: str
    name: str
    weight: int = Field(description="opinions (aspect) or shared documents (product)")
    polarity: float | None = Field(None, description="mean polarity, for aspects")


class ProductPage(BaseModel):
    id: str
    name: str
    brand: str | None = None
    category: str | None = None
    mentions: int
    opinions: int
    documents: int
    aspects: list[AspectSummary]
    quotes: dict[str, list[Quote]]
    mention_rows: list[MentionRow]
    neighbours: list[Neighbour]


class DocumentView(BaseModel):
    id: str
    text: str
    title: str | None = None
    source: str | None = None


class GraphInfo(BaseModel):
    store: str
    location: str
    nodes: dict[str, int]
    index: str | None = Field(None, description="the document index folder, when built")
    documents_indexed: int = 0


class Explorer:
    """Read-only views of the graph and the document index for the web app."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._index: DocumentIndex | None = None
        self._index_lock = threading.Lock()
        self._catalog: Any = None

    # the pieces the routes call

    def info(self) -> GraphInfo:
        with self.store() as store:
            stats = store.stats()
        index = self.index()
        return GraphInfo(
            store=stats.store,
            location=stats.location,
            nodes=stats.nodes,
            index=str(self.config.index.path) if index is not None else None,
            documents_indexed=index.documents() if index is not None else 0,
        )

    def search_products(self, query: str = "", limit: int = 20) -> list[ProductHit]:
        """Products the graph holds, best match first (most mentioned first without a query)."""
        with self.store() as store:
            products = store.products()
        catalog = self.catalog()
        hits = [
            ProductHit(**p.model_dump(exclude={"name"}), name=_name(catalog, p.id, p.name))
            for p in products
        ]
        query = query.strip()
        if not query:
            return hits[:limit]
        from rapidfuzz import fuzz, process

        forms: list[tuple[int, str]] = []  # each name a product answers to, scored alone
        for i, hit in enumerate(hits):
            names = [hit.name, hit.id]
            if catalog is not None and hit.id in catalog.by_id:
                names += catalog[hit.id].names()
            forms += [(i, name) for name in dict.fromkeys(names)]
        found = process.extract(
            query,
            [name for _, name in forms],
            scorer=fuzz.WRatio,
            processor=_fold,
            limit=None,
            score_cutoff=60,
        )
        best: dict[int, float] = {}
        for _, score, j in found:
            i = forms[j][0]
            best[i] = max(best.get(i, 0.0), score)
        ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))[:limit]
        return [hits[i].model_copy(update={"score": round(score, 1)}) for i, score in ranked]

    def product(self, product_id: str, neighbours: int = NEIGHBOURS) -> ProductPage:
        """A product's page; a catalog entry nothing was said about yet gets an empty one."""
        entry = self._catalog_entry(product_id)
        with self.store() as store:
            summary = next((p for p in store.products() if p.id == product_id), None)
            if summary is None:
                if entry is None:
                    raise NotFound(
                        f"no product {product_id!r} in the graph at {store.location} "
                        "nor in the catalog"
                    )
                summary = ProductSummary(id=product_id, name=entry.name)
            aspects = store.opinion_summary(product_id)
            opinions = store.query(
                "MATCH (d:Document)-[:EXPRESSES]->(o:Opinion)-[:ABOUT]->(p:Product {id: $id}) "
                "RETURN d.id AS doc, o.aspect AS aspect, o.polarity AS polarity, "
                "o.confidence AS confidence, o.term AS term, o.char_start AS char_start, "
                "o.char_end AS char_end",
                {"id": product_id},
                isolated=False,
            )
            mention_rows = store.mentions(product_id, limit=MENTIONS_SHOWN)
            co_mentioned = _co_mentioned(store, product_id)
        catalog = self.catalog()
        for row in co_mentioned:
            row["name"] = _name(catalog, row["id"], row["name"])
        return ProductPage(
            id=product_id,
            name=entry.name if entry else summary.name or product_id,
            brand=entry.brand if entry else None,
            category=_category(entry),
            mentions=summary.mentions,
            opinions=summary.opinions,
            documents=summary.documents,
            aspects=aspects,
            quotes={
                polarity: self._quotes(opinions, polarity) for polarity in ("positive", "negative")
            },
            mention_rows=mention_rows,
            neighbours=_neighbours(aspects, co_mentioned, neighbours),
        )

    def document(self, doc_id: str) -> DocumentView:
        index = self.index()
        if index is None:
            raise NotFound(
                f"no document index at {self.config.index.path}, so documents cannot be shown; "
                "`distill ingest` builds it"
            )
        text = index.document_text(doc_id)
        if text is None:
            raise NotFound(f"no document {doc_id!r} in the index at {self.config.index.path}")
        with self.store() as store:
            node = store.document(doc_id) or {}
        return DocumentView(
            id=doc_id, text=text, title=node.get("title"), source=node.get("source")
        )

    def catalog_search(self, query: str, limit: int = 10) -> list[ProductHit]:
        """Catalog entries for a mention (the review page's catalog box)."""
        catalog = self.catalog()
        if catalog is None:
            raise NotFound(
                'no catalog is configured: set [catalog] path = "products.jsonl" in distill.toml'
            )
        query = query.strip()
        if not query:
            return [ProductHit(id=e.id, name=e.name) for e in catalog.entries[:limit]]
        from rapidfuzz import fuzz, process

        choices = {i: " | ".join(e.names()) for i, e in enumerate(catalog.entries)}
        found = process.extract(
            query, choices, scorer=fuzz.WRatio, processor=_fold, limit=limit, score_cutoff=50
        )
        return [
            ProductHit(id=catalog.entries[i].id, name=catalog.entries[i].name, score=round(s, 1))
            for _, s, i in found
        ]

    # resources

    @contextlib.contextmanager
    def store(self) -> Iterator[GraphStore]:
        from distill.graph import open_store

        graph = self.config.graph
        if graph.store in ("ladybug", "networkx") and not Path(graph.path).exists():
            raise NotFound(
                f"no knowledge graph at {graph.path}: ingest documents first "
                "(`distill ingest FILE…`), or run `distill demo`"
            )
        store = open_store(graph, read_only=True)
        try:
            yield store
        finally:
            store.close()

    def index(self) -> DocumentIndex | None:
        """The document index, opened once, read-only; None when it was never built."""
        with self._index_lock:
            built = (Path(self.config.index.path) / "index.sqlite").is_file()
            if self._index is None and built:
                from distill.ingest.index import DocumentIndex

                self._index = DocumentIndex(self.config.index.path, read_only=True)
            return self._index

    def catalog(self) -> Any:
        """The configured catalog (`[catalog]`), loaded once; None when there is none."""
        if self._catalog is None:
            from distill.plugins.linker.catalog import configured_catalog

            self._catalog = configured_catalog(self.config)
        return self._catalog

    def close(self) -> None:
        with self._index_lock:
            if self._index is not None:
                self._index.close()
                self._index = None

    # helpers

    def _catalog_entry(self, product_id: str) -> Any:
        catalog = self.catalog()
        return catalog.by_id.get(product_id) if catalog is not None else None

    def _quotes(self, opinions: list[dict[str, Any]], polarity: str) -> list[Quote]:
        """One quote per aspect most discussed with this polarity, from its most confident
        opinion, each from a different document: what a reader would pick to show the gist."""
        index = self.index()
        if index is None:
            return []
        by_aspect: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in opinions:
            if row["polarity"] == polarity:
                by_aspect[row["aspect"]].append(row)
        ranked = sorted(by_aspect.items(), key=lambda item: (-len(item[1]), item[0]))
        quotes: list[Quote] = []
        used: set[str] = set()
        for aspect, rows in ranked:
            rows.sort(key=lambda r: (-(r["confidence"] or 0.0), r["doc"]))
            for row in rows:
                if row["doc"] in used:
                    continue
                quote = self._quote(index, row, aspect, polarity)
                if quote is not None:
                    quotes.append(quote)
                    used.add(row["doc"])
                    break
            if len(quotes) == QUOTES_PER_POLARITY:
                break
        return quotes

    def _quote(
        self, index: DocumentIndex, row: dict[str, Any], aspect: str, polarity: str
    ) -> Quote | None:
        text = index.document_text(row["doc"])
        if text is None:
            return None
        start, end = row["char_start"], row["char_end"]
        if start is None or end is None:
            # no span recorded: the first place the opinion's term or aspect word appears
            for word in (row.get("term"), aspect):
                found = _find_word(text, word) if word else None
                if found is not None:
                    start, end = found
                    break
        snippet = index.snippet(row["doc"], start, end, max_chars=240)
        if snippet is None:
            return None
        return Quote(
            doc_id=row["doc"],
            aspect=aspect,
            polarity=polarity,
            confidence=row["confidence"],
            char_start=snippet.char_start,
            char_end=snippet.char_end,
            text=snippet.text,
            highlight_start=start,
            highlight_end=end,
        )


def _name(catalog: Any, product_id: str, graph_name: str | None) -> str:
    """The catalog's name (the graph keeps the first surface form seen, e.g. "X2")."""
    entry = catalog.by_id.get(product_id) if catalog is not None else None
    return entry.name if entry is not None else graph_name or product_id


def _category(entry: Any) -> str | None:
    if entry is None:
        return None
    return getattr(entry, "category", None) or entry.attributes.get("category") or None


def _fold(text: str) -> str:
    return " ".join(re.findall(r"\w+", str(text).lower()))


def _find_word(text: str, word: str) -> tuple[int, int] | None:
    match = re.search(rf"\b{re.escape(word)}\b", text, flags=re.IGNORECASE)
    return (match.start(), match.end()) if match else None


def _co_mentioned(store: GraphStore, product_id: str) -> list[dict[str, Any]]:
    """Other products mentioned in the documents that mention this one."""
    rows = store.query(
        "MATCH (p:Product {id: $id})<-[:REFERS_TO]-(:Entity)<-[:MENTIONS]-(d:Document)"
        "-[:MENTIONS]->(:Entity)-[:REFERS_TO]->(q:Product) "
        "RETURN q.id AS id, q.name AS name, d.id AS doc",
        {"id": product_id},
        isolated=False,
    )
    docs: dict[str, set[str]] = defaultdict(set)
    names: dict[str, str] = {}
    for row in rows:
        if row["id"] != product_id:
            docs[row["id"]].add(row["doc"])
            names[row["id"]] = row["name"] or row["id"]
    return [{"id": pid, "name": names[pid], "documents": len(d)} for pid, d in docs.items()]


def _neighbours(
    aspects: list[AspectSummary], co_mentioned: list[dict[str, Any]], limit: int
) -> list[Neighbour]:
    """The `limit` most relevant neighbours: the most discussed aspects and the products
    most often reviewed alongside, at most half of the places each when both are there."""
    by_aspect = [
        Neighbour(
            kind="aspect",
            id=row.aspect,
            name=row.aspect,
            weight=row.count,
            polarity=row.avg_polarity,
        )
        for row in sorted(aspects, key=lambda r: (-r.count, r.aspect))
    ]
    by_product = [
        Neighbour(kind="product", id=row["id"], name=row["name"], weight=row["documents"])
        for row in sorted(co_mentioned, key=lambda r: (-r["documents"], r["id"]))
    ]
    half = limit // 2
    n_products = min(len(by_product), max(half, limit - len(by_aspect)))
    n_aspects = min(len(by_aspect), limit - n_products)
    return by_aspect[:n_aspects] + by_product[:n_products]
