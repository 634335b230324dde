"""Train a task's `trained` backend: the trainer module its spec names, plus a model card.

A trainer module exposes `CONFIG` (a pydantic settings class) and
`train(train_docs, dev_docs, out, labels, settings, progress) -> dict`; the task spec
names it in `TaskSpec.trainer`, so a plugin's task is trainable the same way.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

from distill.errors import ConfigError
from distill.model_card import ModelCard


def trainer_for(task: str) -> ModuleType:
    """The trainer module of `task`, or a ConfigError listing the trainable tasks."""
    from distill.registry import registry

    reg = registry()
    module = reg.task(task).obj.trainer
    if module is None:
        trainable = sorted(name for name, entry in reg.tasks.items() if entry.obj.trainer)
        raise ConfigError(f"no trainer for task {task!r}; trainable: {', '.join(trainable)}")
    return importlib.import_module(module)


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
    from distill.registry import registry

    trainer = trainer_for(task)
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
