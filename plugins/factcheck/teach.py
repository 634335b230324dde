"""The LLM teaches the checker: rewritten review sentences, labelled by the LLM judge.

What the guardrail must learn and no gold set holds: a faithful paraphrase (other
words, same meaning) is `supported`; the same sentence with its meaning changed (the
opposite opinion, a wrong number, another product) is not. For each evidence sentence
the chat model writes one of each (`Rewrites`), then the `prompt` fact-check backend
(the judge) labels both against the sentence. A pair is kept as training data only
where the judge agrees with what the writer was asked for, so two independent LLM
answers have to agree before the student learns from them. Records are appended to a
JSONL file as they come, so an interrupted run keeps its work (and the LLM response
cache makes a rerun cheap).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from distill.plugins.factcheck.task import Label

REWRITE_PROMPT = """You help test a fact-checker for answers about product reviews.
Given one sentence from a review, write two sentences an answer could contain:
- "paraphrase": the same statement in different words (synonyms, another word order, third \
person), with exactly the same meaning;
- "changed": nearly the same words but a different meaning: the opposite opinion, a \
negation, a wrong number, or another product or feature.

Review sentence: {sentence}
"""


class Rewrites(BaseModel):
    paraphrase: str = Field(description="same meaning, other words")
    changed: str = Field(description="similar words, different meaning")


class Taught(BaseModel):
    """One claim with its evidence: what the writer intended and what the judge said."""

    claim: str
    evidence: list[str]
    intended: Label
    judge: Label | None
    kept: bool
    source: str = ""


def _agrees(intended: Label, judge: Label | None) -> bool:
    if judge is None:
        return False
    return judge == "supported" if intended == "supported" else judge != "supported"


def teach(
    items: Iterable[tuple[str, str, str]],
    chat_model: Any,
    judge: Callable[[str, list[str]], list[Label | None]],
    out: Path,
    seconds: float,
    log: Callable[[str], None] = print,
) -> list[Taught]:
    """Rewrite and judge (sentence, evidence, source id) items until `seconds` run out.

    `judge(sentence_evidence, claims)` returns one label per claim (None when the
    judge failed). Items already in `out` (same source) are skipped.
    """
    done: set[str] = set()
    kept: list[Taught] = []
    if out.is_file():
        for line in out.read_text(encoding="utf-8").splitlines():
            record = Taught.model_validate_json(line)
            done.add(record.source)
            kept.append(record)
    writer = chat_model.with_structured_output(Rewrites)
    deadline = time.monotonic() + seconds
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a", encoding="utf-8") as handle:
        for sentence, evidence, source in items:
            if time.monotonic() > deadline:
                break
            if source in done:
                continue
            try:
                rewrites = writer.invoke(REWRITE_PROMPT.format(sentence=sentence))
            except Exception as exc:  # an invalid answer costs this item only
                log(f"{source}: rewrite failed: {exc}")
                continue
            claims = [rewrites.paraphrase.strip(), rewrites.changed.strip()]
            labels = judge(evidence, claims)
            for claim, intended, label in zip(
                claims, ("supported", "contradicted"), labels, strict=True
            ):
                record = Taught(
                    claim=claim,
                    evidence=[evidence],
                    intended=intended,  # type: ignore[arg-type]
                    judge=label,
                    kept=bool(claim) and claim != evidence and _agrees(intended, label),  # type: ignore[arg-type]
                    source=source,
                )
                handle.write(json.dumps(record.model_dump()) + "\n")
                kept.append(record)
            handle.flush()
            log(f"{source}: {labels}")
    return kept


def read_taught(path: Path) -> list[Taught]:
    """The records of a `teach` run (all of them; filter on `kept`)."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    return [Taught.model_validate_json(line) for line in lines if line.strip()]
