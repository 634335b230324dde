"""The product-review demo: train small models from the demo labels, ingest, summarize, evaluate.

`distill demo` is the README's main job. It works offline on the corpus in
`examples/demo/`: 30 catalog products and 48 reviews labelled with entities, catalog
ids and aspect opinions. The first run trains the three demo models (NER, linker,
sentiment) from reviews r01–r36 plus template sentences built from the catalog, and
the chat guardrail's fact-checker from claims derived from those reviews
(`demo_claims`); reviews r37–r48 are held out, and accuracy is reported on them.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from spacy.tokens import Doc

from distill.config import CatalogColumns, Config, TaskConfig
from distill.errors import DistillError

DEMO_TASKS = ("ner", "linker", "sentiment")  # what the ingest pipeline runs
DEMO_MODELS = DEMO_TASKS
"""What the demo trains. Not the guardrail's fact-checker: the shipped MiniLM cross-encoder
scores 0.846 on the demo's held-out claims as it is, against 0.67 for a lexical checker
trained on the demo's own claims, and 0.848 after a 3-minute fine-tune on them (BENCHMARKS.md)."""
ASPECTS = ["battery", "camera", "screen", "performance", "design", "price", "software", "sound"]
WORKDIR = Path(".distill/demo")
"""Where `distill demo` puts its models, graph and index (relative to the working directory)."""
HELD_OUT = frozenset(f"r{number:02d}" for number in range(37, 49))
TEMPLATES = [
    "I bought the {name} last month.",
    "The {name} is my daily driver now.",
    "Thinking about getting a {name}, any thoughts?",
    "My {name} arrived yesterday and first impressions are good.",
    "Returned the {name} after a week.",
    "Compared to the {other}, the {name} feels faster.",
    "honestly the {name} is overrated",
    "Has anyone tried the {name} with the {other}?",
    "Upgraded from the {other} to the {name}.",
    "The {name} or the {other}: which one should I buy?",
]


def demo_dir() -> Path:
    """The demo package's own folder: its data files sit beside its code."""
    folder = Path(__file__).resolve().parent
    if not (folder / "reviews.jsonl").is_file():
        raise DistillError(
            f"demo corpus not found at {folder}; run `distill demo` from a clone of the repository"
        )
    return folder


def demo_config(base: Config, workdir: Path) -> Config:
    """The user's config with the demo's models, catalog and graph filled in where unset."""
    catalog = str(demo_dir() / "catalog.jsonl")
    defaults = {
        "ner": TaskConfig(model=str(workdir / "models" / "ner"), labels=["PRODUCT", "BRAND"]),
        "linker": TaskConfig(backend="trained", model=str(workdir / "models" / "linker")),
        "sentiment": TaskConfig(model=str(workdir / "models" / "sentiment"), labels=ASPECTS),
    }
    tasks = dict(base.tasks)
    for name, default in defaults.items():
        mine = tasks.get(name)
        if mine is None:
            tasks[name] = default
        else:
            tasks[name] = default.model_copy(update=mine.model_dump(exclude_unset=True))
    graph = base.graph.model_copy(update={"path": str(workdir / f"graph-{base.graph.store}")})
    index = base.index.model_copy(update={"path": str(workdir / "index")})  # beside the graph
    # the demo's own catalog, whatever the user's config names
    own = base.catalog.model_copy(update={"path": catalog, "columns": CatalogColumns()})
    return base.model_copy(update={"tasks": tasks, "graph": graph, "index": index, "catalog": own})


def gold_docs() -> list[Doc]:
    from distill.corpora.labelled import read

    return list(read(demo_dir() / "reviews.jsonl"))


def catalog_sentences(seed: int = 0) -> list[Doc]:
    """Template sentences naming every catalog product and alias: cheap extra NER/linker data."""
    import json

    from distill.doc import make_doc

    rng = random.Random(seed)
    entries = [json.loads(line) for line in (demo_dir() / "catalog.jsonl").read_text().splitlines()]
    names = [(e["id"], n) for e in entries for n in [e["name"], *e.get("aliases", [])]]
    docs = []
    for index, (kb_id, name) in enumerate(names):
        other_id, other = rng.choice(names)
        template = TEMPLATES[index % len(TEMPLATES)]
        if index % 4 == 3:
            name, other = name.lower(), other.lower()
        text = template.format(name=name, other=other)
        doc = make_doc(text, f"catalog-{index}")
        spans = []
        for mention, mention_id in ((name, kb_id), (other, other_id)):
            start = text.find(mention)
            if "{other}" in template or mention == name:
                span = doc.char_span(start, start + len(mention), label="PRODUCT", kb_id=mention_id)
                if span is not None and all(
                    span.start >= s.end or span.end <= s.start for s in spans
                ):
                    spans.append(span)
        doc.ents = sorted(spans, key=lambda s: s.start)
        docs.append(doc)
    return docs


def train_models(
    config: Config,
    *,
    force: bool = False,
    log: Any = print,
    tasks: tuple[str, ...] = DEMO_MODELS,
    settings: dict[str, dict[str, Any]] | None = None,
) -> dict[str, float]:
    """Train each demo model whose directory is missing; returns seconds per task trained."""
    from threadpoolctl import threadpool_limits

    from distill.model_card import split_dev
    from distill.workflow.train import fit, trainer_for

    gold = [doc for doc in gold_docs() if doc._.doc_id not in HELD_OUT]
    seconds: dict[str, float] = {}
    for task in tasks:
        model = config.task(task).model
        if not model:
            raise DistillError(f"set tasks.{task}.model: where to train the demo {task} model")
        out = Path(model)
        trainer = trainer_for(task)
        if (out / "distill-model.json").is_file() and not force:
            if getattr(trainer, "is_current", lambda _: True)(out):
                continue
            log(f"the demo {task} model was trained by an older distill: training it again")
        docs = _training_docs(task, gold)
        train_docs, dev_docs = split_dev(docs, fraction=0.15)
        chosen = trainer.CONFIG(**{**DEMO_SETTINGS.get(task, {}), **(settings or {}).get(task, {})})
        if task == "linker":
            chosen = chosen.model_copy(update={"catalog": config.catalog.path})
        log(f"training the demo {task} model on {len(train_docs)} examples …")
        started = time.perf_counter()
        labels = list(config.task(task).labels or [])
        # a thousand claims train fastest on one thread; OpenMP threads on a busy
        # machine made the fact-checker ~10x slower
        with threadpool_limits(1 if task == "factcheck" else None):
            fit(task, train_docs, dev_docs, out, labels, chosen)
        seconds[task] = time.perf_counter() - started
    return seconds


def _training_docs(task: str, gold: list[Doc]) -> list[Doc]:
    """Each demo model's examples, all from the reviews outside HELD_OUT."""
    if task == "factcheck":
        from distill.demo.claims import claim_docs

        return claim_docs([doc._.doc_id for doc in gold])
    return gold + catalog_sentences() if task in ("ner", "linker") else gold


DEMO_SETTINGS: dict[str, dict[str, Any]] = {
    "ner": {"max_epochs": 40, "patience": 10, "batch_words": 150},
    "sentiment": {
        "max_epochs": 25,
        "patience": 6,
        "batch_size": 8,
        "learn_rate": 1e-4,
        "head_learn_rate": 3e-3,
        "none_weight": 0.3,
    },
    # lexical features only, trains in seconds: what tests train on the demo's claims
    "factcheck": {"model": "lexical", "embeddings": False},
}


class TaskScore(BaseModel):
    task: str
    metric: str
    value: float | None
    n: int
    model: str | None = None


class RunSummary(BaseModel):
    backends: dict[str, str]
    documents: int
    written: int
    failed: int
    facts: int
    seconds: float
    docs_per_second: float
    accuracy: list[TaskScore] = Field(default_factory=list)


def evaluate_held_out(pipeline: Any, limit: int | None = None) -> list[TaskScore]:
    """Run the pipeline on the held-out reviews and score each task against the labels."""
    from distill.ingest.readers import SourceDocument

    gold = [doc for doc in gold_docs() if doc._.doc_id in HELD_OUT][:limit]
    sources = [SourceDocument(id=d._.doc_id, text=d.text, source="demo") for d in gold]
    predicted, _ = pipeline.annotate(sources)
    by_id = {doc._.doc_id: doc for doc in predicted}
    pairs = [(g, by_id[g._.doc_id]) for g in gold if g._.doc_id in by_id]
    gold_kept, predicted_kept = [g for g, _ in pairs], [p for _, p in pairs]
    scores = []
    for task, metric in (("ner", "f1"), ("linker", "accuracy"), ("sentiment", "f1")):
        if task not in pipeline.backends:
            continue
        result = pipeline.backends[task].task.score(gold_kept, predicted_kept)
        scores.append(
            TaskScore(task=task, metric=metric, value=getattr(result, metric), n=result.n)
        )
    return scores


def evaluate_factcheck(config: Config) -> TaskScore:
    """Accuracy of the configured trained fact-checker (by default the shipped MiniLM
    cross-encoder) on claims built from the held-out reviews only (their passages and their
    own opinion counts), over the three labels."""
    from distill.demo.claims import claim_docs
    from distill.plugins.factcheck.task import Verdicts
    from distill.plugins.factory import make_backend

    gold = claim_docs(HELD_OUT)
    backend = make_backend("factcheck", config, backend="trained")
    blank = [doc.copy() for doc in gold]
    for doc in blank:
        backend.task.write(doc, Verdicts())
    result = backend.task.score(gold, backend.predict(blank))
    model = config.task("factcheck").model or "the shipped MiniLM cross-encoder"
    return TaskScore(
        task="factcheck", metric="accuracy", value=result.accuracy, n=result.n, model=model
    )


__all__ = [
    "ASPECTS",
    "DEMO_MODELS",
    "DEMO_TASKS",
    "HELD_OUT",
    "RunSummary",
    "TaskScore",
    "catalog_sentences",
    "demo_config",
    "demo_dir",
    "evaluate_factcheck",
    "evaluate_held_out",
    "gold_docs",
    "train_models",
]
