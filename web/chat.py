"""The Chat page's server side: one agent for the app, its steps as Server-Sent Events, and
the conversation threads it keeps.

The agent is built on the first chat request (it loads the fact-checker), then reused.
The embedded model is not thread-safe and a thread's checkpoints must not interleave, so
one question is answered at a time; a second browser tab waits for the first answer.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from distill.errors import DistillError

if TYPE_CHECKING:
    from distill.agent.chat import Agent
    from distill.config import Config

THREAD_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 _.:-]{0,63}$"
MAX_QUESTION_CHARS = 2000


class Question(BaseModel):
    """A chat request from the browser."""

    message: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    thread: str = Field("default", pattern=THREAD_PATTERN)


class ThreadSummary(BaseModel):
    id: str
    title: str = Field(description="the thread's first question")
    turns: int


class Turn(BaseModel):
    role: str
    text: str


class ChatService:
    """Builds the agent lazily and answers one question at a time."""

    def __init__(self, config: Config, agent_factory: Callable[[], Agent] | None = None) -> None:
        self.config = config
        self._factory = agent_factory
        self._agent: Agent | None = None
        self._lock = threading.Lock()

    def agent(self) -> Agent:
        with self._lock:
            return self._build()

    def _build(self) -> Agent:
        if self._agent is None:
            if self._factory is not None:
                self._agent = self._factory()
            else:
                from distill.agent.chat import Agent

                self._agent = Agent(self.config)
        return self._agent

    def stream(self, question: Question) -> Iterator[dict[str, str]]:
        """SSE events: `step` per agent node as it finishes, then `answer` (the checked
        ChatResponse) or `error` (a message the user can act on)."""
        from distill.agent.chat import ChatResponse

        with self._lock:
            yield {"event": "status", "data": json.dumps({"detail": "starting"})}
            try:
                agent = self._build()
                for event in agent.stream(question.message, question.thread):
                    if isinstance(event, ChatResponse):
                        yield {"event": "answer", "data": event.model_dump_json()}
                    else:
                        yield {"event": "step", "data": event.model_dump_json()}
            except DistillError as exc:
                yield {"event": "error", "data": json.dumps({"error": str(exc)})}
            except Exception as exc:  # the browser must hear about it, not hang
                message = f"the agent failed: {type(exc).__name__}: {exc}"
                yield {"event": "error", "data": json.dumps({"error": message})}

    def threads(self) -> list[ThreadSummary]:
        """Conversations in the agent's checkpoint file, most recent first."""
        path = Path(self.config.agent.checkpoints)
        if not path.is_file():
            return []
        with contextlib.closing(
            sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
        ) as db:
            try:
                ids = [
                    row[0]
                    for row in db.execute(
                        "SELECT thread_id FROM checkpoints GROUP BY thread_id "
                        "ORDER BY MAX(checkpoint_id) DESC LIMIT 100"
                    )
                ]
            except sqlite3.DatabaseError:
                return []  # no conversation yet (the table is created on first use)
        out = []
        for thread in ids:
            turns = self.history(thread)
            first = next((t.text for t in turns if t.role == "user"), "")
            out.append(ThreadSummary(id=thread, title=first[:80], turns=len(turns) // 2))
        return out

    def history(self, thread: str) -> list[Turn]:
        with self._lock:
            return [Turn(role=role, text=text) for role, text in self._build().history(thread)]

    def close(self) -> None:
        with self._lock:
            if self._agent is not None:
                self._agent.close()
                self._agent = None
