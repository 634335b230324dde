"""`distill train <task>`: train the task's `trained` backend from labelled data, natively read."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer
from distill.cli.state import State
from distill.errors import ConfigError

TRAINERS = {
    "ner": "distill.plugins.ner.train",
    "sentiment": "distill.plugins.sentiment.train",
}
"""Each module exposes `train(train_docs, dev_docs, out, labels, config, progress)` and a
pydantic `CONFIG` class; the trained backend's weights and card go to OUT."""


def train(
    ctx: typer.Context,
    task: Annotated[str, typer.Argument(help="task to train: ner or sentiment")],
    data: Annotated[Path, typer.Option("--data", help="training data file")],
    format: Annotated[
        str, typer.Option("--format", help="conll|prodigy|docbin|semeval14|semeval16")
    ],
    out: Annotated[Path, typer.Option("--out", help="model directory to write")],
    dev: Annotated[
        Path | None, typer.Option("--dev", help="dev data (default: 10% carved from --data)")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="training settings, TOML or JSON")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="one training setting: --set max_epochs=5")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="use only the first N training docs")] = None,
) -> None:
    """Train the trained backend of TASK and save a self-contained model directory."""
    import importlib

    from distill.cli import errors
    from distill.corpora import labels_of, read_corpus
    from distill.corpora.model_card import data_info, split_dev

    state: State = ctx.obj
    if task not in TRAINERS:
        raise ConfigError(f"no trainer for task {task!r}; trainable: {', '.join(TRAINERS)}")
    trainer = importlib.import_module(TRAINERS[task])
    settings = trainer.CONFIG.model_validate(_settings(config, set_ or []))
    train_docs = read_corpus(data, format, task, limit=limit)
    if dev is not None:
        dev_docs = read_corpus(dev, format, task)
    else:
        train_docs, dev_docs = split_dev(train_docs)
    configured = state.config.task(task).labels
    labels = list(configured) if configured else labels_of(train_docs, task)
    errors.print(
        f"training {task} on {len(train_docs)} docs ({data}), dev {len(dev_docs)} docs, "
        f"labels: {', '.join(labels) or '(polarity only)'}"
    )
    with _Progress() as progress:
        card = fit(
            task,
            train_docs,
            dev_docs,
            out,
            labels,
            settings,
            train_info=data_info(data, format, train_docs),
            dev_info=data_info(dev, format, dev_docs) | ({} if dev else {"carved_from": str(data)}),
            progress=progress,
        )
    errors.print(f"saved {out} · dev {json.dumps(card.dev_scores)}")


def fit(
    task: str,
    train_docs: list,
    dev_docs: list,
    out: Path,
    labels: list[str],
    settings: Any = None,
    *,
    train_info: dict[str, Any] | None = None,
    dev_info: dict[str, Any] | None = None,
    progress: Any = None,
) -> Any:
    """Train TASK's model into `out` and write its card; shared with the benchmarks."""
    import importlib

    from distill.corpora.model_card import ModelCard
    from distill.plugins.registry import registry

    trainer = importlib.import_module(TRAINERS[task])
    settings = settings if settings is not None else trainer.CONFIG()
    out.mkdir(parents=True, exist_ok=True)
    result = trainer.train(train_docs, dev_docs, out, labels, settings, progress=progress)
    card = ModelCard(
        task=task,
        task_version=registry().task(task).obj.version,
        kind=result.pop("kind", f"spacy-{task}"),
        labels=result.pop("labels", labels),
        train_data=train_info or {"docs": len(train_docs)},
        dev_data=dev_info or {"docs": len(dev_docs)},
        training=result,
        dev_scores=result.get("dev_scores", {}),
    )
    card.save(out)
    return card


def _settings(path: Path | None, assignments: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
            values = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: cannot read training settings: {exc}") from None
    for item in assignments:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ConfigError(f"--set expects KEY=VALUE, got {item!r}")
        try:
            values[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            values[key.strip()] = raw
    return values


class _Progress:
    """A rich progress bar on stderr fed by the trainer's callback (batches, epochs)."""

    def __enter__(self) -> _Progress:
        from distill.cli import errors
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.bar = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=errors
        )
        self.bar.__enter__()
        self.task_id = self.bar.add_task("epoch 1", total=None)
        return self

    def __call__(self, event: str, info: dict[str, Any]) -> None:
        if event == "batch":
            self.bar.update(
                self.task_id,
                description=f"epoch {info['epoch']}",
                completed=info["done"],
                total=info["total"],
            )
        elif event == "epoch":
            self.bar.console.print(" · ".join(f"{k} {v}" for k, v in info.items()), highlight=False)

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)  # type: ignore[arg-type]
