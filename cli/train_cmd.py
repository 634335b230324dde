"""`distill train <task>`: train the task's `trained` backend from labelled data, natively read.

Reviewed suggestions (`distill review export`) train directly: the format is detected.
Every setting is checked against the trainer's declared settings, which `--help` lists
with the trainable tasks and their formats (built from the registry, plugins included).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from distill.cli.state import State
from distill.errors import ConfigError

SHOWN_SKIPS = 10


class TrainCommand(TyperCommand):
    """Appends the trainable tasks, their formats and settings to `--help`, computed when asked."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        from rich.markup import escape

        from distill.workflow.train import describe_training

        lines = ["[bold]Trainable tasks, their data formats and settings[/bold] (--set KEY=VALUE):"]
        lines += [escape(line) for line in describe_training().splitlines()]
        self.epilog = "\n".join(lines)
        super().format_help(ctx, formatter)


def train(
    ctx: typer.Context,
    task: Annotated[str, typer.Argument(help="a trainable task (listed below)")],
    data: Annotated[Path, typer.Option("--data", help="training data file")],
    out: Annotated[Path, typer.Option("--out", help="model directory to write")],
    format: Annotated[
        str | None,
        typer.Option("--format", help="data format (default: detected from the file)"),
    ] = None,
    dev: Annotated[
        Path | None,
        typer.Option(
            "--dev",
            help="dev data (default: 10% carved from --data, whole documents where the "
            "format has them: CoNLL -DOCSTART- documents, reviews)",
        ),
    ] = None,
    labels: Annotated[
        str | None,
        typer.Option(
            "--labels",
            help="comma-separated label set (default: tasks.<task>.labels, else the data's); "
            "records using other labels are reported and skipped",
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="training settings, TOML or JSON")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="one training setting: --set max_epochs=5")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="use only the first N training docs")] = None,
    teacher: Annotated[
        Path | None,
        typer.Option(
            "--teacher",
            help="ner: the teacher's unreviewed annotations, trained on too once the forms "
            "reviewed in --data correct them (a form the reviewer labelled gets that label "
            "wherever it occurs); the model keeps those forms and applies them to its own "
            "predictions too",
        ),
    ] = None,
    reviewed_weight: Annotated[
        int | None,
        typer.Option(
            "--reviewed-weight",
            min=1,
            help="with --teacher: times each reviewed doc of --data is trained on beside the "
            "teacher's (a person's labels count more; default 2)",
        ),
    ] = None,
) -> None:
    """Train the trained backend of TASK and save a self-contained model directory."""
    from distill.cli import errors
    from distill.corpora import labels_of
    from distill.model_card import data_info, split_dev
    from distill.workflow.train import fit, read_data, training_settings

    state: State = ctx.obj
    settings = training_settings(task, _settings(config, set_ or []))
    given = [label.strip() for label in labels.split(",") if label.strip()] if labels else None
    allowed = given or state.config.task(task).labels
    train_data = read_data(data, task, format, labels=allowed, limit=limit)
    skipped = list(train_data.skipped)
    train_docs = train_data.docs
    if dev is not None:
        dev_data = read_data(dev, task, format, labels=allowed)
        dev_docs, skipped = dev_data.docs, skipped + dev_data.skipped
    else:
        train_docs, dev_docs = split_dev(train_docs)
    forms: dict[str, str] = {}
    weight = 1
    reviewed = train_docs  # what --data gives training, before any teacher docs join it
    if reviewed_weight is not None and teacher is None:
        raise ConfigError(
            "--reviewed-weight weighs the reviewed --data against a teacher's annotations: "
            "pass --teacher FILE too"
        )
    if teacher is not None:
        from distill.plugins.ner.corrections import REVIEWED_WEIGHT, reviewed_lexicon

        forms = reviewed_lexicon(train_docs)
        weight = REVIEWED_WEIGHT if reviewed_weight is None else reviewed_weight
        train_docs, skipped = _with_teacher(
            task, teacher, format, train_docs, dev_docs, allowed, skipped, weight
        )
    report_skipped(skipped)
    if not train_docs:
        raise ConfigError(f"{data}: no usable training records (see the skipped lines above)")
    chosen = list(allowed) if allowed else labels_of(train_docs, task)
    errors.print(
        f"training {task} on {len(train_docs)} docs ({data}, {train_data.format}), "
        f"dev {len(dev_docs)} docs, labels: {', '.join(chosen) or '(polarity only)'}",
        highlight=False,
    )
    with _Progress() as progress:
        card = fit(
            task,
            train_docs,
            dev_docs,
            out,
            chosen,
            settings,
            train_info=data_info(data, train_data.format, reviewed)
            | ({"skipped": len(train_data.skipped)} if train_data.skipped else {})
            | (
                {
                    "teacher": str(teacher),
                    "teacher_docs": len(train_docs) - weight * len(reviewed),
                    "examples": len(train_docs),
                    "reviewed_forms": len(forms),
                    "reviewed_weight": weight,
                }
                if teacher
                else {}
            ),
            dev_info=data_info(dev, format, dev_docs) | ({} if dev else {"carved_from": str(data)}),
            progress=progress,
        )
    if teacher is not None:  # the student keeps applying the review at run time
        from distill.plugins.ner.corrections import save_forms

        save_forms(out, forms)
    errors.print(f"saved {out} · dev {json.dumps(card.dev_scores)}", highlight=False)
    window = card.training.get("check_words")
    if window is not None:  # the fact-checker's evidence window, chosen on dev after training
        chosen = (
            "chosen on dev" if card.training.get("window_dev") else "dev too small to shorten it"
        )
        errors.print(f"checks read {window} evidence words ({chosen})", highlight=False)


def _with_teacher(
    task: str,
    teacher: Path,
    format: str | None,
    reviewed: list,
    dev: list,
    allowed: Any,
    skipped: list[str],
    reviewed_weight: int,
) -> tuple[list, list[str]]:
    """The reviewed docs (`reviewed_weight` times) plus the teacher's, corrected by the
    reviewed forms (not the dev docs': dev stays unseen); teacher docs whose text is reviewed
    or in dev are dropped."""
    from distill.cli import errors
    from distill.plugins.ner.corrections import correct_teacher
    from distill.workflow.train import read_data

    if task != "ner":
        raise ConfigError("--teacher corrects entity spans: it works with `distill train ner`")
    found = read_data(teacher, task, format, labels=allowed)
    dev_texts = {doc.text for doc in dev}
    docs = correct_teacher(
        [d for d in found.docs if d.text not in dev_texts], reviewed, weight=reviewed_weight
    )
    errors.print(
        f"teacher: {len(docs) - reviewed_weight * len(reviewed)} of {len(found.docs)} docs of "
        f"{teacher} corrected by the reviewed forms and added; each reviewed doc counts "
        f"{reviewed_weight} time{'' if reviewed_weight == 1 else 's'}",
        highlight=False,
    )
    return docs, skipped + found.skipped


def report_skipped(skipped: list[str]) -> None:
    """The first lines skipped, then how many in all (stderr)."""
    from rich.markup import escape

    from distill.cli import errors

    for line in skipped[:SHOWN_SKIPS]:
        errors.print(f"[yellow]skipped[/] {escape(line)}")
    if len(skipped) > SHOWN_SKIPS:
        errors.print(f"[yellow]… {len(skipped)} records skipped in all[/]")


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
