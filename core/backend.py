"""The backend protocol: `predict(docs) -> docs`, batched, same typed output for every backend."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from spacy.tokens import Doc

from distill.spec import TaskSpec

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


@dataclass
class BackendOptions:
    """What a backend may need; each backend takes what it uses and ignores the rest."""

    model_path: str | None = None
    batch_size: int = 256
    chat_model: Callable[[], BaseChatModel] | None = None
    """Builds the configured chat model on first use (prompt backends only)."""
    extra: dict[str, object] = field(default_factory=dict)


class Backend(ABC):
    """Subclass and register with `@register_backend(task, name)`.

    `predict` receives a batch of `Doc`s and writes the task's output onto each
    (through `self.task.write`), returning the same docs in the same order.
    """

    name: ClassVar[str]

    def __init__(self, task: TaskSpec, options: BackendOptions | None = None) -> None:
        self.task = task
        self.options = options or BackendOptions()

    @abstractmethod
    def predict(self, docs: Sequence[Doc]) -> list[Doc]:
        """Annotate `docs` in place and return them."""

    def model_name(self) -> str:
        """Shown in provenance and benchmark rows."""
        return self.options.model_path or self.name

    def size_mb(self) -> float | None:
        """On-disk size of the model, when it has one."""
        return None

    def pending_setup(self) -> str | None:
        """The one-time work this backend's first batch would do (building and caching an
        index), in words, or None. A command says it while `warm_up` does the work, so the
        user knows why it waits and that minute stays out of the documents/s figure."""
        return None

    def warm_up(self) -> None:
        """Load models and build caches now instead of inside the first batch."""
        return None
