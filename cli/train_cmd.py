"""`distill train <task>`: train the task's `trained` backend from labelled data, natively read."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer

from distill.cli.state import State
from distill.errors import ConfigError


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
    from distill.cli import errors
    from distill.corpora import labels_of, read_corpus
    from distill.model_card import data_info, split_dev
    from distill.workflow.train import fit, trainer_for

    state: State = ctx.obj
    trainer = trainer_for(task)
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
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        from distill.cli import errors

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
