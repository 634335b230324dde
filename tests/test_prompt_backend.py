"""The generic prompt backend with a fake chat model: short answers, retries, errors; and on
the real embedded model: parallel decoding agrees with one-at-a-time calls, and every task of
a pipeline shares one loaded model."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.runnables import RunnableLambda

import distill.plugins.prompt_backend  # noqa: F401  (registers the backend)
from distill.doc import make_doc
from distill.errors import LLMError
from distill.plugins import BackendOptions
from distill.plugins.ner import NERTask
from distill.plugins.prompt_backend import PromptBackend
from distill.plugins.sentiment import SentimentTask


class FakeChat:
    """Returns canned structured outputs in order; an Exception instance is raised."""

    def __init__(self, answers: list[Any]) -> None:
        self.answers: Iterator[Any] = iter(answers)
        self.prompts: list[str] = []
        self.conversations: list[list[Any]] = []

    def with_structured_output(self, schema: type) -> RunnableLambda:
        def reply(messages: list) -> Any:
            self.prompts.append(messages[-1].content)
            self.conversations.append(messages)
            answer = next(self.answers)
            if isinstance(answer, Exception):
                raise answer
            return schema.model_validate(answer)

        return RunnableLambda(reply)


def backend(task, answers: list[Any]) -> tuple[PromptBackend, FakeChat]:
    fake = FakeChat(answers)
    return PromptBackend(task, BackendOptions(chat_model=lambda: fake)), fake


def terms_doc(text: str, *terms: str):  # type: ignore[no-untyped-def]
    spans = [{"term": t, "start": text.index(t), "end": text.index(t) + len(t)} for t in terms]
    return make_doc(text, meta={"aspect_terms": spans})


def test_valid_answer_is_aligned_and_written() -> None:
    doc = make_doc("Tim Cook runs Apple in Cupertino.")
    runner, fake = backend(
        NERTask(labels=["PER", "ORG", "LOC"]),
        [{"entities": [["tim cook", "PER"], ["Apple", "ORG"]]}],
    )
    runner.predict([doc])
    assert [(e.text, e.label_) for e in doc.ents] == [("Tim Cook", "PER"), ("Apple", "ORG")]
    assert runner.llm_calls == 1 and runner.failures == []
    assert fake.prompts[0].rstrip().endswith("Text: Tim Cook runs Apple in Cupertino.\nAnswer:")
    assert "- PER" in fake.prompts[0]


def test_every_prompt_starts_with_the_same_instructions_and_examples() -> None:
    """The fixed prefix llama.cpp keeps in its KV cache: only the document differs."""
    runner, _ = backend(NERTask(labels=["PER", "ORG"]), [])
    first = runner.messages(make_doc("Ada joined IBM."))[0].content
    second = runner.messages(make_doc("Bob left."))[0].content
    shared = first[: first.index("Ada joined")]
    assert second.startswith(shared)
    assert 'Answer: {"entities":[["Tim Cook","PER"],["Apple","ORG"]' in shared


def test_invalid_answer_is_retried_once_with_the_error() -> None:
    doc = make_doc("Lasagna needs ricotta.")
    runner, fake = backend(
        NERTask(labels=["DISH", "INGREDIENT"]),
        [ValueError("unparsable output"), {"entities": [["Lasagna", "DISH"]]}],
    )
    runner.predict([doc])
    assert [(e.text, e.label_) for e in doc.ents] == [("Lasagna", "DISH")]
    assert runner.llm_calls == 2
    assert "That answer was invalid" in fake.prompts[1]


def test_only_the_invalid_answers_of_a_batch_are_retried() -> None:
    docs = [make_doc("Ada lives in Paris."), make_doc("Bob met Eve.")]
    runner, fake = backend(
        NERTask(labels=["PER", "LOC"]),
        [
            {"entities": [["Ada", "PER"], ["Paris", "LOC"]]},
            {"entities": [["Carol", "PER"]]},  # not in the text
            {"entities": [["Bob", "PER"], ["Eve", "PER"]]},
        ],
    )
    runner.predict(docs)
    assert [[e.text for e in d.ents] for d in docs] == [["Ada", "Paris"], ["Bob", "Eve"]]
    assert runner.llm_calls == 3 and runner.failures == []
    retry = fake.conversations[2]
    assert retry[1].content == '{"entities":[["Carol","PER"]]}'
    assert "Carol" in retry[2].content and "That answer was invalid" in retry[2].content


def test_invalid_twice_is_reported_never_written() -> None:
    doc = make_doc("Lasagna needs ricotta.")
    doc._.doc_id = "d1"
    runner, _ = backend(
        NERTask(labels=["DISH"]),
        [{"entities": [["pizza", "DISH"]]}, {"entities": [["sushi", "DISH"]]}],
    )
    runner.predict([doc])
    assert list(doc.ents) == []
    assert runner.llm_calls == 2
    assert len(runner.failures) == 1 and runner.failures[0].doc_id == "d1"
    assert "none of the entities occur" in doc._.meta["errors"]["ner"]


def test_an_unreachable_model_is_an_error_not_a_bad_answer() -> None:
    runner, _ = backend(NERTask(labels=["PER"]), [LLMError("cannot reach the server")])
    with pytest.raises(LLMError, match="cannot reach"):
        runner.predict([make_doc("Ada.")])
    assert runner.failures == []


def test_labels_outside_the_task_are_rejected() -> None:
    from pydantic import ValidationError

    schema = NERTask(labels=["DISH"]).llm_schema()
    assert schema.model_validate({"entities": [["pie", "DISH"]]}).entities == [("pie", "DISH")]
    with pytest.raises(ValidationError):
        schema.model_validate({"entities": [["x", "PER"]]})


def test_sentiment_term_mode_answers_each_given_term_in_order() -> None:
    doc = terms_doc("The battery is great but the screen is dim.", "battery", "screen")
    runner, fake = backend(
        SentimentTask(), [{"opinions": [["battery", "positive"], ["screen", "negative"]]}]
    )
    runner.predict([doc])
    assert [(o.term, o.polarity, o.start) for o in doc._.opinions] == [
        ("battery", "positive", 4),
        ("screen", "negative", 29),
    ]
    assert "Sentence: The [battery] is great but the [screen] is dim.\nAnswer:" in fake.prompts[0]
    schema = SentimentTask().llm_schema(doc)
    with pytest.raises(Exception, match="Field required"):
        schema.model_validate({"opinions": [["battery", "positive"]]})
    with pytest.raises(Exception, match="screen"):
        schema.model_validate({"opinions": [["battery", "positive"], ["battery", "positive"]]})


def test_a_sentence_without_aspect_terms_is_not_sent_to_the_model() -> None:
    runner, fake = backend(SentimentTask(), [])
    doc = terms_doc("Just a sentence.")
    runner.predict([doc])
    assert runner.llm_calls == 0 and fake.prompts == [] and doc._.opinions == []


def test_sentiment_category_mode_schema_restricts_categories() -> None:
    doc = make_doc("Great laptop, awful battery.")
    task = SentimentTask(labels=["LAPTOP#GENERAL", "BATTERY#QUALITY"])
    runner, _ = backend(
        task,
        [{"opinions": [["LAPTOP#GENERAL", "positive"], ["BATTERY#QUALITY", "negative"]]}],
    )
    runner.predict([doc])
    assert {(o.aspect, o.polarity) for o in doc._.opinions} == {
        ("LAPTOP#GENERAL", "positive"),
        ("BATTERY#QUALITY", "negative"),
    }
    with pytest.raises(Exception, match="LAPTOP#GENERAL"):
        task.llm_schema(doc).model_validate({"opinions": [["SCREEN", "positive"]]})


@pytest.mark.real
def test_real_model_parallel_decoding_answers_every_document_in_order() -> None:
    """The local model decodes a batch in parallel; every answer is valid and written to
    its own document, as when asking one document at a time. (Which entities a greedy
    decode finds may differ between CPU builds and batch shapes, so they are not compared.)"""
    from distill.config import LLMConfig
    from distill.llm import lazy_chat_model

    chat = lazy_chat_model(LLMConfig(cache=False))
    task = NERTask(labels=["PER", "ORG", "LOC"])
    texts = ["Angela Merkel visited Siemens in Munich.", "It rained.", "Tim Cook runs Apple."]
    for extra in ({}, {"parallel": False}):
        runner = PromptBackend(task, BackendOptions(chat_model=chat, extra=extra))
        docs = [make_doc(text) for text in texts]
        runner.predict(docs)
        assert runner.failures == [] and runner.llm_calls >= 3
        for doc, text in zip(docs, texts, strict=True):
            assert all(text[e.start_char : e.end_char] == e.text for e in doc.ents)
            assert {e.label_ for e in doc.ents} <= set(task.labels)
    sentiment = PromptBackend(SentimentTask(), BackendOptions(chat_model=chat))
    reviews = [
        terms_doc("The battery is terrible but the screen is lovely.", "battery", "screen"),
        terms_doc("Great keyboard.", "keyboard"),
    ]
    sentiment.predict(reviews)
    assert sentiment.failures == []
    assert [[o.term for o in r._.opinions] for r in reviews] == [
        ["battery", "screen"],
        ["keyboard"],
    ]


@pytest.mark.real
def test_real_model_finds_opinions_when_decoding_several_reviews_at_once() -> None:
    """The parallel decoder (several documents at once) constrains the answer to the schema
    but does not show it to the model, so the prompt must show the format: without a worked
    example the model began a JSON object where the schema wants arrays and every list
    closed empty, for reviews that name no product and for those that do."""
    from distill.config import LLMConfig
    from distill.llm import lazy_chat_model

    chat = lazy_chat_model(LLMConfig(cache=False))
    runner = PromptBackend(SentimentTask(), BackendOptions(chat_model=chat))
    docs = [
        make_doc("The battery life is amazing but the screen is far too dim."),
        make_doc("i love this phone , the speakerphone is loud and clear ."),
    ]
    runner.predict(docs)
    assert runner.failures == []
    found = {(o.aspect, o.polarity) for o in docs[0]._.opinions}
    assert {("battery", "positive"), ("screen", "negative")} <= found
    assert ("sound", "positive") in {(o.aspect, o.polarity) for o in docs[1]._.opinions}

    # the same with the products NER found (the prompt that names them)
    from spacy.tokens import Span

    texts = ["The Orion 6 battery is dreadful.", "I love the Kestrel K5, its screen is superb."]
    named = [make_doc(text) for text in texts]
    for doc, name in zip(named, ("Orion 6", "Kestrel K5"), strict=True):
        start = doc.text.index(name)
        doc.ents = [doc.char_span(start, start + len(name), label="PRODUCT")]
        assert isinstance(doc.ents[0], Span)
    runner.predict(named)
    assert runner.failures == []
    assert ("Orion 6", "battery", "negative") in {
        (o.target, o.aspect, o.polarity) for o in named[0]._.opinions
    }
    assert ("Kestrel K5", "screen", "positive") in {
        (o.target, o.aspect, o.polarity) for o in named[1]._.opinions
    }


@pytest.mark.real
def test_real_model_parallel_answers_are_cached(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A second run of the same batch is answered from the response cache, not decoded."""
    from distill.config import LLMConfig
    from distill.llm import chat_model
    from distill.llm.cache import DiskCache
    from distill.llm.parallel import ParallelDecoder

    chat = chat_model(LLMConfig(cache=False))
    chat.cache = DiskCache(tmp_path / "cache.sqlite")
    task = NERTask(labels=["PER", "LOC"])
    runs = []
    for _ in range(2):
        runner = PromptBackend(task, BackendOptions(chat_model=lambda: chat))
        docs = [make_doc("Ada lives in Paris."), make_doc("Bob left.")]
        runner.predict(docs)
        runs.append([[(e.text, e.label_) for e in d.ents] for d in docs])

        def no_decoding(*args: Any, **kwargs: Any) -> None:
            raise AssertionError("decoded although cached")

        monkeypatch.setattr(ParallelDecoder, "generate", no_decoding)
    assert runs[0] == runs[1]


@pytest.mark.real
def test_every_task_of_a_pipeline_shares_one_loaded_model(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`ingest` and `evaluate` build one backend per task; the model loads once per process."""
    import llama_cpp

    from distill.config import load_config
    from distill.ingest.pipeline import Pipeline
    from distill.ingest.readers import SourceDocument

    loads: list[str] = []
    real_init = llama_cpp.Llama.__init__

    def counting_init(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[no-untyped-def]
        loads.append(kwargs.get("model_path", ""))
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(llama_cpp.Llama, "__init__", counting_init)
    config = load_config(
        overrides=["tasks.ner.backend=prompt", "tasks.sentiment.backend=prompt", "llm.cache=false"]
    ).config
    pipeline = Pipeline(config, tasks=["ner", "sentiment"])
    for text in ["The Nebula X2 battery is awful.", "Its camera is great."]:  # two batches
        docs, failures = pipeline.annotate([SourceDocument(id="r", text=text, source="test")])
        assert len(docs) == 1 and failures == []
    models = {id(b.chat_model().llama()[0]) for b in pipeline.backends.values()}
    assert len(models) == 1 and len(loads) <= 1
