"""The chat agent: a LangGraph state graph from a question to a checked, cited answer.

    question → plan → act → draft → guard → answer
               (model   (tools,    (model     (fact-checker
               picks a  router     writes     + policy)
               tool)    fallback)  cited
                                   sentences)

Each step is a node, so control flow is explicit and every step is timed. The
model only *chooses* tools and *phrases* the answer; facts come from the tools,
and the guardrail checks every sentence before the user sees it. Conversations
persist in a SQLite checkpointer, one thread per name.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage
from langgraph.graph.message import add_messages
from pydantic import BaseModel, Field

from distill.agent.evidence import Evidence, Source
from distill.agent.guardrail import CheckedSentence, Checker, Policy, apply_policy, check_sentences
from distill.agent.router import ProductName, ProductResolver, is_follow_up, route
from distill.agent.tools import Ranking, Toolbox, ToolResult
from distill.config import Config, load_config
from distill.errors import DistillError
from distill.plugins.factcheck.task import Verdict
from distill.plugins.linker.catalog import normalize
from distill.prompts import render

MAX_QUESTION_CHARS = 2000
MAX_EVIDENCE = 10
DEFAULT_THREAD = "default"
SPECIFIC_INTENTS = {"rank", "compare", "product", "unknown_product", "mentions"}


# the typed response


class Citation(BaseModel):
    """A numbered piece of evidence: a passage (document span) or a graph fact (with the
    documents behind it)."""

    number: int
    kind: str
    text: str
    tool: str
    sources: list[Source] = Field(default_factory=list)


class ToolCall(BaseModel):
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    by: str = Field(description="model: the LLM chose it; router: the deterministic fallback")
    seconds: float
    evidence: int = Field(description="pieces of evidence it returned")
    notes: list[str] = Field(default_factory=list)
    error: str | None = None


class ChatResponse(BaseModel):
    """What `Agent.chat` returns and `distill ask --json` prints."""

    thread: str
    question: str
    answer: str = Field(description="what the user sees, after the guardrail's policy")
    sentences: list[CheckedSentence] = Field(description="the draft's sentences with verdicts")
    citations: list[Citation] = Field(description="evidence cited by the sentences kept")
    evidence: list[Citation] = Field(description="everything the tools found, numbered")
    verdicts: list[Verdict]
    tool_calls: list[ToolCall]
    policy: Policy
    removed: int = 0
    refused: bool = False
    notes: list[str] = Field(default_factory=list)
    seconds: dict[str, float] = Field(default_factory=dict)

    @property
    def unsupported(self) -> int:
        """Draft sentences the fact-checker did not find supported (before the policy)."""
        return sum(not s.supported for s in self.sentences)


class Step(BaseModel):
    """A progress event of `Agent.stream`: which node ran and what it did."""

    node: str
    detail: str


# the graph's state


class ChatState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    """The conversation (questions and checked answers), persisted per thread."""
    question: str
    plan: list[dict[str, Any]]
    results: list[dict[str, Any]]
    evidence: list[dict[str, Any]]
    notes: list[str]
    draft: list[dict[str, Any]]
    response: dict[str, Any]
    focus: list[dict[str, Any]]
    """Products the last turns were about, for follow-ups ("and its camera?")."""
    intent: dict[str, Any]
    timings: dict[str, float]


class DraftSentence(BaseModel):
    text: str = Field(max_length=400)
    sources: list[int] = Field(default_factory=list, max_length=4)


class Draft(BaseModel):
    sentences: list[DraftSentence] = Field(min_length=1, max_length=5)


class Agent:
    """Chat over the ingested documents and the graph; see `chat` and `stream`."""

    def __init__(
        self,
        config: Config | None = None,
        *,
        chat_model: BaseChatModel | None = None,
        checker: Checker | None = None,
        checkpoints: str | Path | None = None,
        policy: Policy | None = None,
    ) -> None:
        self.config = config or load_config().config
        self.policy: Policy = policy or self.config.guardrail
        self._llm = chat_model
        self._check_graph_exists()
        self._document_index: Any = None
        self._cheap_checker = checker is not None or _trained_checker(self.config)
        self.checker: Checker = checker or backend_checker(self.config)  # fail early, clearly
        self.resolver, self.categories, self.aspects, counts = self._read_graph()
        self.n_documents, self.n_products = counts
        self.toolbox = Toolbox(
            store=self.graph_store,
            index=self.document_index,
            resolver=self.resolver,
            categories=self.categories,
            aspects=self.aspects,
            tasks=_text_tasks(),
            run_task=self._run_task,
            cypher=self._cypher,
            passages=self.config.agent.passages,
        )
        path = Path(checkpoints or self.config.agent.checkpoints)
        path.parent.mkdir(parents=True, exist_ok=True)
        from langgraph.checkpoint.sqlite import SqliteSaver

        self._connection = sqlite3.connect(str(path), check_same_thread=False)
        self.checkpointer = SqliteSaver(self._connection)
        self.graph = self._compile()
        self._backends: dict[str, Any] = {}

    # public API

    def chat(self, message: str, thread: str = DEFAULT_THREAD) -> ChatResponse:
        """Answer `message` in conversation `thread` (created on first use, then resumed)."""
        response = None
        for event in self.stream(message, thread):
            if isinstance(event, ChatResponse):
                response = event
        assert response is not None
        return response

    def stream(self, message: str, thread: str = DEFAULT_THREAD) -> Iterator[Step | ChatResponse]:
        """Progress `Step`s as the nodes run, then the `ChatResponse`."""
        question = _clean_question(message)
        started = time.perf_counter()
        turn: ChatState = {
            "messages": [HumanMessage(question)],
            "question": question,
            "plan": [],
            "results": [],
            "evidence": [],
            "notes": [],
            "draft": [],
            "timings": {},
        }
        settings = {"configurable": {"thread_id": thread}}
        final: dict[str, Any] | None = None
        for update in self.graph.stream(turn, settings, stream_mode="updates"):
            for node, values in update.items():
                yield Step(node=node, detail=_describe(node, values or {}))
                if node == "guard":
                    final = values["response"]
        assert final is not None
        response = ChatResponse.model_validate({**final, "thread": thread})
        response.seconds["total"] = round(time.perf_counter() - started, 3)
        yield response

    def history(self, thread: str = DEFAULT_THREAD) -> list[tuple[str, str]]:
        """(role, text) of every turn of `thread`."""
        state = self.graph.get_state({"configurable": {"thread_id": thread}})
        messages = (state.values or {}).get("messages", []) if state else []
        return [("user" if isinstance(m, HumanMessage) else "agent", m.text) for m in messages]

    def reset(self, thread: str = DEFAULT_THREAD) -> None:
        """Forget `thread`'s conversation."""
        self.checkpointer.delete_thread(thread)

    def close(self) -> None:
        self._connection.close()
        if self._document_index is not None:
            self._document_index.close()

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def llm(self) -> BaseChatModel:
        if self._llm is None:
            from distill.llm import chat_model

            self._llm = chat_model(self.config.llm)
        return self._llm

    # the graph

    def _compile(self) -> Any:
        from langgraph.graph import END, START, StateGraph

        graph = StateGraph(ChatState)
        for name, node in (
            ("plan", self._plan),
            ("act", self._act),
            ("draft", self._draft),
            ("guard", self._guard),
        ):
            graph.add_node(name, node)
        graph.add_edge(START, "plan")
        graph.add_edge("plan", "act")
        graph.add_edge("act", "draft")
        graph.add_edge("draft", "guard")
        graph.add_edge("guard", END)
        return graph.compile(checkpointer=self.checkpointer)

    def _plan(self, state: ChatState) -> dict[str, Any]:
        """The model picks a tool (schema-constrained); no tool or an error: the router acts."""
        started = time.perf_counter()
        system = render("agent_system", n_documents=self.n_documents, n_products=self.n_products)
        turns = self.config.agent.history if is_follow_up(state["question"]) else 0
        messages = [SystemMessage(system), *_recent(state, turns)]
        notes: list[str] = []
        plan: list[dict[str, Any]] = []
        try:
            bound = self.llm.bind_tools(self.toolbox.definitions(), tool_choice="required")
            reply = bound.invoke(messages)
            plan = [{"name": c["name"], "arguments": c["args"]} for c in reply.tool_calls][:2]
            if not plan:
                notes.append("the model called no tool; the router looked the facts up")
        except Exception as exc:
            notes.append(f"the model could not choose a tool ({_short_error(exc)}); router used")
        return {"plan": plan, "notes": notes, "timings": {"plan": _since(started)}}

    def _act(self, state: ChatState) -> dict[str, Any]:
        """Run the model's calls, then the router's where they fall short."""
        started = time.perf_counter()
        question = state["question"]
        focus = [ProductName(**p) for p in state.get("focus") or []]
        intent = route(question, self.resolver, aspects=self.aspects, previous_products=focus)
        plan = state["plan"]
        if intent.name in SPECIFIC_INTENTS:
            # a common question: the query API answers it; generated Cypher would be slower
            plan = [call for call in plan if call["name"] != "query_graph"]
        results: list[ToolResult] = [
            self.toolbox.run(call["name"], self._grounded(call["arguments"], question), by="model")
            for call in plan
        ]
        found = any(r.evidence for r in results)
        called = {r.name for r in results if not r.error}
        for name, arguments in intent.calls:
            wanted = intent.name in SPECIFIC_INTENTS and name not in called
            if wanted or not found:
                results.append(self.toolbox.run(name, arguments, by="router"))
        searched = "search_reviews" in {r.name for r in results}
        if not any(r.evidence for r in results) and not searched and not intent.unknown_products:
            results.append(
                self.toolbox.run("search_reviews", {"query": question, "products": []}, "router")
            )
        if any(r.ranking for r in results):
            # a ranking answers the question; unrestricted search passages only distract
            for r in results:
                if r.name == "search_reviews" and not r.arguments.get("products"):
                    r.evidence = []
        evidence = _merge_evidence(results)
        notes = list(state.get("notes") or [])
        notes += [note for r in results for note in r.notes if not note.startswith("Cypher:")]
        notes += [f"{r.name} failed: {r.error}" for r in results if r.error]
        new_focus = intent.products or focus
        return {
            "results": [r.model_dump(mode="json") for r in results],
            "evidence": [e.model_dump(mode="json") for e in evidence],
            "notes": list(dict.fromkeys(notes)),
            "focus": [p.__dict__ for p in new_focus],
            "intent": {
                "name": intent.name,
                "aspect": intent.aspect,
                "products": [p.display for p in intent.products],
            },
            "timings": {**state.get("timings", {}), "tools": _since(started)},
        }

    def _grounded(self, arguments: dict[str, Any], question: str) -> dict[str, Any]:
        """Drop product names the model made up: keep known products and names the user
        wrote (an unknown name the user asked about is reported as unknown)."""
        names = arguments.get("products")
        if not isinstance(names, list):
            return arguments
        asked = normalize(question)
        kept = [
            name
            for name in names
            if isinstance(name, str)
            and (self.resolver.resolve(name) is not None or normalize(name) in asked)
        ]
        return {**arguments, "products": kept}

    def _draft(self, state: ChatState) -> dict[str, Any]:
        """The model phrases the answer as cited sentences; without evidence, it abstains."""
        started = time.perf_counter()
        evidence = [Evidence.model_validate(e) for e in state["evidence"]]
        notes = list(state.get("notes") or [])
        lead = lead_sentence(state.get("intent") or {}, state["results"], evidence)
        if not evidence:
            sentences = [_abstention(notes)]
        else:
            try:
                sentences = self._compose(state["question"], evidence, notes, state, lead)
            except Exception as exc:
                notes.append(f"the model could not write the answer ({_short_error(exc)})")
                sentences = _fallback_answer(evidence)
            if lead:
                sentences = [lead, *[s for s in sentences if s["text"] != lead["text"]][:3]]
        return {
            "draft": sentences,
            "notes": notes,
            "timings": {**state.get("timings", {}), "draft": _since(started)},
        }

    def _compose(
        self,
        question: str,
        evidence: list[Evidence],
        notes: list[str],
        state: ChatState,
        lead: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        turns = self.config.agent.history if is_follow_up(question) else 0
        history = [
            f"{'User' if isinstance(m, HumanMessage) else 'Agent'}: {m.text}"
            for m in _recent(state, turns)[:-1]
        ]
        prompt = render(
            "agent_answer",
            question=question,
            evidence=[{"label": _label(e), "text": e.text} for e in evidence],
            notes=[n for n in notes if not n.startswith("the model")],
            history=history,
            lead=lead["text"] if lead else None,
        )
        draft = self.llm.with_structured_output(Draft).invoke(prompt)
        if isinstance(draft, dict):
            draft = Draft.model_validate(draft)
        out = []
        for sentence in draft.sentences:
            text = " ".join(sentence.text.split())
            if text:
                cites = [n for n in dict.fromkeys(sentence.sources) if 0 < n <= len(evidence)]
                out.append({"text": text, "sources": cites})
        if not out:
            raise DistillError("empty answer")
        return out

    def _guard(self, state: ChatState) -> dict[str, Any]:
        """Check every sentence, apply the policy, and build the response."""
        started = time.perf_counter()
        evidence = [Evidence.model_validate(e) for e in state["evidence"]]
        notes = list(state.get("notes") or [])
        pairs = [(s["text"], list(s["sources"])) for s in state["draft"]]
        try:
            rankings = [
                Ranking.model_validate(r["ranking"]) for r in state["results"] if r.get("ranking")
            ]
            checked = check_sentences(
                pairs,
                evidence,
                self.checker,
                self._aggregates,
                rankings=rankings,
                products_in=lambda text: [p.display for p in self.resolver.find(text)],
                repair=self._cheap_checker,
            )
        except DistillError:
            raise
        except Exception as exc:  # a broken checker must not let an unchecked answer through
            notes.append(f"the fact-checker failed ({_short_error(exc)}); nothing is verified")
            checked = [
                CheckedSentence(
                    text=text,
                    citations=cites,
                    verdict=Verdict(claim=text, label="not_enough_info", confidence=0.0),
                )
                for text, cites in pairs
            ]
        answer, removed, refused = apply_policy(checked, self.policy)
        numbered = [
            Citation(number=i, kind=e.kind, text=e.text, tool=e.tool, sources=e.sources)
            for i, e in enumerate(evidence, 1)
        ]
        cited = sorted({n for s in checked if s.kept for n in s.citations})
        timings = {**state.get("timings", {}), "guard": _since(started)}
        response = ChatResponse(
            thread="",
            question=state["question"],
            answer=answer,
            sentences=checked,
            citations=[numbered[n - 1] for n in cited],
            evidence=numbered,
            verdicts=[s.verdict for s in checked if s.verdict is not None],
            tool_calls=[_tool_call(r) for r in state["results"]],
            policy=self.policy,
            removed=removed,
            refused=refused,
            notes=notes,
            seconds=timings,
        )
        return {
            "response": response.model_dump(mode="json"),
            "messages": [AIMessage(answer)],
            "timings": timings,
        }

    # graph and index access (read-only, opened per use)

    def _check_graph_exists(self) -> None:
        graph = self.config.graph
        if graph.store in ("ladybug", "networkx") and not Path(graph.path).exists():
            raise DistillError(
                f"no knowledge graph at {graph.path}: ingest documents first "
                "(`distill ingest FILE…`), or run `distill demo` to chat over the demo reviews"
            )

    @contextlib.contextmanager
    def graph_store(self) -> Iterator[Any]:
        from distill.graph import open_store

        store = open_store(self.config.graph, read_only=True)
        try:
            yield store
        finally:
            store.close()

    def document_index(self) -> Any:
        """The read-only document index, opened once (None when not built or disabled)."""
        built = (Path(self.config.index.path) / "index.sqlite").is_file()
        if self._document_index is None and self.config.index.enabled and built:
            from distill.ingest.index import DocumentIndex

            self._document_index = DocumentIndex.from_config(self.config.index, read_only=True)
        return self._document_index

    def _read_graph(self) -> tuple[ProductResolver, dict[str, str], list[str], tuple[int, int]]:
        """Product names (catalog + graph), categories and aspects, read once per agent."""
        names: list[tuple[str, ProductName]] = []
        categories: dict[str, str] = {}
        brands: set[str] = set()
        from distill.plugins.linker.catalog import configured_catalog

        catalog = configured_catalog(self.config)
        if catalog is not None:
            for entry in catalog.entries:
                product = ProductName(entry.id, entry.name)
                names += [(form, product) for form in entry.names()]
                categories[entry.id] = entry.category or entry.attributes.get("category", "")
                if entry.brand:
                    brands.add(entry.brand)
        with self.graph_store() as store:
            products = store.products()
            names += [(p.name or p.id, ProductName(p.id, p.name or p.id)) for p in products]
            for entity in store.entities("PRODUCT"):
                display = " ".join(w.capitalize() for w in str(entity["name"]).split())
                names.append((entity["name"], ProductName(entity["id"], display, "Entity")))
            graph_aspects = sorted({row.aspect for row in store.opinion_summary()})
            n_documents = store.stats().nodes.get("Document", 0)
        aspects = list(self.config.task("sentiment").labels or []) or graph_aspects
        resolver = ProductResolver(names, brands)
        return resolver, categories, aspects, (n_documents, len(products))

    def _aggregates(self, product: str, aspect: str) -> dict[str, int] | None:
        """Opinion counts of (product name, aspect) for the graph check of claims."""
        found = self.resolver.resolve(product)
        if found is None or found.label != "Product":
            return None
        with self.graph_store() as store:
            rows = [r for r in store.opinion_summary(found.product_id) if r.aspect == aspect]
        if not rows:
            return None
        return rows[0].counts()

    def _cypher(self, question: str, store: Any) -> tuple[str, list[dict[str, Any]]]:
        from distill.agent.cypher import generate_and_run

        return generate_and_run(question, store, self.llm)

    def _run_task(self, task: str, text: str) -> dict[str, Any]:
        from distill.plugins.factory import make_backend, make_task

        if task not in self._backends:
            self._backends[task] = make_backend(task, self.config)
        spec = make_task(task, self.config)
        doc = spec.to_doc(spec.input_schema(text=text))
        self._backends[task].predict([doc])
        return spec.read(doc).model_dump(mode="json")


def _trained_checker(config: Config) -> bool:
    """False when every check is an LLM call (the prompt backend): no citation repair."""
    from distill.plugins.factory import active_backend

    return active_backend("factcheck", config) != "prompt"


def backend_checker(config: Config) -> Checker:
    """The configured fact-check backend as a `Checker` (built once, on first use)."""
    from distill.plugins.factcheck.task import FactCheckInput
    from distill.plugins.factory import active_backend, make_backend, make_task

    task = make_task("factcheck", config)
    try:
        backend = make_backend("factcheck", config)
    except DistillError as exc:
        name = active_backend("factcheck", config)
        raise DistillError(
            f"the guardrail's fact-checker (factcheck, backend {name!r}) could not start: {exc}. "
            "Run `distill demo` (it trains one), `distill train factcheck`, "
            "or use the LLM: `-b factcheck=prompt`."
        ) from None

    def check(pairs: Sequence[tuple[str, list[str]]]) -> list[Verdict]:
        docs = []
        for claim, texts in pairs:
            doc = task.to_doc(FactCheckInput(answer=claim, evidence=texts))
            doc._.meta["claims"] = [claim]
            docs.append(doc)
        backend.predict(docs)
        out = []
        for (claim, _), doc in zip(pairs, docs, strict=True):
            verdicts = task.read(doc).verdicts
            out.append(
                verdicts[0]
                if verdicts
                else Verdict(claim=claim, label="not_enough_info", confidence=0.0)
            )
        return out

    return check


# helpers


def _clean_question(message: str) -> str:
    if not isinstance(message, str):
        raise DistillError("the question must be text")
    question = " ".join(message.split())
    if not question:
        raise DistillError("empty question: ask something about the documents")
    if len(question) > MAX_QUESTION_CHARS:
        raise DistillError(
            f"the question is {len(question)} characters; keep it under {MAX_QUESTION_CHARS}"
        )
    return question


def _recent(state: ChatState, turns: int) -> list[AnyMessage]:
    """The last `turns` question/answer pairs plus the current question."""
    messages = list(state.get("messages") or [])
    return messages[-(2 * turns + 1) :]


def _merge_evidence(results: Sequence[ToolResult]) -> list[Evidence]:
    """All evidence in call order, duplicates dropped, graph facts before passages, capped."""
    seen: set[tuple[str, tuple[str, ...]]] = set()
    graph, other = [], []
    for result in results:
        for item in result.evidence:
            key = (item.text, tuple(item.doc_ids))
            if key in seen:
                continue
            seen.add(key)
            (graph if item.kind == "graph" else other).append(item)
    return (graph[: MAX_EVIDENCE // 2] + other)[:MAX_EVIDENCE]


def _label(evidence: Evidence) -> str:
    if evidence.kind == "passage" and evidence.sources:
        return f"review {evidence.sources[0].doc_id}"
    if evidence.kind == "graph":
        return "graph fact"
    return evidence.tool


def lead_sentence(
    intent: dict[str, Any], results: list[dict[str, Any]], evidence: list[Evidence]
) -> dict[str, Any] | None:
    """The answer's first sentence, stated from the graph when the graph answers it.

    A ranking ("which phone has the worst battery?") or one product's opinions on one
    aspect are computed by the query API; writing that sentence from the numbers keeps
    a 1.5B model from misreading them. The model adds the reasons from the reviews.
    """
    ranking = next((r["ranking"] for r in results if r.get("ranking")), None)
    if ranking and ranking["products"]:
        leader = ranking["products"][0]
        aspect = ranking["aspect"] or "overall"
        fact = next(
            (
                (n, e)
                for n, e in enumerate(evidence, 1)
                if e.kind == "graph" and e.text.startswith(f"{leader} / ")
            ),
            None,
        )
        if fact is None:
            return None
        number, item = fact
        counts = item.text.split(": ", 1)[1]
        word = "worst" if ranking["order"] == "worst" else "best"
        return {
            "text": f"The {leader} has the {word} {aspect} reviews: {counts}.",
            "sources": [number],
        }
    products, aspect = intent.get("products") or [], intent.get("aspect")
    if intent.get("name") == "product" and len(products) == 1 and aspect:
        prefix = f"{products[0]} / {aspect}: "
        for number, item in enumerate(evidence, 1):
            if item.kind == "graph" and item.text.startswith(prefix):
                counts = item.text[len(prefix) :]
                return {
                    "text": f"Reviewers' opinions on the {products[0]} {aspect}: {counts}.",
                    "sources": [number],
                }
    return None


def _abstention(notes: list[str]) -> dict[str, Any]:
    unknown = [n for n in notes if n.startswith("No product named")]
    if unknown:
        text = unknown[0].rstrip(".") + ", so the data does not say."
    else:
        text = "The data does not say: I found nothing about this in the reviews or the graph."
    return {"text": text, "sources": []}


def _fallback_answer(evidence: list[Evidence]) -> list[dict[str, Any]]:
    """When the model cannot write: the top evidence, stated plainly and cited."""
    out = []
    for number, item in enumerate(evidence[:3], 1):
        if item.kind == "graph":
            text = f"The graph has: {item.text}."
        else:
            where = item.sources[0].doc_id if item.sources else "a document"
            text = f'Review {where} says: "{item.text}"'
        out.append({"text": text, "sources": [number]})
    return out


def _tool_call(result: dict[str, Any]) -> ToolCall:
    return ToolCall(
        name=result["name"],
        arguments=result.get("arguments") or {},
        by=result.get("by", "model"),
        seconds=round(result.get("seconds", 0.0), 3),
        evidence=len(result.get("evidence") or []),
        notes=result.get("notes") or [],
        error=result.get("error"),
    )


def _describe(node: str, values: dict[str, Any]) -> str:
    if node == "plan":
        calls = values.get("plan") or []
        if calls:
            return "model chose " + ", ".join(_call_text(c["name"], c["arguments"]) for c in calls)
        return "model called no tool"
    if node == "act":
        parts = [
            f"{_call_text(r['name'], r.get('arguments') or {})}"
            + (" [router]" if r.get("by") == "router" else "")
            + (f" failed: {r['error']}" if r.get("error") else f" → {len(r['evidence'])} found")
            for r in values.get("results") or []
        ]
        return "; ".join(parts) or "no tool ran"
    if node == "draft":
        return f"drafted {len(values.get('draft') or [])} sentence(s)"
    if node == "guard":
        sentences = (values.get("response") or {}).get("sentences") or []
        claims = [s for s in sentences if s.get("verdict")]
        supported = sum(s["verdict"]["label"] == "supported" for s in claims)
        return f"fact-checked: {supported}/{len(claims)} claims supported"
    return ""


def _call_text(name: str, arguments: dict[str, Any]) -> str:
    shown = ", ".join(f"{k}={v!r}" for k, v in arguments.items() if v not in (None, [], ""))
    return f"{name}({shown})"


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 3)


def _short_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"


def _text_tasks() -> list[str]:
    """Registered tasks that take plain text: what `run_tool` may run (plugins' included)."""
    from distill.plugins.factory import make_task
    from distill.registry import registry

    names = []
    for name in sorted(registry().tasks):
        try:
            if set(make_task(name).input_schema.model_fields) == {"text"}:
                names.append(name)
        except Exception:  # a broken plugin task is skipped, not fatal to the chat
            continue
    return names
