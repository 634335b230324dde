"""Fakes for the teacher → reviewer → student tests: a lookup backend and a schema-agnostic
chat model (it answers "nothing found" in whatever shape the prompt backend asks for)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.runnables import RunnableLambda
from pydantic import TypeAdapter
from spacy.tokens import Doc, Span

from distill.backend import Backend


class LookupNER(Backend):
    """Marks the words it knows (`{"ricotta": "INGREDIENT"}`); fails on texts in `fail_on`."""

    name = "lookup"

    def __init__(self, task: Any, words: dict[str, str], fail_on: Sequence[str] = ()) -> None:
        super().__init__(task)
        self.words = words
        self.fail_on = list(fail_on)

    def predict(self, docs: Sequence[Doc]) -> list[Doc]:
        for doc in docs:
            if any(bad in doc.text for bad in self.fail_on):
                meta = doc._.meta or {}
                meta.setdefault("errors", {})[self.task.name] = "off-schema JSON"
                doc._.meta = meta
                continue
            doc.ents = [
                Span(doc, t.i, t.i + 1, label=self.words[t.lower_])
                for t in doc
                if t.lower_ in self.words
            ]
        return list(docs)


def minimal(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> Any:
    """The smallest JSON value valid under `schema` (empty lists, first enum value…)."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        return minimal(defs[schema["$ref"].split("/")[-1]], defs)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return minimal(schema[key][0], defs)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {
            name: minimal(sub, defs)
            for name, sub in schema.get("properties", {}).items()
            if name in schema.get("required", [])
        }
    if kind == "array":
        return [minimal(item, defs) for item in schema.get("prefixItems", [])]
    return {"string": "", "integer": 0, "number": 0.0, "boolean": False, "null": None}.get(
        kind or "null"
    )


class EmptyChat:
    """A chat model answering the empty answer of any structured-output schema; a prompt
    containing one of `poison` gets an off-schema exception instead."""

    def __init__(self, poison: Sequence[str] = ()) -> None:
        self.poison = list(poison)
        self.calls = 0
        self.poisoned_calls = 0
        self.cache = None

    def with_structured_output(self, schema: Any) -> RunnableLambda:
        adapter = TypeAdapter(schema)

        def reply(messages: list) -> Any:
            self.calls += 1
            prompt = "\n".join(str(m.content) for m in messages)
            if any(bad in prompt for bad in self.poison):
                self.poisoned_calls += 1
                raise ValueError("Invalid json output: {'entities': [{'txt'")
            return adapter.validate_python(minimal(adapter.json_schema()))

        return RunnableLambda(reply)


def provider(chat: EmptyChat) -> Callable[[Any], EmptyChat]:
    return lambda config: chat


class LookupOpinions(Backend):
    """Writes the opinions it is given for each text (`{"text": [Opinion, …]}`)."""

    name = "lookup-opinions"

    def __init__(self, task: Any, answers: dict[str, list[Any]]) -> None:
        super().__init__(task)
        self.answers = answers

    def predict(self, docs: Sequence[Doc]) -> list[Doc]:
        for doc in docs:
            doc._.opinions = list(self.answers.get(doc.text, []))
        return list(docs)


class LookupLinks(Backend):
    """Gives each input mention the catalog id its text maps to (`{"x2": "nebula-x2"}`)."""

    name = "lookup-links"

    def __init__(self, task: Any, ids: dict[str, str]) -> None:
        super().__init__(task)
        self.ids = ids

    def predict(self, docs: Sequence[Doc]) -> list[Doc]:
        for doc in docs:
            doc.ents = [
                Span(doc, e.start, e.end, label=e.label_, kb_id=self.ids.get(e.text.lower(), ""))
                for e in doc.ents
            ]
        return list(docs)
