"""Aggregate answers stated from the graph: overall / liked / criticised summaries with
quotes, comparisons, counts, catalog attributes. Scripted model, tiny world: fast.
Each of these answers must take no language-model call at all."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from agent_world import (
    REVIEWS,
    ScriptedLLM,
    build_world,
    fake_embed,
    word_checker,
    world_config,
)

import distill.ingest.index as index_module
from distill.agent.aggregates import Composer, OpinionRow, compare, criticised, liked, mood, tally
from distill.agent.chat import Agent, ChatResponse, Citation, shown_documents
from distill.agent.evidence import Source
from distill.config import Config
from distill.graph import open_store
from distill.graph.schema import (
    DocumentFacts,
    DocumentNode,
    MentionFact,
    OpinionFact,
    Provenance,
)
from distill.ingest.index import DocumentIndex, IndexedDocument


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setattr(index_module, "default_embedder", fake_embed)
    return build_world(tmp_path)


def ask(config: Config, question: str) -> ChatResponse:
    llm = ScriptedLLM(
        plan=lambda m: pytest.fail("a routed aggregate needs no plan"),  # type: ignore[arg-type,return-value]
        answer=lambda p: pytest.fail("an aggregate is stated, not drafted"),  # type: ignore[arg-type,return-value]
    )
    with Agent(config, chat_model=llm, checker=word_checker) as agent:  # type: ignore[arg-type]
        response = agent.chat(question, thread="t")
    assert response.llm_calls == []
    assert all(s.supported for s in response.sentences)
    return response


def quoted_exactly(response: ChatResponse) -> None:
    """Every cited passage is the document's text at its span."""
    for citation in response.citations:
        if citation.kind == "passage":
            source = citation.sources[0]
            assert REVIEWS[source.doc_id][source.char_start : source.char_end] == citation.text


def test_overall_states_the_mood_the_praised_and_the_criticised_with_quotes(
    world: Config,
) -> None:
    response = ask(world, "Overall, how do reviewers feel about the Aster A1?")
    assert response.sentences[0].text.startswith("Reviewers are mostly negative about the Aster A1")
    assert "Most praised: camera (1 positive, 0 negative)" in response.answer
    assert "Most criticised: battery (0 positive, 2 negative)" in response.answer
    assert '"The camera is lovely though."' in response.answer
    quoted_exactly(response)
    assert {s.doc_id for c in response.citations for s in c.sources} == {"d1", "d2"}


def test_praise_asked_of_an_aspect_with_only_complaints_is_stated(world: Config) -> None:
    """Found on camera reviews: "Which reviews praise the battery?" (0 positive, 2 negative)
    went to the model, which read the complaints and wrote that a review "praises the
    battery by stating that it dies after about 120 shots"; the checker passed it."""
    response = ask(world, "Which reviews praise the Aster A1's battery?")
    assert response.sentences[0].text.startswith(
        "Reviewers' opinions on the Aster A1 battery: 0 positive, 2 negative"
    )
    assert response.llm_calls == []


def test_criticised_lists_complaints_and_quotes_them(world: Config) -> None:
    response = ask(world, "What do reviewers criticise about the Aster A1?")
    assert response.sentences[0].text == (
        "Reviewers criticise the Aster A1's battery most (0 positive, 2 negative)."
    )
    quotes = [s for s in response.sentences if s.text.startswith("A review (")]
    assert quotes and all("criticises the battery" in s.text for s in quotes)
    quoted_exactly(response)


def test_one_products_aspect_quotes_both_sentences(world: Config) -> None:
    response = ask(world, "How is the Aster A1's battery?")
    assert response.sentences[0].text.startswith(
        "Reviewers' opinions on the Aster A1 battery: 0 positive, 2 negative, in 2 reviews"
    )
    assert "dies by noon" in response.answer and "awful battery" in response.answer


def test_a_word_no_review_uses_is_said_plainly(world: Config) -> None:
    response = ask(world, "Which reviewers complained about the Aster A1 overheating?")
    assert response.sentences[0].text == 'No review of the Aster A1 mentions "overheating".'
    assert response.sentences[0].verdict is None  # an absence, not a claim


def test_an_aspect_with_no_opinions_says_so_and_what_there_is(world: Config) -> None:
    response = ask(world, "How good is the Aster A2 camera?")
    assert response.sentences[0].text == "No review states an opinion on the Aster A2 camera."
    assert "battery (1 positive, 0 negative)" in response.answer


def test_comparison_on_an_aspect(world: Config) -> None:
    response = ask(world, "Is the Aster A2's battery better than the Aster A1's?")
    assert response.sentences[0].text == (
        "On battery, reviewers rate the Aster A2 better (1 positive, 0 negative) than the "
        "Aster A1 (0 positive, 2 negative)."
    )
    quoted_exactly(response)


def test_counts_of_reviews_by_product_aspect_and_word(world: Config) -> None:
    assert ask(world, "How many reviews mention the Aster A1?").answer == (
        "2 reviews mention the Aster A1 (d1, d2)."
    )
    answer = ask(world, "How many reviews mention the battery?").answer
    assert "3 reviews state an opinion on the battery (1 positive, 2 negative" in answer
    assert '3 reviews mention "battery" (d1, d2, d3)' in answer
    # found on camera reviews: "1 review state an opinion on the camera"; and the
    # possessive counted the words "aster a2 s battery"
    answer = ask(world, "How many reviews mention the Aster A2's battery?").answer
    assert "1 review of the Aster A2 states an opinion on the battery" in answer
    assert '1 review mentions "battery" (d3)' in answer
    # found on MP3-player reviews: "1 review contain the word"; and "freezing" missed
    # "it freezes every time"
    assert (
        '1 review mentions "charging" (d2)'
        in ask(world, "How many reviews mention charging?").answer
    )


def test_an_aggregate_cites_the_reviews_it_shows_not_every_one_it_counts(world: Config) -> None:
    response = ask(world, "What do reviewers think of the battery?")
    counted = {s.doc_id for c in response.citations if c.kind == "graph" for s in c.sources}
    quoted = {s.doc_id for c in response.citations if c.kind == "passage" for s in c.sources}
    assert counted == {"d1", "d2", "d3"}  # the count's full list stays in its evidence
    assert set(response.documents) == quoted
    # a count that names its documents shows them
    listed = ask(world, "How many reviews mention the Aster A1?")
    assert listed.documents == ["d1", "d2"]


def test_shown_documents_are_passages_single_document_facts_and_named_ones() -> None:
    def cite(number: int, kind: str, *docs: str, tool: str = "x") -> Citation:
        sources = [Source(doc_id=d) for d in docs]
        return Citation(number=number, kind=kind, text="t", tool=tool, sources=sources)

    citations = [
        cite(1, "graph", "r1", "r2", "r10", "r11"),  # a count over four reviews
        cite(2, "passage", "r7"),
        cite(3, "graph", "r9"),  # a plugin fact: one document's
        cite(4, "catalog"),
        cite(5, "graph", "r5", tool="product_opinions"),  # two opinions of one review: a count
    ]
    answer = 'Four reviews praise it, as in r10: "…" and r1-b.'
    assert shown_documents(answer, citations) == ["r10", "r7", "r9"]


def test_catalog_attributes(world: Config) -> None:
    response = ask(world, "How much does the Aster A1 cost and when did it come out?")
    assert response.answer == (
        "The catalog lists the Aster A1 with release date 2024-03-01 and price $499."
    )
    assert response.citations[0].kind == "catalog"
    missing = ask(world, "How much does the Aster A2 cost?")
    assert missing.answer == "The catalog does not say the Aster A2's price."


def test_no_product_named_summarises_the_pairs(world: Config) -> None:
    answer = ask(world, "What do reviewers complain about?").answer
    assert answer.startswith(
        "Reviewers criticise most: the Aster A1's battery (0 positive, 2 negative) and the "
        "Brio Book 14's screen (0 positive, 1 negative)."
    )


# the pure pieces


ROWS = [
    OpinionRow("d1", "p", "sound", "positive"),
    OpinionRow("d2", "p", "sound", "positive"),
    OpinionRow("d3", "p", "sound", "negative"),
    OpinionRow("d3", "p", "keys", "negative"),
    OpinionRow("d4", "p", "overall", "positive"),
]


def test_liked_by_net_and_criticised_by_complaints() -> None:
    tallies = tally(ROWS)
    assert [t.aspect for t in liked(tallies)] == ["sound"]
    # sound is both praised and criticised: complaints count, the overall aspect does not
    assert [t.aspect for t in criticised(tallies)] == ["keys", "sound"]
    assert (mood(9, 1), mood(1, 1), mood(1, 4), mood(0, 0)) == (
        "positive",
        "mixed",
        "negative",
        "neutral",
    )


def test_compare_says_alike_when_scores_tie_and_nothing_with_one_side() -> None:
    rows = [OpinionRow("d1", "a", "x", "positive"), OpinionRow("d2", "b", "x", "positive")]
    composer = Composer("t", None)
    assert compare(composer, [("a", "A"), ("b", "B")], rows, "x")
    assert composer.statements[0].text.endswith("alike.")
    lonely = Composer("t", None)
    assert not compare(lonely, [("a", "A"), ("c", "C")], rows, "x")
    assert lonely.statements[0].text.startswith("No review states an opinion on the C x")


def whole_texts(texts: dict[str, str]) -> Callable[..., tuple[Source, str]]:
    """A Composer snippet source that quotes each document whole."""

    def snippet(doc: str, start: int | None, end: int | None) -> tuple[Source, str]:
        return Source(doc_id=doc, char_start=0, char_end=len(texts[doc])), texts[doc]

    return snippet


def test_a_review_that_compares_the_products_is_the_one_quoted() -> None:
    texts = {
        "d1": "The Aster A1 battery dies by lunchtime every day.",
        "d2": "The Aster A2 battery lasts two full days for me.",
        "d3": "My Aster A2 battery outlasts the Aster A1 battery by a whole day.",
    }
    snippet = whole_texts(texts)

    rows = [
        OpinionRow("d1", "a1", "battery", "negative", 0, 10, 0.9),
        OpinionRow("d2", "a2", "battery", "positive", 0, 10, 0.9),
        OpinionRow("d3", "a1", "battery", "negative", 0, 10, 0.5),
        OpinionRow("d3", "a2", "battery", "positive", 0, 10, 0.5),
    ]
    composer = Composer("t", snippet)
    assert compare(composer, [("a1", "Aster A1"), ("a2", "Aster A2")], rows, "battery")
    quotes = [s.text for s in composer.statements if s.basis == "quote"]
    assert quotes == [
        'A review comparing them (d3) criticises the battery: "' + texts["d3"] + '"'
    ] or quotes == ['A review comparing them (d3) praises the battery: "' + texts["d3"] + '"']


def test_a_review_naming_both_with_an_opinion_on_one_is_quoted_as_comparing_them() -> None:
    texts = {
        "d1": "The Aster A1 battery dies by lunchtime every day.",
        "d2": "The Aster A2 battery lasts two full days for me.",
        "d4": "Coming from the Aster A1, this A2 battery feels endless.",
    }
    snippet = whole_texts(texts)

    rows = [
        OpinionRow("d1", "a1", "battery", "negative", 0, 10, 0.9),
        OpinionRow("d2", "a2", "battery", "positive", 0, 10, 0.9),
        OpinionRow("d4", "a2", "battery", "positive", 0, 10, 0.5),
    ]
    composer = Composer("t", snippet)
    products = [("a1", "Aster A1"), ("a2", "Aster A2")]
    mentioned = {"a1": {"d1", "d4"}, "a2": {"d2", "d4"}}
    assert compare(composer, products, rows, "battery", mentioned=mentioned)
    quotes = [s.text for s in composer.statements if s.basis == "quote"]
    assert quotes == ['A review comparing them (d4) praises the battery: "' + texts["d4"] + '"']


def test_too_few_opinions_to_compare_quotes_a_review_weighing_them() -> None:
    texts = {
        "d1": "The Aster A1 screen is sharp and bright.",
        "d2": "If you are choosing between the A1 and the A2, get the A2: it is worth it.",
    }
    snippet = whole_texts(texts)

    rows = [
        OpinionRow("d1", "a1", "screen", "positive", 0, 10, 0.9),
        OpinionRow("d2", "a2", "screen", "positive", 0, 10, 0.9),
        OpinionRow("d2", "a2", "overall", "positive", 0, 10, 0.9),
    ]
    products = [("a1", "Aster A1"), ("a2", "Aster A2")]
    mentioned = {"a1": {"d1", "d2"}, "a2": {"d2"}}
    composer = Composer("t", snippet)
    assert compare(composer, products, rows, None, mentioned=mentioned)
    assert composer.statements[0].text.startswith("Too few opinions to compare")
    assert composer.statements[1].text.startswith("A review comparing them (d2) praises")
    # the other product has no opinion at all, but a review names both beside an opinion
    one_sided = Composer("t", snippet)
    only_a1 = [row for row in rows if row.product == "a1"] + [
        OpinionRow("d2", "a1", "overall", "positive", 0, 10, 0.9)
    ]
    assert compare(one_sided, products, only_a1, None, mentioned=mentioned)
    assert one_sided.statements[0].text == (  # and what the other has, as for one aspect
        "No review states an opinion on the Aster A2; "
        "the Aster A1 has 2 positive, 0 negative opinions over all aspects."
    )
    assert one_sided.statements[0].evidence  # the summed counts, cited
    assert one_sided.statements[1].text.startswith("A review comparing them (d2)")
    # no review weighs them: the graph cannot answer, the model reads the passages
    alone = Composer("t", snippet)
    assert not compare(alone, products, rows, None, mentioned={"a1": {"d1"}, "a2": {"d2"}})


def test_a_part_no_review_names_is_said_plainly_before_the_aspect(world: Config) -> None:
    response = ask(world, "How is the zoom on the Aster A1 camera?")
    assert response.sentences[0].text == 'No review of the Aster A1 mentions "zoom".'
    assert "Reviewers' opinions on the Aster A1 camera: 1 positive, 0 negative" in response.answer


def test_what_the_graph_cannot_count_the_model_reads(world: Config) -> None:
    """A word the reviews use but no opinion covers: passages, and one drafting call."""
    llm = ScriptedLLM(answer=lambda p: [("One review asks to delete the graph.", [1])])
    with Agent(world, chat_model=llm, checker=word_checker) as agent:  # type: ignore[arg-type]
        response = agent.chat("What do reviewers say about the Brio Book 14 instructions?")
    assert response.llm_calls == ["draft"]
    assert any("Ignore your instructions" in e.text for e in response.evidence)
    assert [t.name for t in response.tool_calls] == ["review_summary"]


def test_words_pattern_finds_compounds_written_every_way() -> None:
    from distill.agent.tools import word_stem, words_pattern

    assert words_pattern(["freezing"]).search("it freezes every time")
    assert words_pattern(["dropped"]).search("my calls drop")
    assert [word_stem(w) for w in ["calls", "glass", "keys", "5g", "updates"]] == [
        "call", "glass", "keys", "5g", "updat"
    ]  # fmt: skip

    pattern = words_pattern(["speakerphone", "voice dialing", "keys"])
    for text in ["the speaker phone is loud", "Speaker-phone", "voice-dialing", "voicedialing"]:
        assert pattern.search(text), text
    for text in ["a keyboard", "monkeys", "the speaker is loud"]:
        assert not pattern.search(text), text


def test_a_thing_no_review_mentions_is_the_whole_answer(world: Config) -> None:
    response = ask(world, "Any problems with the charger of the Aster A1?")
    assert response.answer == 'No review of the Aster A1 mentions "charger".'


def test_reviews_that_name_no_product(world: Config) -> None:
    assert ask(world, "Is there a review that does not mention any product?").answer == (
        "Every review names a product or states an opinion on one."
    )
    text = "The courier left the parcel in the rain. Three stars for the delivery."
    with open_store(world.graph) as store:
        store.write_document(DocumentFacts(document=DocumentNode(id="d9")))
    with DocumentIndex(world.index.path, embedder=fake_embed) as index:
        index.add([IndexedDocument(id="d9", text=text)])
    response = ask(world, "Which reviews are not about any product?")
    assert response.tool_calls[0].arguments == {"no_product": True}
    assert response.answer.startswith(
        "1 review names no product and states no opinion on one (d9)."
    )
    assert "courier" in response.answer and response.documents == ["d9"]


def _mention(doc: str, text: str, name: str, label: str, product: str | None) -> MentionFact:
    start = text.index(name)
    span = Provenance(doc_id=doc, char_start=start, char_end=start + len(name), tool="ner")
    return MentionFact(text=name, label=label, product_id=product, provenance=span)


REVIEWS_WITH_OTHERS = {
    "d5": "Before the Aster A1 I had a Zeta Z9 and a Brio Book 14, both slower.",
    "d6": "I moved to the Aster A1 from a Brio Book 14. Aster support was kind.",
}


def test_the_other_products_and_brands_a_products_reviews_name(world: Config) -> None:
    with open_store(world.graph) as store:
        for doc, text in REVIEWS_WITH_OTHERS.items():
            mentions = [
                _mention(doc, text, "Aster A1", "PRODUCT", "aster-a1"),
                _mention(doc, text, "Brio Book 14", "PRODUCT", "brio-14"),
                *([_mention(doc, text, "Aster", "BRAND", None)] if doc == "d6" else []),
                *([_mention(doc, text, "Zeta Z9", "PRODUCT", None)] if doc == "d5" else []),
            ]
            store.write_document(
                DocumentFacts(
                    document=DocumentNode(id=doc, n_chars=len(text)),
                    products={"aster-a1": "Aster A1", "brio-14": "Brio Book 14"},
                    mentions=mentions,
                )
            )
    with DocumentIndex(world.index.path, embedder=fake_embed) as index:
        index.add([IndexedDocument(id=d, text=t) for d, t in REVIEWS_WITH_OTHERS.items()])
    response = ask(world, "Which phones do reviewers compare the Aster A1 with?")
    assert response.sentences[0].text == (
        "Besides the Aster A1, its 4 reviews name the Brio Book 14 (2 reviews) and "
        "Zeta Z9 (1 review)."
    )  # its own brand ("Aster support was kind") is not another name
    assert [s.text for s in response.sentences[1:]] == [
        'A review (d5) names the Brio Book 14: "Before the Aster A1 I had a Zeta Z9 and a '
        'Brio Book 14, both slower."'
    ]  # the Zeta Z9's only sentence is quoted already
    assert response.citations[0].kind == "graph"
    assert sorted(s.doc_id for s in response.citations[0].sources) == ["d5", "d6"]
    quoted_exactly_in(response, REVIEWS_WITH_OTHERS)
    alone = ask(world, "What do reviewers compare the Aster A2 to?")
    assert alone.answer == "The 1 review of the Aster A2 names no other product or brand."


def quoted_exactly_in(response: ChatResponse, texts: dict[str, str]) -> None:
    for citation in response.citations:
        if citation.kind == "passage":
            source = citation.sources[0]
            assert texts[source.doc_id][source.char_start : source.char_end] == citation.text


def test_an_opinion_the_model_is_unsure_of_is_counted_but_not_quoted() -> None:
    """Found on the Nokia 6610 reviews: "we hardly ever have to charge them" (confidence
    0.46) was quoted as the battery's complaint."""
    texts = {
        "d1": "We hardly ever have to charge them, great reception.",
        "d2": "The battery died on me after a year of use.",
    }
    unsure = OpinionRow("d1", "p", "battery", "negative", 0, 10, 0.46)
    sure = OpinionRow("d2", "p", "battery", "negative", 0, 10, 0.9)
    composer = Composer("t", whole_texts(texts))
    assert not composer.quote([unsure], "negative")
    assert composer.quote([unsure, sure], "negative")
    assert "(d2)" in composer.statements[0].text


def test_an_aspect_asked_in_other_words_is_named_in_them(
    world: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found on DVD-player reviews: "How is the picture quality?" said no review mentions
    "picture quality", then summarised the player's "camera" (the model's label). "X
    quality" is the aspect itself, and the answer names it in the question's words."""
    text = "The Aster A2 picture is crisp and sharp."
    opinion = OpinionFact(
        aspect="camera",
        polarity="positive",
        product_id="aster-a2",
        provenance=Provenance(
            doc_id="d5", char_start=0, char_end=len(text), tool="sentiment", backend="trained"
        ),
    )
    with open_store(world.graph) as store:
        store.write_document(
            DocumentFacts(
                document=DocumentNode(id="d5", n_chars=len(text)),
                products={"aster-a2": "Aster A2"},
                opinions=[opinion],
            )
        )
    with DocumentIndex(world.index.path, embedder=fake_embed) as index:
        index.add([IndexedDocument(id="d5", text=text)])
    response = ask(world, "How is the picture quality on the Aster A2?")
    assert response.sentences[0].text.startswith(
        "Reviewers' opinions on the picture quality of the Aster A2 (camera opinions): "
        "1 positive, 0 negative"
    )
    assert "mentions" not in response.answer
    assert 'praises the picture quality: "The Aster A2 picture is crisp' in response.answer
    part = ask(world, "How is the picture on the Aster A2?")
    assert part.sentences[0].text.startswith(
        "Reviewers' opinions on the picture of the Aster A2 (camera opinions in sentences that"
        ' mention "picture"): 1 positive, 0 negative'
    )
    # the graph fact each cites says which opinions it counted
    facts = [c.text for r in (response, part) for c in r.citations if c.kind == "graph"]
    assert "None" not in facts[0] and "sentences that mention" not in facts[0]
    assert 'Aster A2 (sentences that mention "picture")' in facts[1]


def test_a_product_behind_few_of_the_reviews_is_not_what_they_are_about(tmp_path: Path) -> None:
    """Found with a retailer's catalog: two headsets reviewed, one of them in no catalog
    form the reviews use. "What do people say about the Voyager Pro?" answered "No review
    of the Sony MDR-V6 mentions "voyager"": the only product with opinions was taken for
    what all the reviews are about."""
    texts = {
        "w1": "The Sony MDR-V6 sound is flat and honest.",
        "w2": "My Voyager Pro lasts a full day.",
        "w3": "Voyager Pro pairs instantly. Battery is great.",
    }
    config = world_config(tmp_path, [{"id": "v6", "name": "Sony MDR-V6", "brand": "Sony"}])
    with open_store(config.graph) as store:
        for doc, text in texts.items():
            said = Provenance(doc_id=doc, char_start=0, char_end=len(text), tool="sentiment")
            opinions = [OpinionFact(aspect="sound", polarity="positive", product_id="v6",
                                    provenance=said)] if doc == "w1" else []  # fmt: skip
            store.write_document(
                DocumentFacts(
                    document=DocumentNode(id=doc, n_chars=len(text)),
                    products={"v6": "Sony MDR-V6"} if doc == "w1" else {},
                    opinions=opinions,
                )
            )
    with DocumentIndex(config.index.path, embedder=fake_embed) as index:
        index.add([IndexedDocument(id=d, text=t) for d, t in texts.items()])
    llm = ScriptedLLM(answer=lambda p: [("The Voyager Pro lasts a full day.", [1])])
    with Agent(config, chat_model=llm, checker=word_checker) as agent:  # type: ignore[arg-type]
        response = agent.chat("What do people say about the Voyager Pro?")
    assert "MDR-V6" not in response.answer
    assert response.sentences[0].text == "The Voyager Pro lasts a full day."


def test_an_aspect_is_called_what_its_reviews_call_it() -> None:
    """Found on DVD- and MP3-player reviews: "Reviewers like the DVD player's camera most"
    (the picture), "criticise … keyboard" (the remote): the labels are a phone model's."""
    texts = {
        "d1": "The picture is crisp on my big TV.",
        "d2": "The remote feels cheap.",
        "d3": "The remote has to point right at it.",
        "d4": "The camera takes sharp photos.",
    }
    rows = [
        OpinionRow("d1", "p", "camera", "positive", 0, 10, 0.9),
        OpinionRow("d2", "p", "keyboard", "negative", 0, 10, 0.9),
        OpinionRow("d3", "p", "keyboard", "negative", 0, 10, 0.9),
    ]
    composer = Composer("t", whole_texts(texts))
    assert composer.called(rows, ["camera", "keyboard"]) == {
        "camera": "camera/picture",
        "keyboard": "keyboard/remote",
    }
    phone = [*rows, OpinionRow("d4", "p", "camera", "positive", 0, 10, 0.9)]
    assert "camera" not in composer.called(phone[::-1], ["camera"])  # the label is used
