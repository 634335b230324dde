"""The parallel decoder's parts: prompt-lookup drafts, the thread chooser, and on the real
model: drafted, early-stopped answers are schema-valid and in order."""

from __future__ import annotations

import json

import pytest

from distill.llm.parallel import ThreadChooser, _Sequence


def sequence(prompt: list[int]) -> _Sequence:
    return _Sequence(seq_id=1, prompt=prompt, matcher=None, max_tokens=100)


def test_a_draft_continues_where_the_last_two_tokens_occurred_last() -> None:
    # "... Angela Merkel visited Siemens ... Angela Merkel met" as token ids
    s = sequence([5, 10, 11, 12, 13, 6, 10, 11, 14, 7])
    s.append(10)
    s.append(11)
    assert s.draft(3) == [14, 7, 10]  # after the latest earlier (10, 11)
    assert s.draft(1) == [14]
    assert s.draft(0) == []


def test_a_draft_falls_back_to_the_last_token_then_its_spaced_form() -> None:
    s = sequence([1, 2, 3, 4])
    s.append(9)
    s.append(3)  # (9, 3) never occurred; 3 did, followed by 4
    assert s.draft(2) == [4, 9]
    s.append(8)  # unknown token: its spaced form (2, as 'Paris' -> ' Paris') is looked up
    assert s.draft(2) == []
    assert s.draft(2, spaced=2) == [3, 4]


def test_the_answer_so_far_is_indexed_too() -> None:
    s = sequence([1, 2])
    for token in [7, 8, 9, 7, 8]:
        s.append(token)
    assert s.draft(5) == [9, 7, 8]


def test_threads_both_cores_while_they_are_faster() -> None:
    chooser = ThreadChooser(2, probe_every=4)
    used = []
    for _ in range(20):
        threads = chooser.next()
        used.append(threads)
        chooser.record(threads, 30, 0.3 if threads == 2 else 0.5)
    assert used[:4] == [2, 2, 1, 1]  # each option timed twice
    assert used[2:].count(2) > 15


def test_threads_one_core_while_another_job_holds_the_other() -> None:
    """llama.cpp's threads wait for each other: a busy core makes two threads far slower."""
    chooser = ThreadChooser(2, probe_every=4)
    busy = True
    used = []
    for step in range(200):
        if step == 150:
            busy = False
        threads = chooser.next()
        used.append(threads)
        cost = {2: 5.0 if busy else 0.3, 1: 0.5}[threads]
        chooser.record(threads, 30, cost)
    assert used[2:150].count(2) <= 6  # probed less and less often while it loses
    assert used[-15:].count(2) >= 14  # and taken again once the core is free


def test_prompt_sized_steps_are_not_compared_with_decoding_steps() -> None:
    """A 1,000-token prompt step costs more per token than a 30-token decoding step on any
    thread count: timing it would make the option it ran on look slower."""
    chooser = ThreadChooser(2, probe_every=4, timed_most=64)
    used = []
    for step in range(40):
        tokens = 1000 if step % 5 == 0 else 30
        threads = chooser.next(tokens)
        used.append(threads)
        per_token = {2: 0.05, 1: 0.02}[threads] if tokens == 1000 else {2: 0.01, 1: 0.02}[threads]
        chooser.record(threads, tokens, per_token * tokens)
    assert used[0] == 2 and used[-10:].count(2) >= 9
    assert all(used[i] == 2 for i in range(10, 40, 5))  # large steps take the best, no probe


def test_one_core_is_the_only_option() -> None:
    chooser = ThreadChooser(1)
    for _ in range(5):
        assert chooser.next() == 1
        chooser.record(1, 10, 0.1)


@pytest.mark.real
def test_real_model_drafted_answers_are_schema_valid_and_in_order() -> None:
    """Drafts and the early stop change how many steps a batch takes, not what an answer
    may be: every answer parses under its own schema, and nothing follows the JSON."""
    from langchain_core.messages import convert_to_openai_messages

    from distill.config import LLMConfig
    from distill.doc import make_doc
    from distill.llm import chat_model
    from distill.llm.local import inline_refs
    from distill.llm.parallel import ParallelDecoder
    from distill.plugins import BackendOptions
    from distill.plugins.ner import NERTask
    from distill.plugins.prompt_backend import PromptBackend

    chat = chat_model(LLMConfig(cache=False))
    llama, _ = chat.llama()
    task = NERTask(labels=["PER", "ORG", "LOC"])
    backend = PromptBackend(task, BackendOptions(chat_model=lambda: chat))
    docs = [
        make_doc("Angela Merkel visited Siemens in Munich."),
        make_doc("It rained."),
        make_doc("Tim Cook runs Apple from Cupertino, California."),
    ]
    schemas = [task.llm_schema(doc) for doc in docs]
    for draft in (0, 6):
        decoder = ParallelDecoder(llama, n_seq=2, n_ctx=4096, draft=draft)
        try:
            prompts = [
                decoder.tokens(convert_to_openai_messages(backend.messages(doc))) for doc in docs
            ]
            json_schemas = [inline_refs(schema.model_json_schema()) for schema in schemas]
            answers = decoder.generate(prompts, json_schemas, 200)
        finally:
            decoder.close()
        assert len(answers) == 3
        for answer, schema in zip(answers, schemas, strict=True):
            assert answer == answer.strip() and isinstance(json.loads(answer), dict)
            parsed = schema.model_validate_json(answer)
            assert {label for _, label in parsed.entities} <= set(task.labels)
        stats = decoder.stats
        assert stats["accepted"] <= stats["drafted"] and (draft or not stats["drafted"])


@pytest.mark.real
def test_real_model_forced_text_is_not_decoded() -> None:
    """A term-polarity answer is mostly fixed by its schema (`{"opinions":[["screen","`):
    those tokens are appended without a decoding step each, and the answer still parses,
    every term in order. A term with quotes in it is any string in the task's schema (the
    sequential path's llama.cpp grammar dies on its escaped constant); llguidance also
    takes it as a constant."""
    from typing import Literal

    from langchain_core.messages import convert_to_openai_messages
    from pydantic import create_model

    from distill.config import LLMConfig
    from distill.doc import make_doc
    from distill.llm import chat_model
    from distill.llm.local import inline_refs
    from distill.llm.parallel import ParallelDecoder
    from distill.plugins import BackendOptions
    from distill.plugins.prompt_backend import PromptBackend
    from distill.plugins.sentiment.task import LLMPolarity, SentimentTask

    chat = chat_model(LLMConfig(cache=False))
    llama, _ = chat.llama()
    task = SentimentTask()
    backend = PromptBackend(task, BackendOptions(chat_model=lambda: chat))
    texts = {
        "The screen is sharp but the battery dies by noon.": ["screen", "battery"],
        'The left "mouse" button sticks.': ['left "mouse" button'],
    }
    docs = []
    for text, terms in texts.items():
        doc = make_doc(text)
        spans = [(text.index(t), text.index(t) + len(t)) for t in terms]
        doc._.meta = {
            "aspect_terms": [
                {"term": t, "start": a, "end": b} for t, (a, b) in zip(terms, spans, strict=True)
            ]
        }
        docs.append(doc)
    schemas = [task.llm_schema(doc) for doc in docs]
    quoted = Literal['left "mouse" button']
    schemas[1] = create_model("Quoted", opinions=(tuple[tuple[quoted, LLMPolarity]], ...))
    decoder = ParallelDecoder(llama, n_seq=2, n_ctx=4096)
    try:
        prompts = [decoder.tokens(convert_to_openai_messages(backend.messages(d))) for d in docs]
        json_schemas = [inline_refs(schema.model_json_schema()) for schema in schemas]
        answers = decoder.generate(prompts, json_schemas, 100)
    finally:
        decoder.close()
    for answer, schema, terms in zip(answers, schemas, texts.values(), strict=True):
        parsed = schema.model_validate_json(answer)
        assert [term for term, _ in parsed.opinions] == terms
    assert decoder.stats["forced"] > decoder.stats["tokens"]
