"""The Review page's server side: the review store (`distill.workflow.review`), one per task,
behind a small JSON API. These routes are the only ones in the app that write anything.

What the store does not offer, this adapter adds without touching the store's data:
- `--sort uncertain` when the suggestions file was not sorted that way: the undecided
  items are ordered as `distill annotate --sort uncertain` orders a file (failed last,
  least confident, then most disputed first), and served in that order;
- items per minute, from the timestamps of the standing decisions.
"""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from distill.errors import DistillError

if TYPE_CHECKING:
    from fastapi import FastAPI

    from distill.workflow.review import DecisionRecord, ReviewItem, ReviewStore

Sort = Literal["input", "uncertain"]
TASK_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
TaskName = Annotated[str, Query(pattern=TASK_PATTERN)]
RATE_WINDOW = 20
"""Decisions the items-per-minute figure is measured over."""


class SpanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    label: str = Field(min_length=1, max_length=64)
    kb_id: str | None = Field(None, max_length=200)


class OpinionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    aspect: str = Field(min_length=1, max_length=64)
    polarity: Literal["positive", "negative", "neutral", "conflict"]
    target: str | None = Field(None, max_length=200)
    term: str | None = Field(None, max_length=200)
    start: int | None = Field(None, ge=0)
    end: int | None = Field(None, ge=0)


class DecisionIn(BaseModel):
    """What the page sends: accept (with edits, if any), reject, or skip."""

    model_config = ConfigDict(extra="forbid")

    item: str = Field(min_length=1, max_length=200)
    action: Literal["accept", "reject", "skip"]
    spans: list[SpanIn] | None = Field(None, max_length=500)
    opinions: list[OpinionIn] | None = Field(None, max_length=200)


class Progress(BaseModel):
    total: int
    decided: int
    remaining: int
    accepted: int
    edited: int
    rejected: int
    ignored: int
    per_minute: float | None = Field(None, description="over the last decisions")


class TaskInfo(BaseModel):
    name: str
    progress: Progress


class ReviewService:
    """The review stores of a file, one per task, with the page's ordering."""

    def __init__(
        self,
        path: str | Path,
        tasks: list[str] | None = None,
        sort: Sort = "input",
        who: str | None = None,
    ) -> None:
        from distill.workflow.review import ReviewStore, tasks_in

        self.path = Path(path)
        names = tasks or tasks_in(self.path)
        if not names:
            raise DistillError(
                f"no suggestions to review in {self.path}: add some with "
                "`distill serve --suggestions FILE.jsonl` (from `distill annotate`)"
            )
        self.stores: dict[str, ReviewStore] = {name: ReviewStore(self.path, name) for name in names}
        self.sort = sort
        self.who = who
        self._order: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def store(self, task: str) -> ReviewStore:
        try:
            return self.stores[task]
        except KeyError:
            raise DistillError(
                f"no task {task!r} to review; tasks: {', '.join(self.stores)}"
            ) from None

    def tasks(self) -> list[TaskInfo]:
        return [TaskInfo(name=name, progress=self.progress(name)) for name in self.stores]

    def next(self, task: str) -> ReviewItem | None:
        store = self.store(task)
        if self.sort == "input":
            return store.next()
        with self._lock:
            for refreshed in (False, True):
                if refreshed or task not in self._order:
                    self._order[task] = _uncertain_order(store)
                for item_id in self._order[task]:
                    item = store.get(item_id)
                    if item.decision is None:
                        return item
        return None

    def decide(self, task: str, decision: DecisionIn) -> DecisionRecord:
        from distill.workflow.review import Decision

        store = self.store(task)
        edited = decision.spans is not None or decision.opinions is not None
        if decision.action == "accept" and edited:
            action = "edit"
        else:
            action = {"accept": "accept", "reject": "reject", "skip": "ignore"}[decision.action]
        return store.decide(
            decision.item,
            Decision.model_validate(
                {
                    "action": action,
                    "spans": _dump(decision.spans) if action == "edit" else None,
                    "opinions": _dump(decision.opinions) if action == "edit" else None,
                    "who": self.who,
                }
            ),
        )

    def undo(self, task: str) -> ReviewItem | None:
        """Withdraw the last decision; the item it was about, to be shown again."""
        store = self.store(task)
        withdrawn = store.undo(self.who)
        if withdrawn is None:
            return None
        with self._lock:
            self._order.pop(task, None)  # an item is undecided again: order afresh
        item = store.get(withdrawn.item_id)
        if withdrawn.action == "edit":  # show the edits that were withdrawn, to redo them
            update: dict[str, Any] = {}
            if withdrawn.spans is not None:
                update["spans"] = withdrawn.spans
            if withdrawn.opinions is not None:
                update["opinions"] = withdrawn.opinions
            item = item.model_copy(update=update)
        return item

    def progress(self, task: str) -> Progress:
        store = self.store(task)
        counts = store.progress()
        standing = [d for d in store.history() if d.undone_at is None][-RATE_WINDOW:]
        return Progress(**counts.model_dump(), per_minute=_per_minute(standing))

    def close(self) -> None:
        for store in self.stores.values():
            store.close()


def add_suggestions(path: str | Path, files: list[Path]) -> dict[str, int]:
    """Add `distill annotate` output files to the review store at `path` (idempotent):
    each record goes to its task (`meta.task`); returns the items added per task."""
    from distill.corpora.lines import json_records
    from distill.workflow.review import ReviewStore

    by_task: dict[str, list[dict[str, Any]]] = {}
    for file in files:
        for number, record in json_records(Path(file), need_text=True):
            task = (record.get("meta") or {}).get("task")
            if not isinstance(task, str) or not task:
                raise DistillError(
                    f"{file}:{number}: no meta.task: review files written by `distill annotate`"
                )
            by_task.setdefault(task, []).append(record)
    added = {}
    for task, records in by_task.items():
        with ReviewStore(path, task) as store:
            added[task] = store.add(records)
    return added


def add_review_routes(app: FastAPI, review: ReviewService) -> None:
    @app.get("/api/review/tasks")
    def tasks() -> dict[str, Any]:
        return {"tasks": [t.model_dump() for t in review.tasks()], "sort": review.sort}

    @app.get("/api/review/next")
    def next_item(task: TaskName) -> dict[str, Any]:
        item = review.next(task)
        return {"item": _item(item), "progress": review.progress(task).model_dump()}

    @app.post("/api/review/decide")
    def decide(task: TaskName, decision: DecisionIn) -> dict[str, Any]:
        record = review.decide(task, decision)
        item = review.next(task)
        return {
            "saved": record.model_dump(mode="json"),
            "item": _item(item),
            "progress": review.progress(task).model_dump(),
        }

    @app.post("/api/review/undo")
    def undo(task: TaskName) -> dict[str, Any]:
        item = review.undo(task)
        if item is None:
            item, undone = review.next(task), False
        else:
            undone = True
        return {
            "undone": undone,
            "item": _item(item),
            "progress": review.progress(task).model_dump(),
        }


def _item(item: ReviewItem | None) -> dict[str, Any] | None:
    return None if item is None else item.model_dump(mode="json")


def _dump(values: list[BaseModel] | None) -> list[dict[str, Any]] | None:
    return None if values is None else [v.model_dump(exclude_none=True) for v in values]


def _uncertain_order(store: ReviewStore) -> list[str]:
    """Undecided items, least confident and most disputed first, failed ones last (the
    order of `distill annotate --sort uncertain`), ties in suggestion order."""
    items = []
    item = store.next()
    while item is not None:
        items.append(item)
        item = store.next(after=item.id)
    items.sort(
        key=lambda i: (
            i.failed,
            1.0 if i.confidence is None else i.confidence,
            -i.conflicts,
            i.position,
        )
    )
    return [i.id for i in items]


def _per_minute(decisions: list[DecisionRecord]) -> float | None:
    if len(decisions) < 2:
        return None
    first = datetime.fromisoformat(decisions[0].at)
    last = datetime.fromisoformat(decisions[-1].at)
    minutes = (last - first).total_seconds() / 60
    return round((len(decisions) - 1) / minutes, 1) if minutes > 0 else None
