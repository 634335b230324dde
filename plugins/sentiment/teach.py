"""The LLM teaches aspects the training data lacks: it writes review sentences, its prompt
backend labels them, and only sentences where both agree are kept.

Why: the real data the general model may train on (SemEval laptops and restaurants, the
one allowed phone review file) holds 5 camera opinions, so a head trained on it alone
never reports `camera`, while reviews of phones and cameras talk about little else. For each
aspect, product kind and polarity the chat model writes a few sentences (`Written`); the
`prompt` sentiment backend then reads each sentence with every default aspect, without
being told what was asked for. A sentence teaches the student only where the judge finds
that aspect with that polarity, so two independent LLM answers have to agree. Records
are appended to a JSONL file as they come: an interrupted run keeps its work.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from spacy.tokens import Doc

from distill.doc import make_doc
from distill.plugins.sentiment.model import DESCRIPTIONS
from distill.plugins.sentiment.targets import sentence_bounds
from distill.plugins.sentiment.task import Opinion, Polarity

WRITE_PROMPT = """You write realistic customer reviews to train a sentiment model.
Write {n} different one-sentence comments a customer could post about the {aspect} of \
their {kind} ({description}). Every sentence talks only about the {aspect}, and {meaning}.
Style: {style}. No product names.
"""
STYLES = (
    "short and casual",
    "detailed, from someone who uses it every day",
    "terse, like a comment under a star rating",
    "comparing it with the one they had before",
    "mentioning one concrete situation where it mattered",
)
"""One per round: the rounds ask different questions (and the LLM cache answers each once)."""
MEANINGS: dict[str, str] = {
    "positive": "the customer likes it (praise)",
    "negative": "the customer dislikes it (a complaint or a problem)",
    "neutral": "the customer only states a fact about it, with no opinion at all",
}
KINDS: dict[str, tuple[str, ...]] = {
    "camera": ("phone", "digital camera", "laptop", "tablet"),
}
"""Products whose reviews speak of each taught aspect (other aspects: "phone", "laptop")."""


TAUGHT = Path(__file__).resolve().parent / "taught_camera.jsonl"
"""The camera sentences the embedded LLM wrote and its judge kept (`scripts/teach_sentiment.py`
writes them; `scripts/build_sentiment_model.py` trains the shipped model on them), committed
so a rebuild needs no LLM run."""


class Written(BaseModel):
    sentences: list[str] = Field(description="the review sentences", min_length=1)


class Taught(BaseModel):
    """One written sentence: what the writer was asked for and what the judge read."""

    text: str
    aspect: str
    polarity: Polarity
    kind: str
    judge: list[tuple[str, str]] | None
    kept: bool
    source: str


def requests(
    aspects: Iterable[str], rounds: int, polarities: Iterable[str] = tuple(MEANINGS)
) -> list[tuple[str, str, str, str]]:
    """(aspect, kind, polarity, source id) for every combination, once per style (at most
    `rounds` styles)."""
    return [
        (aspect, kind, polarity, f"{aspect}/{kind}/{polarity}/{n}")
        for n in range(min(rounds, len(STYLES)))
        for aspect in aspects
        for kind in KINDS.get(aspect, ("phone", "laptop"))
        for polarity in polarities
    ]


def teach(
    items: Iterable[tuple[str, str, str, str]],
    chat_model: Any,
    judge: Callable[[list[str]], list[list[tuple[str, str]] | None]],
    out: Path,
    seconds: float,
    per_request: int = 5,
    log: Callable[[str], None] = print,
) -> list[Taught]:
    """Write and judge sentences for (aspect, kind, polarity, source) items until `seconds`
    run out. `judge(sentences)` returns each sentence's (aspect, polarity) pairs (None when
    it failed). Items already in `out` (same source) are skipped."""
    records = read_taught(out)
    done = {r.source for r in records}
    writer = chat_model.with_structured_output(Written)
    deadline = time.monotonic() + seconds
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a", encoding="utf-8") as handle:
        for aspect, kind, polarity, source in items:
            if time.monotonic() > deadline:
                break
            if source in done:
                continue
            prompt = WRITE_PROMPT.format(
                n=per_request,
                aspect=aspect,
                kind=kind,
                description=DESCRIPTIONS.get(aspect, aspect),
                meaning=MEANINGS[polarity],
                style=STYLES[int(source.rsplit("/", 1)[1])],
            )
            try:
                written = writer.invoke(prompt)
            except Exception as exc:  # an invalid answer costs this item only
                log(f"{source}: writing failed: {exc}")
                continue
            sentences = list(
                dict.fromkeys(
                    text[lo:hi].strip()
                    for text in written.sentences
                    for lo, hi in sentence_bounds(text)
                    if text[lo:hi].strip()
                )
            )
            readings = judge(sentences)
            for text, reading in zip(sentences, readings, strict=True):
                record = Taught(
                    text=text,
                    aspect=aspect,
                    polarity=polarity,  # type: ignore[arg-type]
                    kind=kind,
                    judge=reading,
                    kept=reading is not None and (aspect, polarity) in reading,
                    source=source,
                )
                handle.write(record.model_dump_json() + "\n")
                records.append(record)
            handle.flush()
            kept = sum(r.kept for r in records if r.source == source)
            log(f"{source}: kept {kept} of {len(sentences)}")
    return records


def read_taught(path: Path) -> list[Taught]:
    """The records of a `teach` run (all of them; filter on `kept`)."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    return [Taught.model_validate_json(line) for line in lines if line.strip()]


def taught_docs(path: Path, slots: Iterable[str]) -> list[Doc]:
    """Training docs from the kept sentences (each text once): each teaches its aspect and
    polarity, and `none` for the other `slots` (the writer was asked for that aspect only)
    except those the judge read a polarity for, which stay unlabelled. Leaving every other
    slot unlabelled made the student fire screen, keyboard and performance on camera
    sentences (BENCHMARKS.md)."""
    slots = list(slots)
    docs, seen = [], set()
    for n, record in enumerate(r for r in read_taught(path) if r.kept):
        if record.text.lower() in seen:  # the writer repeats itself across requests
            continue
        seen.add(record.text.lower())
        polar = {a for a, p in record.judge or [] if p in ("positive", "negative")}
        unsure = sorted(s for s in slots if s != record.aspect and s in polar)
        doc = make_doc(record.text, f"taught:{n}", {"unlabelled_aspects": unsure})
        doc._.opinions = [Opinion(aspect=record.aspect, polarity=record.polarity)]
        docs.append(doc)
    return docs


def summary(records: list[Taught]) -> dict[str, Any]:
    """Written and kept counts per (aspect, polarity), for the build log and BENCHMARKS."""
    out: dict[str, dict[str, int]] = {}
    for r in records:
        row = out.setdefault(f"{r.aspect}/{r.polarity}", {"written": 0, "kept": 0})
        row["written"] += 1
        row["kept"] += int(r.kept)
    return out
