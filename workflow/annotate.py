"""The teacher pre-annotates raw text: `distill annotate TASK --data raw.jsonl --out s.jsonl`.

Sources (`--source prompt,gazetteer,patterns:FILE,model:DIR`):

- `prompt`: the prompt backend on the configured LLM (any provider; response-cached,
  `llm.max_concurrency` parallel requests for remote ones);
- `model:DIR`: a trained model directory (a first-round student);
- `patterns:FILE`: spaCy `EntityRuler` patterns, one JSON object per line;
- any other name: that registered backend of the task (the catalog `gazetteer`, a
  plugin's `rules`), skipped with a note when nothing registers it.

Several sources are combined per unit (a span, a mention's catalog id, a (product,
aspect) polarity) by `label_model`: accuracy-weighted votes, accuracies estimated on a
labelled part (`gold`) or by EM. Partial sources (patterns, gazetteer) abstain where they
do not match; complete ones (prompt, a model) vote "nothing here" on what they did not mark.

Output: Prodigy-compatible JSONL, one line per item, appended and fsynced batch by batch
(`resume=True` skips items already in `out`): `text`, `tokens`, `spans` (each with its
`confidence` and the `sources` that proposed it), `opinions` for aspect sentiment,
`answer` (`ignore` when every source failed), and `meta` with each source's vote and
estimated accuracy, the item's confidence and conflict count.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from spacy.tokens import Doc, Span

from distill.config import Config
from distill.corpora.errors import CorpusError
from distill.corpora.lines import numbered_lines
from distill.corpora.prodigy import ProdigyRecord, span_of, to_doc, tokens_of
from distill.errors import DistillError, PluginError
from distill.spec import TaskSpec
from distill.workflow.label_model import (
    NONE,
    PRIOR,
    Unit,
    accuracy_by_em,
    accuracy_from_gold,
    decide,
)

PARTIAL = ("gazetteer", "patterns")
"""Sources that only vote where they match: not matching is not evidence of nothing."""
Progress = Callable[[int, int, int], None]
"""Called after each batch with (items done, items to do, items failed)."""


class AnnotateError(DistillError):
    """Bad `annotate` arguments or input; the message names the file and the fix."""


# ---------------------------------------------------------------- units: what sources vote on


class Units(ABC):
    """How a task's output splits into votable units, and back into a record's fields."""

    def __init__(self, spec: TaskSpec) -> None:
        self.spec = spec

    @property
    def k(self) -> int:
        """Number of possible values of a unit (for the label model)."""
        return len(self.spec.labels) + 1

    @abstractmethod
    def votes(self, doc: Doc) -> dict[Hashable, Hashable]:
        """key -> value of what an annotated doc says."""

    @abstractmethod
    def fields(self, doc: Doc, decided: list[tuple[Hashable, Hashable, float, list[str]]]):
        """The record's annotation fields from (key, value, probability, sources) decisions."""

    def show(self, votes: dict[Hashable, Hashable]) -> list[Any]:
        """A source's vote as JSON, for `meta.sources`."""
        return [[*_as_list(key), value] for key, value in votes.items()]


class SpanUnits(Units):
    """NER: a unit per character span; the value is the label."""

    def votes(self, doc: Doc) -> dict[Hashable, Hashable]:
        """Spans with the task's labels only (a model may know others: they are not votes)."""
        labels = set(self.spec.labels)
        return {
            (e.start_char, e.end_char): e.label_
            for e in doc.ents
            if not labels or e.label_ in labels
        }

    def fields(self, doc, decided):
        taken: list[tuple[int, int]] = []
        spans = []
        for (start, end), label, prob, sources in sorted(
            decided, key=lambda d: (-d[2], d[0][0] - d[0][1])
        ):
            if label == NONE or any(start < e and s < end for s, e in taken):
                continue
            taken.append((start, end))
            spans.append(
                span_of(doc, start, end, str(label), confidence=round(prob, 3))
                | {"sources": sources}
            )
        return {"spans": sorted(spans, key=lambda s: s["start"])}

    def show(self, votes):
        return [{"start": s, "end": e, "label": label} for (s, e), label in votes.items()]


class LinkUnits(Units):
    """Linking: a unit per input mention; the value is its catalog id (or NIL)."""

    NIL = "NIL"

    @property
    def k(self) -> int:
        return 10  # open set of catalog ids: a few plausible candidates per mention

    def votes(self, doc: Doc) -> dict[Hashable, Hashable]:
        return {(e.start_char, e.end_char): e.kb_id_ or self.NIL for e in doc.ents}

    def fields(self, doc, decided):
        chosen = {key: (value, prob, sources) for key, value, prob, sources in decided}
        spans = []
        for ent in doc.ents:
            value, prob, sources = chosen.get((ent.start_char, ent.end_char), (NONE, 0.0, []))
            kb_id = None if value in (NONE, self.NIL) else str(value)
            spans.append(
                span_of(doc, ent.start_char, ent.end_char, ent.label_)
                | {"kb_id": kb_id, "confidence": round(prob, 3), "sources": sources}
            )
        return {"spans": spans}

    def show(self, votes):
        return [{"start": s, "end": e, "kb_id": v} for (s, e), v in votes.items()]


class OpinionUnits(Units):
    """Aspect sentiment: a unit per (product, aspect[, term span]); the value is the polarity."""

    @property
    def k(self) -> int:
        return 4  # positive, negative, neutral, none

    def votes(self, doc: Doc) -> dict[Hashable, Hashable]:
        return {
            (o.target, o.aspect, o.term, o.start, o.end): o.polarity for o in doc._.opinions or []
        }

    def fields(self, doc, decided):
        opinions = [
            {
                "target": target,
                "aspect": aspect,
                "polarity": value,
                "term": term,
                "start": start,
                "end": end,
                "confidence": round(prob, 3),
                "sources": sources,
            }
            for (target, aspect, term, start, end), value, prob, sources in decided
            if value != NONE
        ]
        spans = [
            span_of(doc, e.start_char, e.end_char, e.label_, kb_id=e.kb_id_ or None)
            for e in doc.ents
        ]
        return {"spans": spans, "opinions": opinions}

    def show(self, votes):
        return [
            {"target": t, "aspect": a, "term": term, "polarity": v}
            for (t, a, term, _, _), v in votes.items()
        ]


class WholeUnits(Units):
    """Any other task: the whole output is one unit, voted on by exact match."""

    @property
    def k(self) -> int:
        return 2

    def votes(self, doc: Doc) -> dict[Hashable, Hashable]:
        return {"output": self.spec.read(doc).model_dump_json()}

    def fields(self, doc, decided):
        outputs = [json.loads(str(v)) for _, v, _, _ in decided if v != NONE]
        return {"output": outputs[0] if outputs else None}

    def show(self, votes):
        return [json.loads(str(v)) for v in votes.values()]


def units_for(spec: TaskSpec) -> Units:
    kind = {"ner": SpanUnits, "linker": LinkUnits, "sentiment": OpinionUnits}
    return kind.get(spec.name, WholeUnits)(spec)


def _as_list(key: Hashable) -> list[Any]:
    return list(key) if isinstance(key, tuple) else [key]


# ---------------------------------------------------------------- sources


class Source(ABC):
    """One annotator. `run` returns, per doc, the annotated copy or why it failed."""

    def __init__(self, name: str, spec: TaskSpec, complete: bool) -> None:
        self.name = name
        self.spec = spec
        self.complete = complete
        self.seconds = 0.0
        self.words = 0

    def run(self, docs: Sequence[Doc]) -> list[Doc | str]:
        started = time.perf_counter()
        try:
            return self._run([_cleared(self.spec, doc) for doc in docs])
        finally:
            self.seconds += time.perf_counter() - started
            self.words += sum(len(doc) for doc in docs)

    @abstractmethod
    def _run(self, docs: list[Doc]) -> list[Doc | str]: ...

    def describe(self) -> str:
        return self.name


class BackendSource(Source):
    """A registered backend (prompt, trained, gazetteer, a plugin's) predicting in batches."""

    def __init__(self, name: str, spec: TaskSpec, backend: Any, complete: bool) -> None:
        super().__init__(name, spec, complete)
        self.backend = backend

    def _run(self, docs: list[Doc]) -> list[Doc | str]:
        try:
            self.backend.predict(docs)
        except DistillError:
            raise
        except Exception:  # pin a batch failure on its documents, one by one
            return [self._one(doc) for doc in docs]
        return [self._outcome(doc) for doc in docs]

    def _one(self, doc: Doc) -> Doc | str:
        try:
            self.backend.predict([doc])
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        return self._outcome(doc)

    def _outcome(self, doc: Doc) -> Doc | str:
        error = ((doc._.meta or {}).get("errors") or {}).get(self.spec.name)
        return str(error) if error else doc

    def describe(self) -> str:
        return f"{self.name} ({self.backend.model_name()})"


class PatternSource(Source):
    """spaCy EntityRuler patterns (`{"label", "pattern", "id"?}` per line); `id` is a catalog id."""

    def __init__(self, path: Path, spec: TaskSpec) -> None:
        import spacy

        if spec.name not in ("ner", "linker"):
            raise AnnotateError(f"patterns:{path} annotates spans; task {spec.name!r} has none")
        super().__init__(f"patterns:{path.name}", spec, complete=False)
        self.nlp = spacy.blank("en")
        ruler = self.nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
        try:
            ruler.add_patterns(read_patterns(path))  # type: ignore[attr-defined]
        except ValueError as exc:  # spaCy rejects a malformed token pattern
            raise AnnotateError(f"{path}: invalid pattern: {exc}") from None

    def _run(self, docs: list[Doc]) -> list[Doc | str]:
        for doc in docs:
            copy = Doc(
                self.nlp.vocab,
                words=[t.text for t in doc],
                spaces=[bool(t.whitespace_) for t in doc],
            )
            matches = {(e.start, e.end): e for e in self.nlp.get_pipe("entity_ruler")(copy).ents}
            if self.spec.name == "ner":
                doc.ents = [
                    Span(doc, s, e, label=m.label_, kb_id=m.ent_id_)
                    for (s, e), m in matches.items()
                ]
            else:  # linker: only the input mentions a pattern names get a vote
                doc.ents = [
                    Span(doc, ent.start, ent.end, label=ent.label_, kb_id=matches[key].ent_id_)
                    for ent in doc.ents
                    if (key := (ent.start, ent.end)) in matches and matches[key].ent_id_
                ]
        return list(docs)


def read_patterns(path: Path) -> list[dict[str, Any]]:
    """EntityRuler patterns, checked line by line (the error names the line)."""
    patterns = []
    try:
        lines = list(numbered_lines(path))
    except CorpusError as exc:
        raise AnnotateError(str(exc)) from None
    for number, line in lines:
        try:
            pattern = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AnnotateError(f"{path}:{number}: not valid JSON: {exc.msg}") from None
        if not (
            isinstance(pattern, dict)
            and isinstance(pattern.get("label"), str)
            and isinstance(pattern.get("pattern"), str | list)
        ):
            raise AnnotateError(
                f'{path}:{number}: a pattern is {{"label": "DISH", "pattern": "pad thai"}} '
                'or a token pattern list [{"LOWER": "pad"}, …]'
            )
        patterns.append(pattern)
    if not patterns:
        raise AnnotateError(f"{path}: no patterns")
    return patterns


def source_names(names: str | Sequence[str]) -> list[str]:
    """`--source a,b:ARG` as a list of names."""
    if isinstance(names, str):
        return [n.strip() for n in names.split(",") if n.strip()]
    return list(names)


def make_sources(
    task: str, names: str | Sequence[str], config: Config
) -> tuple[list[Source], list[str]]:
    """The sources named by `--source`, and notes on those skipped (not installed)."""
    from distill.plugins import make_backend
    from distill.registry import registry

    names = source_names(names)
    if not names:
        raise AnnotateError("no source given: --source prompt (or model:DIR, patterns:FILE, …)")
    from distill.plugins import make_task

    spec = make_task(task, config)
    sources: list[Source] = []
    notes: list[str] = []
    for name in names:
        kind, _, arg = name.partition(":")
        if kind == "patterns":
            sources.append(PatternSource(_existing(arg, "patterns"), spec))
            continue
        if kind == "model":
            path = _existing(arg, "model")
            local = config.with_task(task, model=str(path))
            backend = make_backend(task, local, backend="trained")
            sources.append(BackendSource(f"model:{path.name}", spec, backend, complete=True))
            continue
        if arg:
            raise AnnotateError(
                f"unknown source {name!r}: use prompt, NAME, model:DIR or patterns:FILE"
            )
        if name not in registry().backend_names(task):
            if name in PARTIAL:
                notes.append(f"source {name!r} skipped: no {name} backend for {task} is installed")
                continue
            known = ", ".join(registry().backend_names(task))
            raise PluginError(f"task {task!r} has no backend {name!r}; available: {known}")
        try:
            backend = make_backend(task, config, backend=name)
        except PluginError as exc:
            if name not in PARTIAL:
                raise
            notes.append(f"source {name!r} skipped: {exc}")  # e.g. no catalog configured
            continue
        if hasattr(backend, "max_concurrency"):
            backend.max_concurrency = config.llm.max_concurrency  # bounded parallel requests
        sources.append(BackendSource(name, spec, backend, complete=name not in PARTIAL))
    if not sources:
        raise AnnotateError("no usable source: " + "; ".join(notes))
    return sources, notes


def model_labels(
    task: str, names: str | Sequence[str], config: Config
) -> tuple[Config, str | None]:
    """The labels of the `model:DIR` sources' cards when the configured labels miss some.

    Without this a model trained on DISH / INGREDIENT / EQUIPMENT would vote only on the
    config's labels (products and brands by default) and every span it finds would be
    dropped; `--labels` still decides when given. Returns the config and a note saying
    what was chosen (None when nothing changed)."""
    from distill.model_card import load_card
    from distill.plugins import make_task

    found: list[str] = []
    for name in source_names(names):
        kind, _, arg = name.partition(":")
        if kind == "model" and arg:
            card = load_card(_existing(arg, "model"), task)
            found += [label for label in card.labels if label not in found]
    configured = set(make_task(task, config).labels)
    if not found or set(found) <= configured:
        return config, None
    note = f"labels {', '.join(found)} from the model's card (pass --labels to choose others)"
    return config.with_task(task, labels=found), note


def _existing(path: str, kind: str) -> Path:
    example, what = (
        ("patterns.jsonl", "file") if kind == "patterns" else ("models/ner", "directory")
    )
    if not path:
        raise AnnotateError(f"{kind}: needs a path, e.g. {kind}:{example}")
    found = Path(path)
    if not found.exists():
        raise AnnotateError(f"{kind}:{path}: no such {what}")
    return found


def _cleared(spec: TaskSpec, doc: Doc) -> Doc:
    """A copy holding the input only (mentions to link stay; the task's output is emptied)."""
    copy = doc.copy()
    spec.write(copy, spec.output_schema())
    return copy


# ---------------------------------------------------------------- reading the raw items


class Item(BaseModel):
    id: str
    line: int
    record: dict[str, Any]


def item_id(record: dict[str, Any]) -> str:
    """The given `id` (or `meta.id`), else a hash of the text: stable across runs, for --resume."""
    given = record.get("id") or (record.get("meta") or {}).get("id")
    return str(given) if given else hashlib.sha1(record["text"].encode()).hexdigest()[:16]


def read_items(path: Path) -> tuple[list[Item], list[str]]:
    """Items of a JSONL file (`text`, optional `id`, `meta`, input `spans`); bad lines reported."""
    items: list[Item] = []
    problems: list[str] = []
    seen: set[str] = set()
    try:
        lines = list(numbered_lines(path))
    except CorpusError as exc:
        raise AnnotateError(str(exc)) from None
    for number, line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{path}:{number}: skipped: not valid JSON ({exc.msg})")
            continue
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            problems.append(f"{path}:{number}: skipped: needs a string 'text'")
            continue
        if not record["text"].strip():
            problems.append(f"{path}:{number}: skipped: empty text")
            continue
        identity = item_id(record)
        if identity in seen:
            problems.append(f"{path}:{number}: skipped: duplicate of item {identity}")
            continue
        seen.add(identity)
        items.append(Item(id=identity, line=number, record=record))
    return items, problems


def input_doc(item: Item) -> Doc:
    """The item as a Doc, keeping input spans (mentions a linker needs) and the meta."""
    raw = {k: v for k, v in item.record.items() if k in ("text", "spans", "tokens", "meta")}
    try:
        record = ProdigyRecord.model_validate(raw)
    except Exception:
        record = ProdigyRecord(text=item.record["text"], meta=item.record.get("meta") or {})
    record.spans = [s for s in record.spans if 0 <= s.start < s.end <= len(record.text)]
    doc = to_doc(record, item.id)
    doc._.doc_id = item.id
    return doc


# ---------------------------------------------------------------- the run


class SourceStats(BaseModel):
    """Per-source figures of one run (`distill annotate` prints them as a table)."""

    name: str
    model: str
    complete: bool
    items: int = 0
    failed: int = 0
    coverage: float | None = None
    """Share of items where the source marked anything."""
    votes: int = 0
    """Non-empty votes (spans, links, opinions) cast."""
    agreement: float | None = None
    """Share of its votes (including "nothing here") that the combined decision kept."""
    conflicts: int = 0
    """Units where it disagreed with another source."""
    accuracy: float | None = None
    accuracy_n: int = 0
    """Accuracy estimated on the labelled part (n votes scored), else by EM (n = 0)."""
    words_per_second: float | None = None


@dataclass
class _Tally:
    items: int = 0
    failed: int = 0
    marked: int = 0
    votes: int = 0
    agreed: int = 0
    cast: int = 0
    conflicts: int = 0


class AnnotateReport(BaseModel):
    task: str
    out: str
    items: int
    written: int
    already_done: int
    failed: int
    seconds: float
    items_per_second: float | None
    sources: list[SourceStats]
    notes: list[str]


def annotate(
    task: str,
    data: Path,
    out: Path,
    sources: str | Sequence[str],
    config: Config | None = None,
    *,
    gold: Path | None = None,
    gold_format: str | None = None,
    limit: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    sort: Literal["input", "uncertain"] = "input",
    batch_size: int | None = None,
    progress: Progress | None = None,
    built: tuple[list[Source], list[str]] | None = None,
    read: tuple[list[Item], list[str]] | None = None,
) -> AnnotateReport:
    """Pre-annotate `data` into `out` with the combined sources; see the module docstring.

    `built` passes sources made by `make_sources` (tests, benchmarks reusing loaded models);
    `read` the items of `data` already read (the CLI reads what `distill ingest` reads)."""
    from distill.plugins import make_task

    config = config or Config()
    spec = make_task(task, config)
    units = units_for(spec)
    runners, notes = built or make_sources(task, sources, config)
    items, problems = read or read_items(Path(data))
    done = _prepare_out(Path(out), resume, overwrite)
    todo = [item for item in items if item.id not in done]
    todo = todo[:limit] if limit is not None else todo
    names = [s.name for s in runners]
    tallies = {name: _Tally() for name in names}

    measured: dict[str, tuple[float, int]] = {}
    accuracy = dict.fromkeys(names, PRIOR)
    if gold is not None:
        measured = _gold_accuracy(units, runners, gold, gold_format)
        accuracy = {name: value for name, (value, _) in measured.items()}
        for source in runners:
            source.seconds, source.words = 0.0, 0
    seen: list[Unit] = []
    size = batch_size or max(8, 2 * config.llm.max_concurrency)
    started = time.perf_counter()
    written = failed = 0
    if progress:
        progress(0, len(todo), 0)
    with Path(out).open("a", encoding="utf-8") as sink:
        for batch in _chunks(todo, size):
            docs = [input_doc(item) for item in batch]
            outcomes = {s.name: s.run(docs) for s in runners}
            found = [
                _units_of(units, runners, doc, item, [outcomes[n][i] for n in names])
                for i, (item, doc) in enumerate(zip(batch, docs, strict=True))
            ]
            seen.extend(unit for group in found for unit in group)
            if gold is None:
                accuracy = accuracy_by_em(seen, names, units.k)
            for i, (item, doc) in enumerate(zip(batch, docs, strict=True)):
                results = dict(zip(names, [outcomes[n][i] for n in names], strict=True))
                record = _record(spec, units, item, doc, found[i], results, accuracy, tallies)
                sink.write(json.dumps(record, ensure_ascii=False) + "\n")
                written += 1
                failed += record["answer"] == "ignore"
            sink.flush()
            os.fsync(sink.fileno())
            if progress:
                progress(written, len(todo), failed)
    seconds = time.perf_counter() - started
    if sort == "uncertain":
        sort_uncertain(Path(out))
    rows = []
    for source in runners:
        tally = tallies[source.name]
        rows.append(
            SourceStats(
                name=source.name,
                model=source.describe(),
                complete=source.complete,
                items=tally.items,
                failed=tally.failed,
                coverage=round(tally.marked / tally.items, 3) if tally.items else None,
                votes=tally.votes,
                agreement=round(tally.agreed / tally.cast, 3) if tally.cast else None,
                conflicts=tally.conflicts,
                accuracy=round(accuracy[source.name], 3) if measured or len(runners) > 1 else None,
                accuracy_n=measured.get(source.name, (0.0, 0))[1],
                words_per_second=round(source.words / source.seconds, 1)
                if source.seconds > 0
                else None,
            )
        )
    return AnnotateReport(
        task=task,
        out=str(out),
        items=len(items),
        written=written,
        already_done=len(done),
        failed=failed,
        seconds=round(seconds, 2),
        items_per_second=round(written / seconds, 3) if seconds > 0 and written else None,
        sources=rows,
        notes=[*notes, *problems],
    )


def _units_of(
    units: Units, runners: list[Source], doc: Doc, item_id: str, outcomes: list[Doc | str]
) -> list[Unit]:
    """Every unit any source voted on in this item, with each source's vote or abstention."""
    votes = {
        s.name: units.votes(o) for s, o in zip(runners, outcomes, strict=True) if isinstance(o, Doc)
    }
    found = []
    for key in dict.fromkeys(key for vote in votes.values() for key in vote):
        unit = Unit(item=item_id, key=key)
        for source in runners:
            if source.name not in votes:
                continue  # failed on this item: abstains
            if key in votes[source.name]:
                unit.votes[source.name] = votes[source.name][key]
            elif source.complete:
                unit.votes[source.name] = NONE
        found.append(unit)
    return found


def _record(
    spec: TaskSpec,
    units: Units,
    item: Item,
    doc: Doc,
    item_units: list[Unit],
    outcomes: dict[str, Doc | str],
    accuracy: dict[str, float],
    tallies: dict[str, _Tally],
) -> dict[str, Any]:
    """The output line of one item; updates the per-source tallies."""
    decided = []
    confidence = 1.0
    for unit in item_units:
        value, prob = decide(unit, accuracy, units.k)
        proposers = sorted(s for s, v in unit.votes.items() if v == value and v != NONE)
        decided.append((unit.key, value, prob, proposers))
        confidence = min(confidence, prob)
        for source, vote in unit.votes.items():
            tally = tallies[source]
            tally.cast += 1
            tally.agreed += vote == value
            tally.conflicts += unit.disputed
    ok = any(isinstance(outcome, Doc) for outcome in outcomes.values())
    votes: dict[str, Any] = {}
    for name, outcome in outcomes.items():
        tally = tallies[name]
        tally.items += 1
        if not isinstance(outcome, Doc):
            tally.failed += 1
            votes[name] = {"failed": outcome}
            continue
        vote = units.votes(outcome)
        tally.votes += len(vote)
        tally.marked += bool(vote)
        votes[name] = {"vote": units.show(vote), "accuracy": round(accuracy[name], 3)}
    meta = {
        **(item.record.get("meta") or {}),
        "id": item.id,
        "task": spec.name,
        "labels": list(spec.labels),
        "confidence": round(confidence, 3) if ok else 0.0,
        "conflicts": sum(unit.disputed for unit in item_units),
        "sources": votes,
    }
    record: dict[str, Any] = {"text": doc.text, "tokens": tokens_of(doc)}
    record |= units.fields(doc, decided) if ok else {"spans": []}
    return record | {"answer": "accept" if ok else "ignore", "meta": meta}


def _gold_accuracy(
    units: Units, runners: list[Source], gold: Path, gold_format: str | None
) -> dict[str, tuple[float, int]]:
    """Run every source on the labelled docs; (smoothed accuracy, votes scored) per source."""
    from distill.corpora import read_corpus
    from distill.workflow.train import detect_format

    docs = read_corpus(gold, gold_format or detect_format(gold), units.spec.name)
    truth: dict[tuple[str, Hashable], Hashable] = {}
    labelled: list[Unit] = []
    outcomes = {s.name: s.run(docs) for s in runners}
    for n, doc in enumerate(docs):
        identity = f"gold-{n}"
        results = [outcomes[s.name][n] for s in runners]
        found = _units_of(units, runners, doc, identity, results)
        for key, value in units.votes(doc).items():
            truth[(identity, key)] = value
            if not any(unit.key == key for unit in found):  # missed by every source
                unit = Unit(item=identity, key=key)
                for source, result in zip(runners, results, strict=True):
                    if source.complete and isinstance(result, Doc):
                        unit.votes[source.name] = NONE
                found.append(unit)
        labelled.extend(found)
    return accuracy_from_gold(labelled, truth, [s.name for s in runners])


def _prepare_out(out: Path, resume: bool, overwrite: bool) -> set[str]:
    """Ids already in `out` (resume), after cutting a line a killed run left half-written."""
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        return set()
    if overwrite:
        out.unlink()
        return set()
    if not resume:
        raise AnnotateError(f"{out} exists: pass --resume to continue it, or --overwrite")
    data = out.read_bytes()
    if data and not data.endswith(b"\n"):
        with out.open("r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)
    done = set()
    for line in out.read_text(encoding="utf-8").splitlines():
        if line.strip():
            done.add(str(json.loads(line).get("meta", {}).get("id")))
    return done


def sort_uncertain(path: Path) -> None:
    """Least confident, then most disputed, first; failed items last. Atomic rewrite."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def key(line: str) -> tuple[int, float, int]:
        record = json.loads(line)
        meta = record.get("meta") or {}
        return (
            record.get("answer") == "ignore",
            meta.get("confidence", 1.0),
            -meta.get("conflicts", 0),
        )

    lines.sort(key=key)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in lines))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _chunks(items: list[Item], size: int) -> Iterator[list[Item]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


__all__ = [
    "AnnotateError",
    "AnnotateReport",
    "SourceStats",
    "annotate",
    "make_sources",
    "read_items",
    "read_patterns",
    "sort_uncertain",
    "units_for",
]
