"""Build a task and its configured backend from `Config`: the one place that wires them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from distill.backend import Backend, BackendOptions
from distill.config import Config
from distill.errors import DistillError, PluginError
from distill.registry import registry
from distill.spec import TaskSpec

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


def make_task(name: str, config: Config | None = None) -> TaskSpec:
    """The task spec, with the labels the config asks for."""
    config = config or Config()
    spec_class = registry().task(name).obj
    return spec_class(labels=config.task(name).labels)


def active_backend(name: str, config: Config | None = None) -> str:
    """The backend name the config selects for task `name`, else the task's default."""
    config = config or Config()
    return config.task(name).backend or registry().task(name).obj.default_backend


def make_backend(
    name: str,
    config: Config | None = None,
    *,
    backend: str | None = None,
    chat_model: Callable[[], BaseChatModel] | None = None,
) -> Backend:
    """The backend the config selects for task `name` (or `backend`, when given)."""
    config = config or Config()
    settings = config.task(name)
    task = make_task(name, config)
    backend_name = backend or active_backend(name, config)
    backend_class = registry().backend(name, backend_name).obj
    if chat_model is None:
        from distill.llm import lazy_chat_model

        chat_model = lazy_chat_model(config.llm)
    # every backend sees the one configured catalog (`[catalog]`, or the deprecated
    # `tasks.linker.options.catalog`): the NER gazetteer and the linkers read it
    extra = {
        "max_concurrency": config.llm.max_concurrency,  # a prompt backend's parallel requests
        **settings.options,
        "catalog": config.catalog_source(),
    }
    options = BackendOptions(model_path=settings.model, chat_model=chat_model, extra=extra)
    try:
        return backend_class(task, options)
    except DistillError:  # already says what to do (a missing model, a bad catalog line)
        raise
    except Exception as exc:
        raise PluginError(
            f"backend {backend_name!r} of task {name!r} failed to start: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
