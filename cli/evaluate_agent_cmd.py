"""`distill evaluate-agent`: the chat agent on a question set; accuracy, citations, guardrail."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from distill.cli.state import State


def evaluate_agent(
    ctx: typer.Context,
    questions: Annotated[
        Path | None,
        typer.Option(help="questions JSONL (default: the demo's 37 questions)"),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="only the first N questions")] = None,
    policy: Annotated[
        str, typer.Option(help="guardrail policy during the run: flag, remove or refuse")
    ] = "remove",
    cache: Annotated[
        bool, typer.Option(help="reuse cached LLM answers (off: seconds are real)")
    ] = False,
    out: Annotated[
        Path | None, typer.Option(help="write every answer with its grading here (JSONL)")
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Ask the agent every question and grade the answers.

    Reports answer accuracy (keyword answer keys, or an honest "the data does not
    say"), citation precision against the expected documents, the unsupported-claim
    rate before and after the guardrail, hallucination on questions the data cannot
    answer, and seconds per answer. After `distill demo` it runs on the demo corpus.
    """
    from rich.progress import Progress

    from distill.agent.chat import Agent
    from distill.agent.evaluation import evaluate_agent as run
    from distill.agent.evaluation import load_questions
    from distill.cli import console, errors
    from distill.cli.chat_cmd import chat_config
    from distill.demo.run import demo_dir

    state: State = ctx.obj
    config = chat_config(state.config, log=errors.print)
    config = config.model_copy(update={"llm": config.llm.model_copy(update={"cache": cache})})
    items = load_questions(questions or demo_dir() / "questions.jsonl")[:limit]
    agent = Agent(config, policy=policy)  # type: ignore[arg-type]
    with agent, Progress(console=errors, transient=True) as progress:
        task = progress.add_task("questions", total=len(items))

        def advance(result):  # type: ignore[no-untyped-def]
            mark = "✓" if result.correct else "✗"
            progress.console.print(
                f"{mark} {result.id} {result.seconds:5.1f}s {result.answer[:90]}", highlight=False
            )
            progress.advance(task)

        summary = run(agent, items, on_result=advance)
    if out:
        out.write_text(
            "\n".join(r.model_dump_json() for r in summary.results) + "\n", encoding="utf-8"
        )
    if json_:
        print(summary.model_dump_json(exclude={"results"}))
        return
    console.print(format_summary(summary), highlight=False)


def format_summary(summary) -> str:  # type: ignore[no-untyped-def]
    def pct(value: float | None) -> str:
        return "—" if value is None else f"{100 * value:.0f}%"

    kinds = ", ".join(f"{k} {pct(v)}" for k, v in summary.by_kind.items())
    return "\n".join(
        [
            f"questions: {summary.questions} (policy {summary.policy})",
            f"answer accuracy: {pct(summary.answer_accuracy)} after the guardrail, "
            f"{pct(summary.draft_accuracy)} for the draft ({kinds})",
            f"citation precision: {pct(summary.citation_precision)}",
            f"unsupported claims: {pct(summary.unsupported_before)} of drafted, "
            f"{pct(summary.unsupported_after)} of shown",
            f"hallucination on unanswerable questions: {pct(summary.hallucination_before)} "
            f"before, {pct(summary.hallucination_after)} after the guardrail",
            f"seconds per answer: median {summary.seconds_median:.1f}, "
            f"mean {summary.seconds_mean:.1f}; router used on {pct(summary.router_share)}; "
            f"no model call on {pct(summary.no_llm_share)}, "
            f"{summary.llm_calls_mean:.2f} model calls per answer",
        ]
    )
