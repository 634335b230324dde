"""Answers that would assert what the data cannot support: a question restricted to a
property of the reviews the graph does not record (dates, star ratings), and a drafted
sentence carrying a word of the question that no source uses. Scripted model, tiny
world, plus a checker that passes anything (as a lexical checker passes a sentence whose
numbers are copied from the evidence)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from agent_world import ScriptedLLM, build_world, fake_embed, word_checker

import distill.ingest.index as index_module
from distill.agent.chat import Agent, ChatResponse
from distill.agent.evaluation import Question, grade
from distill.agent.evidence import Evidence
from distill.agent.guardrail import check_sentences, unsupported_terms
from distill.agent.router import ProductResolver, route, unrecorded_qualifiers
from distill.config import Config
from distill.plugins.factcheck.task import Verdict


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setattr(index_module, "default_embedder", fake_embed)
    return build_world(tmp_path)


def passes_anything(pairs: Sequence[tuple[str, list[str]]]) -> list[Verdict]:
    return [Verdict(claim=claim, label="supported", confidence=0.9) for claim, _ in pairs]


def ask(config: Config, question: str, llm: ScriptedLLM | None = None) -> ChatResponse:
    llm = llm or ScriptedLLM(
        plan=lambda m: pytest.fail("nothing to plan"),  # type: ignore[arg-type,return-value]
        answer=lambda p: pytest.fail("nothing to draft"),  # type: ignore[arg-type,return-value]
    )
    with Agent(config, chat_model=llm, checker=passes_anything, policy="remove") as agent:  # type: ignore[arg-type]
        return agent.chat(question, thread="t")


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Which product was reviewed the most in 2025?", {"dates": ["2025"]}),
        ("How many reviews from last year mention the battery?", {"dates": ["last year"]}),
        ("What do the newest reviews say about the screen?", {"dates": ["newest"]}),
        ("What star rating do reviewers give the Aster A1?", {"star ratings": ["star", "rating"]}),
        ("How many 5-star reviews does the A1 have?", {"star ratings": ["star"]}),
        ("What is the average rating of the Aster A1?", {"star ratings": ["rating"]}),
        # the reviews' opinions, a catalog date, a spec: not a qualifier on the reviews
        ("How do reviewers rate the phone's size?", {}),
        ("How is the Aster A1 rated?", {}),
        ("When was the Aster A1 released?", {}),
        ("Which phone came out in 2024?", {}),
        ("What is the IP rating of the Aster A1?", {}),
        ("Does the battery last all day?", {}),
    ],
)
def test_qualifiers_on_what_the_graph_does_not_record(
    question: str, expected: dict[str, list[str]]
) -> None:
    assert unrecorded_qualifiers(question) == expected


def test_the_router_does_not_count_what_it_cannot_restrict() -> None:
    resolver = ProductResolver([])
    intent = route("How many reviews from 2023 mention the battery?", resolver)
    assert intent.name == "unrecorded" and intent.unrecorded == ["dates"]
    assert [name for name, _ in intent.calls] == ["search_reviews"]


def test_a_count_restricted_to_a_period_is_not_answered_with_all_the_counts(
    world: Config,
) -> None:
    response = ask(world, "How many reviews from 2023 mention the battery?")
    assert response.answer.startswith("The data does not say: the graph records no dates")
    assert "opinion" not in response.answer and "3 reviews" not in response.answer
    assert response.llm_calls == []
    question = Question(id="x", question="", expected_answer="", kind="unanswerable", abstain=True)
    assert grade(question, response.answer, response.sentences, shown_only=True)


def test_a_star_rating_is_not_made_from_opinion_counts(world: Config) -> None:
    response = ask(world, "What star rating do reviewers give the Aster A1?")
    assert "records no star ratings" in response.answer
    assert "positive" not in response.answer and "negative" not in response.answer
    assert response.llm_calls == []


def test_a_question_word_no_source_uses_is_not_supported_whatever_the_checker_says() -> None:
    evidence = [
        Evidence(kind="graph", text="Aster A1 / overall: 3 positive, 1 negative", tool="t"),
        Evidence(kind="passage", text="The battery dies by noon.", tool="t"),
    ]
    question = "Which is better, the Aster A1 or the Aster A7?"
    assert unsupported_terms(
        "The Aster A1 beats the Aster A7.", question, [e.text for e in evidence]
    ) == ["a7"]
    checked = check_sentences(
        [("The Aster A1 is better than the Aster A7.", []), ("The Aster A1 is better.", [])],
        evidence,
        passes_anything,
        question=question,
    )
    assert checked[0].verdict.label == "not_enough_info"  # type: ignore[union-attr]
    assert '"a7"' in checked[0].verdict.evidence  # type: ignore[union-attr]
    assert checked[1].verdict.label == "supported"  # type: ignore[union-attr]
    # words of the question's shape, and words with another ending, are not qualifiers
    assert unsupported_terms(
        "Reviewers think the battery died.", "What do reviewers think of the battery dying?",
        ["the battery dies"],
    ) == []  # fmt: skip
    assert unsupported_terms(  # "describe" shapes the question, as "think" does
        "The reviews describe the keypad as small.", "How do reviewers describe the keypad?",
        ["the keypad is small and hard to press"],
    ) == []  # fmt: skip
    assert unsupported_terms(  # so does "find"; a comparative is its adjective
        "Reviewers find it easy to use.", "Do reviewers find the phone easy to use?",
        ["it is easier to use than my old one"],
    ) == []  # fmt: skip


def test_a_product_the_evidence_names_by_a_short_form_may_be_named_in_full() -> None:
    """A review says "the K5 Max"; the question and the answer say "Kestrel K5 Max"."""
    evidence = [Evidence(kind="passage", text="The K5 Max is a brick in my pocket.", tool="t")]
    question = "What do people think of the Kestrel K5 Max's size?"
    sentence = "The Kestrel K5 Max is a brick in the pocket."
    assert unsupported_terms(sentence, question, [evidence[0].text]) == ["kestrel"]
    full_names = {"k5 max": "Kestrel K5 Max", "k7": "Kestrel K7"}

    def products_in(text: str) -> list[str]:
        return [name for form, name in full_names.items() if form in text.lower()]

    for asked, label in (
        (question, "supported"),
        ("Is the Kestrel K7 a brick?", "not_enough_info"),
    ):
        [checked] = check_sentences(
            [(sentence.replace("K5 Max", "K7") if "K7" in asked else sentence, [1])],
            evidence,
            passes_anything,
            products_in=products_in,
            question=asked,
        )
        assert checked.verdict.label == label  # type: ignore[union-attr]
    # a passage a tool found among the product's documents is about it, named or not
    about = Evidence(kind="passage", text="It is a brick.", tool="t", about=["Kestrel K5 Max"])
    [checked] = check_sentences([(sentence, [1])], [about], passes_anything, question=question)
    assert checked.verdict.label == "supported"  # type: ignore[union-attr]


def test_a_drafted_silence_a_passage_contradicts_is_not_shown() -> None:
    """ "The reviews do not mention updates" beside a review about updates is false."""
    from distill.agent.guardrail import apply_policy, false_silence

    passage = Evidence(kind="passage", text="Kestrel has pushed zero updates.", tool="t")
    silent = "The reviews do not mention any software updates for the Kestrel K7."
    assert false_silence(silent, [passage.text], ["Kestrel K7"]) == "updates"
    # what is said to be missing is the phrase's last word: the zoom, not the camera
    assert false_silence("No review mentions the camera zoom.", ["Great camera."]) is None
    checked = check_sentences(
        [(silent, []), ("No review mentions the camera zoom.", [])],
        [passage],
        passes_anything,
        question="Does the Kestrel K7 get updates?",
    )
    assert checked[0].verdict.label == "contradicted"  # type: ignore[union-attr]
    assert checked[1].verdict is None  # an abstention the passages do not contradict
    text, removed, _ = apply_policy(checked, "flag")
    assert silent not in text and removed == 1
    # the code's own "no review mentions" (basis "absence") is never second-guessed
    [code] = check_sentences([(silent, [])], [passage], passes_anything, bases=["absence"])
    assert code.verdict is None


def test_a_drafted_sentence_applying_a_qualifier_no_source_states_is_removed(
    world: Config,
) -> None:
    llm = ScriptedLLM(answer=lambda p: [("The Aster A1 battery dies by noon on 5G.", [1])])
    response = ask(world, "Does the Aster A1 battery die by noon on 5G?", llm)
    assert response.llm_calls == ["draft"]
    [bad] = [s for s in response.sentences if "5G" in s.text]
    assert not bad.kept and bad.verdict.label == "not_enough_info"  # type: ignore[union-attr]
    assert "5G" not in response.answer and "removed" in response.answer


def test_a_model_reading_of_opinion_counts_is_not_verified_by_copying_them() -> None:
    evidence = [
        Evidence(
            kind="graph",
            text="Aster A1 / overall: 198 positive (252 opinions)",
            tool="review_summary",
        ),
        Evidence(
            kind="passage", text="I would give the Aster A1 top marks.", tool="search_reviews"
        ),
        Evidence(kind="graph", text="product: Aster A1, reviews: 28", tool="query_graph"),
    ]

    def passage_only(pairs: Sequence[tuple[str, list[str]]]) -> list[Verdict]:
        """Supports the claim about marks by the passage that says it, nothing else."""
        return [
            Verdict(claim=c, label="supported" if "marks" in c and "marks" in " ".join(t)
                    else "not_enough_info", confidence=0.9)
            for c, t in pairs
        ]  # fmt: skip

    sentences = [
        ("The Aster A1 has a 198 rating out of 252.", [1]),  # counts, read by the model
        ("Reviewers give the Aster A1 top marks.", [1]),  # supported by a passage
        ("The Aster A1 was reviewed 28 times.", [3]),  # a graph row the model read
    ]
    checked = check_sentences(sentences, evidence, passes_anything)
    assert [c.verdict.label for c in checked] == [  # type: ignore[union-attr]
        "not_enough_info", "not_enough_info", "supported"
    ]  # fmt: skip
    repaired = check_sentences(sentences[:2], evidence, passage_only, repair=True)
    assert repaired[0].verdict.label == "not_enough_info"  # type: ignore[union-attr]
    assert repaired[1].verdict.label == "supported" and repaired[1].citations == [2]  # type: ignore[union-attr]


def test_a_tally_of_opinions_no_count_states_is_not_supported() -> None:
    """Found on MP3-player reviews: "The reviews are overwhelmingly negative, with only one
    positive review" (the graph: 3 positive, 7 negative) passed on a quoted passage."""
    evidence = [
        Evidence(
            kind="graph", text="Aster A1 / price: 3 positive, 7 negative", tool="review_summary"
        ),
        Evidence(kind="passage", text="The Pulse 20 costs more.", tool="review_summary"),
    ]
    sentences = [
        ("The reviews are overwhelmingly negative, with only one positive review.", [2]),
        ("The Aster A1 got 5 negative reviews on price.", [2]),
        ("It has 7 negative opinions on its price.", [1, 2]),  # a count the graph states
        # found on camera reviews, of a product no review rates
        (
            "It beats the Canon PowerShot, with more positive reviews and fewer negative reviews.",
            [2],
        ),
    ]
    checked = check_sentences(sentences, evidence, passes_anything)
    assert [c.verdict.label for c in checked] == [  # type: ignore[union-attr]
        "not_enough_info", "not_enough_info", "supported", "not_enough_info"
    ]  # fmt: skip


def test_sentences_packed_into_one_drafted_item_are_checked_one_by_one(world: Config) -> None:
    llm = ScriptedLLM(
        answer=lambda p: [("The Aster A1 battery dies by noon. It is waterproof to 5G. The A", [2])]
    )
    with Agent(world, chat_model=llm, checker=word_checker, policy="remove") as agent:  # type: ignore[arg-type]
        response = agent.chat("Does the Aster A1 die by noon?", thread="t")
    drafted = [s.text for s in response.sentences if s.verdict and "says:" not in s.text]
    assert "The Aster A1 battery dies by noon." in drafted
    assert "It is waterproof to 5G." in drafted and "The A" not in drafted
    assert "waterproof" not in response.answer


def test_a_sentence_repeating_a_passage_cites_that_passage() -> None:
    evidence = [
        Evidence(
            kind="passage", text="Battery health is at 91% and it still lasts all day.", tool="t"
        ),
        Evidence(
            kind="passage",
            text="Battery is the weak spot: I get maybe three and a half hours before "
            "the left one starts beeping.",
            tool="t",
        ),
    ]
    sentence = (
        "The main complaint is the battery, lasting three and a half hours before the left "
        "one starts beeping."
    )
    [checked] = check_sentences([(sentence, [1])], evidence, passes_anything)
    assert checked.citations == [2]
    # a sentence sharing no run of words with any passage keeps its citation
    [kept] = check_sentences([("The battery is fine.", [1])], evidence, passes_anything)
    assert kept.citations == [1]


def test_a_sentence_restating_its_passage_is_supported_whatever_the_checker_says() -> None:
    def contradicts_everything(pairs: Sequence[tuple[str, list[str]]]) -> list[Verdict]:
        return [Verdict(claim=claim, label="contradicted", confidence=0.9) for claim, _ in pairs]

    passage = "It lasts about 5 days and has lasted up to 10 when I was making very few calls."
    other = Evidence(kind="passage", text="The screen is dim.", tool="t")
    evidence = [other, Evidence(kind="passage", text=passage, tool="t")]
    restated = "One reviewer says it lasts about 5 days and has lasted up to 10 with few calls."
    negated = "It never lasts about 5 days and has not lasted up to 10 days."
    checked = check_sentences(
        [(restated, [1, 2]), (negated, [2])], evidence, contradicts_everything
    )
    assert checked[0].verdict.label == "supported" and checked[0].citations == [2]  # type: ignore[union-attr]
    assert checked[1].verdict.label == "contradicted"  # type: ignore[union-attr]


def test_a_catalog_product_no_review_mentions_is_answered_without_the_model(
    world: Config,
) -> None:
    """Found on the Nokia reviews: "How long does the Nokia 6620's battery last?" (in the
    catalog, in no review) had the model draft "around 10 hours" from no passage."""
    catalog = Path(world.catalog.path or "")
    with catalog.open("a", encoding="utf-8") as out:
        out.write('{"id": "aster-a3", "name": "Aster A3", "brand": "Aster"}\n')
    llm = ScriptedLLM(answer=lambda p: pytest.fail("nothing to draft from"))  # type: ignore[arg-type,return-value]
    with Agent(world, chat_model=llm, checker=word_checker) as agent:  # type: ignore[arg-type]
        response = agent.chat("How long does the Aster A3's battery last?")
    assert response.llm_calls == []
    assert "No review mentions the Aster A3." in response.answer
