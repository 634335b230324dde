"""The generic prompt backend with a fake chat model: valid, invalid-then-valid, invalid twice."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.runnables import RunnableLambda

import distill.plugins.prompt_backend  # noqa: F401  (registers the backend)
from distill.doc import make_doc
from distill.plugins import BackendOptions
from distill.plugins.ner import NERTask
from distill.plugins.prompt_backend import PromptBackend
from distill.plugins.sentiment import SentimentTask


class FakeChat:
    """Returns canned structured outputs in order; an Exception instance is raised."""

    def __init__(self, answers: list[Any]) -> None:
        self.answers: Iterator[Any] = iter(answers)
        self.prompts: list[str] = []

    def with_structured_output(self, schema: type) -> RunnableLambda:
        def reply(messages: list) -> Any:
            self.prompts.append(messages[-1].content)
            answer = next(self.answers)
            if isinstance(answer, Exception):
                raise answer
            return schema.model_validate(answer)

        return RunnableLambda(reply)


def backend(task, answers: list[Any]) -> tuple[PromptBackend, FakeChat]:
    fake = FakeChat(answers)
    return PromptBackend(task, BackendOptions(chat_model=lambda: fake)), fake


def test_valid_answer_is_aligned_and_written() -> None:
    doc = make_doc("Tim Cook runs Apple in Cupertino.")
    runner, fake = backend(
        NERTask(labels=["PER", "ORG", "LOC"]),
        [{"entities": [{"text": "tim cook", "label": "PER"}, {"text": "Apple", "label": "ORG"}]}],
    )
    runner.predict([doc])
    assert [(e.text, e.label_) for e in doc.ents] == [("Tim Cook", "PER"), ("Apple", "ORG")]
    assert runner.llm_calls == 1 and runner.failures == []
    assert fake.prompts[0].rstrip().endswith("Text: Tim Cook runs Apple in Cupertino.\nAnswer:")
    assert "- PER" in fake.prompts[0]


def test_invalid_answer_is_retried_once_with_the_error() -> None:
    doc = make_doc("Lasagna needs ricotta.")
    runner, fake = backend(
        NERTask(labels=["DISH", "INGREDIENT"]),
        [
            ValueError("unparsable output"),
            {"entities": [{"text": "Lasagna", "label": "DISH"}]},
        ],
    )
    runner.predict([doc])
    assert [(e.text, e.label_) for e in doc.ents] == [("Lasagna", "DISH")]
    assert runner.llm_calls == 2
    assert "That answer was invalid" in fake.prompts[1]


def test_invalid_twice_is_reported_never_written() -> None:
    doc = make_doc("Lasagna needs ricotta.")
    doc._.doc_id = "d1"
    runner, _ = backend(
        NERTask(labels=["DISH"]),
        [
            {"entities": [{"text": "pizza", "label": "DISH"}]},  # not in the text
            {"entities": [{"text": "sushi", "label": "DISH"}]},
        ],
    )
    runner.predict([doc])
    assert list(doc.ents) == []
    assert runner.llm_calls == 2
    assert len(runner.failures) == 1 and runner.failures[0].doc_id == "d1"
    assert "none of the entities occur" in doc._.meta["errors"]["ner"]


def test_labels_outside_the_task_are_rejected() -> None:
    from pydantic import ValidationError

    schema = NERTask(labels=["DISH"]).llm_schema()
    with pytest.raises(ValidationError):
        schema.model_validate({"entities": [{"text": "x", "label": "PER"}]})


def test_sentiment_term_mode_uses_given_terms() -> None:
    doc = make_doc(
        "The battery is great but the screen is dim.",
        meta={
            "aspect_terms": [
                {"term": "battery", "start": 4, "end": 11},
                {"term": "screen", "start": 29, "end": 35},
            ]
        },
    )
    runner, fake = backend(
        SentimentTask(),
        [
            {
                "opinions": [
                    {"term": "Battery", "polarity": "positive"},
                    {"term": "screen", "polarity": "negative"},
                ]
            }
        ],
    )
    runner.predict([doc])
    assert [(o.term, o.polarity, o.start) for o in doc._.opinions] == [
        ("battery", "positive", 4),
        ("screen", "negative", 29),
    ]
    assert 'Terms: ["battery", "screen"]' in fake.prompts[0]


def test_sentiment_category_mode_schema_restricts_categories() -> None:
    doc = make_doc("Great laptop, awful battery.")
    runner, _ = backend(
        SentimentTask(labels=["LAPTOP#GENERAL", "BATTERY#QUALITY"]),
        [
            {
                "opinions": [
                    {"aspect": "LAPTOP#GENERAL", "polarity": "positive"},
                    {"aspect": "BATTERY#QUALITY", "polarity": "negative"},
                ]
            }
        ],
    )
    runner.predict([doc])
    assert {(o.aspect, o.polarity) for o in doc._.opinions} == {
        ("LAPTOP#GENERAL", "positive"),
        ("BATTERY#QUALITY", "negative"),
    }


@pytest.mark.real
def test_real_embedded_model_ner_and_sentiment() -> None:
    """The real local LLM on two short texts: valid typed output, no failures."""
    from distill.llm import lazy_chat_model

    chat = lazy_chat_model()
    ner = PromptBackend(NERTask(labels=["PER", "ORG", "LOC"]), BackendOptions(chat_model=chat))
    doc = make_doc("Angela Merkel visited Siemens in Munich.")
    ner.predict([doc])
    assert ner.failures == []
    assert all(e.label_ in {"PER", "ORG", "LOC"} for e in doc.ents)
    sentiment = PromptBackend(SentimentTask(), BackendOptions(chat_model=chat))
    review = make_doc(
        "The battery is terrible.",
        meta={"aspect_terms": [{"term": "battery", "start": 4, "end": 11}]},
    )
    sentiment.predict([review])
    assert sentiment.failures == []
    assert [o.term for o in review._.opinions] == ["battery"]
