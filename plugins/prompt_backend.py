"""The generic `prompt` backend: any task with a template becomes an LLM call per document.

The task spec owns everything task-specific through hooks (defaults in brackets):
`prompt_variables(doc)` [`{"text", "labels"}`], `llm_schema(doc)` — the LLM-facing
pydantic model, decoded under its JSON schema [`output_schema`] — `from_llm(doc, parsed)`
→ the task's output [`parsed` itself], and `answer_without_llm(doc)` → an output known
without asking, or None [None]. This module only renders, calls, validates and retries.

Fast enough to teach with (BENCHMARKS.md, "Teacher speed"), because a local model spends
its time decoding answer tokens and re-reading its weights for each one:

- the task's LLM schemas carry no key names per item (NER answers
  `{"entities":[["Paris","LOC"]]}`), so answers are short;
- every prompt starts with the same instructions and examples, so llama.cpp keeps their
  KV cache and evaluates only the document;
- the batch goes to the local model as one parallel decode (`distill.llm.parallel`: one
  llama.cpp step advances every document), to any other provider through LangChain's
  `batch` with `max_concurrency` requests in flight.

An invalid answer (unparsable, or rejected by `from_llm`) is retried once with the error
quoted back to the model (which also bypasses the response cache); a second failure is
recorded in `self.failures` and `doc._.meta["errors"][task]`, and nothing is written to
the doc. An `LLMError` (the model cannot be loaded, the server cannot be reached) is no
document's fault: it is raised.
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
from distill.errors import LLMError, PluginError
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
        self.parallel = bool(self.options.extra.get("parallel", True))
        """Decode a batch in parallel on the local model (off: one call after another)."""
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
        known = getattr(self.task, "answer_without_llm", lambda doc: None)
        asked = []
        for doc in docs:  # e.g. sentiment with no aspect terms given: nothing to ask
            if (output := known(doc)) is not None:
                self.task.write(doc, output)
            else:
                asked.append(doc)
        if asked:
            self._predict(asked)
        return list(docs)

    def _predict(self, docs: Sequence[Doc]) -> None:
        conversations = [self.messages(doc) for doc in docs]
        answers = self._call(docs, conversations)
        retries = []
        for doc, conversation, answer in zip(docs, conversations, answers, strict=True):
            output, error = self._accept(doc, answer)
            if output is not None:
                self.task.write(doc, output)
            else:
                retry = [
                    *conversation,
                    AIMessage(_shown(answer)),
                    HumanMessage(RETRY.format(error=error)),
                ]
                retries.append((doc, retry))
        if retries:
            again = self._call([doc for doc, _ in retries], [retry for _, retry in retries])
            for (doc, _), answer in zip(retries, again, strict=True):
                output, error = self._accept(doc, answer)
                if output is not None:
                    self.task.write(doc, output)
                else:
                    self._fail(doc, error or "no answer")

    def _call(self, docs: Sequence[Doc], conversations: list[list[BaseMessage]]) -> list[Any]:
        """One answer per conversation, in input order: the local model decodes them all in
        parallel; other providers get LangChain's batch, per schema. An exception stands in
        for an answer; an `LLMError` is raised."""
        self.llm_calls += len(docs)
        schemas = [self._schema(doc) for doc in docs]
        if self.parallel and len(docs) > 1:
            from distill.llm.parallel import decoder_for, structured_batch

            if decoder_for(self.chat_model()) is not None:
                return structured_batch(self.chat_model(), conversations, schemas)
        answers: list[Any] = [None] * len(docs)
        groups: dict[type[BaseModel], list[int]] = {}
        for i, schema in enumerate(schemas):
            groups.setdefault(schema, []).append(i)
        for schema, indices in groups.items():
            replies = self.runnable(schema).batch(
                [conversations[i] for i in indices],
                config={"max_concurrency": self.max_concurrency},
                return_exceptions=True,
            )
            for i, reply in zip(indices, replies, strict=True):
                if isinstance(reply, LLMError):
                    raise reply
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
