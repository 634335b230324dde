"""The review store: a person's decisions on the teacher's suggestions, one by one, durably.

    store = ReviewStore(".distill/review.sqlite", "ner")
    store.add(records)                       # suggestions from `distill annotate` (idempotent)
    item = store.next()                      # the first item without a decision
    store.decide(item.id, Decision(action="accept", who="ana"))
    store.decide(item.id, Decision(action="edit", spans=[...]))   # corrected spans / ids
    store.undo()                             # the last decision is withdrawn (kept, marked)
    store.progress(); store.export("reviewed.jsonl")   # accepted + corrected items only

SQLite in WAL mode with `synchronous=FULL`: each decision is its own committed
transaction, so a killed process loses nothing decided. Decisions are never deleted:
undo marks one withdrawn (with who and when), so the history is an audit trail, and an
item's state is its latest decision still standing. The terminal review
(`distill review`) and the web page use this class and nothing else.
"""

from __future__ import annotations

import getpass
import json
import os
import sqlite3
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from distill.corpora.prodigy import ProdigyRecord, ProdigySpan, check
from distill.errors import DistillError
from distill.plugins.sentiment import Opinion
from distill.workflow.annotate import item_id

Action = Literal["accept", "reject", "edit", "ignore"]
SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    task TEXT NOT NULL, id TEXT NOT NULL, position INTEGER NOT NULL, record TEXT NOT NULL,
    added_at TEXT NOT NULL, PRIMARY KEY (task, id));
CREATE TABLE IF NOT EXISTS decisions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, task TEXT NOT NULL, item_id TEXT NOT NULL,
    action TEXT NOT NULL, spans TEXT, opinions TEXT, note TEXT,
    who TEXT NOT NULL, at TEXT NOT NULL, undone_by TEXT, undone_at TEXT);
CREATE INDEX IF NOT EXISTS decisions_item ON decisions (task, item_id, seq);
"""


class ReviewError(DistillError):
    """A decision that cannot be stored (unknown item, a span outside the text…)."""


class Decision(BaseModel):
    """What a reviewer decided about one item. `edit` replaces the spans and/or opinions;
    catalog ids are edited as the spans' `kb_id`, labels as their `label`."""

    action: Action
    spans: list[ProdigySpan] | None = None
    opinions: list[Opinion] | None = None
    who: str | None = Field(None, description="reviewer; default: the login name")
    note: str | None = None

    @model_validator(mode="after")
    def _edit_has_content(self) -> Decision:
        if self.action == "edit" and self.spans is None and self.opinions is None:
            raise ValueError("an edit gives the corrected spans and/or opinions")
        return self


class DecisionRecord(BaseModel):
    seq: int
    item_id: str
    action: Action
    spans: list[ProdigySpan] | None = None
    opinions: list[Opinion] | None = None
    note: str | None = None
    who: str
    at: str
    undone_by: str | None = None
    undone_at: str | None = None


class ReviewItem(BaseModel):
    """One suggestion as the reviewer sees it, with its standing decision (if any)."""

    id: str
    position: int
    text: str
    spans: list[ProdigySpan]
    opinions: list[Opinion] | None = None
    labels: list[str]
    confidence: float | None = None
    conflicts: int = 0
    failed: bool = False
    sources: dict[str, Any] = Field(default_factory=dict)
    decision: DecisionRecord | None = None


class ReviewProgress(BaseModel):
    total: int
    decided: int
    remaining: int
    accepted: int
    edited: int
    rejected: int
    ignored: int


class ExportReport(BaseModel):
    path: str
    written: int
    accepted: int
    edited: int


class ReviewStore:
    """Decisions on one task's suggestions, in one SQLite file (thread-safe: one lock)."""

    def __init__(self, path: str | Path, task: str) -> None:
        self.path = Path(path)
        self.task = task
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ReviewStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ items

    def add(self, records: Iterable[dict[str, Any]]) -> int:
        """Add suggestions (Prodigy records); items already present are left as they are."""
        rows = []
        for record in records:
            parsed = ProdigyRecord.model_validate(record)
            identity = str(parsed.meta.get("id") or item_id(record))
            rows.append((identity, json.dumps(record, ensure_ascii=False)))
        now = _now()
        with self._lock, self._transaction():
            start = self._db.execute(
                "SELECT COALESCE(MAX(position), -1) + 1 FROM items WHERE task = ?", (self.task,)
            ).fetchone()[0]
            before = self._count()
            self._db.executemany(
                "INSERT OR IGNORE INTO items VALUES (?, ?, ?, ?, ?)",
                [(self.task, i, start + n, text, now) for n, (i, text) in enumerate(rows)],
            )
            return self._count() - before

    def add_file(self, path: str | Path) -> int:
        """`add` from a JSONL file of suggestions."""
        from distill.corpora.lines import json_records

        return self.add(record for _, record in json_records(Path(path), need_text=True))

    def get(self, item: str) -> ReviewItem:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM items WHERE task = ? AND id = ?", (self.task, item)
            ).fetchone()
            if row is None:
                raise ReviewError(f"no {self.task} item {item!r} in {self.path}")
            return self._item(row)

    def next(self, after: str | None = None) -> ReviewItem | None:
        """The first undecided item (after item `after`, when given), in suggestion order."""
        with self._lock:
            position = -1
            if after is not None:
                found = self._db.execute(
                    "SELECT position FROM items WHERE task = ? AND id = ?", (self.task, after)
                ).fetchone()
                position = found[0] if found else -1
            row = self._db.execute(
                f"SELECT * FROM items i WHERE task = ? AND position > ? AND NOT EXISTS "
                f"({_STANDING}) ORDER BY position LIMIT 1",
                (self.task, position),
            ).fetchone()
            return self._item(row) if row else None

    # ------------------------------------------------------------ decisions

    def decide(self, item: str, decision: Decision) -> DecisionRecord:
        """Store one decision (committed before returning); edits are checked first."""
        current = self.get(item)
        if decision.spans is not None:
            problem = check(
                ProdigyRecord(text=current.text, spans=decision.spans),
                set(current.labels) or None,
            )
            if problem:
                raise ReviewError(f"item {item}: {problem}")
        who = decision.who or _login()
        now = _now()
        with self._lock, self._transaction():
            cursor = self._db.execute(
                "INSERT INTO decisions (task, item_id, action, spans, opinions, note, who, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self.task,
                    item,
                    decision.action,
                    _dump(decision.spans),
                    _dump(decision.opinions),
                    decision.note,
                    who,
                    now,
                ),
            )
            seq = cursor.lastrowid
        return self._decision(seq)

    def undo(self, who: str | None = None) -> DecisionRecord | None:
        """Withdraw the latest standing decision (by `who`, when given); None if there is none."""
        with self._lock, self._transaction():
            query = "SELECT seq FROM decisions WHERE task = ? AND undone_at IS NULL"
            params: tuple[Any, ...] = (self.task,)
            if who is not None:
                query, params = query + " AND who = ?", (*params, who)
            row = self._db.execute(query + " ORDER BY seq DESC LIMIT 1", params).fetchone()
            if row is None:
                return None
            self._db.execute(
                "UPDATE decisions SET undone_by = ?, undone_at = ? WHERE seq = ?",
                (who or _login(), _now(), row[0]),
            )
        return self._decision(row[0])

    def history(self, item: str | None = None) -> list[DecisionRecord]:
        """Every decision (withdrawn ones included), oldest first."""
        with self._lock:
            query, params = "SELECT * FROM decisions WHERE task = ?", (self.task,)
            if item is not None:
                query, params = query + " AND item_id = ?", (self.task, item)
            rows = self._db.execute(query + " ORDER BY seq", params).fetchall()
        return [_record(row) for row in rows]

    def progress(self) -> ReviewProgress:
        with self._lock:
            total = self._count()
            counts = dict(
                self._db.execute(
                    f"SELECT d.action, COUNT(*) FROM items i JOIN decisions d ON d.seq = "
                    f"({_LATEST}) WHERE i.task = ? GROUP BY d.action",
                    (self.task,),
                ).fetchall()
            )
        decided = sum(counts.values())
        return ReviewProgress(
            total=total,
            decided=decided,
            remaining=total - decided,
            accepted=counts.get("accept", 0),
            edited=counts.get("edit", 0),
            rejected=counts.get("reject", 0),
            ignored=counts.get("ignore", 0),
        )

    def export(self, out: str | Path) -> ExportReport:
        """Accepted and corrected items as Prodigy JSONL (`answer: accept`), with who/when in
        `meta.review`; written to a temporary file, fsynced, then renamed into place."""
        out = Path(out)
        with self._lock:
            rows = self._db.execute(
                f"SELECT i.record, d.* FROM items i JOIN decisions d ON d.seq = ({_LATEST}) "
                "WHERE i.task = ? AND d.action IN ('accept', 'edit') ORDER BY i.position",
                (self.task,),
            ).fetchall()
        lines = []
        for row in rows:
            record = json.loads(row["record"])
            decision = _record(row)
            if decision.spans is not None:
                record["spans"] = [s.model_dump(exclude_none=True) for s in decision.spans]
            if decision.opinions is not None:
                record["opinions"] = [o.model_dump(exclude_none=True) for o in decision.opinions]
            record["answer"] = "accept"
            record["meta"] = {
                **(record.get("meta") or {}),
                "review": {"decision": decision.action, "by": decision.who, "at": decision.at},
            }
            lines.append(json.dumps(record, ensure_ascii=False) + "\n")
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as handle:
            handle.writelines(lines)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, out)
        edited = sum(row["action"] == "edit" for row in rows)
        return ExportReport(
            path=str(out), written=len(lines), accepted=len(lines) - edited, edited=edited
        )

    # ------------------------------------------------------------ internals

    def _count(self) -> int:
        return self._db.execute(
            "SELECT COUNT(*) FROM items WHERE task = ?", (self.task,)
        ).fetchone()[0]

    def _transaction(self) -> Any:
        return _Transaction(self._db)

    def _decision(self, seq: int | None) -> DecisionRecord:
        with self._lock:
            row = self._db.execute("SELECT * FROM decisions WHERE seq = ?", (seq,)).fetchone()
        return _record(row)

    def _item(self, row: sqlite3.Row) -> ReviewItem:
        record = ProdigyRecord.model_validate_json(row["record"])
        standing = self._db.execute(
            "SELECT * FROM decisions WHERE task = ? AND item_id = ? AND undone_at IS NULL "
            "ORDER BY seq DESC LIMIT 1",
            (self.task, row["id"]),
        ).fetchone()
        meta = record.meta
        return ReviewItem(
            id=row["id"],
            position=row["position"],
            text=record.text,
            spans=record.spans,
            opinions=record.opinions,
            labels=list(meta.get("labels") or []),
            confidence=meta.get("confidence"),
            conflicts=int(meta.get("conflicts") or 0),
            failed=record.answer == "ignore",
            sources=meta.get("sources") or {},
            decision=_record(standing) if standing else None,
        )


_STANDING = (
    "SELECT 1 FROM decisions d WHERE d.task = i.task AND d.item_id = i.id AND d.undone_at IS NULL"
)
_LATEST = (
    "SELECT MAX(seq) FROM decisions d WHERE d.task = i.task AND d.item_id = i.id "
    "AND d.undone_at IS NULL"
)


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT (ROLLBACK on error) on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *exc: object) -> None:
        self.db.execute("ROLLBACK" if kind else "COMMIT")


def _record(row: sqlite3.Row) -> DecisionRecord:
    return DecisionRecord(
        seq=row["seq"],
        item_id=row["item_id"],
        action=row["action"],
        spans=json.loads(row["spans"]) if row["spans"] else None,
        opinions=json.loads(row["opinions"]) if row["opinions"] else None,
        note=row["note"],
        who=row["who"],
        at=row["at"],
        undone_by=row["undone_by"],
        undone_at=row["undone_at"],
    )


def _dump(values: list[BaseModel] | None) -> str | None:
    if values is None:
        return None
    return json.dumps([v.model_dump(exclude_none=True) for v in values], ensure_ascii=False)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers)
        return "reviewer"


def tasks_in(path: str | Path) -> list[str]:
    """The tasks a store file holds items for (for `distill review export` without --task)."""
    if not Path(path).exists():
        return []
    with sqlite3.connect(path) as db:
        try:
            return [row[0] for row in db.execute("SELECT DISTINCT task FROM items ORDER BY task")]
        except sqlite3.OperationalError:
            return []


__all__ = [
    "Decision",
    "DecisionRecord",
    "ExportReport",
    "ReviewError",
    "ReviewItem",
    "ReviewProgress",
    "ReviewStore",
    "tasks_in",
]
