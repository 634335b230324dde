"""The agent's tools: few, read-only, and each answer traceable to documents.

A small local model chooses well among a handful of sharply described tools, so
there are five. None writes: the graph is opened read-only, Cypher is checked for
write clauses, no tool reads files, and `run_tool` only runs registered NLP tasks
on text given in the call. Every tool returns `Evidence` (what it found, with the
document spans behind it) and never raises: a failure is a result the model reads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from distill.agent.evidence import Evidence, Source, opinion_fact_text
from distill.agent.router import ProductName, ProductResolver

MAX_ROWS = 20


class SearchReviews(BaseModel):
    """Search the review texts for passages about the question. Use it for what
    reviewers say about something, details, reasons and quotes."""

    query: str = Field(description="what to look for, in the user's words")
    products: list[str] = Field(
        default_factory=list, max_length=3, description="product names to restrict to (optional)"
    )


class ProductOpinions(BaseModel):
    """Count reviewers' opinions per product and aspect in the knowledge graph. Use it
    for: which product is best or worst at an aspect, what people think of a product,
    comparing products, how many reviews mention a product."""

    products: list[str] = Field(
        default_factory=list, max_length=3, description="product names; empty: rank all products"
    )
    aspect: str | None = Field(None, description="battery, camera, screen, price, … (optional)")
    order: Literal["best", "worst"] | None = Field(
        None, description="when ranking all products: best or worst first"
    )
    category: str | None = Field(None, description="phone, laptop, tablet, earbuds (optional)")


class QueryGraph(BaseModel):
    """Last resort, for counts and lists the other tools cannot give: writes a
    read-only Cypher query over the knowledge graph (slow)."""

    question: str = Field(description="the question, in plain language")


class ListProducts(BaseModel):
    """List the products and aspects the knowledge graph knows, with mention counts."""

    category: str | None = Field(None, description="phone, laptop, tablet, earbuds (optional)")


class RunTool(BaseModel):
    """Run one of the registered NLP tools (entity recognition, catalog linking,
    aspect sentiment, plugins) on a text the user gives in the question."""

    tool: str = Field(description="tool name")
    text: str = Field(description="the text to analyse, copied from the user's message")


class Ranking(BaseModel):
    """Products ordered by net opinion (positive minus negative) on an aspect."""

    aspect: str | None
    order: Literal["best", "worst"]
    products: list[str]
    net: list[int]
    sources: list[Source] = Field(default_factory=list)

    def leaders(self) -> list[str]:
        """The products tied for first place."""
        return [p for p, n in zip(self.products, self.net, strict=True) if n == self.net[0]]


class ToolResult(BaseModel):
    """What one tool call produced: notes for the model and the evidence found."""

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    by: Literal["model", "router"] = "model"
    ranking: Ranking | None = None


class Toolbox:
    """The agent's tools over one read-only view of the graph and the document index.

    `store` is a context-manager factory, so nothing holds the graph open between
    questions (an ingest may run meanwhile); `index` returns the open read-only document
    index (None when there is none), which sees other processes' writes on each search.
    """

    def __init__(
        self,
        *,
        store: Callable[[], AbstractContextManager[Any]],
        index: Callable[[], Any | None],
        resolver: ProductResolver,
        categories: dict[str, str] | None = None,
        aspects: Sequence[str] = (),
        tasks: Sequence[str] = (),
        run_task: Callable[[str, str], dict[str, Any]] | None = None,
        cypher: Callable[[str, Any], tuple[str, list[dict[str, Any]]]] | None = None,
        passages: int = 5,
    ) -> None:
        self.store, self.index, self.resolver = store, index, resolver
        self.categories = categories or {}
        self.aspects = list(aspects)
        self.tasks = list(tasks)
        self.run_task, self.cypher = run_task, cypher
        self.passages = passages
        self.schemas: dict[str, type[BaseModel]] = {
            "product_opinions": ProductOpinions,
            "search_reviews": SearchReviews,
            "list_products": ListProducts,
        }
        if run_task is not None and self.tasks:
            self.schemas["run_tool"] = RunTool
        if cypher is not None:
            self.schemas["query_graph"] = QueryGraph
        self._handlers: dict[str, Callable[[Any], ToolResult]] = {
            "search_reviews": self._search_reviews,
            "product_opinions": self._product_opinions,
            "query_graph": self._query_graph,
            "list_products": self._list_products,
            "run_tool": self._run_tool,
        }

    @property
    def names(self) -> list[str]:
        return list(self.schemas)

    def definitions(self) -> list[dict[str, Any]]:
        """OpenAI-style function definitions, for `bind_tools` of any chat model."""
        out = []
        for name, schema in self.schemas.items():
            parameters = schema.model_json_schema()
            parameters.pop("title", None)
            parameters.pop("description", None)
            if name == "run_tool":
                parameters["properties"]["tool"]["enum"] = self.tasks
            description = " ".join((schema.__doc__ or "").split())
            if name == "run_tool":
                description += f" Tools: {', '.join(self.tasks)}."
            out.append(
                {
                    "type": "function",
                    "function": {
                        "name": name,
                        "description": description,
                        "parameters": parameters,
                    },
                }
            )
        return out

    def run(self, name: str, arguments: dict[str, Any], by: str = "model") -> ToolResult:
        """Validate the arguments and run the tool; every failure becomes `error`."""
        started = time.perf_counter()
        schema = self.schemas.get(name)
        if schema is None:
            result = ToolResult(
                name=name,
                arguments=arguments,
                error=f"no tool {name!r}; the tools are {', '.join(self.schemas)}",
            )
        else:
            try:
                parsed = schema.model_validate(arguments or {})
                result = self._handlers[name](parsed)
            except ValidationError as exc:
                result = ToolResult(name=name, error=f"invalid arguments: {_first_error(exc)}")
            except Exception as exc:  # a tool failure is an answer the model can read
                result = ToolResult(name=name, error=f"{type(exc).__name__}: {exc}")
            result.arguments = dict(arguments or {})
        result.name, result.by = name, by  # type: ignore[assignment]
        result.seconds = time.perf_counter() - started
        return result

    # the tools

    def _search_reviews(self, args: SearchReviews) -> ToolResult:
        result = ToolResult(name="search_reviews")
        doc_ids: set[str] | None = None
        if args.products:
            known, unknown = self._resolve(args.products)
            result.notes += [_unknown_note(name) for name in unknown]
            if not known:
                return result
            with self.store() as store:
                doc_ids = {
                    row["id"]
                    for p in known
                    for row in store.documents_behind(p.label, p.product_id)
                }
            if not doc_ids:
                result.notes.append(f"No review mentions {_names(known)}.")
                return result
        if self.index() is None:
            result.notes.append("The document index is not built; run `distill ingest`.")
            return result
        result.evidence += self._passages(args.query, doc_ids, self.passages, "search_reviews")
        if not result.evidence:
            result.notes.append("No passage matches.")
        return result

    def _product_opinions(self, args: ProductOpinions) -> ToolResult:
        result = ToolResult(name="product_opinions")
        aspect = args.aspect.strip().lower() if args.aspect else None
        with self.store() as store:
            if args.products:
                known, unknown = self._resolve(args.products)
                result.notes += [_unknown_note(name) for name in unknown]
                for product in known:
                    self._opinions_of(store, product, aspect, result)
            else:
                self._ranking(store, aspect, args.order, args.category, result)
        return result

    def _opinions_of(
        self, store: Any, product: ProductName, aspect: str | None, result: ToolResult
    ) -> None:
        behind = [row["id"] for row in store.documents_behind(product.label, product.product_id)]
        rows = store.opinion_summary(product.product_id) if product.label == "Product" else []
        if aspect:
            rows = [row for row in rows if row.aspect == aspect]
        n_docs = len(behind)
        result.notes.append(
            f"{product.display}: mentioned in {n_docs} review{'s' * (n_docs != 1)}"
            + (f" ({', '.join(sorted(behind))})" if behind else "")
            + "."
        )
        if aspect and not rows:
            result.notes.append(f"No review states an opinion on the {product.display} {aspect}.")
        opinion_docs = self._opinion_documents(store, product.product_id, aspect)
        for row in sorted(rows, key=lambda r: -r.count):
            docs = opinion_docs.get(row.aspect, [])
            result.evidence.append(
                Evidence(
                    kind="graph",
                    text=opinion_fact_text(product.display, row.aspect, row.counts()),
                    tool="product_opinions",
                    sources=[Source(doc_id=doc) for doc in docs],
                )
            )
        # the review passages behind the counts, so the answer can quote them
        if behind:
            query = f"{product.display} {aspect or ''}".strip()
            k = 3 if aspect else 2
            result.evidence += self._passages(query, set(behind), k, "product_opinions")

    def _opinion_documents(
        self, store: Any, product_id: str, aspect: str | None
    ) -> dict[str, list[str]]:
        rows = store.query(
            "MATCH (d:Document)-[:EXPRESSES]->(o:Opinion)-[:ABOUT]->(p:Product {id: $id}) "
            "RETURN o.aspect AS aspect, d.id AS doc",
            {"id": product_id},
        )
        out: dict[str, list[str]] = {}
        for row in rows:
            if aspect is None or row["aspect"] == aspect:
                docs = out.setdefault(row["aspect"], [])
                if row["doc"] not in docs:
                    docs.append(row["doc"])
        return {key: sorted(value) for key, value in out.items()}

    def _ranking(
        self,
        store: Any,
        aspect: str | None,
        order: str | None,
        category: str | None,
        result: ToolResult,
    ) -> None:
        names = {p.id: p.name or p.id for p in store.products()}
        rows = [row for row in store.opinion_summary() if aspect is None or row.aspect == aspect]
        if category:
            rows = [r for r in rows if self._in_category(r.product_id, category)]
        if not rows:
            result.notes.append(
                f"No opinions on {aspect or 'any aspect'}"
                + (f" of {category} products" if category else "")
                + " in the graph."
            )
            return
        worst_first = order == "worst"
        rows.sort(key=lambda r: ((r.positive - r.negative) * (1 if worst_first else -1), -r.count))
        ranked = [names.get(r.product_id, r.product_id) for r in rows[:6]]
        result.ranking = Ranking(
            aspect=aspect,
            order="worst" if worst_first else "best",
            products=[names.get(r.product_id, r.product_id) for r in rows],
            net=[r.positive - r.negative for r in rows],
        )
        which = "Worst" if worst_first else "Best"
        result.notes.append(
            f"{which} on {aspect or 'all aspects'} by reviewers' opinions: {ranked[0]}. "
            "Full ranking: " + ", ".join(f"{i}. {name}" for i, name in enumerate(ranked, 1))
        )
        leader_docs: list[str] = []
        for row in rows[:6]:
            docs = self._opinion_documents(store, row.product_id, row.aspect).get(row.aspect, [])
            leader_docs = leader_docs or docs
            result.evidence.append(
                Evidence(
                    kind="graph",
                    text=opinion_fact_text(
                        names.get(row.product_id, row.product_id), row.aspect, row.counts()
                    ),
                    tool="product_opinions",
                    sources=[Source(doc_id=doc) for doc in docs],
                )
            )
        # what reviewers wrote about the leader, so the answer can say why
        if leader_docs:
            query = f"{ranked[0]} {rows[0].aspect}"
            result.evidence += self._passages(query, set(leader_docs), 2, "product_opinions")

    def _query_graph(self, args: QueryGraph) -> ToolResult:
        assert self.cypher is not None
        result = ToolResult(name="query_graph")
        with self.store() as store:
            cypher, rows = self.cypher(args.question, store)
        result.notes.append(f"Cypher: {cypher}")
        if not rows:
            result.notes.append("The query returned no rows.")
        for row in rows[:MAX_ROWS]:
            docs = [str(v) for k, v in row.items() if k.lower() in {"doc", "doc_id", "document"}]
            text = ", ".join(f"{k}: {_short(v)}" for k, v in row.items())
            result.evidence.append(
                Evidence(
                    kind="graph",
                    text=text,
                    tool="query_graph",
                    sources=[Source(doc_id=doc) for doc in docs if doc],
                )
            )
        if len(rows) > MAX_ROWS:
            result.notes.append(f"(first {MAX_ROWS} of {len(rows)} rows)")
        return result

    def _list_products(self, args: ListProducts) -> ToolResult:
        result = ToolResult(name="list_products")
        with self.store() as store:
            products = store.products()
            aspects = sorted({row.aspect for row in store.opinion_summary()})
        if args.category:
            products = [p for p in products if self._in_category(p.id, args.category)]
        lines = [
            f"{p.name or p.id} ({self.categories.get(p.id, 'product')}): {p.mentions} mentions "
            f"in {p.documents} reviews"
            for p in products
        ]
        result.evidence.append(
            Evidence(
                kind="graph", text="Products: " + "; ".join(lines or ["none"]), tool="list_products"
            )
        )
        result.evidence.append(
            Evidence(
                kind="graph",
                text="Aspects: " + ", ".join(aspects or ["none"]),
                tool="list_products",
            )
        )
        return result

    def _run_tool(self, args: RunTool) -> ToolResult:
        assert self.run_task is not None
        result = ToolResult(name="run_tool")
        if args.tool not in self.tasks:
            result.error = f"no tool {args.tool!r}; the tools are {', '.join(self.tasks)}"
            return result
        output = self.run_task(args.tool, args.text)
        result.evidence.append(
            Evidence(kind="tool", text=f"{args.tool} on the given text: {output}", tool="run_tool")
        )
        return result

    # helpers

    def _passages(self, query: str, doc_ids: set[str] | None, k: int, tool: str) -> list[Evidence]:
        """Index passages as evidence (none when the index is not built)."""
        index = self.index()
        if index is None:
            return []
        found = index.search(query, k=k, doc_ids=doc_ids, min_score=0.1)  # kept if words match
        return [
            Evidence(
                kind="passage",
                text=passage.text,
                tool=tool,
                sources=[
                    Source(
                        doc_id=passage.doc_id,
                        char_start=passage.char_start,
                        char_end=passage.char_end,
                    )
                ],
                score=passage.score,
            )
            for passage in found
        ]

    def _in_category(self, product_id: str, category: str) -> bool:
        """ "phones" matches "phone": categories compare without a plural s."""
        return self.categories.get(product_id, "").rstrip("s") == category.lower().rstrip("s")

    def _resolve(self, names: Sequence[str]) -> tuple[list[ProductName], list[str]]:
        known: list[ProductName] = []
        unknown: list[str] = []
        for name in names:
            product = self.resolver.resolve(name)
            if product is None:
                unknown.append(name)
            elif product not in known:
                known.append(product)
        return known, unknown


def _unknown_note(name: str) -> str:
    return f"No product named {name!r} is in the catalog or the reviews."


def _names(products: Sequence[ProductName]) -> str:
    return " or ".join(p.display for p in products)


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 200 else text[:197] + "…"


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(str(p) for p in error['loc']) or 'arguments'}: {error['msg']}"
