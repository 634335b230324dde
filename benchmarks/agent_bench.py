"""The chat agent on the demo question set, with the embedded model; writes BENCHMARKS.md.

    python -m benchmarks.agent_bench [--limit N] [--policy remove]

Needs the demo built (`distill demo`: graph, index, trained models incl. the
fact-checker). Every question runs in a fresh thread with the LLM response cache
off, so seconds are real. Answers with their grading go to
`benchmarks/.cache/agent_results.jsonl`; the `## Chat agent` section of
BENCHMARKS.md is rewritten from the run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.report import machine, write_section
from distill.agent.chat import Agent
from distill.agent.evaluation import (
    AgentEvaluation,
    QuestionResult,
    evaluate_agent,
    grade,
    load_questions,
    summarize,
)
from distill.config import load_config
from distill.demo.run import WORKDIR, demo_config, demo_dir
from distill.llm.models import DEFAULT_EMBEDDED_MODEL

RESULTS = Path(__file__).parent / ".cache" / "agent_results.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--policy", default="remove", choices=["flag", "remove", "refuse"])
    parser.add_argument(
        "--regrade", action="store_true", help="re-grade the last run's answers with the keys"
    )
    args = parser.parse_args()
    if args.regrade:
        summary = regrade(args.policy)
        write_section("Chat agent", report(summary))
        print(report(summary))
        return

    config = demo_config(load_config(environ={}).config, WORKDIR)
    config = config.model_copy(update={"llm": config.llm.model_copy(update={"cache": False})})
    questions = load_questions(demo_dir() / "questions.jsonl")[: args.limit]
    with Agent(config, policy=args.policy) as agent:  # type: ignore[arg-type]
        summary = evaluate_agent(
            agent,
            questions,
            on_result=lambda r: print(
                f"{'✓' if r.correct else '✗'} {r.id} {r.seconds:5.1f}s {r.answer[:100]}", flush=True
            ),
        )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(r.model_dump_json() for r in summary.results) + "\n")
    write_section("Chat agent", report(summary))
    print(report(summary))


def regrade(policy: str) -> AgentEvaluation:
    """Keyword questions re-graded from the saved answers (abstentions keep their grade:
    it needs the verdicts, which the saved results summarise but do not hold)."""
    questions = {q.id: q for q in load_questions(demo_dir() / "questions.jsonl")}
    results = [
        QuestionResult.model_validate_json(line) for line in RESULTS.read_text().splitlines()
    ]
    for result in results:
        question = questions[result.id]
        if not question.abstain:
            result.correct = grade(question, result.answer, [], shown_only=True)
            result.draft_correct = grade(question, result.draft, [], shown_only=False)
    return summarize(results, policy)


def pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def report(summary: AgentEvaluation) -> str:
    kinds = " · ".join(
        f"{kind} {pct(value)} (n={sum(r.kind == kind for r in summary.results)})"
        for kind, value in summary.by_kind.items()
    )
    rows = [
        ("answer accuracy, after the guardrail", pct(summary.answer_accuracy)),
        ("answer accuracy, the model's draft", pct(summary.draft_accuracy)),
        ("citation precision (cited docs among the expected)", pct(summary.citation_precision)),
        ("unsupported claims among those drafted", pct(summary.unsupported_before)),
        ("unsupported claims among those shown", pct(summary.unsupported_after)),
        ("hallucination, unanswerable + tempting, draft", pct(summary.hallucination_before)),
        ("hallucination, unanswerable + tempting, shown", pct(summary.hallucination_after)),
        ("seconds per answer, median (mean)",
         f"{summary.seconds_median:.1f} ({summary.seconds_mean:.1f})"),
        ("questions where the router added tool calls", pct(summary.router_share)),
    ]  # fmt: skip
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    misses = "\n".join(
        f"- {r.id} ({r.kind}): {r.question} → {r.answer[:160]}"
        for r in summary.results
        if not r.correct
    )
    return f"""\
`python -m benchmarks.agent_bench` (also `distill evaluate-agent`): the {summary.questions}
questions of `examples/demo/questions.jsonl` over the demo graph and index, embedded
{DEFAULT_EMBEDDED_MODEL} (Q4_K_M, llama.cpp, CPU), demo fact-checker (`trained`, lexical
gradient boosting, trained by `distill demo` on claims built from reviews r01–r36),
guardrail policy `{summary.policy}`, LLM cache off. Machine: {machine()}.

Grading: an answer is correct when it contains the answer key's words
(`examples/demo/answer_keys.json`), or, for questions the data cannot answer, when it
says so and shows no unverified fact. "Unsupported" is the fact-checker's verdict;
hallucination is judged by the answer key, independently of the checker.

| metric | value |
|---|---|
{table}

By kind: {kinds}.

How to read it: the guardrail is what makes the 1.5B model usable here. Most drafted
answers to questions the data cannot answer state something unverifiable, and the
guardrail stops most of them. Its checker is the demo's small lexical model, though, and
it also rejects many faithful paraphrases, so with `remove` a good draft often becomes
"I could not verify an answer". That is why accuracy after the guardrail is no higher
than the draft's. Graph-stated lead sentences (rankings, one product's aspect) are the
reliable part. Aggregates that need reading across reviews ("overall", "what do they
criticise") are the weak part.

Answers graded wrong:
{misses or "- none"}
"""


if __name__ == "__main__":
    main()
