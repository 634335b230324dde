"""Candidate generation: which few catalog entries could a mention be?

Three retrievers, unioned, because each misses what another finds:
- alias lookup: the normalized mention equals a name or alias ("iphone 11");
- fuzzy: character 3-gram TF-IDF nearest names (typos, spacing, "galaxy s21ultra"),
  then rapidfuzz scores the survivors — a sparse product is what keeps this fast
  against 12k entries, where rapidfuzz over every name per mention is not;
- semantic: a faiss inner-product index over MiniLM embeddings of the names.

Both halves (the alias table with the TF-IDF matrix, and the faiss index) are built
once per catalog version and saved under `[catalog] cache` (default `.distill/catalog`)
in a folder named by the catalog's hash, then reloaded: a changed catalog file gets a
new index, and no training is needed for a new catalog.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz

from distill.plugins.linker.catalog import Catalog, normalize, strip_suffix

_LEXICAL = ("forms", "form_entry", "alias", "primary", "vectorizer", "matrix")


@dataclass
class Candidate:
    index: int
    """Position of the entry in `catalog.entries`."""
    alias: float = 0.0
    fuzzy: float = 0.0
    semantic: float = 0.0
    sources: set[str] = field(default_factory=set)


INDEX_DIR_VARIABLE = "DISTILL_LINKER_INDEX_DIR"
LEXICAL_FILE = "lexical.pkl"
FAISS_FILE = "names.faiss"


def index_dir(catalog: Catalog, cache: str | Path | None = None) -> Path:
    """Where a catalog's index files live: `$DISTILL_LINKER_INDEX_DIR` when set (benchmarks
    over read-only data), else `cache` (the config's `[catalog] cache`), else the user cache;
    one subfolder per catalog version (its hash)."""
    if os.environ.get(INDEX_DIR_VARIABLE):
        root = Path(os.environ[INDEX_DIR_VARIABLE])
    elif cache is not None:
        root = Path(cache)
    else:
        root = (
            Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "distill" / "catalog"
        )
    return root / catalog.digest


def index_built(catalog: Catalog, semantic: bool = True, cache: str | Path | None = None) -> bool:
    """Whether the catalog's index files are cached already (building the semantic half
    embeds every name: about a minute for 12,000 names on 2 cores)."""
    folder = index_dir(catalog, cache)
    return (folder / LEXICAL_FILE).is_file() and (not semantic or (folder / FAISS_FILE).is_file())


def index_note(
    catalog: Catalog, semantic: bool = True, cache: str | Path | None = None
) -> str | None:
    """What building this catalog's index means, for a status line; None when cached."""
    if index_built(catalog, semantic, cache):
        return None
    return (
        f"indexing {len(catalog.entries):,} catalog products for the linker "
        "(once per catalog version)"
    )


class CandidateIndex:
    def __init__(
        self, catalog: Catalog, semantic: bool = True, cache: str | Path | None = None
    ) -> None:
        self.catalog = catalog
        self.folder = index_dir(catalog, cache)
        lexical = self.folder / LEXICAL_FILE
        if lexical.is_file():
            with lexical.open("rb") as handle:
                self.__dict__.update(pickle.load(handle))
        else:
            self._build_lexical()
            self.folder.mkdir(parents=True, exist_ok=True)
            part = lexical.with_suffix(f".{os.getpid()}.tmp")
            with part.open("wb") as handle:
                pickle.dump({k: getattr(self, k) for k in _LEXICAL}, handle)
            os.replace(part, lexical)
        self.form_entry_array = np.asarray(self.form_entry)
        self.faiss = self._faiss() if semantic else None

    def _build_lexical(self) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.forms: list[str] = []
        self.form_entry: list[int] = []
        self.alias: dict[str, list[int]] = {}
        self.primary: dict[str, set[int]] = {}
        """Normalized form -> entries whose name, short name or listed alias it is (not a
        derived brand-less form): these win when a form is shared."""
        for i, entry in enumerate(self.catalog.entries):
            derived = normalize(entry.brandless() or "")
            for form in entry.names():
                key = normalize(form)
                self.forms.append(key)
                self.form_entry.append(i)
                if i not in self.alias.setdefault(key, []):
                    self.alias[key].append(i)
                if key != derived:
                    self.primary.setdefault(key, set()).add(i)
        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3), min_df=1)
        self.matrix = self.vectorizer.fit_transform(self.forms).T.tocsr()

    def _faiss(self):
        import faiss

        path = self.folder / FAISS_FILE
        if path.is_file():
            return faiss.read_index(str(path))
        from distill.plugins.linker.embed import embed

        names = [strip_suffix(e.name) for e in self.catalog.entries]
        vectors = embed(names, batch_size=256, max_length=32)
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        self.folder.mkdir(parents=True, exist_ok=True)
        part = path.with_suffix(f".{os.getpid()}.tmp")
        faiss.write_index(index, str(part))
        os.replace(part, path)
        return index

    def _embed(self, mentions: list[str]) -> np.ndarray:
        """MiniLM vectors of mentions, cached: the same product names recur in every batch."""
        from distill.plugins.linker.embed import embed

        cache: dict[str, np.ndarray] = self.__dict__.setdefault("_vectors", {})
        unseen = list(dict.fromkeys(m for m in mentions if m not in cache))
        if unseen:
            if len(cache) > 100_000:
                cache.clear()
            cache.update(zip(unseen, embed(unseen, batch_size=256, max_length=32), strict=True))
        return np.stack([cache[m] for m in mentions])

    def generate(
        self,
        mentions: Sequence[str],
        k: int = 10,
        vectors: np.ndarray | None = None,
        semantic_after_alias: bool = True,
    ) -> list[list[Candidate]]:
        """Up to ~2k candidates per mention (k fuzzy + k semantic + alias hits), best first.

        `semantic_after_alias=False` skips the encoder for mentions an alias already names
        (the `match` scorer never needs it then; the trained scorer's features do)."""
        keys = [normalize(m) for m in mentions]
        found: list[dict[int, Candidate]] = [{} for _ in mentions]
        for key, bucket in zip(keys, found, strict=True):
            for i in self.alias.get(key, []):
                bucket.setdefault(i, Candidate(i)).alias = 1.0
                bucket[i].sources.add("alias")
        if mentions:
            scores = (self.vectorizer.transform(keys) @ self.matrix).tocsr()
            for r, (key, bucket) in enumerate(zip(keys, found, strict=True)):
                lo, hi = scores.indptr[r], scores.indptr[r + 1]
                data, cols = scores.data[lo:hi], scores.indices[lo:hi]
                n = min(len(data), 3 * k)
                top = np.argpartition(-data, n - 1)[:n] if n < len(data) else np.arange(len(data))
                picked: dict[int, float] = {}
                for j in top:
                    form = int(cols[j])
                    entry = int(self.form_entry_array[form])
                    fuzzy = fuzz.token_set_ratio(key, self.forms[form]) / 100
                    score = 0.5 * fuzzy + 0.5 * float(data[j])
                    picked[entry] = max(picked.get(entry, 0.0), score)
                for entry, score in sorted(picked.items(), key=lambda x: -x[1])[:k]:
                    bucket.setdefault(entry, Candidate(entry)).fuzzy = score
                    bucket[entry].sources.add("fuzzy")
        rows = [i for i, b in enumerate(found) if semantic_after_alias or not _has_alias(b)]
        if self.faiss is not None and rows:
            chosen = [mentions[i] for i in rows]
            vectors = self._embed(chosen) if vectors is None else vectors[rows]
            sims, ids = self.faiss.search(vectors, k)
            for bucket, row_ids, row_sims in zip((found[i] for i in rows), ids, sims, strict=True):
                for entry, sim in zip(row_ids, row_sims, strict=True):
                    if entry >= 0:
                        bucket.setdefault(int(entry), Candidate(int(entry))).semantic = float(sim)
                        bucket[int(entry)].sources.add("semantic")
        return [sorted(b.values(), key=lambda c: -(c.alias + c.fuzzy + c.semantic)) for b in found]


def recall_at_k(
    index: CandidateIndex, mentions: Sequence[str], gold: Sequence[str], k: int
) -> float:
    """Share of non-NIL mentions whose gold id is among the first k candidates."""
    pairs = [(m, g) for m, g in zip(mentions, gold, strict=True) if g]
    if not pairs:
        return 0.0
    candidates = index.generate([m for m, _ in pairs], k=k)
    ids = index.catalog.entries
    hits = sum(
        g in {ids[c.index].id for c in cands[:k]}
        for (_, g), cands in zip(pairs, candidates, strict=True)
    )
    return hits / len(pairs)


def _has_alias(bucket: dict[int, Candidate]) -> bool:
    return any(c.alias for c in bucket.values())
