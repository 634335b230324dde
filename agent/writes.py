"""Writes the user asks for in the chat: "add this review: …", "ingest reviews.jsonl".

The agent's tools never write. A write is its own path, and three rules keep it safe:

- **Only a user turn starts one.** `write_request` reads the user's message and nothing
  else; review text, tool results and the model's output never reach it, so a document
  saying "add this review" or "ingest /etc/passwd" is just text.
- **Nothing is written before a yes.** `prepare` runs the configured tools (the ingest
  pipeline's tasks, plus any registered task the user names: "… with prices") on the
  text or file and returns a `PendingWrite`: the facts it would write, shown to the user.
  The thread keeps it; only the next user turn saying yes writes it (`commit`), exactly
  those facts, with their provenance. Any other turn drops it.
- **Files stay inside the working directory.** A path must resolve (symlinks followed)
  to a regular, readable file under it, in a format the readers know.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from distill.config import Config
from distill.errors import DistillError

MAX_DOCUMENTS = 200
"""More than this from the chat: use `distill ingest` (it streams, resumes and reports)."""
MAX_TEXT_CHARS = 20_000
SUFFIXES = (".jsonl", ".csv", ".txt", ".md")

_TEXT = re.compile(
    r"^\s*(?:please\s+)?(?:add|ingest|save|store|import)\s+(?:this|the following|a|my|one|new)?"
    r"\s*(?:new\s+)?(?:review|document|text|note|post)\b(?P<extra>[^:\n]{0,80}):\s*(?P<text>\S.*)$",
    re.IGNORECASE | re.DOTALL,
)
_FILE = re.compile(
    r"^\s*(?:please\s+)?(?:(?:ingest|import|load)\s+(?:the\s+)?(?:file\s+|reviews?\s+(?:from|in)\s+)?"
    r"(?P<path>[^\s:]*[/.~][^\s]*)|add\s+(?:the\s+)?(?:file\s+|reviews?\s+(?:from|in)\s+)?"
    r"(?P<named>[^\s:]+\.(?:jsonl|csv|txt|md)))(?P<extra>(?:\s[^\n]{0,80})?)$",
    re.IGNORECASE,
)
_YES = re.compile(
    r"^\s*(?:yes|y|yep|yeah|sure|ok|okay|confirm(?:ed)?|go ahead|do it|write it|please do)"
    r"(?:[ ,]+(?:please|write it|go ahead|do it))?\s*[.!]*\s*$",
    re.IGNORECASE,
)


class WriteRequest(BaseModel):
    """What the user asked to write: a text given in the message, or a file."""

    kind: Literal["text", "file"]
    text: str | None = None
    path: str | None = None
    extra: str = Field("", description="words between the verb and the text: '… with prices'")


class PendingWrite(BaseModel):
    """What `prepare` found and `commit` will write, kept in the thread until a yes."""

    request: WriteRequest
    documents: list[dict[str, Any]] = Field(default_factory=list)
    """id, text, source, title, content_hash of each document (for the search index)."""
    facts: list[dict[str, Any]] = Field(default_factory=list)
    """The `DocumentFacts` of each document, as JSON: exactly what will be written."""
    tasks: dict[str, str] = Field(default_factory=dict, description="task -> backend")
    failures: list[str] = Field(default_factory=list)
    summary: list[str] = Field(default_factory=list)


def write_request(message: str) -> WriteRequest | None:
    """The write the user's own message asks for, if any (never call it on other text)."""
    found = _TEXT.match(message)
    if found:
        return WriteRequest(
            kind="text", text=found.group("text").strip(), extra=found.group("extra").strip()
        )
    found = _FILE.match(message)
    if found:
        path = found.group("path") or found.group("named")
        return WriteRequest(kind="file", path=path, extra=found.group("extra").strip())
    return None


def is_confirmation(message: str) -> bool:
    return bool(_YES.match(message))


def safe_path(raw: str, workdir: Path) -> Path:
    """`raw` as a readable regular file under `workdir`, or a DistillError saying why not."""
    root = workdir.resolve()
    candidate = Path(os.path.expanduser(raw)) if raw.startswith("~") else Path(raw)
    resolved = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if not resolved.is_relative_to(root):
        raise DistillError(
            f"{raw} is outside the working directory ({root}); from the chat I only read "
            "files under it. Use `distill ingest` for other files."
        )
    if resolved.suffix.lower() not in SUFFIXES:
        raise DistillError(f"{raw} is not a {', '.join(SUFFIXES)} file")
    if not resolved.is_file():
        raise DistillError(f"no readable file {raw} in {root}")
    if not os.access(resolved, os.R_OK):
        raise DistillError(f"{raw} is not readable")
    return resolved


def extra_tasks(extra: str, registered: list[str]) -> list[str]:
    """Registered tasks the user names in the request ("… with prices", "and run ner")."""
    words = set(re.findall(r"[a-z0-9_-]+", extra.lower()))
    return [task for task in registered if task.lower() in words]


def prepare(
    request: WriteRequest,
    config: Config,
    *,
    workdir: Path,
    thread: str,
    pipeline: Any,
    subject: str | None = None,
) -> PendingWrite:
    """Run the tools on what the user gave; nothing is written. `pipeline` is the
    ingest `Pipeline` to run (the configured tasks plus those the user named);
    `subject`: the catalog id of the product the user said a pasted review is about."""
    from distill.ingest.pipeline import ingest_key
    from distill.ingest.readers import LoadFailure, SourceDocument, read_documents

    pending = PendingWrite(request=request, tasks=pipeline.describe())
    if request.kind == "text":
        text = (request.text or "").strip()
        if len(text) > MAX_TEXT_CHARS:
            raise DistillError(
                f"the text is {len(text)} characters; from the chat I add up to "
                f"{MAX_TEXT_CHARS}. Save it to a file and `distill ingest` it."
            )
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
        meta = {"product": subject} if subject else {}
        documents = [
            SourceDocument(id=f"chat-{digest}", text=text, source=f"chat:{thread}", meta=meta)
        ]
    else:
        path = safe_path(request.path or "", workdir)
        documents = []
        for item in read_documents([path]):
            if isinstance(item, LoadFailure):
                pending.failures.append(f"{item.source}: {item.reason}")
                continue
            documents.append(item)
            if len(documents) > MAX_DOCUMENTS:
                raise DistillError(
                    f"{request.path} holds more than {MAX_DOCUMENTS} documents; "
                    f"use `distill ingest {request.path}` (it streams and can resume)"
                )
    facts, failures = pipeline.run(documents) if documents else ([], [])
    pending.failures += [f"{f.doc_id or f.source}: {f.stage}: {f.reason}" for f in failures]
    fingerprint = pipeline.fingerprint()
    written = {f.document.id for f in facts}
    for document in documents:
        if document.id in written:
            title = document.meta.get("title")
            pending.documents.append(
                {
                    "id": document.id,
                    "text": document.text,
                    "source": document.source,
                    "title": None if title is None else str(title),
                    "content_hash": ingest_key(document, fingerprint),
                }
            )
    pending.facts = [f.model_dump(mode="json") for f in facts]
    pending.summary = describe(pending)
    return pending


def describe(pending: PendingWrite) -> list[str]:
    """What the write would add, one line per document (and per failure)."""
    from distill.graph.schema import DocumentFacts

    lines = []
    for raw in pending.facts[:10]:
        facts = DocumentFacts.model_validate(raw)
        parts = []
        if facts.mentions:
            names = ", ".join(
                f"{m.text}" + (f" → {m.product_id}" if m.product_id else f" ({m.label})")
                for m in facts.mentions[:6]
            )
            parts.append(f"{len(facts.mentions)} mention(s): {names}")
        if facts.opinions:
            said = ", ".join(
                f"{o.aspect} {o.polarity}"
                + (f" ({o.product_id or o.target})" if o.product_id or o.target else "")
                for o in facts.opinions[:6]
            )
            parts.append(f"{len(facts.opinions)} opinion(s): {said}")
        plugin = getattr(facts, "facts", None) or []
        if plugin:
            by_task: dict[str, int] = {}
            for fact in plugin:
                by_task[fact.task] = by_task.get(fact.task, 0) + 1
            parts.append(", ".join(f"{n} {task} fact(s)" for task, n in by_task.items()))
        lines.append(f"{facts.document.id}: " + ("; ".join(parts) or "no facts found"))
    if len(pending.facts) > 10:
        lines.append(f"… and {len(pending.facts) - 10} more documents")
    lines += [f"not written: {failure}" for failure in pending.failures[:5]]
    return lines


def commit(pending: PendingWrite, config: Config) -> tuple[int, int]:
    """Write the pending facts to the graph and their texts to the search index, each
    document atomically, exactly as shown. Returns (documents written, facts written)."""
    from distill.graph import open_store
    from distill.graph.schema import DocumentFacts
    from distill.ingest.index import DocumentIndex, IndexedDocument

    facts = [DocumentFacts.model_validate(raw) for raw in pending.facts]
    with open_store(config.graph) as store:
        for item in facts:
            store.write_document(item)
    if config.index.enabled and pending.documents:
        with DocumentIndex.from_config(config.index) as index:
            index.add([IndexedDocument(**document) for document in pending.documents])
    count = sum(
        len(f.mentions) + len(f.opinions) + len(getattr(f, "facts", []) or []) for f in facts
    )
    return len(facts), count
