"""The generic `prompt` backend: any task with a template becomes an LLM call.

The task spec owns everything task-specific through three hooks (defaults in
brackets): `prompt_variables(doc)` [`{"text", "labels"}`], `llm_schema()` — the
LLM-facing pydantic model, decoded under its JSON schema [`output_schema`] — and
`from_llm(doc, parsed)` → the task's output [`parsed` itself]. This module only
renders, calls, validates and retries.

An invalid answer (unparsable, or rejected by `from_llm`) is retried once with the
error quoted back to the model (which also bypasses the response cache); a second
failure is recorded in `self.failures` and `doc._.meta["errors"][task]`, and
nothing is written to the doc.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from pydantic import BaseModel
from spacy.tokens import Doc

from distill.backend import Backend, BackendOptions
from distill.errors import PluginError
from distill.prompts import render
from distill.registry import ANY_TASK, register_backend
from distill.spec import TaskSpec

RETRY = (
    "That answer was invalid: {error}. Answer again with JSON matching the schema, "
    "using only the allowed labels and words copied from the text."
)


@dataclass
class Failure:
    doc_id: str | None
    error: str


@register_backend(ANY_TASK, "prompt")
class PromptBackend(Backend):
    def __init__(self, task: TaskSpec, options: BackendOptions | None = None) -> None:
        super().__init__(task, options)
        if task.prompt is None:
            raise PluginError(f"task {task.name!r} has no prompt template")
        if self.options.chat_model is None:
            raise PluginError("the prompt backend needs a chat model (BackendOptions.chat_model)")
        self.llm_calls = 0
        self.failures: list[Failure] = []
        self.max_concurrency = int(self.options.extra.get("max_concurrency", 1))  # type: ignore[arg-type]
        self._runnables: dict[type[BaseModel], Any] = {}

    # the task's hooks, with defaults for specs that define none

    def _variables(self, doc: Doc) -> dict[str, Any]:
        if hasattr(self.task, "prompt_variables"):
            return self.task.prompt_variables(doc)
        return {"text": doc.text, "labels": list(self.task.labels)}

    def _schema(self, doc: Doc) -> type[BaseModel]:
        """The LLM-facing schema; a task may vary it per doc (e.g. given aspect terms)."""
        if hasattr(self.task, "llm_schema"):
            return self.task.llm_schema(doc)
        return self.task.output_schema

    def _convert(self, doc: Doc, parsed: Any) -> BaseModel:
        if isinstance(parsed, dict):
            parsed = self._schema(doc).model_validate(parsed)
        if hasattr(self.task, "from_llm"):
            return self.task.from_llm(doc, parsed)
        return self.task.output_schema.model_validate(parsed.model_dump())

    # the calls

    def chat_model(self) -> Any:
        assert self.options.chat_model is not None
        return self.options.chat_model()

    def runnable(self, schema: type[BaseModel]) -> Any:
        if schema not in self._runnables:
            self._runnables[schema] = self.chat_model().with_structured_output(schema)
        return self._runnables[schema]

    def messages(self, doc: Doc) -> list[BaseMessage]:
        """One human message: the fixed instructions and examples first (a shared prefix
        the local model's KV cache reuses), the document last."""
        return [HumanMessage(render(self.task.prompt or "", **self._variables(doc)))]

    def predict(self, docs: Sequence[Doc]) -> list[Doc]:
        conversations = [self.messages(doc) for doc in docs]
        answers = self._call(docs, conversations)
        for doc, conversation, answer in zip(docs, conversations, answers, strict=True):
            output, error = self._accept(doc, answer)
            if error is not None:
                retry = [
                    *conversation,
                    AIMessage(_shown(answer)),
                    HumanMessage(RETRY.format(error=error)),
                ]
                output, error = self._accept(doc, self._call([doc], [retry])[0])
            if output is not None:
                self.task.write(doc, output)
            else:
                self._fail(doc, error or "no answer")
        return list(docs)

    def _call(self, docs: Sequence[Doc], conversations: list[list[BaseMessage]]) -> list[Any]:
        """Batched per schema (usually one), answers back in input order."""
        answers: list[Any] = [None] * len(docs)
        groups: dict[type[BaseModel], list[int]] = {}
        for i, doc in enumerate(docs):
            groups.setdefault(self._schema(doc), []).append(i)
        for schema, indices in groups.items():
            self.llm_calls += len(indices)
            replies = self.runnable(schema).batch(
                [conversations[i] for i in indices],
                config={"max_concurrency": self.max_concurrency},
                return_exceptions=True,
            )
            for i, reply in zip(indices, replies, strict=True):
                answers[i] = reply
        return answers

    def _accept(self, doc: Doc, answer: Any) -> tuple[BaseModel | None, str | None]:
        if isinstance(answer, Exception):
            return None, f"{type(answer).__name__}: {_short(str(answer))}"
        try:
            return self._convert(doc, answer), None
        except Exception as exc:  # pydantic or from_llm rejected it
            return None, f"{type(exc).__name__}: {_short(str(exc))}"

    def _fail(self, doc: Doc, error: str) -> None:
        self.failures.append(Failure(doc._.doc_id, error))
        meta = doc._.meta if doc._.meta is not None else {}
        meta.setdefault("errors", {})[self.task.name] = error
        doc._.meta = meta

    def model_name(self) -> str:
        params = getattr(self.chat_model(), "_identifying_params", {}) or {}
        return str(
            params.get("model") or params.get("model_name") or type(self.chat_model()).__name__
        )

    def size_mb(self) -> float | None:
        """The local model file's size; None for a remote model."""
        path = getattr(self.chat_model(), "model_path", None)
        return round(os.path.getsize(path) / 1e6, 1) if path and os.path.isfile(path) else None

    def warm_up(self) -> None:
        """Load a local model now, so benchmarks do not time the loading."""
        load = getattr(self.chat_model(), "llama", None)
        if callable(load):
            load()


def _shown(answer: Any) -> str:
    if isinstance(answer, BaseModel):
        return answer.model_dump_json()
    return _short(str(answer))


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
