"""`distill evaluate-agent`: the chat agent on a question set, with numbers a user can check.

Each question has expected documents and an answer key (`answer_keys.json`: words a
correct answer must contain, or that the honest answer is "the data does not say").
Reported per run:

- answer accuracy, of the draft and of what the user sees after the guardrail;
- citation precision: cited documents (those the answer shows or relies on: quoted or
  read passages, documents it names; not every document behind a count) that are among
  the expected ones;
- unsupported-claim rate, before and after the guardrail (claims the fact-checker
  did not find supported, among the claims drafted / shown unflagged);
- hallucination on questions the data cannot answer: answers stating any
  unverified fact, before and after the guardrail;
- seconds per answer, and how many language-model calls each took.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from distill.agent.chat import Agent, ChatResponse
from distill.agent.guardrail import is_abstention

_SILENT = re.compile(
    r"does not say|doesn't say|do not say|no review|not in the catalog|no product|nothing|"
    r"could not|can't|cannot|none\b|no mention|does not mention|doesn't mention|not mention",
    re.IGNORECASE,
)


class Question(BaseModel):
    id: str
    question: str
    expected_answer: str
    expected_docs: list[str] = Field(default_factory=list)
    kind: str
    must: list[list[str]] = Field(default_factory=list)
    forbid: list[str] = Field(
        default_factory=list,
        description="wrong answers that name the right words, e.g. the reverse of a comparison",
    )
    abstain: bool = False


class QuestionResult(BaseModel):
    """One graded answer; a question that failed keeps the defaults and its `error`."""

    id: str
    kind: str
    question: str
    seconds: float
    answer: str = ""
    draft: str = ""
    correct: bool = False
    draft_correct: bool = False
    cited_docs: list[str] = Field(default_factory=list)
    precision: float | None = None
    claims: int = 0
    unsupported_before: int = 0
    shown: int = 0
    unsupported_after: int = 0
    tools: list[str] = Field(default_factory=list)
    router: bool = False
    llm_calls: int = 0
    error: str | None = None


class AgentEvaluation(BaseModel):
    questions: int
    answer_accuracy: float
    draft_accuracy: float
    citation_precision: float | None
    unsupported_before: float | None
    unsupported_after: float | None
    hallucination_before: float | None
    hallucination_after: float | None
    seconds_median: float
    seconds_mean: float
    router_share: float
    no_llm_share: float = Field(description="answers that took no language-model call")
    llm_calls_mean: float
    by_kind: dict[str, float]
    policy: str
    results: list[QuestionResult]


def load_questions(path: str | Path, keys: str | Path | None = None) -> list[Question]:
    path = Path(path)
    keys_path = Path(keys) if keys else path.with_name("answer_keys.json")
    answer_keys = json.loads(keys_path.read_text(encoding="utf-8")) if keys_path.is_file() else {}
    questions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            questions.append(Question(**row, **answer_keys.get(row["id"], {})))
    return questions


def grade(question: Question, text: str, sentences: list[Any], shown_only: bool) -> bool:
    """Keyword grading (transparent, if coarse). An honest "the data does not say" must
    say so and state no fact the fact-checker could not verify."""
    if question.abstain:
        considered = [s for s in sentences if s.kept or not shown_only]
        facts = [s for s in considered if not is_abstention(s.text)]
        return bool(_SILENT.search(text)) and all(s.supported for s in facts)
    lowered = text.lower()
    return (
        bool(question.must)
        and all(any(option.lower() in lowered for option in group) for group in question.must)
        and not any(wrong.lower() in lowered for wrong in question.forbid)
    )


def evaluate_agent(
    agent: Agent,
    questions: list[Question],
    on_result: Callable[[QuestionResult], None] | None = None,
) -> AgentEvaluation:
    results = []
    for question in questions:
        thread = f"evaluate-{question.id}"
        agent.reset(thread)
        started = time.perf_counter()
        try:
            response = agent.chat(question.question, thread=thread)
            result = _result(question, response, time.perf_counter() - started)
        except Exception as exc:  # one failing question must not end the evaluation
            result = QuestionResult(
                id=question.id,
                kind=question.kind,
                question=question.question,
                seconds=time.perf_counter() - started,
                error=f"{type(exc).__name__}: {exc}",
            )
        results.append(result)
        if on_result:
            on_result(result)
    return summarize(results, agent.policy)


def _result(question: Question, response: ChatResponse, seconds: float) -> QuestionResult:
    draft = " ".join(s.text for s in response.sentences)
    cited = sorted(response.documents)
    expected = set(question.expected_docs)
    precision = sum(doc in expected for doc in cited) / len(cited) if cited and expected else None
    claims = [s for s in response.sentences if not is_abstention(s.text)]
    shown = [s for s in claims if s.kept]
    flagged = response.policy == "flag"
    return QuestionResult(
        id=question.id,
        kind=question.kind,
        question=question.question,
        answer=response.answer,
        draft=draft,
        correct=grade(question, response.answer, response.sentences, shown_only=True),
        draft_correct=grade(question, draft, response.sentences, shown_only=False),
        cited_docs=cited,
        precision=precision,
        claims=len(claims),
        unsupported_before=sum(not s.supported for s in claims),
        shown=len(shown),
        # flagged sentences are shown, but marked: they do not pass as verified
        unsupported_after=0 if flagged else sum(not s.supported for s in shown),
        tools=[f"{t.name}{'*' if t.by == 'router' else ''}" for t in response.tool_calls],
        router=any(t.by == "router" for t in response.tool_calls),
        llm_calls=len(response.llm_calls),
        seconds=seconds,
    )


def summarize(results: list[QuestionResult], policy: str) -> AgentEvaluation:
    def share(values: list[bool]) -> float | None:
        return sum(values) / len(values) if values else None

    claims = sum(r.claims for r in results)
    shown = sum(r.shown for r in results)
    precisions = [r.precision for r in results if r.precision is not None]
    silent = [r for r in results if r.kind in ("unanswerable", "tempting")]
    kinds = sorted({r.kind for r in results})
    seconds = [r.seconds for r in results] or [0.0]
    return AgentEvaluation(
        questions=len(results),
        answer_accuracy=share([r.correct for r in results]) or 0.0,
        draft_accuracy=share([r.draft_correct for r in results]) or 0.0,
        citation_precision=statistics.mean(precisions) if precisions else None,
        unsupported_before=sum(r.unsupported_before for r in results) / claims if claims else None,
        unsupported_after=sum(r.unsupported_after for r in results) / shown if shown else None,
        hallucination_before=share([not r.draft_correct for r in silent]),
        hallucination_after=share([not r.correct for r in silent]),
        seconds_median=statistics.median(seconds),
        seconds_mean=statistics.mean(seconds),
        router_share=share([r.router for r in results]) or 0.0,
        no_llm_share=share([r.llm_calls == 0 and not r.error for r in results]) or 0.0,
        llm_calls_mean=statistics.mean([r.llm_calls for r in results]) if results else 0.0,
        by_kind={k: share([r.correct for r in results if r.kind == k]) or 0.0 for k in kinds},
        policy=policy,
        results=results,
    )
