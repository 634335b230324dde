"""On-disk LLM response cache: the same (model, messages, schema, params) is answered once.

LangChain calls `lookup(prompt, llm_string)` where `prompt` is the serialized
messages and `llm_string` the model's identity plus every bound parameter (tools,
response format, temperature…). We store only a hash of the two as the key, so
nothing secret that might hide in them ever reaches the disk.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.caches import BaseCache
from langchain_core.load import dumps, loads
from langchain_core.outputs import Generation


class DiskCache(BaseCache):
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, value TEXT)")

    @staticmethod
    def key(prompt: str, llm_string: str) -> str:
        return hashlib.sha256(f"{llm_string}\x00{prompt}".encode()).hexdigest()

    def lookup(self, prompt: str, llm_string: str) -> Sequence[Generation] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM responses WHERE key = ?", (self.key(prompt, llm_string),)
            ).fetchone()
        if row is None:
            return None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # `loads` is marked beta in langchain-core
                return loads(row[0], allowed_objects="core")
        except Exception:  # written by another langchain version: treat as a miss
            return None

    def update(self, prompt: str, llm_string: str, return_val: Sequence[Generation]) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses VALUES (?, ?)",
                (self.key(prompt, llm_string), dumps(list(return_val))),
            )

    def clear(self, **kwargs: Any) -> None:
        with self._lock:
            self._db.execute("DELETE FROM responses")
