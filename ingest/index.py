"""The document index: every ingested document's text and its passages, embedded, for search.

The chat agent answers from the graph's facts, but quotes evidence from the documents
themselves; this index is where it finds that evidence. `index.sqlite` is the source
of truth (documents, passages with their MiniLM vectors, an FTS5 table of the passages'
words for BM25, a `generation` counter bumped by every change). Search is hybrid: the
semantic and the keyword rankings are fused (reciprocal rank fusion), so a passage that
says "battery" is found for "worst battery reviews" even when its vector is far off.
`vectors.faiss` is only a cache of those vectors for fast search,
saved with the generation it reflects (`vectors.json`); whenever the two disagree
(a crash, a partial write, another process's writes) it is rebuilt from SQLite, so a
crash can cost time but never consistency.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel

from distill.errors import DistillError

if TYPE_CHECKING:
    from distill.config import IndexConfig

DIMENSION = 384
"""all-MiniLM-L6-v2's vector size; every embedder used here must return it."""
DATABASE = "index.sqlite"
VECTORS = "vectors.faiss"
VECTORS_STAMP = "vectors.json"
"""{"generation": n, "passages": n} of the saved `vectors.faiss`."""
EMBED_SLICE = 1024
"""Passages embedded per embedder call: bounds memory on huge documents."""
ROWS_PER_READ = 10_000
SQL_VARIABLES = 500
"""Ids per `IN (...)` query, well under SQLite's variable limit."""

RRF_K = 60
"""Reciprocal rank fusion's constant (Cormack et al.): 1 / (60 + rank) per ranking."""
STOPWORDS = frozenset(
    re.findall(
        r"\w+",
        "a an and are as at be but by do does for from has have how i in is it its me my "
        "of on or so that the their them they this to was were what when which who why "
        "with you your about any people reviewers reviews review say says think",
    )
)
"""Words that would make every passage a keyword match."""

Embedder = Callable[[Sequence[str]], np.ndarray]

SCHEMA = """
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    content_hash TEXT,
    source TEXT,
    title TEXT
);
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_by_document ON passages (doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS passage_words USING fts5(text, tokenize = 'porter unicode61');
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('generation', '0'), ('schema', '1');
COMMIT;
"""


class IndexedDocument(BaseModel):
    """One document as the index stores it; `content_hash` lets `--resume` skip it."""

    id: str
    text: str
    content_hash: str | None = None
    source: str | None = None
    title: str | None = None
    sentence_vectors: list[Any] | None = None
    """`distill.doc.SentenceVector`s of this text from a tool that already ran MiniLM
    (ingest's sentiment pass): passages are pooled from them instead of embedded."""


class Passage(BaseModel):
    """A span of a document, exact into its text, and how well it matched a query."""

    doc_id: str
    char_start: int
    char_end: int
    text: str
    score: float | None = None


def default_embedder(texts: Sequence[str]) -> np.ndarray:
    """The MiniLM shipped in a PyPI package, shared with the linker (one copy per process).

    Looked up at call time, so tests can swap in a fast fake. bfloat16 on CPUs with
    bfloat16 hardware (`use_bf16`): passages and queries alike, cosine ≥ 0.99 to the
    float32 vectors.
    """
    from distill.plugins.linker.embed import embed, use_bf16

    return embed(texts, batch_size=64, max_length=128, bf16=use_bf16())


class DocumentIndex:
    """Documents and their embedded passages in one folder; see the module docstring."""

    def __init__(
        self,
        path: str | Path,
        *,
        read_only: bool = False,
        embedder: Embedder | None = None,
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._embedder = embedder
        self._lock = threading.RLock()
        self._vectors: Any = None
        """The faiss index, once a search loaded it; it reflects SQLite at
        `_vectors_generation`. Writes keep it current only when it is loaded: an ingest
        that never searches does not hold every vector in memory (1.5 KB a passage), and
        `close` builds the cache once from SQLite."""
        self._vectors_generation: int | None = None
        self._unsaved = False
        self._closed = False
        self._db = self._connect()

    @classmethod
    def from_config(cls, config: IndexConfig, *, read_only: bool = False) -> DocumentIndex:
        return cls(config.path, read_only=read_only)

    # writing

    def add(self, documents: Sequence[IndexedDocument]) -> int:
        """Store `documents`, replacing any earlier version of each; returns passages written.

        Embedding happens before the write lock is taken; all documents then go in
        one transaction, so a crash leaves either all of them or none.
        """
        self._require_writable("add documents to")
        spans = [split_passages(document.text) for document in documents]
        vectors = self._embed_passages(documents, spans)
        with self._lock:
            if self._vectors is not None:
                self._sync_vectors()
            removed: set[int] = set()
            added: dict[int, np.ndarray] = {}
            row = 0
            with self._transaction(immediate=True) as db:
                generation = self._generation()
                for document, document_spans in zip(documents, spans, strict=True):
                    for (old,) in db.execute(
                        "SELECT id FROM passages WHERE doc_id = ?", (document.id,)
                    ):
                        if added.pop(old, None) is None:
                            removed.add(old)
                    _delete_passages(db, document.id)
                    db.execute(
                        "INSERT OR REPLACE INTO documents (id, text, content_hash, source, title)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (
                            document.id,
                            document.text,
                            document.content_hash,
                            document.source,
                            document.title,
                        ),
                    )
                    for start, end in document_spans:
                        cursor = db.execute(
                            "INSERT INTO passages (doc_id, char_start, char_end, vector)"
                            " VALUES (?, ?, ?, ?)",
                            (document.id, start, end, vectors[row].tobytes()),
                        )
                        passage_id = int(cursor.lastrowid or 0)
                        db.execute(
                            "INSERT INTO passage_words (rowid, text) VALUES (?, ?)",
                            (passage_id, document.text[start:end]),
                        )
                        added[passage_id] = vectors[row]
                        row += 1
                self._bump(generation)
            self._apply(generation, removed, added)
        return row

    def delete(self, doc_id: str) -> bool:
        """Forget a document and its passages; False when it was not there."""
        self._require_writable("delete documents from")
        with self._lock:
            if self._vectors is not None:
                self._sync_vectors()
            with self._transaction(immediate=True) as db:
                generation = self._generation()
                removed = {
                    passage_id
                    for (passage_id,) in db.execute(
                        "SELECT id FROM passages WHERE doc_id = ?", (doc_id,)
                    )
                }
                existed = db.execute("DELETE FROM documents WHERE id = ?", (doc_id,)).rowcount > 0
                _delete_passages(db, doc_id)
                if not existed:
                    return False
                self._bump(generation)
            self._apply(generation, removed, {})
        return True

    # reading

    def has(self, doc_id: str, content_hash: str | None = None) -> bool:
        """Whether the document is stored (with that content hash, when one is given)."""
        with self._lock:
            row = self._db.execute(
                "SELECT content_hash FROM documents WHERE id = ?", (doc_id,)
            ).fetchone()
        return row is not None and (content_hash is None or row[0] == content_hash)

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        doc_ids: Collection[str] | None = None,
        min_score: float = 0.0,
    ) -> list[Passage]:
        """The `k` passages that best match `query`, best first: semantic (cosine) and
        keyword (BM25) rankings fused by reciprocal rank.

        `doc_ids` restricts the search to those documents (the agent searches the
        documents the graph pointed it to). `min_score` drops passages whose cosine is
        below it *unless* they match the query's words: a threshold must never hide a
        passage that says what was asked.
        """
        if k <= 0 or not query.strip():
            return []
        depth = max(4 * k, 20)
        semantic = self._semantic_hits(query, depth, doc_ids)
        keyword = self._keyword_hits(query, depth, doc_ids)
        fused: dict[int, float] = {}
        for ranking in (list(semantic), keyword):
            for rank, passage_id in enumerate(ranking):
                fused[passage_id] = fused.get(passage_id, 0.0) + 1.0 / (RRF_K + rank)
        ordered = sorted(fused, key=lambda passage_id: -fused[passage_id])
        ordered = [
            passage_id
            for passage_id in ordered
            if passage_id in keyword or semantic.get(passage_id, 0.0) >= min_score
        ]
        with self._lock:
            rows = self._passage_rows(ordered[: 2 * k])
        passages: list[Passage] = []
        seen: set[tuple[str, int, int]] = set()
        for passage_id in ordered[: 2 * k]:
            if passage_id not in rows:  # written or deleted by another process since
                continue
            doc_id, start, end, text = rows[passage_id]
            if (doc_id, start, end) in seen:
                continue
            seen.add((doc_id, start, end))
            score = semantic.get(passage_id, 0.0)
            passages.append(
                Passage(doc_id=doc_id, char_start=start, char_end=end, text=text, score=score)
            )
            if len(passages) == k:
                break
        return passages

    def _semantic_hits(
        self, query: str, depth: int, doc_ids: Collection[str] | None
    ) -> dict[int, float]:
        """Passage id -> cosine for the `depth` nearest passages, nearest first."""
        import faiss

        query_vector = self._embed([query])
        with self._lock:
            self._sync_vectors()
            vectors = self._vectors
            params = None
            if doc_ids is not None:
                allowed = self._passage_ids(doc_ids)
                selector = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
                params = faiss.SearchParameters(sel=selector)
                candidates = len(allowed)
            else:
                candidates = vectors.ntotal
            fetch = min(candidates, depth)
            if fetch == 0:
                return {}
            scores, labels = vectors.search(query_vector, fetch, params=params)
        return {
            int(label): float(score)
            for score, label in zip(scores[0], labels[0], strict=True)
            if label >= 0
        }

    def _keyword_hits(self, query: str, depth: int, doc_ids: Collection[str] | None) -> list[int]:
        """Passage ids ranked by BM25 over the query's words (any of them), best first."""
        words = {word.lower() for word in re.findall(r"\w+", query) if len(word) > 1}
        words -= STOPWORDS
        if not words:
            return []
        match = " OR ".join(f'"{word}"' for word in sorted(words))
        sql = (
            "SELECT passage_words.rowid FROM passage_words"
            " JOIN passages ON passages.id = passage_words.rowid"
            " WHERE passage_words MATCH ?"
        )
        params: list[Any] = [match]
        if doc_ids is not None:
            allowed = sorted(doc_ids)[:SQL_VARIABLES]
            if not allowed:
                return []
            sql += f" AND passages.doc_id IN ({', '.join('?' * len(allowed))})"
            params += allowed
        sql += " ORDER BY bm25(passage_words) LIMIT ?"
        params.append(depth)
        with self._lock:
            try:
                return [int(row[0]) for row in self._db.execute(sql, params)]
            except sqlite3.OperationalError:  # an index written before keyword search existed
                return []

    def document_text(self, doc_id: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT text FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return None if row is None else str(row[0])

    def snippet(
        self,
        doc_id: str,
        char_start: int | None,
        char_end: int | None,
        max_chars: int = 300,
    ) -> Passage | None:
        """The sentence(s) around a span (a graph fact's provenance), to quote as evidence.

        No span gives the start of the document. Longer than `max_chars`, the window is
        trimmed around the span (at word boundaries where it can be). None for an
        unknown document.
        """
        text = self.document_text(doc_id)
        if text is None:
            return None
        start, end = _snippet_span(text, char_start, char_end, max_chars)
        return Passage(doc_id=doc_id, char_start=start, char_end=end, text=text[start:end])

    def __len__(self) -> int:
        """Passages stored."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM passages").fetchone()[0])

    def documents(self) -> int:
        """Documents stored."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM documents").fetchone()[0])

    # lifecycle

    def close(self) -> None:
        """Save the vector cache if this process changed or rebuilt it, then let go of SQLite."""
        with self._lock:
            if self._closed:
                return
            try:
                if self._unsaved and not self.read_only:
                    self._sync_vectors()
                    self._save_vectors()
            finally:
                self._closed = True
                self._db.close()

    def __enter__(self) -> DocumentIndex:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # SQLite

    def _connect(self) -> sqlite3.Connection:
        database = self.path / DATABASE
        if self.read_only:
            if not database.is_file():
                raise DistillError(
                    f"no document index at {self.path}: run `distill ingest FILES` "
                    "(or `distill demo`) first"
                )
            uri = f"{database.resolve().as_uri()}?mode=ro"
            db = sqlite3.connect(
                uri, uri=True, timeout=60, isolation_level=None, check_same_thread=False
            )
            try:
                db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
            except sqlite3.DatabaseError as exc:
                db.close()
                raise DistillError(
                    f"{database} is not a distill document index ({exc}); "
                    "run `distill ingest FILES` to build one"
                ) from None
            return db
        self.path.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(database, timeout=60, isolation_level=None, check_same_thread=False)
        try:
            db.executescript(SCHEMA)
            _backfill_words(db)
        except sqlite3.DatabaseError as exc:
            db.close()
            raise DistillError(f"{database} is not a distill document index: {exc}") from None
        return db

    @contextmanager
    def _transaction(self, *, immediate: bool) -> Iterator[sqlite3.Connection]:
        """One SQLite transaction; IMMEDIATE takes the write lock up front (no upgrade deadlock)."""
        self._db.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _generation(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0])

    def _bump(self, generation: int) -> None:
        self._db.execute(
            "UPDATE meta SET value = ? WHERE key = 'generation'", (str(generation + 1),)
        )

    def _require_writable(self, action: str) -> None:
        if self.read_only:
            raise DistillError(
                f"the document index at {self.path} is open read-only; cannot {action} it"
            )
        if self._closed:
            raise DistillError(f"the document index at {self.path} is closed")

    def _passage_ids(self, doc_ids: Collection[str]) -> list[int]:
        wanted = list(dict.fromkeys(doc_ids))
        ids: list[int] = []
        for offset in range(0, len(wanted), SQL_VARIABLES):
            chunk = wanted[offset : offset + SQL_VARIABLES]
            marks = ",".join("?" * len(chunk))
            ids.extend(
                row[0]
                for row in self._db.execute(
                    f"SELECT id FROM passages WHERE doc_id IN ({marks})", chunk
                )
            )
        return ids

    def _passage_rows(self, passage_ids: list[int]) -> dict[int, tuple[str, int, int, str]]:
        """id -> (doc id, start, end, text); SQLite's substr counts characters, like Python."""
        rows: dict[int, tuple[str, int, int, str]] = {}
        for offset in range(0, len(passage_ids), SQL_VARIABLES):
            chunk = passage_ids[offset : offset + SQL_VARIABLES]
            marks = ",".join("?" * len(chunk))
            for passage_id, doc_id, start, end, text in self._db.execute(
                "SELECT p.id, p.doc_id, p.char_start, p.char_end,"
                " substr(d.text, p.char_start + 1, p.char_end - p.char_start)"
                f" FROM passages p JOIN documents d ON d.id = p.doc_id WHERE p.id IN ({marks})",
                chunk,
            ):
                rows[passage_id] = (doc_id, start, end, text)
        return rows

    # vectors

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit float32 rows of DIMENSION columns, whatever the embedder returned."""
        import faiss

        vectors = np.array((self._embedder or default_embedder)(texts), dtype=np.float32, order="C")
        if vectors.shape != (len(texts), DIMENSION):
            raise DistillError(
                f"the embedder returned shape {vectors.shape}; expected ({len(texts)}, {DIMENSION})"
            )
        faiss.normalize_L2(vectors)
        return vectors

    def _embed_passages(
        self, documents: Sequence[IndexedDocument], spans: list[list[tuple[int, int]]]
    ) -> np.ndarray:
        """One unit row per passage: pooled from the document's sentence vectors when it
        has them and this index embeds with the default MiniLM, else embedded."""
        rows: list[np.ndarray | None] = []
        texts: list[str] = []
        for document, document_spans in zip(documents, spans, strict=True):
            shared = document.sentence_vectors if self._embedder is None else None
            for start, end in document_spans:
                rows.append(pool_sentences(shared, start, end) if shared else None)
                if rows[-1] is None:
                    texts.append(document.text[start:end])
        slices = [
            self._embed(texts[offset : offset + EMBED_SLICE])
            for offset in range(0, len(texts), EMBED_SLICE)
        ]
        embedded = iter(np.concatenate(slices) if slices else ())
        vectors = np.array(
            [next(embedded) if row is None else row for row in rows], dtype=np.float32
        ).reshape(len(rows), DIMENSION)
        import faiss

        faiss.normalize_L2(vectors)
        return vectors

    def _sync_vectors(self) -> None:
        """Make the in-memory faiss index match SQLite: keep it, load the cache, or rebuild.

        Runs inside one read transaction, so the generation and the vectors read agree.
        """
        with self._transaction(immediate=False):
            generation = self._generation()
            if self._vectors is not None and self._vectors_generation == generation:
                return
            vectors = self._load_cache(generation)
            if vectors is None:
                vectors = self._rebuild()
                self._unsaved = True
            self._vectors, self._vectors_generation = vectors, generation

    def _load_cache(self, generation: int) -> Any:
        """The saved faiss index if it reflects `generation` exactly, else None."""
        import faiss

        try:
            stamp = json.loads((self.path / VECTORS_STAMP).read_text(encoding="utf-8"))
            if stamp.get("generation") != generation:
                return None
            vectors = faiss.read_index(str(self.path / VECTORS))
        except (OSError, ValueError, RuntimeError):
            return None
        stored = self._db.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
        if vectors.ntotal != stamp.get("passages") or vectors.ntotal != stored:
            return None
        return vectors

    def _rebuild(self) -> Any:
        """A fresh faiss index from the vectors in SQLite, the source of truth."""
        import faiss

        vectors = faiss.IndexIDMap2(faiss.IndexFlatIP(DIMENSION))
        cursor = self._db.execute("SELECT id, vector FROM passages ORDER BY id")
        while rows := cursor.fetchmany(ROWS_PER_READ):
            ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
            matrix = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32)
            vectors.add_with_ids(matrix.reshape(len(rows), DIMENSION), ids)
        return vectors

    def _apply(self, generation: int, removed: set[int], added: dict[int, np.ndarray]) -> None:
        """Mirror a committed write in memory, or drop the copy if it had fallen behind."""
        self._unsaved = True
        if self._vectors is None or self._vectors_generation != generation:
            self._vectors, self._vectors_generation = None, None
            return
        if removed:
            self._vectors.remove_ids(np.fromiter(removed, dtype=np.int64, count=len(removed)))
        if added:
            ids = np.fromiter(added, dtype=np.int64, count=len(added))
            self._vectors.add_with_ids(np.stack(list(added.values())), ids)
        self._vectors_generation = generation + 1

    def _save_vectors(self) -> None:
        """Write the cache atomically, holding the write lock so savers take turns.

        The faiss file is replaced before its stamp: a crash in between leaves a stamp
        that no longer matches SQLite, and the next open rebuilds.
        """
        import faiss

        if self._vectors is None:
            return
        with self._transaction(immediate=True):
            if self._generation() != self._vectors_generation:
                return  # another writer got in; whoever opens next rebuilds
            temporary = self.path / f".{VECTORS}.{os.getpid()}.tmp"
            faiss.write_index(self._vectors, str(temporary))
            os.replace(temporary, self.path / VECTORS)
            stamp = {"generation": self._vectors_generation, "passages": self._vectors.ntotal}
            temporary = self.path / f".{VECTORS_STAMP}.{os.getpid()}.tmp"
            temporary.write_text(json.dumps(stamp), encoding="utf-8")
            os.replace(temporary, self.path / VECTORS_STAMP)
        self._unsaved = False


# passages and snippets

_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\s*\n\s*")


def _delete_passages(db: sqlite3.Connection, doc_id: str) -> None:
    db.execute(
        "DELETE FROM passage_words WHERE rowid IN (SELECT id FROM passages WHERE doc_id = ?)",
        (doc_id,),
    )
    db.execute("DELETE FROM passages WHERE doc_id = ?", (doc_id,))


def _backfill_words(db: sqlite3.Connection) -> None:
    """Fill the keyword table of an index written before it existed (once, in one transaction)."""
    words = db.execute("SELECT COUNT(*) FROM passage_words").fetchone()[0]
    passages = db.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
    if words == passages:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("DELETE FROM passage_words")
        rows = db.execute(
            "SELECT passages.id, substr(documents.text, passages.char_start + 1,"
            " passages.char_end - passages.char_start)"
            " FROM passages JOIN documents ON documents.id = passages.doc_id"
        ).fetchall()
        db.executemany("INSERT INTO passage_words (rowid, text) VALUES (?, ?)", rows)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def pool_sentences(sentences: Sequence[Any], start: int, end: int) -> np.ndarray | None:
    """The passage [start, end)'s vector from its sentences' mean-pooled ones: their mean
    weighted by tokens (and by the share of each sentence inside the passage), i.e. a mean
    over the passage's tokens as MiniLM pools, each sentence read alone. Against embedding
    the passage whole: cosine ~0.9 on multi-sentence passages (BENCHMARKS.md, Ingest at
    scale). None when no sentence overlaps it."""
    total: np.ndarray | None = None
    weight = 0.0
    for sentence in sentences:
        overlap = min(end, sentence.end) - max(start, sentence.start)
        if overlap <= 0 or sentence.end <= sentence.start:
            continue
        share = sentence.tokens * overlap / (sentence.end - sentence.start)
        part = np.asarray(sentence.vector, dtype=np.float32) * share
        total = part if total is None else total + part
        weight += share
    return None if total is None or weight <= 0 else total / weight


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Char spans of sentences (split after . ! ? and at newlines), without surrounding space."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_BREAK.finditer(text):
        spans.append(_strip(text, start, match.start()))
        start = match.end()
    spans.append(_strip(text, start, len(text)))
    return [(start, end) for start, end in spans if start < end]


def split_passages(text: str, max_chars: int = 220) -> list[tuple[int, int]]:
    """Char spans of passages: consecutive sentences grouped up to `max_chars`.

    Passages are what gets embedded and returned as evidence, so they stay whole
    sentences where possible; a single longer sentence is cut at whitespace.
    `text[start:end]` is each passage, with no leading or trailing whitespace.
    """
    if max_chars <= 0:
        raise ValueError("max_chars must be positive")
    passages: list[tuple[int, int]] = []
    current: tuple[int, int] | None = None
    for start, end in sentence_spans(text):
        if end - start > max_chars:
            if current is not None:
                passages.append(current)
                current = None
            passages.extend(_cut_at_whitespace(text, start, end, max_chars))
        elif current is not None and end - current[0] <= max_chars:
            current = (current[0], end)
        else:
            if current is not None:
                passages.append(current)
            current = (start, end)
    if current is not None:
        passages.append(current)
    return passages


def _cut_at_whitespace(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Pieces of at most `max_chars`, cut at the last whitespace that fits (hard cut if none)."""
    pieces: list[tuple[int, int]] = []
    while end - start > max_chars:
        cut = start + max_chars
        while cut > start and not text[cut].isspace():
            cut -= 1
        if cut == start:
            cut = start + max_chars
        piece = _strip(text, start, cut)
        if piece[0] < piece[1]:
            pieces.append(piece)
        start = _strip(text, cut, end)[0]
    if start < end:
        pieces.append(_strip(text, start, end))
    return pieces


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _snippet_span(
    text: str, char_start: int | None, char_end: int | None, max_chars: int
) -> tuple[int, int]:
    """The sentences touching [char_start, char_end), trimmed to `max_chars` around it."""
    if max_chars <= 0:
        raise ValueError("max_chars must be positive")
    sentences = sentence_spans(text)
    if not sentences:
        return 0, 0
    if char_start is None and char_end is None:
        begin, finish = sentences[0]
        for _, end in sentences[1:]:
            if end - begin > max_chars:
                break
            finish = end
        focus_start, focus_end = begin, begin
    else:
        focus_start = char_start if char_start is not None else char_end
        focus_end = char_end if char_end is not None else char_start
        assert focus_start is not None and focus_end is not None
        focus_start = min(max(focus_start, 0), len(text))
        focus_end = min(max(focus_end, focus_start), len(text))
        touching = [(s, e) for s, e in sentences if s <= focus_end and e >= focus_start]
        if not touching:  # the span lies in whitespace between sentences
            touching = [min(sentences, key=lambda span: abs(span[0] - focus_start))]
        begin = min(touching[0][0], focus_start)
        finish = max(touching[-1][1], focus_end)
    if finish - begin <= max_chars:
        return _strip(text, begin, finish)
    if focus_end - focus_start >= max_chars:
        return _strip(text, focus_start, focus_start + max_chars)
    spare = max_chars - (focus_end - focus_start)
    left = min(spare // 2, focus_start - begin)
    right = min(spare - left, finish - focus_end)
    left = min(spare - right, focus_start - begin)
    begin, finish = focus_start - left, focus_end + right
    # do not start or end mid-word, unless that would cut into the span itself
    if begin > 0 and not text[begin - 1].isspace():
        word_end = begin
        while word_end < focus_start and not text[word_end].isspace():
            word_end += 1
        if word_end < focus_start:
            begin = word_end
    if finish < len(text) and not text[finish].isspace():
        word_start = finish
        while word_start > focus_end and not text[word_start - 1].isspace():
            word_start -= 1
        if word_start > focus_end:
            finish = word_start
    return _strip(text, begin, finish)
