"""The agent's tools: read-only, and each answer traceable to documents.

None writes: the graph is opened read-only, Cypher is checked for write clauses, no
tool reads files, and `run_tool` only runs registered NLP tasks on text given in the
call (writing is the chat's confirmed-write path, `agent/writes.py`, never a tool).
Every tool returns `Evidence` (what it found, with the document spans behind it) and
never raises: a failure is a result the model reads. The aggregate tools
(`review_summary`, `count_reviews`, `catalog_attributes`, `plugin_facts`, and
`product_opinions` for rankings and comparisons) also return `statements`: sentences
computed from the numbers (`agent/aggregates.py`), which the chat states as they are.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from distill.agent.aggregates import (
    ALL_ASPECTS,
    Composer,
    OpinionRow,
    Statement,
    clip_quote,
    compare,
    criticised,
    join_names,
    liked,
    product_aspect,
    reviews,
    summarise,
    tally,
)
from distill.agent.evidence import Evidence, Source, opinion_fact_text
from distill.agent.router import (
    ASPECT_WORDS,
    SHORT_SPEC,
    ProductName,
    ProductResolver,
    aspect_words,
)
from distill.graph.schema import AspectSummary
from distill.plugins.linker.catalog import normalize

EACH_PRODUCT = 8
"""How many products a list of the reviewed products shows ("which products are reviewed?",
"how many reviews of each product?")."""
PRODUCT_DOCUMENTS = (
    "MATCH (d:Document)-[:MENTIONS]->(e:Entity) WHERE e.label = 'PRODUCT' RETURN d.id AS id",
    "MATCH (d:Document)-[:MENTIONS]->(:Entity)-[:REFERS_TO]->(:Product) RETURN d.id AS id",
    "MATCH (d:Document)-[:EXPRESSES]->(:Opinion)-[:ABOUT]->(:Product) RETURN d.id AS id",
)
"""Documents that name a product or hold an opinion on one (one query each: every store
runs these). The tools' own fixed queries run with `isolated=False` (`GraphStore.query`)."""
MAX_ROWS = 20
MAX_FACTS = 12
PLANNER_TOOLS = (
    "search_reviews",
    "product_opinions",
    "list_products",
    "query_graph",
    "run_tool",
    "plugin_facts",
)
"""What the model may choose for the questions the router leaves to it (counting, listing,
running a tool); the aggregate tools are the router's, so the plan prompt stays short."""
NAMED_IN = (
    "MATCH (d:Document)-[m:MENTIONS]->(e:Entity) WHERE d.id IN $docs "
    "RETURN d.id AS doc, e.id AS entity, e.label AS label, e.name AS name, "
    "m.product_id AS product, m.char_start AS char_start, m.char_end AS char_end"
)
"""Every name the documents `$docs` mention, with the product it links to (if any)."""
UNLINKED_NAMES = (
    "MATCH (d:Document)-[m:MENTIONS]->(e:Entity) WHERE e.label = 'PRODUCT' "
    "RETURN d.id AS doc, e.id AS entity, e.name AS name, m.product_id AS product LIMIT 200000"
)
"""Product names the reviews use, with the catalog product each links to (if any)."""
MAX_SCOPE = 5000
"""Reviews of one product read for the names they mention (the first, by id)."""
OPINION_ROWS = (
    "RETURN d.id AS doc, p.id AS product, o.aspect AS aspect, o.polarity AS polarity, "
    "o.char_start AS char_start, o.char_end AS char_end, o.confidence AS confidence"
)


class SearchReviews(BaseModel):
    """Search the review texts for passages about the question. Use it for what
    reviewers say about something, details, reasons and quotes."""

    query: str = Field(description="what to look for, in the user's words")
    products: list[str] = Field(
        default_factory=list, max_length=3, description="product names to restrict to (optional)"
    )
    require: list[str] = Field(
        default_factory=list,
        max_length=6,
        description=(
            "words the question is about: passages come from reviews saying one of them, "
            "and when none does, the answer says so (optional)"
        ),
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
    """List the products and aspects the knowledge graph knows, with mention counts. Use
    it for which product the reviews name most."""

    category: str | None = Field(None, description="phone, laptop, tablet, earbuds (optional)")
    most: bool = Field(False, description="state which products the most reviews name")
    reviewed: bool = Field(False, description="state which products have opinions")


class RunTool(BaseModel):
    """Run one of the registered NLP tools (entity recognition, catalog linking,
    aspect sentiment, plugins) on a text the user gives in the question."""

    tool: str = Field(description="tool name")
    text: str = Field(description="the text to analyse, copied from the user's message")


class ReviewSummary(BaseModel):
    """Summarise reviewers' opinions with counts and quotes: overall, what they like, or
    what they criticise; about one product (or all reviews), optionally one aspect."""

    products: list[str] = Field(default_factory=list, max_length=1, description="optional")
    aspect: str | None = Field(None, description="battery, camera, screen, … (optional)")
    focus: Literal["overall", "liked", "criticised"] = "overall"
    about: str = Field("", description="other things the question is about, comma-separated")


class CountReviews(BaseModel):
    """Count the reviews that mention a product, an aspect or a word."""

    products: list[str] = Field(default_factory=list, max_length=3)
    aspect: str | None = None
    term: str | None = Field(None, description="a word or phrase to look for (optional)")
    no_product: bool = Field(
        False, description="count the reviews that name no product and state no opinion on one"
    )
    each: bool = Field(False, description="count the reviews of each reviewed product")


class MentionedWith(BaseModel):
    """List the other products and brands the reviews of a product name, with how many
    reviews name each: what reviewers compare it with, switched from or to."""

    products: list[str] = Field(min_length=1, max_length=1, description="the product")


class CatalogAttributes(BaseModel):
    """Look up products in the catalog: price, release date, specifications."""

    products: list[str] = Field(min_length=1, max_length=3)
    question: str = Field("", description="which attributes are asked for (optional)")


class PluginFacts(BaseModel):
    """List the facts a plugin tool wrote to the graph at ingest (e.g. prices), with
    the reviews they come from."""

    task: str = Field(description="the plugin task")
    products: list[str] = Field(default_factory=list, max_length=3)


class Ranking(BaseModel):
    """Products ordered by their score: net opinion (positive minus negative) on an
    aspect; over all aspects, the share of praise (or complaint) they surely have."""

    aspect: str | None
    order: Literal["best", "worst"]
    products: list[str]
    score: list[float]
    sources: list[Source] = Field(default_factory=list)

    def leaders(self) -> list[str]:
        """The products tied for first place."""
        return [p for p, n in zip(self.products, self.score, strict=True) if n == self.score[0]]


def _sure_share(hits: int, total: int, z: float = 1.96) -> float:
    """The lower bound of the Wilson score interval of hits / total: the share we can be
    sure of. Ranks products by how many of their opinions are positive (or negative)
    without one rave leading: by net count the most reviewed product would lead both
    ways, by plain share a product with one positive opinion would be the best."""
    if total == 0:
        return 0.0
    share = hits / total
    centre = share + z * z / (2 * total)
    spread = z * math.sqrt(share * (1 - share) / total + z * z / (4 * total * total))
    return round((centre - spread) / (1 + z * z / total), 4)


def _per_product(rows: Sequence[AspectSummary]) -> list[AspectSummary]:
    """Each product's opinions summed over its aspects (one row a product)."""
    out: dict[str, AspectSummary] = {}
    for row in rows:
        total = out.setdefault(
            row.product_id, AspectSummary(product_id=row.product_id, aspect=ALL_ASPECTS, count=0)
        )
        for field_name in ("count", "positive", "negative", "neutral", "conflict"):
            setattr(total, field_name, getattr(total, field_name) + getattr(row, field_name))
    return list(out.values())


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
    statements: list[Statement] = Field(
        default_factory=list, description="sentences stated from the results (evidence indices)"
    )
    open_question: bool = Field(
        False, description="the question asks for more than the numbers: the model reads on"
    )


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
        catalog: Callable[[], Any | None] | None = None,
        fact_tasks: Sequence[str] = (),
    ) -> None:
        self.store, self.index, self.resolver = store, index, resolver
        self.categories = categories or {}
        self.aspects = list(aspects)
        self.tasks = list(tasks)
        self.run_task, self.cypher = run_task, cypher
        self.passages = passages
        self.catalog = catalog or (lambda: None)
        self.fact_tasks = list(fact_tasks)
        self.schemas: dict[str, type[BaseModel]] = {
            "product_opinions": ProductOpinions,
            "review_summary": ReviewSummary,
            "search_reviews": SearchReviews,
            "count_reviews": CountReviews,
            "mentioned_with": MentionedWith,
            "list_products": ListProducts,
        }
        if catalog is not None:
            self.schemas["catalog_attributes"] = CatalogAttributes
        if self.fact_tasks:
            self.schemas["plugin_facts"] = PluginFacts
        if run_task is not None and self.tasks:
            self.schemas["run_tool"] = RunTool
        if cypher is not None:
            self.schemas["query_graph"] = QueryGraph
        self._handlers: dict[str, Callable[[Any], ToolResult]] = {
            "search_reviews": self._search_reviews,
            "product_opinions": self._product_opinions,
            "review_summary": self._review_summary,
            "count_reviews": self._count_reviews,
            "mentioned_with": self._mentioned_with,
            "catalog_attributes": self._catalog_attributes,
            "plugin_facts": self._plugin_facts,
            "query_graph": self._query_graph,
            "list_products": self._list_products,
            "run_tool": self._run_tool,
        }

    @property
    def names(self) -> list[str]:
        return list(self.schemas)

    def definitions(self, only: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """OpenAI-style function definitions, for `bind_tools` of any chat model (`only`:
        these tools, e.g. those the planner may choose)."""
        out = []
        for name, schema in self.schemas.items():
            if only is not None and name not in only:
                continue
            parameters = schema.model_json_schema()
            parameters.pop("title", None)
            parameters.pop("description", None)
            if name == "run_tool":
                parameters["properties"]["tool"]["enum"] = self.tasks
            if name == "plugin_facts":
                parameters["properties"]["task"]["enum"] = self.fact_tasks
            description = " ".join((schema.__doc__ or "").split())
            if name == "run_tool":
                description += f" Tools: {', '.join(self.tasks)}."
            if name == "plugin_facts":
                description += f" Tasks: {', '.join(self.fact_tasks)}."
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
        about: dict[str, set[str]] = {}
        if args.products:
            known, unknown = self._resolve(args.products)
            result.notes += [_unknown_note(name) for name in unknown]
            if not known:
                return result
            with self.store() as store:
                about = {p.display: self._documents_of(store, p) or set() for p in known}
            doc_ids = set().union(*about.values())
            if not doc_ids:  # that is the answer: nothing for the model to read or invent
                result.statements.append(
                    Statement(text=f"No review mentions the {_names(known)}.", basis="absence")
                )
                return result
        if self.index() is None:
            result.notes.append("The document index is not built; run `distill ingest`.")
            return result
        required = [w.lower() for w in args.require if len(w) > 2 or SHORT_SPEC.match(w.lower())]
        if required:  # the passages come from the reviews that say one of the words
            doc_ids = self._documents_with(required, doc_ids)
            if not doc_ids:
                words = join_names([f'"{w}"' for w in required]).replace(" and ", " or ")
                where = f" of the {_names(known)}" if args.products else ""
                result.statements.append(
                    Statement(text=f"No review{where} mentions {words}.", basis="absence")
                )
                return result
        result.evidence += self._passages(
            args.query, doc_ids, self.passages, "search_reviews", about
        )
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
                    self._opinions_of(store, product, aspect, result, lead=len(known) == 1)
                if len(known) >= 2:
                    self._compare(store, known, aspect, result)
            else:
                self._ranking(store, aspect, args.order, args.category, result)
        return result

    def _compare(
        self, store: Any, products: list[ProductName], aspect: str | None, result: ToolResult
    ) -> None:
        """Statements comparing the products from their opinion counts, with quotes."""
        rows = [row for p in products for row in self._opinion_rows(store, p)]
        composer = self._composer("product_opinions")
        pairs = [(p.product_id, p.display) for p in products]
        mentioned = {
            p.product_id: {row["id"] for row in store.documents_behind(p.label, p.product_id)}
            for p in products
        }
        if not compare(composer, pairs, rows, aspect, mentioned=mentioned):
            result.open_question = True  # the graph cannot compare them: the model reads
        self._attach(result, composer)

    def _opinions_of(
        self,
        store: Any,
        product: ProductName,
        aspect: str | None,
        result: ToolResult,
        lead: bool = False,
    ) -> None:
        """Opinion counts of one product (one aspect, or all) with passages behind them;
        `lead`: also state the aspect's counts as the answer's first sentence."""
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
            if lead:
                result.statements.append(
                    Statement(
                        text=f"No review states an opinion on the {product.display} {aspect}.",
                        basis="absence",
                    )
                )
        opinion_docs = self._opinion_documents(store, product.product_id, aspect)
        for row in sorted(rows, key=lambda r: -r.count):
            docs = opinion_docs.get(row.aspect, [])
            if lead and aspect:
                counts = opinion_fact_text(product.display, row.aspect, row.counts())
                result.statements.append(
                    Statement(
                        text=f"Reviewers' opinions on the "
                        f"{product_aspect(product.display, aspect)}: "
                        f"{counts.split(': ', 1)[1]}.",
                        evidence=[len(result.evidence)],
                    )
                )
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
            about = {product.display: set(behind)}
            result.evidence += self._passages(query, set(behind), k, "product_opinions", about)

    def _opinion_documents(
        self, store: Any, product_id: str, aspect: str | None
    ) -> dict[str, list[str]]:
        rows = store.query(
            "MATCH (d:Document)-[:EXPRESSES]->(o:Opinion)-[:ABOUT]->(p:Product {id: $id}) "
            "RETURN o.aspect AS aspect, d.id AS doc",
            {"id": product_id},
            isolated=False,
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
        names = self._display_names(store.products())
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
        if aspect is None:  # products by their sure share of praise (or complaint)
            rows = _per_product(rows)

            def score(r: AspectSummary) -> float:
                return _sure_share(r.negative if worst_first else r.positive, r.count)

            rows.sort(key=lambda r: (-score(r), -r.count))
        else:  # products by net opinion on the aspect

            def score(r: AspectSummary) -> float:
                return float(r.positive - r.negative)

            rows.sort(key=lambda r: (score(r) * (1 if worst_first else -1), -r.count))
        ranked = [names.get(r.product_id, r.product_id) for r in rows[:6]]
        result.ranking = Ranking(
            aspect=aspect,
            order="worst" if worst_first else "best",
            products=[names.get(r.product_id, r.product_id) for r in rows],
            score=[score(r) for r in rows],
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
        leader = rows[0]
        name = names.get(leader.product_id, leader.product_id)
        composer = self._composer("product_opinions")
        word = "worst" if worst_first else "best"
        cite = composer.fact(opinion_fact_text(name, leader.aspect, leader.counts()), leader_docs)
        counts = opinion_fact_text(name, leader.aspect, leader.counts()).split(": ", 1)[1]
        reviews = f"{aspect} reviews" if aspect else f"reviews {ALL_ASPECTS}"
        if len({row.product_id for row in rows}) == 1:  # no other product to be better than
            on = f"the {aspect}" if aspect else "any aspect"
            composer.say(f"Only the {name} has opinions on {on} in the graph: {counts}.", [cite])
        else:
            composer.say(f"The {name} has the {word} {reviews}: {counts}.", [cite])
        polarity = "negative" if worst_first else "positive"
        product = ProductName(leader.product_id, name)
        leader_rows = [
            row
            for row in self._opinion_rows(store, product)
            if aspect is None or row.aspect == leader.aspect
        ]
        composer.quote(leader_rows, polarity, aspect_words(aspect))
        self._attach(result, composer)

    def _review_summary(self, args: ReviewSummary) -> ToolResult:
        result = ToolResult(name="review_summary")
        aspect = args.aspect.strip().lower() if args.aspect else None
        terms = [
            " ".join(re.findall(r"[\w'-]+", item))
            for item in args.about.lower().split(",")
            if len(item.strip()) > 2
        ]
        composer = self._composer("review_summary")
        with self.store() as store:
            product: ProductName | None = None
            if args.products:
                known, unknown = self._resolve(args.products)
                result.notes += [_unknown_note(name) for name in unknown]
                if not known:
                    return result
                product = known[0]
            products = store.products()
            names = self._display_names(products)
            if product is None:
                # the reviews are about one product (a single-product corpus): so is the question
                product = self._subject(store, products)
            rows = self._opinion_rows(store, product)
            scope = self._documents_of(store, product)
        about = {product.display: scope} if product is not None and scope else {}
        parts = aspect_words(aspect) - {aspect}
        features = [t for t in terms if set(t.split()) <= parts]
        # words of the product's own name name the product ("the Nomad Jukebox" of the
        # "Creative Labs Nomad Jukebox Zen Xtra 40GB" reviews), not a topic to look for
        named = set(normalize(product.display).split()) if product is not None else set()
        others = [t for t in terms if t not in features and not set(t.split()) <= named]
        subject = f"the {product.display}" if product else "the reviewed products"
        hint = {"criticised": "problem complaint bad", "liked": "love great"}.get(args.focus, "")

        def read_instead(words: Sequence[str], why: str) -> ToolResult:
            """The graph cannot answer but the reviews talk about it: the model reads."""
            found = self._documents_with(words, scope) if words else scope
            query = " ".join(w for w in [*features, aspect or "", *others, hint] if w)
            result.evidence += self._passages(query or subject, found, 5, "review_summary", about)
            result.open_question = True
            result.notes.append(f"{why}; the passages are what the reviews say.")
            return result

        if others and self.index() is not None:
            if not self._documents_with(others, scope):
                words = join_names([f'"{t}"' for t in others]).replace(" and ", " or ")
                composer.say(f"No review of {subject} mentions {words}.", basis="absence")
                if not aspect and not features:
                    # the question was about that thing alone: the product's other
                    # opinions would answer another question
                    self._attach(result, composer)
                    return result
            elif not aspect:  # about something the counts do not cover
                return read_instead(others, f"The graph has no counts on {', '.join(others)}")
            else:
                result.open_question = True
                result.evidence += self._passages(
                    " ".join(others), scope, 3, "review_summary", about
                )
        feature = topic = None
        phrases = ASPECT_WORDS.get(aspect or "", ())
        if (
            aspect
            and features
            and all(
                t.split()[-1] == "quality" and " ".join(t.split()[:-1]) in phrases for t in features
            )
        ):
            # "picture quality" of a DVD player: the aspect itself (its label may be the
            # model's "camera"), named in the question's words
            topic, features = " / ".join(features), []
        if features and aspect:
            mention = self._mentioning(rows, aspect, features)
            words = join_names([f'"{t}"' for t in features]).replace(" and ", " or ")
            if mention:
                rows, feature, topic = mention, words, " / ".join(features)
            elif self.index() is not None and self._documents_with(features, scope):
                why = f"No opinion in the graph is in a sentence that mentions {words}"
                return read_instead(features, why)
            else:
                composer.say(f"No review of {subject} mentions {words}.", basis="absence")
        scoped = [r for r in rows if aspect is None or r.aspect == aspect]
        top = (liked if args.focus == "liked" else criticised)(tally(scoped))
        focus = args.focus
        if scoped and aspect and focus in ("liked", "criticised") and not top:
            # opinions on the aspect, none of the kind asked for: the counts say so, with
            # quotes ("Which reviews praise the battery?" of 0 positive, 2 negative: the
            # model, reading the complaints, wrote that a review "praises the battery by
            # stating that it dies after about 120 shots", and the checker passed it)
            focus = "overall"
        silent = not scoped or (focus in ("liked", "criticised") and not top)
        if silent and self.index() is not None:
            # the graph holds no such opinion; if the reviews talk about it, their text
            # is the answer (the sentiment model misses some)
            words = [*features, *(sorted(aspect_words(aspect)) if aspect else [])]
            if not words or self._documents_with(words, scope):
                return read_instead(words, f"The graph holds no such opinion on {subject}")
        summarise(
            composer,
            product.display if product else None,
            rows,
            focus=focus,
            aspect=aspect,
            terms=terms,
            product_names=names,
            feature=feature,
            topic=topic,
        )
        self._attach(result, composer)
        return result

    def _mentioning(
        self, rows: Sequence[OpinionRow], aspect: str, words: Sequence[str]
    ) -> list[OpinionRow]:
        """The opinions about a part of `aspect` ("volume" of sound): one per sentence that
        names one of `words`, filed under `aspect` or under `overall` (the sentiment model
        often files a part under the whole), counted as an opinion on `aspect`. An opinion
        on another aspect in the same sentence ("the battery lasts, but the speakerphone
        is quiet") is not about the part."""
        index = self.index()
        if index is None:
            return []
        pattern = words_pattern(words)
        sentences: dict[tuple[str, int], OpinionRow] = {}
        texts: dict[tuple[str, int, int | None], bool] = {}
        for row in rows:
            if row.start is None or row.aspect not in (aspect, "overall"):
                continue
            key = (row.doc, row.start, row.end)
            if key not in texts:
                found = index.snippet(row.doc, row.start, row.end, max_chars=400)
                texts[key] = found is not None and bool(pattern.search(found.text))
            if not texts[key]:
                continue
            best = sentences.get((row.doc, row.start))
            if best is None or (row.aspect == aspect and best.aspect != aspect):
                sentences[(row.doc, row.start)] = row
        return [dataclasses.replace(row, aspect=aspect) for row in sentences.values()]

    def _count_reviews(self, args: CountReviews) -> ToolResult:
        result = ToolResult(name="count_reviews")
        aspect = args.aspect.strip().lower() if args.aspect else None
        composer = self._composer("count_reviews")
        if args.no_product:
            return self._without_products(result, composer)
        with self.store() as store:
            known, unknown = self._resolve(args.products)
            result.notes += [_unknown_note(name) for name in unknown]
            if args.products and not known:
                return result
            scope: set[str] | None = None
            if not known and not aspect and not args.term:  # how many reviews in all
                docs = sorted(self._all_documents())
                cite = composer.fact(f"documents in the graph: {len(docs)}", docs)
                composer.say(f"The graph holds {reviews(len(docs))}.", [cite])
                if args.each:
                    self._reviews_of_each(store, composer)
            for product in known:
                docs = sorted(
                    row["id"] for row in store.documents_behind(product.label, product.product_id)
                )
                scope = (scope or set()) | set(docs)
                if not aspect and not args.term:
                    cite = composer.fact(f"{product.display}: in {reviews(len(docs))}", docs)
                    listed = f" ({_first(docs)})" if docs else ""
                    composer.say(
                        f"{reviews(len(docs))} mention{'s' * (len(docs) == 1)} the "
                        f"{product.display}{listed}."
                        if docs
                        else f"No review mentions the {product.display}.",
                        [cite] if docs else [],
                        basis="graph" if docs else "absence",
                    )
            if aspect:
                rows = [
                    row
                    for product in (known or [None])
                    for row in self._opinion_rows(store, product)
                ]
                where = f" of the {join_names([p.display for p in known])}" if known else ""
                how = ""
                if args.term and set(args.term.split()) <= aspect_words(aspect) - {aspect}:
                    rows = self._mentioning(rows, aspect, args.term.split())
                    how = f' in a sentence that mentions "{args.term}"'
                rows = [row for row in rows if row.aspect == aspect]
                docs = sorted({r.doc for r in rows})
                if docs:
                    counts = {"positive": 0, "negative": 0}
                    for row in rows:
                        counts[row.polarity] = counts.get(row.polarity, 0) + 1
                    label = join_names([p.display for p in known]) if known else "all products"
                    cite = composer.fact(opinion_fact_text(label + how, aspect, counts), docs)
                    composer.say(
                        f"{reviews(len(docs))}{where} state{'s' * (len(docs) == 1)} an opinion on "
                        f"the {aspect}{how} ({counts['positive']} positive, "
                        f"{counts['negative']} negative opinions).",
                        [cite],
                    )
                else:
                    composer.say(
                        f"No review{where} states an opinion on the {aspect}{how}.",
                        basis="absence",
                    )
        term = args.term or (aspect if aspect and not args.term else None)
        if term and self.index() is not None:
            matching = sorted(self._documents_with([term], scope))
            cite = composer.fact(
                f'reviews containing "{term}": {len(matching)}', matching, kind="graph"
            )
            composer.say(
                f'{reviews(len(matching))} mention{"s" * (len(matching) == 1)} "{term}"'
                + (f" ({_first(matching)})" if matching else "")
                + ".",
                [cite] if matching else [],
                basis="graph" if matching else "absence",
            )
            if matching:
                for passage in self._passages(term, set(matching), 2, "count_reviews"):
                    composer.evidence.append(passage)
        self._attach(result, composer)
        return result

    def _reviews_of_each(self, store: Any, composer: Composer) -> None:
        """The reviews behind each product with opinions (named in them or their subject),
        the most opinions first: "how many reviews are there of each product?"."""
        rated = _rated(store.products())
        names = self._display_names(rated)
        parts, cites = [], []
        for p in rated[:EACH_PRODUCT]:
            docs = sorted(row["id"] for row in store.documents_behind("Product", p.id))
            cites.append(composer.fact(f"{names[p.id]}: in {reviews(len(docs))}", docs))
            parts.append(f"the {names[p.id]} {len(docs)}")
        if parts:
            more = f" ({len(rated) - EACH_PRODUCT} more products have opinions)"
            composer.say(
                f"Reviews by product: {join_names(parts)}"
                + (more if len(rated) > EACH_PRODUCT else "")
                + ".",
                cites,
            )

    def _mentioned_with(self, args: MentionedWith) -> ToolResult:
        """The other names in a product's reviews, by how many reviews name each (a
        linked mention counts as its catalog product), with a sentence naming each of the
        first three. The product's own brand is left out: a Nokia review says "nokia"."""
        result = ToolResult(name="mentioned_with")
        composer = self._composer("mentioned_with")
        with self.store() as store:
            known, unknown = self._resolve(args.products)
            result.notes += [_unknown_note(name) for name in unknown]
            if not known:
                return result
            product = known[0]
            docs = sorted(self._documents_of(store, product) or ())[:MAX_SCOPE]
            rows = store.query(NAMED_IN, {"docs": docs}, isolated=False) if docs else []
            names = self._display_names(store.products())
        own = {product.product_id, normalize(product.display)}
        brand = normalize(product.display).split(" ")[0]
        others: dict[str, tuple[str, dict[str, tuple[int | None, int | None]]]] = {}
        for row in sorted(rows, key=lambda r: (r["doc"], r.get("char_start") or 0)):
            key = row.get("product") or row["entity"]
            name = normalize(row.get("name") or "")
            if key in own or name in own or (row.get("label") == "BRAND" and name == brand):
                continue
            itself = self.resolver.forms.get(name)
            if itself is not None and itself.product_id == product.product_id:
                continue  # a short name of the product ("mx40" of the "Sonata MX40 MP3 player")
            linked = names.get(row.get("product") or "")
            display = f"the {linked}" if linked else _named(row.get("name") or key)
            where = others.setdefault(key, (display, {}))[1]
            where.setdefault(row["doc"], (row.get("char_start"), row.get("char_end")))
        subject = f"the {product.display}"
        if not others:
            verb = "names" if len(docs) == 1 else "name"
            composer.say(
                f"The {reviews(len(docs))} of {subject} {verb} no other product or brand.",
                basis="absence",
            )
            self._attach(result, composer)
            return result
        ranked = sorted(
            others.values(), key=lambda item: (-len(item[1]), item[0].removeprefix("the ").lower())
        )
        counts = [f"{display} ({len(found)})" for display, found in ranked]
        cite = composer.fact(
            f"named in reviews of the {product.display}: " + ", ".join(counts),
            {doc for _, found in ranked for doc in found},
        )
        shown = [f"{display} ({reviews(len(found))})" for display, found in ranked[:8]]
        rest = ranked[len(shown) :]
        once = all(len(found) == 1 for _, found in rest)
        tail = [f"{len(rest)} more{' in one review each' if once else ''}"] if rest else []
        listed = join_names([*shown, *tail])
        composer.say(
            f"Besides {subject}, its {reviews(len(docs))} name {listed}.", [cite], basis="graph"
        )
        quoted: set[tuple[str, int | None]] = set()
        for display, found in ranked[:3]:  # a sentence each, one not quoted for another
            for doc, (start, end) in found.items():
                snippet = composer.snippet(doc, start, end) if composer.snippet else None
                if snippet is None or (doc, snippet[0].char_start) in quoted:
                    continue
                source, text = snippet
                quoted.add((doc, source.char_start))
                composer.evidence.append(
                    Evidence(kind="passage", text=text, tool="mentioned_with", sources=[source])
                )
                composer.say(
                    f'A review ({doc}) names {display}: "{clip_quote(text)}"',
                    [len(composer.evidence) - 1],
                    basis="quote",
                )
                break
        self._attach(result, composer)
        return result

    def _without_products(self, result: ToolResult, composer: Composer) -> ToolResult:
        """Reviews that name no product and hold no opinion on one (a delivery complaint,
        a question), each quoted once: what they are about is in their text."""
        with self.store() as store:
            about = {r["id"] for q in PRODUCT_DOCUMENTS for r in store.query(q, isolated=False)}
        docs = sorted(self._all_documents() - about)
        cite = composer.fact(f"reviews naming no product: {len(docs)}", docs)
        composer.say(
            (
                f"{len(docs)} reviews name no product and state no opinion on one"
                if len(docs) != 1
                else "1 review names no product and states no opinion on one"
            )
            + f" ({_first(docs)})."
            if docs
            else "Every review names a product or states an opinion on one.",
            [cite],
        )
        for doc in docs[:2]:
            found = composer.snippet(doc, 0, None) if composer.snippet else None
            if found is not None:
                source, text = found
                composer.evidence.append(
                    Evidence(kind="passage", text=text, tool="count_reviews", sources=[source])
                )
                composer.say(
                    f'A review ({doc}) says: "{text}"', [len(composer.evidence) - 1], "quote"
                )
        self._attach(result, composer)
        return result

    def _catalog_attributes(self, args: CatalogAttributes) -> ToolResult:
        result = ToolResult(name="catalog_attributes")
        catalog = self.catalog()
        composer = self._composer("catalog_attributes")
        known, unknown = self._resolve(args.products)
        result.notes += [_unknown_note(name) for name in unknown]
        wanted = _wanted_attributes(args.question)
        for product in known:
            entry = catalog.get(product.product_id) if catalog is not None else None
            if entry is None:
                composer.say(
                    f"The catalog has no entry for the {product.display}.", basis="absence"
                )
                continue
            fields = {"release date": entry.release_date or "", **entry.attributes}
            if entry.brand:
                fields["brand"] = entry.brand
            if entry.category:
                fields["category"] = entry.category
            shown = {k: v for k, v in fields.items() if v not in ("", None) and len(str(v)) <= 120}
            picked = (
                {k: v for k, v in shown.items() if _matches_any(k, wanted)} if wanted else shown
            )
            text = f"{entry.name} (catalog): " + "; ".join(
                f"{_attribute_label(k)} {_attribute_value(k, v)}" for k, v in shown.items()
            )
            cite = composer.fact(text, [], kind="catalog")
            if picked:
                listed = join_names(
                    [f"{_attribute_label(k)} {_attribute_value(k, v)}" for k, v in picked.items()]
                )
                composer.say(
                    f"The catalog lists the {product.display} with {listed}.",
                    [cite],
                    basis="catalog",
                )
            missing = [w for w in wanted if not any(_matches_any(k, [w]) for k in shown)]
            if missing:
                composer.say(
                    f"The catalog does not say the {product.display}'s {join_names(missing)}.",
                    basis="absence",
                )
        self._attach(result, composer)
        return result

    def _plugin_facts(self, args: PluginFacts) -> ToolResult:
        result = ToolResult(name="plugin_facts")
        composer = self._composer("plugin_facts")
        with self.store() as store:
            known, unknown = self._resolve(args.products)
            result.notes += [_unknown_note(name) for name in unknown]
            scope: set[str] | None = None
            if known:
                scope = {
                    row["id"]
                    for p in known
                    for row in store.documents_behind(p.label, p.product_id)
                }
            rows = store.query(
                "MATCH (d:Document)-[:HAS_FACT]->(f:Fact {task: $task}) "
                "RETURN d.id AS doc, f.payload AS payload, f.text AS text, "
                "f.char_start AS char_start, f.char_end AS char_end, f.backend AS backend "
                "ORDER BY doc, char_start",
                {"task": args.task},
                isolated=False,
            )
        rows = [r for r in rows if scope is None or r["doc"] in scope]
        where = f" about the {join_names([p.display for p in known])}" if known else ""
        if not rows:
            composer.say(
                f"The {args.task} tool found nothing in the reviews{where}.", basis="absence"
            )
            self._attach(result, composer)
            return result
        cites, shown = [], []
        for row in rows[:MAX_FACTS]:
            label = row.get("text") or _payload_text(row.get("payload"))
            source = Source(
                doc_id=row["doc"], char_start=row.get("char_start"), char_end=row.get("char_end")
            )
            composer.evidence.append(
                Evidence(
                    kind="graph",
                    text=f"{args.task} fact in {row['doc']}: {_payload_text(row.get('payload'))}",
                    tool="plugin_facts",
                    sources=[source],
                )
            )
            cites.append(len(composer.evidence) - 1)
            shown.append(f"{label} ({row['doc']})")
        docs = {r["doc"] for r in rows}
        more = f", and {len(rows) - MAX_FACTS} more" if len(rows) > MAX_FACTS else ""
        composer.say(
            f"The {args.task} tool found {len(rows)} fact{'s' * (len(rows) != 1)} in "
            f"{reviews(len(docs))}{where}: {', '.join(shown)}{more}.",
            cites,
        )
        self._attach(result, composer)
        return result

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
            unlinked = store.query(UNLINKED_NAMES, isolated=False) if args.most else []
        if args.category:
            products = [p for p in products if self._in_category(p.id, args.category)]
        lines = [
            f"{p.name or p.id} ({self.categories.get(p.id, 'product')}): "
            f"{p.mentions} mention{'s' * (p.mentions != 1)} in {reviews(p.documents)}"
            for p in products
        ]
        listed = len(result.evidence)
        result.evidence.append(
            Evidence(
                kind="graph", text="Products: " + "; ".join(lines or ["none"]), tool="list_products"
            )
        )
        if args.most:
            self._most_named(result, products, unlinked, listed)
        if args.reviewed:
            self._reviewed(result, products, listed)
        result.evidence.append(
            Evidence(
                kind="graph",
                text="Aspects: " + ", ".join(aspects or ["none"]),
                tool="list_products",
            )
        )
        return result

    def _most_named(
        self, result: ToolResult, products: Sequence[Any], unlinked: Sequence[dict], listed: int
    ) -> None:
        """The names the most reviews use: catalog products by their counts, and product
        names the linker left unlinked (all of them without a catalog) by their documents."""
        named: dict[str, tuple[str, int]] = {
            p.id: (p.name or p.id, p.documents) for p in products if p.documents
        }
        docs: dict[str, set[str]] = {}
        shown: dict[str, str] = {}
        for row in unlinked:
            if row.get("product"):
                continue  # counted with its product
            key, name = row["entity"], _named(row.get("name") or row["entity"])
            product = self.resolver.forms.get(normalize(row.get("name") or ""))
            if (
                product is not None
                and product.label == "Product"
                and product.product_id not in named
            ):
                # a short name of a product no mention links ("mx40" of the file's subject,
                # the "Sonata MX40 MP3 player"): that product's
                key, name = product.product_id, product.display
            docs.setdefault(key, set()).add(row["doc"])
            shown[key] = name
        named |= {key: (shown[key], len(found)) for key, found in docs.items()}
        if not named:
            return
        ranked = sorted(named.values(), key=lambda item: (-item[1], item[0]))[:4]
        (name, count), rest = ranked[0], ranked[1:]
        cites = [listed]
        if docs:
            cites.append(len(result.evidence))
            result.evidence.append(self._entity_evidence(docs, shown))
        text = f"The {name} is named in the most reviews ({count})"
        others = [f"the {n} ({c})" for n, c in rest]
        text += f", then {join_names(others)}." if others else "."
        result.statements.append(Statement(text=text, evidence=cites))

    def _reviewed(self, result: ToolResult, products: Sequence[Any], listed: int) -> None:
        """The products reviewers give opinions on, most opinions first: what a set of
        review files is about (a file's subject is often named in none of its reviews)."""
        names = self._display_names(products)
        rated = _rated(products)
        others = len(products) - len(rated)
        if not rated:
            text = "No review in the graph gives an opinion on a product."
        else:
            shown = [
                f"the {names[p.id]} ({p.opinions} opinion{'s' * (p.opinions != 1)})"
                for p in rated[:EACH_PRODUCT]
            ]
            more = [f"{len(rated) - EACH_PRODUCT} more"] if len(rated) > EACH_PRODUCT else []
            text = (
                f"Reviewers give opinions on {len(rated)} product{'s' * (len(rated) != 1)}: "
                f"{join_names([*shown, *more])}."
            )
            if others:
                text += f" {others} other product{'s are' if others != 1 else ' is'} only named."
        result.statements.append(Statement(text=text, evidence=[listed]))

    @staticmethod
    def _entity_evidence(docs: dict[str, set[str]], shown: dict[str, str]) -> Evidence:
        top = sorted(docs, key=lambda key: (-len(docs[key]), key))[:20]
        return Evidence(
            kind="graph",
            text="Names no catalog entry links: "
            + "; ".join(f"{shown[k]}: in {reviews(len(docs[k]))}" for k in top),
            tool="list_products",
            sources=[Source(doc_id=d) for k in top[:3] for d in sorted(docs[k])[:5]],
        )

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

    def _passages(
        self,
        query: str,
        doc_ids: set[str] | None,
        k: int,
        tool: str,
        about: Mapping[str, set[str]] | None = None,
    ) -> list[Evidence]:
        """Index passages as evidence (none when the index is not built). `about`: product
        name -> the documents behind it, where the search was scoped to products: each
        passage says which of them its document is about."""
        about = about or {}
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
                about=[name for name, docs in about.items() if passage.doc_id in docs],
            )
            for passage in found
        ]

    def _opinion_rows(self, store: Any, product: ProductName | None) -> list[OpinionRow]:
        """Every opinion about `product` (all products: None), with its document and span."""
        if product is None:
            match = "MATCH (d:Document)-[:EXPRESSES]->(o:Opinion)-[:ABOUT]->(p:Product) "
            params: dict[str, Any] = {}
        else:
            label = "Entity" if product.label == "Entity" else "Product"
            match = (
                f"MATCH (d:Document)-[:EXPRESSES]->(o:Opinion)-[:ABOUT]->(p:{label} {{id: $id}}) "
            )
            params = {"id": product.product_id}
        return [
            OpinionRow(
                doc=row["doc"],
                product=row["product"],
                aspect=row["aspect"],
                polarity=row["polarity"],
                start=row.get("char_start"),
                end=row.get("char_end"),
                confidence=row.get("confidence"),
            )
            for row in store.query(match + OPINION_ROWS, params, isolated=False)
        ]

    def _display_names(self, products: Sequence[Any]) -> dict[str, str]:
        """Product id -> name: the catalog's name where there is one, else the graph's."""
        return {p.id: self.resolver.displays.get(p.id) or p.name or p.id for p in products}

    def reviews_subject(self) -> ProductName | None:
        """The product the reviews are about, if one is (see `_subject`)."""
        with self.store() as store:
            return self._subject(store, store.products())

    def _subject(self, store: Any, products: Sequence[Any]) -> ProductName | None:
        """The product a single-product review file is about: one holding `SUBJECT_SHARE`
        of the opinions on products, with that share of the reviews behind it (not the one
        product with opinions of two headsets' reviews, the other, "the Voyager Pro", in
        no catalog form)."""
        rated = _rated(products)
        if not rated or rated[0].opinions < SUBJECT_SHARE * sum(p.opinions for p in rated):
            return None
        top = rated[0]
        subject = ProductName(top.id, self._display_names([top])[top.id])
        behind = self._documents_of(store, subject) or set()
        documents = store.stats().nodes.get("Document", 0)
        return subject if len(behind) >= SUBJECT_SHARE * documents else None

    def _documents_of(self, store: Any, product: ProductName | None) -> set[str] | None:
        if product is None:
            return None
        return {row["id"] for row in store.documents_behind(product.label, product.product_id)}

    def _documents_with(self, terms: Sequence[str], scope: set[str] | None) -> set[str]:
        """Documents whose text uses any of `terms` (whole words, any ending)."""
        index = self.index()
        if index is None:
            return set()
        pattern = words_pattern(terms)
        candidates = scope if scope is not None else self._all_documents()
        return {doc for doc in candidates if pattern.search(index.document_text(doc) or "")}

    def _all_documents(self) -> set[str]:
        with self.store() as store:
            rows = store.query("MATCH (d:Document) RETURN d.id AS id", isolated=False)
            return {row["id"] for row in rows}

    def _composer(self, tool: str) -> Composer:
        index = self.index()

        def snippet(doc: str, start: int | None, end: int | None) -> tuple[Source, str] | None:
            found = index.snippet(doc, start, end, max_chars=240) if index is not None else None
            if found is None:
                return None
            source = Source(doc_id=doc, char_start=found.char_start, char_end=found.char_end)
            return source, " ".join(found.text.split())

        return Composer(tool, snippet if index is not None else None)

    @staticmethod
    def _attach(result: ToolResult, composer: Composer) -> None:
        """Append the composer's evidence and statements, renumbered after what is there."""
        offset = len(result.evidence)
        result.evidence += composer.evidence
        result.statements += [
            s.model_copy(update={"evidence": [offset + i for i in s.evidence]})
            for s in composer.statements
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


ATTRIBUTE_WORDS: dict[str, tuple[str, ...]] = {
    "price": ("price", "cost", "usd", "eur", "msrp"),
    "release date": ("release", "year", "announce", "launch", "date"),
    "screen": ("screen", "inch", "display"),
    "battery": ("battery", "mah", "wh"),
    "storage": ("storage", "gb"),
    "memory": ("ram", "memory"),
    "camera": ("cam", "camera", "mp"),
    "chip": ("soc", "chip", "processor", "cpu"),
}
"""Attribute words a question may use -> fragments of catalog column names they mean."""
_QUESTION_ATTRIBUTES = {
    "price": r"\b(price|cost|costs|much does|much is|expensive|cheap)\b",
    "release date": r"\b(release\w*|come out|came out|launch\w*|announc\w*|when)\b",
    "screen": r"\b(screen|display|inch\w*)\b",
    "battery": r"\b(battery|mah)\b",
    "storage": r"\bstorage\b",
    "memory": r"\b(ram|memory)\b",
    "camera": r"\b(camera|megapixel\w*)\b",
    "chip": r"\b(chip|processor|soc|cpu)\b",
}


def words_pattern(words: Sequence[str]) -> re.Pattern[str]:
    """Any of `words` at a word start, any ending, case-insensitive, written as one word or
    split by a space or hyphen: "speakerphone" finds "speaker phone", "voice dialing" finds
    "voice-dialing" (people write compounds every way)."""

    def loose(word: str) -> str:
        parts = word.split()
        if len(parts) > 1:  # each word with any ending: "dropped calls" finds "drop calls"
            return r"\w*[\s-]?".join(re.escape(word_stem(p)) for p in parts)
        word = word_stem(word)
        if len(word) < 8:
            return re.escape(word)
        inner = r"[\s-]?".join(re.escape(c) for c in word[3:-3])
        return re.escape(word[:3]) + r"[\s-]?" + inner + r"[\s-]?" + re.escape(word[-3:])

    return re.compile(r"\b(?:" + "|".join(loose(w) for w in words if w.strip()) + ")", re.I)


_ENDING = re.compile(r"(?<=\w{4})(?:ing|ed|es|(?<![isu])s)$")


def word_stem(word: str) -> str:
    """`word` without an inflection, so that any ending finds its other forms: "freezing"
    finds "freezes", "dropped" finds "drops" (a double consonant is undone)."""
    stem = _ENDING.sub("", word.lower()) if word.isalpha() else word.lower()
    if stem != word.lower() and len(stem) > 4 and stem[-1] == stem[-2] and stem[-1] not in "ls":
        stem = stem[:-1]
    return stem


def _wanted_attributes(question: str) -> list[str]:
    """The attributes a question asks for ("how much … and when did it come out")."""
    return [
        name for name, pattern in _QUESTION_ATTRIBUTES.items() if re.search(pattern, question, re.I)
    ]


def _matches_any(column: str, wanted: Sequence[str]) -> bool:
    column = column.lower()
    return any(
        fragment in column for want in wanted for fragment in ATTRIBUTE_WORDS.get(want, (want,))
    )


UNITS = {"usd": "$", "eur": "€", "gbp": "£", "in": "in", "mah": "mAh", "wh": "Wh", "gb": "GB",
         "tb": "TB", "mp": "MP", "g": "g", "kg": "kg", "mm": "mm", "hz": "Hz"}  # fmt: skip
"""Unit suffixes of catalog columns (`price_usd`, `screen_in`) and how values show them."""


def _attribute_label(column: str) -> str:
    """ "price_usd" -> "price", "release_date" -> "release date"."""
    words = column.replace("_", " ").split()
    if len(words) > 1 and words[-1].lower() in UNITS:
        words = words[:-1]
    return " ".join(words)


def _attribute_value(column: str, value: Any) -> str:
    """The value with the unit its column names: 1099 in `price_usd` -> "$1,099"."""
    text = " ".join(str(value).split())
    unit = column.rsplit("_", 1)[-1].lower() if "_" in column else ""
    if unit in ("usd", "eur", "gbp") and re.fullmatch(r"\d+(\.\d+)?", text):
        number = float(text)
        return UNITS[unit] + (f"{number:,.0f}" if number.is_integer() else f"{number:,.2f}")
    if unit in UNITS and re.fullmatch(r"\d+(\.\d+)?", text):
        return f"{text} {UNITS[unit]}"
    return text


def _payload_text(payload: Any) -> str:
    """A plugin fact's payload (JSON text in the graph) as one short line."""
    try:
        data = json.loads(payload) if isinstance(payload, str) else payload
    except ValueError:
        return str(payload)[:120]
    if isinstance(data, dict):
        return ", ".join(f"{k}: {v}" for k, v in data.items() if k not in ("start", "end"))[:160]
    return str(data)[:160]


def _first(ids: Sequence[str], n: int = 8) -> str:
    shown = ", ".join(ids[:n])
    return shown + (f" and {len(ids) - n} more" if len(ids) > n else "")


SUBJECT_SHARE = 0.75
"""A product holding this share of all opinions, with this share of the reviews behind it,
is what the reviews are about."""


def _rated(products: Sequence[Any]) -> list[Any]:
    """The products with opinions, the most first."""
    return sorted((p for p in products if p.opinions), key=lambda p: (-p.opinions, p.id))


def _named(name: str) -> str:
    """A name as the graph stores it (lower case), capitalised for an answer."""
    return " ".join(word[:1].upper() + word[1:] for word in name.split())


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
