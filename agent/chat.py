"""The chat agent: a LangGraph state graph from a question to a checked, cited answer.

    question → plan → act → draft → guard → answer
               (router;  (tools)  (stated from    (fact-checker
               the model          the numbers, or + policy)
               picks only         the model writes
               when it            cited sentences)
               cannot)

Each step is a node, so control flow is explicit and every step is timed. The router
recognises the common intents and fixes their tool calls, so the model plans only the
questions it does not know; aggregates (overall opinion, what people like or
criticise, rankings, comparisons, counts, catalog attributes, plugin facts) are stated
from the graph's numbers and quoted reviews without any model call. Otherwise the
model phrases the answer from the evidence, and the guardrail checks every sentence
before the user sees it. Conversations persist in a SQLite checkpointer, one thread
per name.

A user turn asking to add a review or ingest a file takes the write path instead
(`agent/writes.py`): the agent shows what it would write and writes it only when the
next user turn says yes.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph.message import add_messages
from pydantic import BaseModel, Field

from distill.agent.evidence import Evidence, Source
from distill.agent.guardrail import (
    COUNTING_TOOLS,
    CheckedSentence,
    Checker,
    Policy,
    apply_policy,
    check_sentences,
)
from distill.agent.router import (
    STATED_INTENTS,
    ProductName,
    ProductResolver,
    feature_words,
    is_follow_up,
    kind_forms,
    maker_forms,
    model_forms,
    route,
)
from distill.agent.tools import PLANNER_TOOLS, Ranking, Toolbox, ToolResult
from distill.config import Config, load_config
from distill.errors import DistillError
from distill.plugins.factcheck.task import Verdict
from distill.plugins.linker.catalog import normalize
from distill.prompts import render

MAX_QUESTION_CHARS = 2000
MAX_EVIDENCE = 10
DRAFT_EVIDENCE = 5
"""Evidence the model reads when it drafts: fewer, shorter prompts answer faster."""
MAX_STATED = 7
DEFAULT_THREAD = "default"
SPECIFIC_INTENTS = {
    "rank",
    "compare",
    "product",
    "unknown_product",
    "count",
    "summary",
    "attributes",
    "facts",
    "mentioned_with",
}


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
    documents: list[str] = Field(
        default_factory=list,
        description="the documents the answer shows or relies on (see `shown_documents`)",
    )
    evidence: list[Citation] = Field(description="everything the tools found, numbered")
    verdicts: list[Verdict]
    tool_calls: list[ToolCall]
    policy: Policy
    removed: int = 0
    refused: bool = False
    notes: list[str] = Field(default_factory=list)
    seconds: dict[str, float] = Field(default_factory=dict)
    llm_calls: list[str] = Field(
        default_factory=list, description="the language-model calls this answer took"
    )

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
    llm_calls: list[str]
    pending: dict[str, Any] | None
    """A write the user asked for, shown and waiting for their yes (`agent/writes.py`)."""


class DraftSentence(BaseModel):
    text: str = Field(max_length=300)
    sources: list[int] = Field(default_factory=list, max_length=3)


class Draft(BaseModel):
    sentences: list[DraftSentence] = Field(min_length=1, max_length=3)


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
        workdir: str | Path | None = None,
    ) -> None:
        self.config = config or load_config().config
        self.workdir = Path(workdir or Path.cwd())
        """Files the user asks to ingest from the chat must be under it."""
        self._pipelines: dict[tuple[str, ...], Any] = {}
        self.policy: Policy = policy or self.config.guardrail
        self._llm = chat_model
        self._check_graph_exists()
        self._document_index: Any = None
        self._cheap_checker = checker is not None or _trained_checker(self.config)
        self.checker: Checker = checker or backend_checker(self.config)  # fail early, clearly
        self.refresh()  # products, aspects, plugin tasks, the tools and the reviews' subject
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
        from distill.agent.writes import MAX_TEXT_CHARS, write_request

        longest = MAX_TEXT_CHARS + 200 if write_request(message or "") else MAX_QUESTION_CHARS
        question = _clean_question(message, longest)
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
            "llm_calls": [],
        }
        settings = {"configurable": {"thread_id": thread}}
        final: dict[str, Any] | None = None
        for update in self.graph.stream(turn, settings, stream_mode="updates"):
            for node, values in update.items():
                yield Step(node=node, detail=_describe(node, values or {}))
                if node in ("guard", "write"):
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
        graph.add_node("write", self._write)
        graph.add_conditional_edges(START, self._turn, {"ask": "plan", "write": "write"})
        graph.add_edge("write", END)
        graph.add_edge("plan", "act")
        graph.add_edge("act", "draft")
        graph.add_edge("draft", "guard")
        graph.add_edge("guard", END)
        return graph.compile(checkpointer=self.checkpointer)

    def _turn(self, state: ChatState) -> str:
        """A write request, or the yes to a pending one, takes the write path; only the
        user's own message is read here, never evidence."""
        from distill.agent.writes import is_confirmation, write_request

        question = state["question"]
        if write_request(question) or (state.get("pending") and is_confirmation(question)):
            return "write"
        return "ask"

    def _write(self, state: ChatState, config: RunnableConfig) -> dict[str, Any]:
        """Show what a requested write would add (kept pending), or write it on a yes."""
        from distill.agent.writes import PendingWrite, commit, write_request

        started = time.perf_counter()
        question = state["question"]
        request = write_request(question)
        pending: dict[str, Any] | None = None
        calls: list[ToolCall] = []
        notes: list[str] = []
        if request is None:  # the yes to a pending write
            waiting = PendingWrite.model_validate(state["pending"])
            try:
                documents, facts = commit(waiting, self.config)
                ids = ", ".join(d["id"] for d in waiting.documents[:5])
                lines = [
                    f"Written: {documents} document{'s' * (documents != 1)} ({ids}) with "
                    f"{facts} facts, each with its provenance (document, span, tool, backend), "
                    "in the graph and the search index."
                ]
                self.refresh()
            except Exception as exc:
                lines = [f"The write failed and nothing was kept: {_short_error(exc)}."]
            calls.append(_write_call("write", {"documents": len(waiting.documents)}, started))
        else:
            thread = str((config.get("configurable") or {}).get("thread_id", DEFAULT_THREAD))
            lines, pending = self._prepare_write(request, thread, notes)
            calls.append(
                _write_call("prepare_write", request.model_dump(exclude={"text"}), started)
            )
        answer = " ".join(lines)
        response = ChatResponse(
            thread="",
            question=question,
            answer=answer,
            sentences=[CheckedSentence(text=line) for line in lines],
            citations=[],
            evidence=[],
            verdicts=[],
            tool_calls=calls,
            policy=self.policy,
            notes=notes,
            seconds={"write": _since(started)},
        )
        return {
            "response": response.model_dump(mode="json"),
            "messages": [AIMessage(answer)],
            "pending": pending,
        }

    def _prepare_write(
        self, request: Any, thread: str, notes: list[str]
    ) -> tuple[list[str], dict[str, Any] | None]:
        from distill.agent.writes import extra_tasks, prepare

        tasks = (*self._ingest_tasks(), *extra_tasks(request.extra, _registered_tasks()))
        subject = next(iter(self.resolver.find(request.extra)), None)
        try:
            pipeline = self._pipeline(tuple(dict.fromkeys(tasks)))
            # an empty context: the ingest graph must not run as a subgraph of this one
            # (it would inherit this conversation's checkpointer)
            waiting = contextvars.Context().run(
                prepare,
                request,
                self.config,
                workdir=self.workdir,
                thread=thread,
                pipeline=pipeline,
                subject=subject.product_id if subject and subject.label == "Product" else None,
            )
        except DistillError as exc:
            return [f"I can't do that write: {exc}"], None
        if not waiting.facts:
            reason = "; ".join(waiting.failures[:3]) or "nothing was found to write"
            return [f"Nothing to write: {reason}."], None
        tools = ", ".join(f"{task} ({backend})" for task, backend in waiting.tasks.items())
        n = len(waiting.facts)
        lines = [
            f"I would add {n} document{'s' * (n != 1)} to the graph and the search index. "
            f"The tools ({tools}) found:",
            *[f"- {line}" for line in waiting.summary],
            "Reply yes to write this; anything else cancels it.",
        ]
        notes.append("nothing is written until you say yes")
        return lines, waiting.model_dump(mode="json")

    def _ingest_tasks(self) -> tuple[str, ...]:
        """What `distill ingest` runs: `[pipeline] tasks`."""
        return tuple(self.config.pipeline.tasks)

    def _pipeline(self, tasks: tuple[str, ...]) -> Any:
        """The ingest pipeline for `tasks`, built once (its models load once)."""
        if tasks not in self._pipelines:
            from distill.ingest.pipeline import Pipeline

            self._pipelines[tasks] = Pipeline(self.config, tasks)
        return self._pipelines[tasks]

    def _plan(self, state: ChatState) -> dict[str, Any]:
        """The router recognises the question; only unrouted questions ask the model to
        pick a tool (schema-constrained). No tool or an error: the router acts."""
        started = time.perf_counter()
        question = state["question"]
        focus = [ProductName(**p) for p in state.get("focus") or []]
        intent = route(
            question,
            self.resolver,
            aspects=self.aspects,
            previous_products=focus,
            fact_tasks=self.fact_tasks,
            categories=set(self.categories.values()),
            subject=self.subject,
        )
        described = {
            "name": intent.name,
            "aspect": intent.aspect,
            "focus": intent.focus,
            "products": [p.__dict__ for p in intent.products],
            "unknown": intent.unknown_products,
            "calls": [[name, arguments] for name, arguments in intent.calls],
            "terms": intent.terms,
            "unrecorded": intent.unrecorded,
        }
        notes: list[str] = []
        plan: list[dict[str, Any]] = []
        calls: list[str] = []
        years = [t for t in intent.terms if t.isdigit()]
        if years and not self.toolbox._documents_with(years, None):
            notes.append(f"no review mentions {', '.join(years)}: nothing to plan")
        elif intent.planned:
            calls.append("plan")
            system = render(
                "agent_system", n_documents=self.n_documents, n_products=self.n_products
            )
            turns = self.config.agent.history if is_follow_up(question) else 0
            messages = [SystemMessage(system), *_recent(state, turns)]
            try:
                offered = self.toolbox.definitions(only=PLANNER_TOOLS)
                bound = self.llm.bind_tools(offered, tool_choice="required")
                reply = bound.invoke(messages)
                plan = [{"name": c["name"], "arguments": c["args"]} for c in reply.tool_calls][:2]
                if not plan:
                    notes.append("the model called no tool; the router looked the facts up")
            except Exception as exc:
                notes.append(
                    f"the model could not choose a tool ({_short_error(exc)}); router used"
                )
        if state.get("pending"):
            notes.append("the write shown before was cancelled: it needs a yes as the next turn")
        return {
            "plan": plan,
            "intent": described,
            "notes": notes,
            "timings": {"plan": _since(started)},
            "llm_calls": calls,
            "pending": None,
        }

    def _act(self, state: ChatState) -> dict[str, Any]:
        """Run the model's calls, then the router's where they fall short."""
        started = time.perf_counter()
        question = state["question"]
        intent = state.get("intent") or {}
        name = intent.get("name", "search")
        plan = state["plan"]
        if name in SPECIFIC_INTENTS:
            # a common question: the query API answers it; generated Cypher would be slower
            plan = [call for call in plan if call["name"] != "query_graph"]
        results: list[ToolResult] = [
            self.toolbox.run(call["name"], self._grounded(call["arguments"], question), by="model")
            for call in plan
        ]
        found = any(r.evidence or r.statements for r in results)
        called = {r.name for r in results if not r.error}
        for tool, arguments in intent.get("calls") or []:
            wanted = name in SPECIFIC_INTENTS and tool not in called
            if wanted or not found:
                results.append(self.toolbox.run(tool, arguments, by="router"))
        searched = "search_reviews" in {r.name for r in results}
        nothing = not any(r.evidence or r.statements for r in results)
        if nothing and not searched and not intent.get("unknown"):
            results.append(
                self.toolbox.run("search_reviews", {"query": question, "products": []}, "router")
            )
        if any(r.ranking for r in results):
            # a ranking answers the question; unrestricted search passages only distract
            for r in results:
                if r.name == "search_reviews" and not r.arguments.get("products"):
                    r.evidence = []
        evidence, numbers = _merge_evidence(results)
        notes = list(state.get("notes") or [])
        notes += [note for r in results for note in r.notes if not note.startswith("Cypher:")]
        notes += [f"{r.name} failed: {r.error}" for r in results if r.error]
        previous = state.get("focus") or []
        products = intent.get("products") or []
        dumped = []
        for r, mapping in zip(results, numbers, strict=True):
            row = r.model_dump(mode="json")
            row["statements"] = [
                {**st, "evidence": [mapping[i] for i in st["evidence"] if mapping.get(i)]}
                for st in row["statements"]
            ]
            dumped.append(row)
        return {
            "results": dumped,
            "evidence": [e.model_dump(mode="json") for e in evidence],
            "notes": list(dict.fromkeys(notes)),
            "focus": products or previous,
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
        """Aggregates are stated from the numbers; otherwise the model phrases the answer
        as cited sentences after the stated lead; without evidence, it abstains."""
        started = time.perf_counter()
        evidence = [Evidence.model_validate(e) for e in state["evidence"]]
        notes = list(state.get("notes") or [])
        intent = state.get("intent") or {}
        stated = [
            {"text": st["text"], "sources": st["evidence"], "basis": st["basis"]}
            for r in state["results"]
            for st in r.get("statements") or []
        ]
        open_question = any(r.get("open_question") for r in state["results"])
        calls = list(state.get("llm_calls") or [])
        calls += ["cypher" for r in state["results"] if r["name"] == "query_graph"]
        # the words the question turns on appear in no review: that is the answer
        unused = [
            st
            for r in state["results"]
            if r["name"] == "search_reviews"
            for st in r.get("statements") or []
            if st["basis"] == "absence"
        ]
        if intent.get("name") == "unrecorded":
            sentences = _unrecorded_answer(intent, evidence, stated)
        elif not evidence and not stated:
            sentences = [_abstention(notes)]
        elif stated and (intent.get("name") in STATED_INTENTS or unused) and not open_question:
            sentences = stated[:MAX_STATED]  # the graph answers it: no model call
        else:
            lead = stated[:2]
            required = [w for c in intent.get("calls") or [] for w in c[1].get("require") or []]
            words = _question_words(intent, state["question"])
            quote = _best_quote(evidence, words, lead, required)
            calls.append("draft")
            try:
                drafted = self._compose(state["question"], evidence, notes, state, lead)
            except Exception as exc:
                notes.append(f"the model could not write the answer ({_short_error(exc)})")
                drafted = [] if lead or quote else _fallback_answer(evidence)
            shown = {s["text"] for s in lead}
            drafted = [s for s in drafted if s["text"] not in shown][:3]
            # the most relevant passage, verbatim: the answer holds it even when the
            # guardrail drops what the model wrote
            sentences = [*lead, *drafted, *([quote] if quote else [])]
        return {
            "draft": sentences,
            "notes": notes,
            "timings": {**state.get("timings", {}), "draft": _since(started)},
            "llm_calls": calls,
        }

    def _compose(
        self,
        question: str,
        evidence: list[Evidence],
        notes: list[str],
        state: ChatState,
        lead: list[dict[str, Any]] | None = None,
    ) -> list[dict[str, Any]]:
        turns = self.config.agent.history if is_follow_up(question) else 0
        history = [
            f"{'User' if isinstance(m, HumanMessage) else 'Agent'}: {m.text}"
            for m in _recent(state, turns)[:-1]
        ]
        evidence = evidence[:DRAFT_EVIDENCE]
        words = _question_words(state.get("intent") or {}, question)
        prompt = render(
            "agent_answer",
            question=question,
            evidence=[{"label": _label(e), "text": _focus(e.text, words)} for e in evidence],
            notes=[n for n in notes if not n.startswith("the model")],
            history=history,
            lead=" ".join(s["text"] for s in lead or []) or None,
        )
        draft = self.llm.with_structured_output(Draft).invoke(prompt)
        if isinstance(draft, dict):
            draft = Draft.model_validate(draft)
        out: list[dict[str, Any]] = []
        for sentence in draft.sentences:
            cites = [n for n in dict.fromkeys(sentence.sources) if 0 < n <= len(evidence)]
            said = {s["text"] for s in out}  # a small model may write one sentence thrice
            out += [
                {"text": text, "sources": cites}
                for text in _claims(sentence.text)
                if text not in said
            ]
        if not out:
            raise DistillError("empty answer")
        return out

    def _guard(self, state: ChatState) -> dict[str, Any]:
        """Check every sentence, apply the policy, and build the response."""
        started = time.perf_counter()
        evidence = [Evidence.model_validate(e) for e in state["evidence"]]
        notes = list(state.get("notes") or [])
        pairs = [(s["text"], list(s["sources"])) for s in state["draft"]]
        bases = [s.get("basis") for s in state["draft"]]
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
                bases=bases,
                question=state["question"],
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
            documents=shown_documents(answer, [numbered[n - 1] for n in cited]),
            evidence=numbered,
            verdicts=[s.verdict for s in checked if s.verdict is not None],
            tool_calls=[_tool_call(r) for r in state["results"]],
            policy=self.policy,
            removed=removed,
            refused=refused,
            notes=notes,
            seconds=timings,
            llm_calls=list(state.get("llm_calls") or []),
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

    def _toolbox(self) -> Toolbox:
        from distill.plugins.linker.catalog import configured_catalog

        return Toolbox(
            store=self.graph_store,
            index=self.document_index,
            resolver=self.resolver,
            categories=self.categories,
            aspects=self.aspects,
            tasks=_text_tasks(),
            run_task=self._run_task,
            cypher=self._cypher,
            passages=self.config.agent.passages,
            catalog=lambda: configured_catalog(self.config),
            fact_tasks=self.fact_tasks,
        )

    def refresh(self) -> None:
        """Re-read products, aspects and plugin tasks from the graph (after a write)."""
        self.resolver, self.categories, self.aspects, counts = self._read_graph()
        self.n_documents, self.n_products = counts
        self.fact_tasks = self._fact_tasks()
        self.toolbox = self._toolbox()
        # the product one review file is about: "it" of "how does it compare to …"
        self.subject = self.toolbox.reviews_subject()

    def _fact_tasks(self) -> list[str]:
        """Plugin tasks whose facts are in the graph (none in graphs written before facts)."""
        try:
            with self.graph_store() as store:
                # no DISTINCT: grand-cypher (networkx) cannot alias it
                rows = store.query(
                    "MATCH (f:Fact) RETURN f.task AS task LIMIT 100000", isolated=False
                )
        except Exception:  # a graph from before Fact nodes: no table to read
            return []
        return sorted({str(row["task"]) for row in rows if row.get("task")})

    def _read_graph(self) -> tuple[ProductResolver, dict[str, str], list[str], tuple[int, int]]:
        """Product names (catalog + graph), categories and aspects, read once per agent."""
        names: list[tuple[str, ProductName]] = []
        categories: dict[str, str] = {}
        brands: set[str] = set()
        from distill.plugins.linker.catalog import brandless_ok, configured_catalog, is_word

        catalog = configured_catalog(self.config)
        if catalog is not None:
            for entry in catalog.entries:
                product = ProductName(entry.id, entry.display_name())
                bare = entry.brandless()
                # "Phone" of "Modu Phone", "T" of "Modu T": not names on their own
                names += [
                    (form, product)
                    for form in entry.names()
                    if form != bare or form in entry.aliases or brandless_ok(form)
                ]
                categories[entry.id] = entry.category or entry.attributes.get("category", "")
                if entry.brand:
                    brands.add(entry.brand)
        with self.graph_store() as store:
            products = store.products()
            graph_only: dict[str, ProductName] = {}
            for p in products:
                if is_word(p.name or p.id):
                    continue
                product = ProductName(p.id, self._display(catalog, p))
                known = catalog is not None and catalog.get(p.id) is not None
                # a product only the graph knows (a file's subject, "Lumix Z5 camera")
                # answers to its short forms too, as a catalog entry does ("Lumix Z5")
                forms = [p.name or p.id] if known else model_forms(p.name or p.id)
                names += [(form, product) for form in forms]
                if not known:
                    graph_only[p.name or p.id] = product
            # "the DVD player", "the Lumix": the one graph-only product of that kind or maker
            names += [(k, graph_only[n]) for k, n in kind_forms(graph_only).items()]
            makers = maker_forms(graph_only, {normalize(b) for b in brands})
            names += [(k, graph_only[n]) for k, n in makers.items()]
            for entity in store.entities("PRODUCT"):
                if is_word(str(entity["name"])) or len(str(entity["name"])) < 3:
                    continue  # a common word the NER took for a product
                display = " ".join(w.capitalize() for w in str(entity["name"]).split())
                names.append((entity["name"], ProductName(entity["id"], display, "Entity")))
            graph_aspects = sorted({row.aspect for row in store.opinion_summary()})
            n_documents = store.stats().nodes.get("Document", 0)
        aspects = list(self.config.task("sentiment").labels or []) or graph_aspects
        resolver = ProductResolver(names, brands)
        return resolver, categories, aspects, (n_documents, len(products))

    @staticmethod
    def _display(catalog: Any, product: Any) -> str:
        """The catalog's name for a graph product, else the name the graph has."""
        entry = catalog.get(product.id) if catalog is not None else None
        return entry.display_name() if entry is not None else product.name or product.id

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


def _clean_question(message: str, longest: int = MAX_QUESTION_CHARS) -> str:
    if not isinstance(message, str):
        raise DistillError("the question must be text")
    question = " ".join(message.split())
    if not question:
        raise DistillError("empty question: ask something about the documents")
    if len(question) > longest:
        raise DistillError(f"the question is {len(question)} characters; keep it under {longest}")
    return question


def _write_call(name: str, arguments: dict[str, Any], started: float) -> ToolCall:
    return ToolCall(
        name=name, arguments=arguments, by="router", seconds=_since(started), evidence=0
    )


def _registered_tasks() -> list[str]:
    from distill.registry import registry

    return sorted(registry().tasks)


def shown_documents(answer: str, citations: Sequence[Citation]) -> list[str]:
    """The documents an answer cites: those whose text it shows or relies on.

    A cited passage is shown (quoted) or was read to write the sentence citing it, and a
    graph fact of one document (a plugin fact, a graph row) is that document's: their
    documents count. A count (opinions or reviews, from a counting tool, or any graph fact
    over several documents) is not a reading of its documents, however many there are:
    only those the answer names ("12 reviews … (r02, r05, …)", "A review (r21) praises …")
    are shown, the others were counted, not read, and stay listed in the fact's sources
    (`/sources`)."""
    documents: dict[str, None] = {}
    for citation in citations:
        counted = citation.kind == "graph" and (
            citation.tool in COUNTING_TOOLS or len({s.doc_id for s in citation.sources}) > 1
        )
        for source in citation.sources:
            named = re.search(rf"(?<![\w-]){re.escape(source.doc_id)}(?![\w-])", answer)
            if not counted or named:
                documents.setdefault(source.doc_id)
    return list(documents)


def _recent(state: ChatState, turns: int) -> list[AnyMessage]:
    """The last `turns` question/answer pairs plus the current question."""
    messages = list(state.get("messages") or [])
    return messages[-(2 * turns + 1) :]


def _merge_evidence(
    results: Sequence[ToolResult],
) -> tuple[list[Evidence], list[dict[int, int]]]:
    """All evidence, duplicates dropped, and per result its local index -> number (from 1).

    What a statement cites comes first and is always kept; then graph facts before
    passages, up to MAX_EVIDENCE in all."""
    cited = [
        (r, i)
        for r, result in enumerate(results)
        for i in sorted({i for st in result.statements for i in st.evidence})
    ]
    graph = [(r, i) for r, res in enumerate(results) for i, e in enumerate(res.evidence)
             if e.kind != "passage"]  # fmt: skip
    passages = [(r, i) for r, res in enumerate(results) for i, e in enumerate(res.evidence)
                if e.kind == "passage"]  # fmt: skip
    order: list[Evidence] = []
    keys: dict[tuple[Any, ...], int] = {}
    local: list[dict[int, int]] = [{} for _ in results]
    for position, (r, i) in enumerate(cited + graph[: MAX_EVIDENCE // 2] + passages):
        item = results[r].evidence[i]
        key = (item.text, tuple((s.doc_id, s.char_start) for s in item.sources))
        if key in keys:
            local[r].setdefault(i, keys[key])
            continue
        if position >= len(cited) and len(order) >= MAX_EVIDENCE:
            continue
        keys[key] = len(order)
        local[r][i] = len(order)
        order.append(item)
    return order, [{i: n + 1 for i, n in mapping.items()} for mapping in local]


def _question_words(intent: dict[str, Any], question: str) -> list[str]:
    """What a passage must say to answer the question: its content words and aspect."""
    aspect = intent.get("aspect")
    words = [*(intent.get("terms") or []), *feature_words(question, aspect)]
    return [w for w in dict.fromkeys([*words, *([aspect] if aspect else [])]) if w]


def _best_quote(
    evidence: list[Evidence],
    words: list[str],
    lead: list[dict[str, Any]],
    required: Sequence[str] = (),
) -> dict[str, Any] | None:
    """The first (best-ranked) passage naming most of the `required` words (those the
    search required: "rio" of "compare to my old Rio"), then most of `words`, quoted as a
    stated sentence."""
    words = list(dict.fromkeys([*required, *words]))
    if not words:
        return None
    cited = {n for s in lead for n in s["sources"]}
    best: tuple[int, tuple[int, int]] | None = None
    for number, item in enumerate(evidence, 1):
        if item.kind != "passage" or number in cited or not item.sources:
            continue
        found = {w for w in words if re.search(rf"\b{re.escape(w)}", item.text, re.I)}
        hits = (len(found & set(required)), len(found))
        if found and (best is None or hits > best[1]):
            best = (number, hits)
    if best is None:
        return None
    item = evidence[best[0] - 1]
    shown = _focus(item.text, words, 220)
    return {
        "text": f'A review ({item.sources[0].doc_id}) says: "{shown}"',
        "sources": [best[0]],
        "basis": "quote",
    }


def _claims(text: str) -> list[str]:
    """A drafted "sentence" as the sentences it holds: the small model often packs several
    into one, and each must be checked on its own ("X is better. 40 of 40 reviews praise
    its support."), or the checker judges them together. A short unfinished tail (the
    length cap cut it: "The 66") is no claim, nor is a sentence that stops on a word that
    cannot end one ("The picture quality is described as")."""
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"'])", " ".join(text.split()))
    if parts and not parts[-1].endswith((".", "!", "?", '"')) and len(parts[-1].split()) < 4:
        parts = parts[:-1]
    return [part for part in parts if part and not _UNFINISHED.search(part) and not _looping(part)]


def _looping(text: str) -> bool:
    """A sentence that repeats one pair of words three times or more, filling half of it
    ("Reviewers mention Nokia 6610, Nokia 6610, Nokia 6610, …"): the model looped."""
    words = re.findall(r"\w+", text.lower())
    pairs = list(itertools.pairwise(words))
    if len(pairs) < 6:
        return False
    _, most = Counter(pairs).most_common(1)[0]
    return most >= 3 and most * 2 >= len(pairs) // 2


_UNFINISHED = re.compile(
    r"\b(?:a|an|the|as|and|or|than|is|are|was|were|be|been|being|of)\W*$"
    r"|[,;:]\s*$",
    re.I,
)
"""A sentence ending on an article, a conjunction, a copula or a comma was cut off."""


def _focus(text: str, words: Sequence[str], limit: int = 240) -> str:
    """A long passage cut to `limit` characters around the sentence naming most of
    `words` (whole sentences where they fit; the start when none names any): what the
    drafting model reads and a quote shows. Cutting from the start dropped the answer
    when it came late in a passage ("… Kestrel has pushed no updates since launch")."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    sentences = re.split(r"(?<=[.!?])\s+", text)
    hits = [
        sum(bool(re.search(rf"\b{re.escape(w)}", sentence, re.I)) for w in words)
        for sentence in sentences
    ]
    best = max(range(len(sentences)), key=lambda i: (hits[i], -i)) if any(hits) else 0
    first = last = best
    size = len(sentences[best])
    while last + 1 < len(sentences) and size + 1 + len(sentences[last + 1]) <= limit:
        last += 1
        size += 1 + len(sentences[last])
    while first > 0 and size + 1 + len(sentences[first - 1]) <= limit:
        first -= 1
        size += 1 + len(sentences[first])
    shown = " ".join(sentences[first : last + 1])
    if len(shown) > limit:
        shown = shown[: limit - 1].rsplit(" ", 1)[0]
    before = "… " if first > 0 else ""
    after = " …" if not text.endswith(shown) else ""
    return before + shown + after


def _label(evidence: Evidence) -> str:
    if evidence.kind == "passage" and evidence.sources:
        return f"review {evidence.sources[0].doc_id}"
    if evidence.kind == "graph":
        return "graph fact"
    return evidence.tool


def _abstention(notes: list[str]) -> dict[str, Any]:
    unknown = [n for n in notes if n.startswith("No product named")]
    if unknown:
        text = unknown[0].rstrip(".") + ", so the data does not say."
    else:
        text = "The data does not say: I found nothing about this in the reviews or the graph."
    return {"text": text, "sources": []}


_UNRECORDED_LIMITS = {
    "dates": "so no count or summary can be restricted to {words}",
    "star ratings": "so there is no rating to give",
}


def _unrecorded_answer(
    intent: dict[str, Any], evidence: list[Evidence], stated: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """A question restricted to a property of the reviews the graph does not record (see
    `router.UNRECORDED`): that is the answer, with no model call and no count, which could
    only answer another question; then what the text itself says, quoted verbatim."""
    words = [w for call in intent.get("calls") or [] for w in call[1].get("require") or []]
    sentences = []
    for kind in intent.get("unrecorded") or []:
        limit = _UNRECORDED_LIMITS.get(kind, "so I cannot answer by them")
        shown = " or ".join(words) or kind
        sentences.append(
            {
                "text": f"The data does not say: the graph records no {kind} for the reviews, "
                + limit.format(words=shown)
                + ".",
                "sources": [],
                "basis": "absence",
            }
        )
    sentences += [s for s in stated if s["basis"] == "absence"]
    quote = _best_quote(evidence, words, [])
    return [*sentences, *([quote] if quote else [])]


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
        if "plan" in (values.get("llm_calls") or []):
            return "model called no tool"
        return f"router: {(values.get('intent') or {}).get('name', 'search')} (no model call)"
    if node == "act":
        parts = [
            f"{_call_text(r['name'], r.get('arguments') or {})}"
            + (" [router]" if r.get("by") == "router" else "")
            + (f" failed: {r['error']}" if r.get("error") else f" → {len(r['evidence'])} found")
            for r in values.get("results") or []
        ]
        return "; ".join(parts) or "no tool ran"
    if node == "draft":
        sentences = values.get("draft") or []
        stated = sum(1 for sentence in sentences if sentence.get("basis"))
        if "draft" not in (values.get("llm_calls") or []):
            return f"stated {stated} sentence(s) from the graph and the reviews (no model call)"
        return f"model drafted {len(sentences) - stated} sentence(s) after {stated} stated"
    if node == "write":
        calls = (values.get("response") or {}).get("tool_calls") or []
        if calls and calls[0]["name"] == "write":
            return "wrote the confirmed facts"
        waiting = "waiting for your yes" if values.get("pending") else "nothing pending"
        return f"prepared a write ({waiting}); nothing written yet"
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
