"""Named-entity recognition: which things are mentioned, where, and of what kind."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model
from spacy.tokens import Doc
from spacy.util import filter_spans

from distill.plugins.ner.align import align
from distill.plugins.ner.examples import describe, few_shot
from distill.registry import register_task
from distill.spec import Scores, TaskSpec, span_scores


class Entity(BaseModel):
    text: str
    label: str
    start: int = Field(ge=0, description="character offset of the first character")
    end: int = Field(ge=0, description="character offset after the last character")


class Entities(BaseModel):
    entities: list[Entity] = Field(default_factory=list)


class LLMEntity(BaseModel):
    """What the LLM returns per entity: the words and the label, never offsets."""

    text: str
    label: str


class LLMEntities(BaseModel):
    entities: list[LLMEntity] = Field(default_factory=list)


@register_task
class NERTask(TaskSpec):
    name = "ner"
    description = (
        "Find the products, brands and other named entities mentioned in a text, "
        "with their character offsets."
    )
    default_labels = ("PRODUCT", "BRAND")
    trainer = "distill.plugins.ner.train"
    output_schema = Entities
    prompt = "ner"

    def read(self, doc: Doc) -> Entities:
        return Entities(
            entities=[
                Entity(text=ent.text, label=ent.label_, start=ent.start_char, end=ent.end_char)
                for ent in doc.ents
            ]
        )

    def write(self, doc: Doc, output: BaseModel) -> None:
        assert isinstance(output, Entities)
        spans = [
            doc.char_span(e.start, e.end, label=e.label, alignment_mode="expand")
            for e in output.entities
        ]
        doc.ents = filter_spans([span for span in spans if span is not None])

    def score(self, gold: Sequence[Doc], predicted: Sequence[Doc]) -> Scores:
        """Exact-span micro P/R/F1, the CoNLL convention."""

        def spans(docs: Sequence[Doc]) -> set[tuple[int, int, int, str]]:
            return {
                (i, ent.start_char, ent.end_char, ent.label_)
                for i, doc in enumerate(docs)
                for ent in doc.ents
            }

        return span_scores(spans(gold), spans(predicted), n=len(gold))

    # the prompt backend's hooks: what the LLM sees and returns, and how it becomes output

    def prompt_variables(self, doc: Doc) -> dict[str, Any]:
        return {"text": doc.text, **_prompt_context(self.labels)}

    def llm_schema(self, doc: Doc | None = None) -> type[BaseModel]:
        """`{"entities": [["entity text", "LABEL"], …]}`, labels constrained to this
        instance's: the shortest answer that still names each entity (a local model spends
        its time decoding, key names included). At most one entity per two words (plus two),
        so a model that starts repeating itself stops early instead of at `max_tokens`."""
        words = sum(not t.is_punct and not t.is_space for t in doc) if doc is not None else 0
        return _llm_schema(self.labels, words // 2 + 2 if doc is not None else None)

    def from_llm(self, doc: Doc, parsed: BaseModel) -> Entities:
        """Align the LLM's strings to character offsets; unknown labels and lost strings raise.
        `parsed` holds (text, label) pairs, or `LLMEntity` objects (`LLMEntities`)."""
        mentions = [
            (e.text, e.label) if isinstance(e, LLMEntity) else (str(e[0]), str(e[1]))
            for e in parsed.entities  # type: ignore[attr-defined]
        ]
        unknown = sorted({label for _, label in mentions} - set(self.labels))
        if self.labels and unknown:
            raise ValueError(f"labels {unknown} are not among {list(self.labels)}")
        spans, missing = align(doc.text, mentions)
        if missing and not spans:
            raise ValueError(f"none of the entities occur in the text: {missing[:3]}")
        return Entities(
            entities=[
                Entity(text=doc.text[s.start : s.end], label=s.label, start=s.start, end=s.end)
                for s in spans
            ]
        )


@functools.cache
def _llm_schema(labels: tuple[str, ...], max_items: int | None = None) -> type[BaseModel]:
    label_type: Any = Literal[labels] if labels else str  # type: ignore[valid-type]
    entities = Field(max_length=max_items)
    return create_model("Entities", entities=(list[tuple[str, label_type]], entities))


@functools.cache
def _prompt_context(labels: tuple[str, ...]) -> dict[str, Any]:
    """What every NER prompt of a label set shares, chosen once: the fixed prompt prefix."""
    return {
        "labels": list(labels),
        "descriptions": describe(labels),
        "examples": few_shot(labels),
    }
