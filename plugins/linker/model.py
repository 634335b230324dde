"""The trained linker: a gradient-boosted scorer over pair features, plus a NIL threshold.

Two modes share the features and the classifier:
- `pair` (Ditto/Magellan): is the left record the same product as the right one?
- `link`: which candidate catalog entry is the mention (or NIL, when even the best
  candidate scores under the threshold tuned on dev)?
"""

from __future__ import annotations

import json
import pickle
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from spacy.tokens import Doc

from distill.config import CatalogConfig
from distill.plugins.linker.candidates import Candidate, CandidateIndex, index_note
from distill.plugins.linker.catalog import (
    Catalog,
    CatalogEntry,
    normalize,
    settings_for,
    strip_suffix,
)
from distill.plugins.linker.features import FEATURE_NAMES, Side, batch_features, word_pair

MODEL_FILE = "linker.pkl"
INFO_FILE = "linker.json"
OLD_FEATURES = 27
"""The pair features of every model saved before their count was recorded."""
VECTOR_CACHE = 50_000
"""Texts whose vectors `pair_matrix` keeps (~75 MB); emptied when full."""
TITLE_KEYS = ("name", "title")
BRAND_KEYS = ("brand", "manufacturer")


def record_side(record: dict[str, str]) -> Side:
    """A Ditto record (attribute -> value) as a feature `Side`."""
    title = next((record[k] for k in TITLE_KEYS if record.get(k)), "")
    rest = [v for k, v in record.items() if k not in (*TITLE_KEYS, "price") and v]
    brand = next((record[k] for k in BRAND_KEYS if record.get(k)), None)
    try:
        price = float(record.get("price") or 0) or None
    except ValueError:
        price = None
    return Side(title=title or " ".join(rest)[:200], text=" ".join(rest), brand=brand, price=price)


def entry_side(entry: CatalogEntry) -> Side:
    """An entry by its names only: free attributes (spec blurbs) cost time, not accuracy."""
    return Side(title=strip_suffix(entry.name), text=" ".join(entry.names()), brand=entry.brand)


def mention_side(doc: Doc, start: int, end: int, brands: dict[str, str]) -> Side:
    """The mention and its sentence; a catalog brand named in the mention or context."""
    text = doc.text[start:end]
    context = doc.text[max(0, start - 100) : end + 100]
    return Side(title=text, text=context, brand=first_brand(normalize(context), brands))


def first_brand(normalized: str, brands: dict[str, str]) -> str | None:
    """The first catalog brand named in normalized text, a two-word one ("sony ericsson")
    before the one-word brand it starts or ends with."""
    words = normalized.split()
    for i, word in enumerate(words):
        pair = f"{word} {words[i + 1]}" if i + 1 < len(words) else None
        if pair in brands:
            return brands[pair]
        if word in brands:
            return brands[word]
    return None


@dataclass
class LinkerModel:
    mode: str
    classifier: Any = None
    threshold: float = 0.5
    idf: dict[str, float] = field(default_factory=dict)
    embeddings: bool = True
    vectors: str = "minilm"
    """Pair mode, with `embeddings`: the title vectors, `static` (`static_vectors.py`: a
    table lookup per wordpiece) or `minilm` (the encoder; models saved before the choice)."""
    top_k: int = 10
    catalog_path: str | None = None
    catalog_columns: dict[str, Any] | None = None
    tfidf: dict[str, Any] = field(default_factory=dict)
    """Pair mode: TF-IDF vectorizers fit on the training records ("char" titles, "word" text)."""
    words: Any = None
    """Pair mode: a logistic regression over shared / one-sided title words (`word_pair`);
    its probability is one more feature for the trees."""
    _index: CandidateIndex | None = field(default=None, repr=False)
    _sides: dict[int, Side] = field(default_factory=dict, repr=False)
    """Entry sides by catalog position, kept across batches (their tokens and codes too)."""
    _sides_info: dict[str, Any] = field(default_factory=dict, repr=False)
    _vectors: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    """Pair mode: MiniLM vectors by text, kept across batches (a catalog's records recur
    in many pairs, and embedding is most of the cost)."""
    _threads: Any = field(default=None, repr=False)
    """Pair mode: the `ThreadChooser` timing the embedding calls."""

    # persistence: the sklearn model pickled, the settings readable as JSON

    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with (directory / MODEL_FILE).open("wb") as handle:
            stored = {"classifier": self.classifier, "tfidf": self.tfidf, "words": self.words}
            pickle.dump(stored, handle)
        names = ("mode", "threshold", "embeddings", "vectors", "top_k", "catalog_path")
        info = {k: getattr(self, k) for k in (*names, "catalog_columns")}
        info["idf"] = self.idf
        info["features"] = len(FEATURE_NAMES)
        (directory / INFO_FILE).write_text(json.dumps(info), encoding="utf-8")

    @staticmethod
    def is_current(directory: str | Path) -> bool:
        """Whether the model in `directory` computes this version's pair features (`load`
        refuses it otherwise); a cheap check that reads only its info file."""
        path = Path(directory) / INFO_FILE
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return info.get("features", OLD_FEATURES) == len(FEATURE_NAMES)

    @classmethod
    def load(cls, directory: str | Path) -> LinkerModel:
        directory = Path(directory)
        info = json.loads((directory / INFO_FILE).read_text(encoding="utf-8"))
        features = info.pop("features", OLD_FEATURES)
        if features != len(FEATURE_NAMES):
            from distill.errors import PluginError

            raise PluginError(
                f"the linker model in {directory} was trained on {features} pair features and "
                f"this version computes {len(FEATURE_NAMES)}: train it again "
                f"(distill train linker ... --out {directory})"
            )
        with (directory / MODEL_FILE).open("rb") as handle:
            stored = pickle.load(handle)
        words = stored.get("words")
        return cls(classifier=stored["classifier"], tfidf=stored["tfidf"], words=words, **info)

    def fit_tfidf(self, sides: Sequence[Side]) -> None:
        """Rare character n-grams (model numbers) and words identify products."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)
        word = TfidfVectorizer(sublinear_tf=True)
        self.tfidf = {
            "char": char.fit([normalize(s.title) for s in sides]),
            "word": word.fit([normalize(s.all_text()) for s in sides]),
        }

    def tfidf_cosines(self, pairs: Sequence[tuple[Side, Side]]) -> np.ndarray:
        if not self.tfidf:
            return np.zeros((len(pairs), 0), dtype=np.float32)
        columns = []
        for kind in ("char", "word"):
            texts = [
                (normalize(a.title), normalize(b.title))
                if kind == "char"
                else (normalize(a.all_text()), normalize(b.all_text()))
                for a, b in pairs
            ]
            left = self.tfidf[kind].transform([x for x, _ in texts])
            right = self.tfidf[kind].transform([y for _, y in texts])
            columns.append(np.asarray(left.multiply(right).sum(axis=1)).ravel())
        return np.stack(columns, axis=1).astype(np.float32)

    def fit_words(
        self, pairs: Sequence[tuple[Side, Side]], y: np.ndarray, folds: int
    ) -> np.ndarray:
        """Fit the word-pair model; returns its out-of-fold probabilities on `pairs`, so
        the trees learn from it as it will be on unseen pairs, not on its own training."""
        from sklearn.feature_extraction import DictVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold, cross_val_predict
        from sklearn.pipeline import make_pipeline

        words = make_pipeline(DictVectorizer(), LogisticRegression(C=1.0, max_iter=3000))
        rows = [word_pair(a, b) for a, b in pairs]
        split = StratifiedKFold(folds, shuffle=True, random_state=0)
        oof = cross_val_predict(words, rows, y, cv=split, method="predict_proba")[:, 1]
        self.words = words.fit(rows, y)
        return oof.astype(np.float32)

    def word_column(self, pairs: Sequence[tuple[Side, Side]]) -> np.ndarray:
        if self.words is None:
            return np.zeros((len(pairs), 0), dtype=np.float32)
        probs = self.words.predict_proba([word_pair(a, b) for a, b in pairs])[:, 1]
        return probs.astype(np.float32).reshape(len(pairs), 1)

    # the catalog (link mode)

    def index(self, catalog: str | CatalogConfig | None = None) -> CandidateIndex:
        """The candidate index of `catalog` (the configured one, or a path), else the
        catalog the model was trained with."""
        settings, cache = self.catalog_settings(catalog)
        if not self._has_index(settings):
            loaded = Catalog.from_config(settings)
            self._index = CandidateIndex(loaded, semantic=self.embeddings, cache=cache)
            self._sides, self._sides_info = {}, {"key": settings.model_dump_json()}
        assert self._index is not None
        return self._index

    def _has_index(self, settings: CatalogConfig) -> bool:
        """Whether the loaded index is `settings`' catalog's."""
        return self._index is not None and self._sides_info.get("key") == (
            settings.model_dump_json()
        )

    def pending_index(self, catalog: str | CatalogConfig | None = None) -> str | None:
        """What `index(catalog)` would build first (for a status line), or None."""
        settings, cache = self.catalog_settings(catalog)
        if self._has_index(settings):
            return None
        return index_note(Catalog.from_config(settings), self.embeddings, cache)

    def catalog_settings(
        self, catalog: str | CatalogConfig | None = None
    ) -> tuple[CatalogConfig, str | None]:
        """The catalog to link against and where its index is cached (a configured
        catalog's `cache`; the user cache for a path)."""
        if isinstance(catalog, CatalogConfig):
            settings: CatalogConfig | None = catalog
        elif catalog or self.catalog_path:
            path = str(catalog or self.catalog_path)
            own = not catalog or Path(path).resolve() == Path(self.catalog_path or "").resolve()
            settings = settings_for(path, self.catalog_columns if own else None)
        else:
            settings = None
        if settings is None:
            from distill.errors import PluginError

            raise PluginError(
                'the linker needs a catalog: set [catalog] path = "products.jsonl" in '
                'distill.toml (training: --set catalog=FILE, or a "catalog" field in the data)'
            )
        return settings, settings.cache if isinstance(catalog, CatalogConfig) else None

    # features

    def pair_matrix(self, pairs: Sequence[tuple[Side, Side]]) -> np.ndarray:
        """Features of record pairs. Titles only are embedded, each text once (cached
        across batches): by static vectors, or by MiniLM (bfloat16 where `use_bf16()`)
        (embedding is then most of the time). The whole-record cosine (`emb_all`, left 0)
        did not add to the title's on the Ditto sets (valid F1 within noise, twice the
        texts to embed)."""
        emb_title = None
        if self.embeddings and pairs:
            vectors = self._vectors
            wanted = {s.title for p in pairs for s in p}
            if len(vectors) + len(wanted) > VECTOR_CACHE:
                vectors.clear()
            texts = sorted(wanted - vectors.keys())
            if self.vectors == "static":
                from distill.plugins.linker.static_vectors import title_vectors

                vectors.update(zip(texts, title_vectors(texts), strict=True))
            else:
                vectors.update(zip(texts, self._embed(texts), strict=True))
            emb_title = [float(vectors[a.title] @ vectors[b.title]) for a, b in pairs]
        base = np.asarray(batch_features(pairs, self.idf, emb_title), dtype=np.float32)
        columns = [base.reshape(len(pairs), -1), self.tfidf_cosines(pairs), self.word_column(pairs)]
        return np.hstack(columns)

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        """MiniLM vectors on all of torch's threads or on one, whichever embeds faster now
        (`ThreadChooser`): while another job holds a core, both threads wait for each
        other at every layer and embedding on two was measured 3-4x slower than on one."""
        import torch

        from distill.llm.parallel import ThreadChooser
        from distill.plugins.linker.embed import embed, use_bf16

        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        most = torch.get_num_threads()
        if self._threads is None:
            self._threads = ThreadChooser(most)
        threads = self._threads.next()
        started = time.perf_counter()
        torch.set_num_threads(threads)
        try:
            vectors = embed(texts, bf16=use_bf16())
        finally:
            torch.set_num_threads(most)
        self._threads.record(threads, len(texts), time.perf_counter() - started)
        return vectors

    def link_rows(
        self, docs: Sequence[Doc], catalog: str | CatalogConfig | None = None
    ) -> list[tuple[Doc, Any, list[Candidate], np.ndarray]]:
        """For every mention: (doc, ent, candidates, feature rows)."""
        index = self.index(catalog)
        entries = index.catalog.entries
        if "brands" not in self._sides_info:
            self._sides_info["brands"] = {normalize(e.brand): e.brand for e in entries if e.brand}
        brands = self._sides_info["brands"]
        mentions = [(doc, ent) for doc in docs for ent in doc.ents]
        if not mentions:
            return []
        texts = [doc.text[ent.start_char : ent.end_char] for doc, ent in mentions]
        candidates = index.generate(texts, k=self.top_k)
        pairs, extra, owners = [], [], []
        for m, ((doc, ent), cands) in enumerate(zip(mentions, candidates, strict=True)):
            side = mention_side(doc, ent.start_char, ent.end_char, brands)
            for rank, c in enumerate(cands):
                if c.index not in self._sides:
                    self._sides[c.index] = entry_side(entries[c.index])
                pairs.append((side, self._sides[c.index]))
                extra.append([c.alias, c.fuzzy, c.semantic, float(rank), float(len(cands))])
                owners.append(m)
        matrix = self.pair_matrix_link(pairs)
        full = np.hstack([matrix, np.asarray(extra, dtype=np.float32).reshape(len(pairs), 5)])
        rows: list[list[int]] = [[] for _ in mentions]
        for i, m in enumerate(owners):
            rows[m].append(i)
        return [
            (doc, ent, cands, full[rows[m]])
            for m, ((doc, ent), cands) in enumerate(zip(mentions, candidates, strict=True))
        ]

    def pair_matrix_link(self, pairs: Sequence[tuple[Side, Side]]) -> np.ndarray:
        """Link mode skips text embeddings of whole contexts: the semantic retriever's
        score already carries the meaning, and embedding costs most of the time."""
        return np.asarray(batch_features(pairs, self.idf), dtype=np.float32).reshape(len(pairs), -1)

    def probabilities(self, matrix: np.ndarray) -> np.ndarray:
        """One call for a whole batch, on one thread: per-call OpenMP start-up costs more
        than the trees themselves on a small batch, and a busy CPU makes it worse."""
        if len(matrix) == 0:
            return np.zeros(0)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            return self.classifier.predict_proba(matrix)[:, 1]
