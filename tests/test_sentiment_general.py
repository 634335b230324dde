"""The general aspect-sentiment model: label mappings, the document subject, spans, training.

Fast tests use small fakes and fixtures; the `real` ones load the shipped general model
(MiniLM) and a real graph store.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from spacy.tokens import Doc, Span

from distill.corpora import huliu, read_corpus, semeval
from distill.doc import make_doc
from distill.graph.from_doc import facts_from_doc
from distill.plugins.sentiment import Opinion, Opinions, SentimentTask
from distill.plugins.sentiment.targets import document_subject, sentence_bounds
from distill.plugins.sentiment.train import IGNORE, aspect_labels

FIXTURES = Path(__file__).parent / "fixtures"
CLASSES = ["none", "positive", "negative", "neutral"]


def test_default_aspects_fit_product_reviews() -> None:
    assert list(SentimentTask().labels) == [
        "overall",
        "battery",
        "camera",
        "screen",
        "performance",
        "design",
        "keyboard",
        "sound",
        "software",
        "price",
        "support",
    ]


@pytest.mark.parametrize(
    ("category", "aspect"),
    [
        ("BATTERY#OPERATION_PERFORMANCE", "battery"),
        ("LAPTOP#GENERAL", "overall"),
        ("LAPTOP#DESIGN_FEATURES", "design"),
        ("LAPTOP#PRICE", "price"),
        ("MOUSE#USABILITY", "keyboard"),
        ("MULTIMEDIA_DEVICES#QUALITY", "sound"),
        ("SUPPORT#QUALITY", "support"),
        ("SERVICE#GENERAL", "support"),
        ("FOOD#PRICES", "price"),
        ("FOOD#QUALITY", None),
        ("COMPANY#GENERAL", None),
        ("anecdotes/miscellaneous", "overall"),
        ("food", None),
    ],
)
def test_semeval_categories_map_to_default_aspects(category: str, aspect: str | None) -> None:
    assert semeval.category_aspect(category) == aspect


@pytest.mark.parametrize(
    ("feature", "aspect"),
    [
        ("phone", "overall"),
        ("battery life", "battery"),
        ("speakerphone", "sound"),
        ("ring tone", "sound"),
        ("volume", "sound"),
        ("volume key", "keyboard"),
        ("size", "design"),
        ("menu options", "software"),
        ("voice dialing", "software"),
        ("reception", "performance"),
        ("t-mobile reception", "performance"),
        ("t-mobile", "support"),
        ("customer service", "support"),
        ("sprint plan", "price"),
        ("color screen", "screen"),
        ("picture quality", "camera"),
        ("lens cap", "camera"),
    ],
)
def test_huliu_features_map_to_default_aspects(feature: str, aspect: str) -> None:
    assert huliu.feature_aspect(feature) == aspect


def test_huliu_reader_groups_reviews_and_keeps_spans() -> None:
    reviews = huliu.reviews(FIXTURES / "huliu_sample.txt")
    assert [r.id for r in reviews] == ["huliu_sample#1", "huliu_sample#2"]
    assert reviews[0].title == "great little phone" and len(reviews[0].sentences) == 3
    docs = read_corpus(FIXTURES / "huliu_sample.txt", "huliu", "sentiment")
    battery = docs[1]._.opinions[0]
    assert (battery.aspect, battery.polarity, battery.term) == (
        "battery",
        "positive",
        "battery life",
    )
    assert docs[1].text[battery.start : battery.end] == "battery life"
    size = docs[4]._.opinions[0]  # [u]: the feature is not in the sentence
    assert (size.aspect, size.start) == ("design", None)
    assert docs[2]._.opinions == []
    assert reviews[1].sentences[-1].text == "switching from at & t was easy & cheap ."


def test_semeval_dev_splits_keep_reviews_whole() -> None:
    docs = read_corpus(FIXTURES / "laptops16.xml", "semeval16")
    train, dev = semeval.dev_split_2016(docs, every=2)
    assert {semeval.review_id(d) for d in train}.isdisjoint({semeval.review_id(d) for d in dev})
    docs14 = read_corpus(FIXTURES / "laptops14.xml", "semeval14")
    train14, dev14 = semeval.dev_split_2014(docs14, fraction=0.34)
    assert max(int(d._.doc_id) for d in train14) < min(int(d._.doc_id) for d in dev14)


def test_a_weak_neutral_reading_is_no_opinion() -> None:
    """The threshold lets weak positive and negative readings through, a neutral one only
    where it is likelier than `none`: a weak neutral is a sentence that says nothing."""
    import torch

    from distill.plugins.sentiment.model import AbsaModel

    model = AbsaModel.__new__(AbsaModel)
    model.aspect_classes, model.threshold = ["none", "positive", "negative", "neutral"], 0.4
    probs = torch.tensor(
        [
            [0.55, 0.15, 0.10, 0.20],  # "i ride the bus about an hour each way."
            [0.55, 0.30, 0.05, 0.10],  # weakly positive: still an opinion
            [0.30, 0.10, 0.10, 0.50],  # neutral likelier than none: a neutral opinion
            [0.70, 0.10, 0.10, 0.10],  # under the threshold
        ]
    )
    assert model.decide(probs).tolist() == [0, 1, 3, 0]


def test_aspect_labels_mark_unknown_and_contradicting_slots() -> None:
    doc = make_doc("Great battery, awful battery charger, and the price is fine.")
    doc._.meta["unlabelled_aspects"] = ["overall"]
    doc._.opinions = [
        Opinion(aspect="battery", polarity="positive"),
        Opinion(aspect="battery", polarity="negative"),
        Opinion(aspect="price", polarity="neutral"),
    ]
    slots = ["overall", "battery", "price", "camera"]
    assert aspect_labels(doc, slots, CLASSES) == [IGNORE, IGNORE, 3, 0]
    terms = read_corpus(FIXTURES / "laptops14.xml", "semeval14")[0]
    assert aspect_labels(terms, slots, CLASSES) is None  # term-level data teaches no aspect


def test_a_slot_two_products_split_is_taught_by_each_products_stretch() -> None:
    from distill.plugins.sentiment.train import items_of

    text = (
        "Moved from the Orbit 5 to the Comet 2 in May. Its screen is lovely. "
        "But the battery is awful by noon. The Orbit 5 battery still lasts two days!"
    )
    doc = make_doc(text)
    names = [("Orbit 5", 0, "orbit-5"), ("Comet 2", 0, "comet-2"), ("Orbit 5", 30, "orbit-5")]
    starts = [(text.index(name, after), name, kb) for name, after, kb in names]
    doc.ents = [doc.char_span(s, s + len(n), label="PRODUCT", kb_id=kb) for s, n, kb in starts]
    doc._.opinions = [
        Opinion(aspect="screen", polarity="positive", target="comet-2"),
        Opinion(aspect="battery", polarity="negative", target="comet-2"),
        Opinion(aspect="battery", polarity="positive", target="orbit-5"),
    ]
    slots = ["battery", "screen", "price"]
    whole, *stretches = items_of([doc], slots, CLASSES)
    assert whole.text == text and whole.aspects == [IGNORE, 1, 0]  # both ways: no answer
    # the first sentence names both (no one's stretch); the Comet 2 is named last there,
    # so the next two sentences are its stretch
    assert [(s.text, s.aspects) for s in stretches] == [
        ("Its screen is lovely. But the battery is awful by noon.", [2, IGNORE, IGNORE]),
        ("The Orbit 5 battery still lasts two days!", [1, IGNORE, IGNORE]),
    ]


def test_contrast_pairs_join_one_opinion_sentences_half_contrasting_half_alike() -> None:
    from distill.plugins.sentiment.train import contrast_pairs

    said = [
        ("The screen is gorgeous.", "screen", "positive"),
        ("Battery died by noon.", "battery", "negative"),
        ("Great keys.", "keyboard", "positive"),
        ("Far too pricey.", "price", "negative"),
    ]
    docs = []
    for text, aspect, polarity in said:
        doc = make_doc(text, text, {"unlabelled_aspects": ["overall"]})
        doc._.opinions = [Opinion(aspect=aspect, polarity=polarity)]
        docs.append(doc)
    two = make_doc("Nice screen, awful battery.")  # two opinions: never a half
    two._.opinions = [
        Opinion(aspect="screen", polarity="positive"),
        Opinion(aspect="battery", polarity="negative"),
    ]
    slots = ["overall", "battery", "screen", "keyboard", "price"]
    pairs = contrast_pairs([*docs, two], slots, 40)
    assert len(pairs) == 40 and all("Nice screen" not in p.text for p in pairs)
    for n, pair in enumerate(pairs):
        first, second = pair._.opinions
        assert first.aspect != second.aspect
        assert (first.polarity != second.polarity) == (n % 2 == 0)  # contrast, alike, …
        assert pair._.meta["unlabelled_aspects"] == ["overall"]
        assert pair.text.count(".") == 1 and pair.text[0].isupper()


def test_comparison_sentences_teach_the_direction_of_a_comparison() -> None:
    """The reviewed product better is positive, worse negative, the other one better is
    negative for this one, about the same neutral; one aspect each, its term where named."""
    from distill.plugins.sentiment.comparisons import PHRASES, comparison_sentences

    slots = ["battery", "screen", "price", "not-an-aspect-with-phrases"]
    docs = comparison_sentences(slots, 300, seed=3)
    assert len(docs) == 300 and docs[0].text == comparison_sentences(slots, 1, seed=3)[0].text
    polarities = {"positive": 0, "negative": 0, "neutral": 0}
    for doc in docs:
        [opinion] = doc._.opinions
        assert opinion.aspect in ("battery", "screen", "price")
        polarities[opinion.polarity] += 1
        if opinion.term is not None:
            assert doc.text[opinion.start : opinion.end].lower() == opinion.term
        phrases = PHRASES[opinion.aspect]
        text = doc.text.lower()
        better = any(f" {b}" in text for _, b, _ in phrases)
        worse = any(f" {w}" in text for _, _, w in phrases)
        if "had " in text:  # the other product's better screen: bad news for this one
            assert ("better" in text) == (opinion.polarity == "negative")
        elif "about the same" in text:
            assert opinion.polarity == "neutral"
        else:
            assert (better, worse) == (
                opinion.polarity == "positive",
                opinion.polarity == "negative",
            )
    assert min(polarities.values()) > 20
    assert any(doc.text.endswith(" .") for doc in docs) and any(
        doc.text[0].isupper() for doc in docs
    )


def test_a_marked_term_keeps_its_text_and_gets_its_own_item() -> None:
    from distill.plugins.sentiment.model import mark_term
    from distill.plugins.sentiment.train import items_of

    text, (start, end) = mark_term("The screen is dim but the keys are fine.", 26, 30)
    assert text == "The screen is dim but the # keys # are fine." and text[start:end] == "keys"
    doc = read_corpus(FIXTURES / "laptops14.xml", "semeval14")[0]
    shared = items_of([doc], [], CLASSES)
    marked = items_of([doc], [], CLASSES, term_marks=True)
    assert len(shared) == 1 and len(shared[0].terms) == len(marked) == 2
    for item, (s, e, label) in zip(marked, shared[0].terms, strict=True):
        ((ms, me, mlabel),) = item.terms
        assert item.text[ms:me] == doc.text[s:e] and mlabel == label and item.aspects is None
        assert item.text.count("#") == 2


def test_items_of_one_text_merge_and_the_frozen_states_are_kept_on_disk(tmp_path: Path) -> None:
    import torch

    from distill.plugins.sentiment.train import Cached, Item, merge_items

    terms = Item("Good food, slow service.", None, [(0, 9, 0)])
    categories = Item("Good food, slow service.", [0, 2], [])
    other = Item("Fine.", [1, 0], [])
    merged = merge_items([terms, categories, other, Item("Fine.", [1, 1], [])])
    assert [(m.text, m.aspects, m.terms) for m in merged] == [
        ("Good food, slow service.", [0, 2], [(0, 9, 0)]),
        ("Fine.", [1, 0], []),
        ("Fine.", [1, 1], []),  # two aspect labellings of one text stay apart
    ]

    class Fake:
        frozen, calls = 4, 0

        def tokenize(self, texts):
            return {"input_ids": [[0] * len(t.split()) for t in texts], "offset_mapping": []}

        def train(self, mode):
            pass

        tokenizer = type("T", (), {"pad": staticmethod(lambda b, **_: _pad(b))})

        def bottom(self, ids, mask):
            Fake.calls += 1
            return torch.ones(*ids.shape, 3)

    def _pad(batch):
        longest = max(len(x) for x in batch["input_ids"])
        ids = torch.zeros(len(batch["input_ids"]), longest, dtype=torch.long)
        mask = torch.tensor([[1] * len(x) + [0] * (longest - len(x)) for x in batch["input_ids"]])
        return {"input_ids": ids, "attention_mask": mask}

    Cached(Fake(), merged, directory=tmp_path)  # type: ignore[arg-type]
    again = Cached(Fake(), merged, directory=tmp_path)  # type: ignore[arg-type]
    assert Fake.calls == 1 and [len(s) for s in again.states] == [1, 4]


def test_aspect_words_match_whole_words_and_plurals() -> None:
    from distill.plugins.sentiment.model import aspect_words, word_spans

    text = "Great photos, the Lens is sharp; flashy menus and a cameraman aside."
    assert [text[s:e] for _, s, e in word_spans(text, ["camera"])] == ["photos", "Lens"]
    assert aspect_words("overall") is None  # the product itself: no words of its own
    assert word_spans("the remote_control works", ["remote_control"]) == []
    assert word_spans("the remote control works", ["remote_control"]) == [("remote_control", 4, 18)]


def test_support_counts_opinions_per_slot_on_top_of_earlier_training() -> None:
    from distill.plugins.sentiment.train import Item, support

    slots, classes = ["battery", "camera"], ["none", "positive", "negative", "neutral"]
    items = [
        Item("a", [1, 0], []),
        Item("b", [2, IGNORE], []),
        Item("c", [0, 3], []),
        Item("d", None, [(0, 1, 0)]),  # term-level: teaches no aspect
    ]
    assert support(items, slots, classes, {"camera": 5, "keyboard": 9}) == {
        "battery": 2,
        "camera": 6,
    }


def test_sentences_split_at_punctuation_and_line_breaks() -> None:
    text = "Great phone. Battery is weak!\nScreen ok"
    assert [text[a:b] for a, b in sentence_bounds(text)] == [
        "Great phone.",
        "Battery is weak!",
        "Screen ok",
    ]


def _review(meta: dict | None = None):
    text = "I like it a lot. The Pixel 7 camera is better. The battery died after a day."
    doc = make_doc(text, "r1", meta or {})
    doc.ents = [Span(doc, 7, 9, label="PRODUCT", kb_id="google-pixel-7")]
    sentences = sentence_bounds(text)
    opinions = [
        Opinion(aspect=a, polarity=p, start=lo, end=hi)
        for (a, p), (lo, hi) in zip(
            [("overall", "positive"), ("camera", "positive"), ("battery", "negative")],
            sentences,
            strict=True,
        )
    ]
    return doc, opinions


def test_document_subject_takes_opinions_no_sentence_names_a_product_for() -> None:
    doc, opinions = _review({"product": "nokia-6610-phone"})
    SentimentTask().write(doc, Opinions(opinions=opinions))
    got = [(o.aspect, o.target, o.method) for o in doc._.opinions]
    assert got == [
        ("overall", "nokia-6610-phone", "document subject"),
        ("camera", "google-pixel-7", "same sentence"),
        ("battery", "nokia-6610-phone", "document subject"),
    ]


def test_without_subject_the_product_named_last_takes_later_opinions() -> None:
    doc, opinions = _review()
    SentimentTask().write(doc, Opinions(opinions=opinions))
    got = [(o.target, o.method) for o in doc._.opinions]
    assert got == [
        ("google-pixel-7", "only product"),
        ("google-pixel-7", "same sentence"),
        ("google-pixel-7", "context"),
    ]


def test_subject_by_name_resolves_to_a_linked_mention() -> None:
    doc, _ = _review({"product": "pixel 7"})
    assert document_subject(doc) == "google-pixel-7"
    assert document_subject(make_doc("x", "d", {"product": "  "})) is None


def test_subject_opinions_reach_the_graph_with_method_and_span() -> None:
    doc, opinions = _review({"product": "nokia-6610-phone", "product_name": "Nokia 6610"})
    SentimentTask().write(doc, Opinions(opinions=opinions))
    facts = facts_from_doc(doc, {"sentiment": "trained"}, products={"google-pixel-7": "Pixel 7"})
    battery = facts.opinions[2]
    assert battery.product_id == "nokia-6610-phone" and battery.method == "document subject"
    span = (battery.provenance.char_start, battery.provenance.char_end)
    assert doc.text[span[0] : span[1]] == "The battery died after a day."
    assert facts.products["nokia-6610-phone"] == "Nokia 6610"
    about = [e for e in facts.records().edges if e.type == "ABOUT"]
    assert [e.props["method"] for e in about] == [
        "document subject",
        "same sentence",
        "document subject",
    ]
    assert about[0].dst_label == "Product" and about[0].dst == "nokia-6610-phone"


def _vela_review(
    text: str, products: list[tuple[int, int]], verdicts: list[tuple[str, str]]
) -> Doc:
    """A review of the "Vela V3" with these product mentions (token ranges) and one
    opinion per sentence, targets attached."""
    doc = make_doc(text, "Vela V3.txt#1", {"product": "Vela V3"})
    doc.ents = [Span(doc, a, b, label="PRODUCT") for a, b in products]
    opinions = [
        Opinion(aspect=aspect, polarity=polarity, start=lo, end=hi)
        for (aspect, polarity), (lo, hi) in zip(verdicts, sentence_bounds(text), strict=True)
    ]
    SentimentTask().write(doc, Opinions(opinions=opinions))
    return doc


def test_a_mention_that_names_the_subject_is_the_subject() -> None:
    """ "the v3" in a review of the "Vela V3" (no catalog entry, so no link) is the
    review's product, not a second product beside it; "canon s30" is another one."""
    doc = _vela_review(
        "the v3 is the best camera i have owned . the canon s30 of my brother is slow .",
        [(1, 2), (11, 13)],
        [("camera", "positive"), ("performance", "negative")],
    )
    got = [(o.target, o.method) for o in doc._.opinions]
    assert got == [("Vela V3", "document subject"), ("canon s30", "same sentence")]
    facts = facts_from_doc(doc, {"sentiment": "trained"})
    assert facts.opinions[0].product_id == "Vela V3" and facts.products["Vela V3"] == "Vela V3"


def test_a_mention_with_the_subject_s_model_number_and_one_more_word_is_the_subject() -> None:
    """ "the vela pro v3" in a review of the "Vela V3" (a line name the file's name leaves
    out) is the subject; "the nova v3 max" (two words it lacks) is another product."""
    doc = _vela_review(
        "the vela pro v3 is great . the nova v3 max is bad .",
        [(1, 4), (8, 11)],
        [("overall", "positive"), ("overall", "negative")],
    )
    assert [o.target for o in doc._.opinions] == ["Vela V3", "nova v3 max"]


@pytest.mark.parametrize(
    "sentence",
    [
        "the speakerphone works well , unlike the nokia 3650 .",
        "it is going back today , being replaced with the new samsung x105 .",
        "the sound is slightly better than my samsung s105 .",
        "the vela v3 beats my old nova z4 on sound .",
        "the speaker is not as loud as the nokia 3650 .",
        "the sound is superior to my samsung s105 .",
        "great speakerphone , just like my old nova z4 .",
    ],
)
def test_a_product_named_as_what_is_compared_with_does_not_take_the_opinion(
    sentence: str,
) -> None:
    """ "better than the X", "unlike the X", "replaced with the X": the sentence's opinion
    is about the other product (here the review's subject), not X."""
    doc = make_doc(sentence, "Vela V3.txt#3", {"product": "Vela V3"})
    doc.ents = [
        doc.char_span(m.start(), m.end(), label="PRODUCT")
        for m in re.finditer(r"(nokia 3650|samsung x105|samsung s105|vela v3|nova z4)", sentence)
    ]
    opinion = Opinion(aspect="sound", polarity="positive", start=0, end=len(sentence))
    SentimentTask().write(doc, Opinions(opinions=[opinion]))
    assert doc._.opinions[0].target == "Vela V3"


@pytest.mark.parametrize(
    "sentence",
    ["i like the nova z4 for its sound .", "the vela v3 as well as the nova z4 sound great ."],
)
def test_liking_a_product_or_listing_it_is_no_comparison(sentence: str) -> None:
    doc = make_doc(sentence, "Vela V3.txt#4", {"product": "Vela V3"})
    doc.ents = [doc.char_span(sentence.index("nova z4"), sentence.index("nova z4") + 7, "PRODUCT")]
    opinion = Opinion(aspect="sound", polarity="positive", start=0, end=len(sentence))
    SentimentTask().write(doc, Opinions(opinions=[opinion]))
    assert doc._.opinions[0].target == "nova z4"


def test_a_subject_no_catalog_entry_took_names_its_own_product_node() -> None:
    doc = make_doc("Great camera. The battery died after a day.", "d", {"product": "Zentro Z5"})
    opinions = [Opinion(aspect="battery", polarity="negative", start=14, end=44)]
    SentimentTask().write(doc, Opinions(opinions=opinions))
    facts = facts_from_doc(doc, {"sentiment": "trained"})
    assert facts.opinions[0].product_id == "Zentro Z5"
    assert facts.products["Zentro Z5"] == "Zentro Z5"  # not a nameless node


# real path: the shipped general model, real training, a real graph store


@pytest.fixture(scope="module")
def general():
    from distill.plugins import BackendOptions
    from distill.plugins.sentiment.general import general_model_path
    from distill.plugins.sentiment.trained import TrainedSentiment

    assert general_model_path() is not None, "build it: python scripts/build_sentiment_model.py"
    return TrainedSentiment(SentimentTask(), BackendOptions())


@pytest.mark.real
def test_real_general_model_finds_aspects_with_sentence_spans(general) -> None:
    text = (
        "The battery life is amazing, it lasts two full days. "
        "I bought it last week. It is also way too expensive for what it is."
    )
    doc = make_doc(text, "d1", {"product": "acme-phone"})
    general.predict([doc])
    found = {(o.aspect, o.polarity) for o in doc._.opinions}
    assert {("battery", "positive"), ("price", "negative")} <= found
    for o in doc._.opinions:
        assert o.target == "acme-phone" and o.method == "document subject"
        assert text[o.start : o.end] in [text[a:b] for a, b in sentence_bounds(text)]


@pytest.mark.real
def test_real_general_model_reports_the_aspect_the_llm_taught(general) -> None:
    """The allowed real data has 5 camera opinions; the LLM's sentences taught the rest."""
    assert general.model.rare_slots() == []
    text = "The lens is great. The zoom is slow. I bought a case for it."
    doc = make_doc(text, "d1", {"product": "acme-phone"})
    general.predict([doc])
    found = [(o.aspect, o.polarity, text[o.start : o.end]) for o in doc._.opinions]
    assert ("camera", "positive", "The lens is great.") in found
    assert ("camera", "negative", "The zoom is slow.") in found
    assert not [f for f in found if f[2] == "I bought a case for it."]  # no opinion there


@pytest.mark.real
def test_real_rare_aspect_is_found_by_its_words() -> None:
    """An aspect with few training opinions (as camera had before the LLM taught it) is
    also reported where a word names it, when asked for."""
    from distill.plugins import BackendOptions
    from distill.plugins.sentiment.trained import TrainedSentiment

    words = TrainedSentiment(SentimentTask(), BackendOptions(extra={"rare_aspect_words": True}))
    words.model.support = {**words.model.support, "camera": 5}
    assert words.model.rare_slots() == ["camera"]
    text = "The pictures are sharp and vivid. I bought a case for it."
    doc = make_doc(text, "d1", {"product": "acme-phone"})
    words.predict([doc])
    camera = [
        (o.polarity, text[o.anchor :].split()[0]) for o in doc._.opinions if o.aspect == "camera"
    ]
    assert camera == [("positive", "pictures")]


@pytest.mark.real
def test_real_general_model_labels_given_terms(general) -> None:
    docs = read_corpus(FIXTURES / "laptops14.xml", "semeval14")
    blank = [d.copy() for d in docs]
    for d in blank:
        d._.opinions = []
    predicted = general.predict(blank)
    assert [len(d._.opinions) for d in predicted] == [2, 0, 1]
    assert predicted[0]._.opinions[0].polarity == "positive"  # "battery life is great"
    assert SentimentTask().score(docs, predicted).n == 3


@pytest.mark.real
def test_real_term_marked_model_reads_each_term_in_its_own_pass(tmp_path: Path) -> None:
    """`--set term_marks=true`: trained on marked terms, saved with the flag, and predicting
    one marked pass per given term; plain text still gets the aspect pass."""
    from distill.plugins import BackendOptions
    from distill.plugins.sentiment.model import AbsaModel
    from distill.plugins.sentiment.train import SentimentTrainConfig, is_current
    from distill.plugins.sentiment.trained import TrainedSentiment
    from distill.workflow.train import fit

    docs = read_corpus(FIXTURES / "laptops14.xml", "semeval14")
    settings = SentimentTrainConfig(max_epochs=1, batch_size=4, term_marks=True)
    fit("sentiment", docs, docs, tmp_path, [], settings)
    assert AbsaModel.load(tmp_path).term_marks
    # started from the shipped general model, and knows it: `distill demo` trains its
    # model again once the general model changes
    assert is_current(tmp_path)
    card_file = tmp_path / "distill-model.json"
    card = json.loads(card_file.read_text(encoding="utf-8"))
    assert card["training"]["config"]["frozen"] == AbsaModel.load(tmp_path).frozen
    card["training"]["started_from"] = "another-model"
    card_file.write_text(json.dumps(card), encoding="utf-8")
    assert not is_current(tmp_path)
    assert not is_current(tmp_path / "missing")
    backend = TrainedSentiment(SentimentTask(), BackendOptions(model_path=str(tmp_path)))
    blank = [d.copy() for d in docs]
    for d in blank:
        d._.opinions = []
    predicted = backend.predict(blank)
    assert [len(d._.opinions) for d in predicted] == [2, 0, 1]
    review = make_doc("The battery life is amazing, it lasts two full days.", "r")
    backend.predict([review])
    assert ("battery", "positive") in {(o.aspect, o.polarity) for o in review._.opinions}


@pytest.mark.real
def test_real_int8_model_agrees_with_float32(general) -> None:
    """Per-channel int8 (the backend's `int8` option) keeps the general model's clear
    decisions (it is opt-in because it changes borderline ones: BENCHMARKS.md)."""
    import torch

    from distill.plugins.sentiment.general import general_model_path
    from distill.plugins.sentiment.model import AbsaModel

    sentences = [
        "The battery life is amazing, it lasts two full days.",
        "The screen is far too dim outdoors.",
        "It is also way too expensive for what it is.",
    ]
    exact = AbsaModel.load(general_model_path())
    int8 = AbsaModel.load(general_model_path())
    int8.quantize()
    a = exact.predict(sentences).aspects
    b = int8.predict(sentences).aspects
    clear = a.max(dim=-1).values > 0.9
    assert (exact.decide(a) == int8.decide(b))[clear].all()
    named = [exact.slots.index(s) for s in ("battery", "screen", "price")]
    assert [int(exact.decide(b)[i, s]) for i, s in enumerate(named)] == [1, 2, 2]
    # the index's sentence vectors (the base model's top layers, int8 too) stay close
    exact_vectors = exact.predict(sentences, pooled=True).pooled
    int8_vectors = int8.predict(sentences, pooled=True).pooled
    assert exact_vectors is not None and int8_vectors is not None
    cosine = torch.nn.functional.cosine_similarity(exact_vectors[0], int8_vectors[0])
    assert (cosine > 0.9).all()
    assert any("quantized" in type(m).__module__ for m in int8.base_top.modules())


@pytest.mark.real
def test_real_term_trained_model_still_finds_opinions_at_ingest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """`distill train sentiment --format semeval14` used to give 0 opinions at ingest: a
    term-only model has no aspects. Now it starts from the general model; a model trained
    from plain MiniLM on terms says why it finds nothing."""
    from distill.plugins import BackendOptions
    from distill.plugins.sentiment.train import SentimentTrainConfig
    from distill.plugins.sentiment.trained import TrainedSentiment
    from distill.workflow.train import fit

    docs = read_corpus(FIXTURES / "laptops14.xml", "semeval14")
    review = "The keyboard is a joy to type on. The fan is loud and annoying."
    for init, expect_opinions in (("general", True), ("base", False)):
        out = tmp_path / init
        settings = SentimentTrainConfig(max_epochs=1, batch_size=4, init=init)
        fit("sentiment", docs, docs, out, [], settings)
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            backend = TrainedSentiment(SentimentTask(), BackendOptions(model_path=str(out)))
        doc = make_doc(review, "r", {"product": "acme-laptop"})
        backend.predict([doc])
        assert bool(doc._.opinions) is expect_opinions
        assert ("aspect terms only" in caplog.text) is not expect_opinions


@pytest.mark.real
def test_real_document_subject_through_pipeline_into_graph(tmp_path: Path, general) -> None:
    from distill.config import load_config
    from distill.graph import open_store
    from distill.ingest.pipeline import Pipeline, ingest

    reviews = tmp_path / "reviews.jsonl"
    rows = [
        {
            "id": "a",
            "text": "Battery life is excellent. It never lags.",
            "meta": {"product": "acme-1"},
        },
        {"id": "b", "text": "Customer service was useless.", "meta": {"product": "acme-1"}},
    ]
    reviews.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    overrides = [f"graph.path={tmp_path / 'graph'}", "index.enabled=false"]
    config = load_config(path=None, overrides=overrides, environ={}).config
    pipeline = Pipeline(config, ("sentiment",), backends={"sentiment": general})
    report = ingest([reviews], config, pipeline=pipeline)
    assert report.ok and report.written == 2
    store = open_store(config.graph, read_only=True)
    try:
        found = store.query(
            "MATCH (d:Document)-[:EXPRESSES]->(o:Opinion)-[r:ABOUT]->(p:Product) "
            "RETURN d.id AS doc, o.aspect AS aspect, o.polarity AS polarity, p.id AS product, "
            "r.method AS method, o.char_start AS span_start, o.char_end AS span_end"
        )
    finally:
        store.close()
    got = {(r["doc"], r["aspect"], r["polarity"]) for r in found}
    assert {("a", "battery", "positive"), ("b", "support", "negative")} <= got
    assert {r["product"] for r in found} == {"acme-1"}
    assert {r["method"] for r in found} == {"document subject"}
    assert all(r["span_start"] is not None and r["span_end"] > r["span_start"] for r in found)


@pytest.mark.real
def test_real_subject_given_by_catalog_name_attaches_to_the_catalog_entry(
    tmp_path: Path, general
) -> None:
    """`meta.product = "Acme One"` with a catalog that names it: the opinions go to the
    catalog entry `acme-1`, not to a new product called "Acme One" beside it."""
    from distill.config import load_config
    from distill.graph import open_store
    from distill.ingest.pipeline import Pipeline, ingest

    catalog = tmp_path / "catalog.jsonl"
    catalog.write_text(
        json.dumps({"id": "acme-1", "name": "Acme One phone", "brand": "Acme"})
        + "\n"
        + json.dumps({"id": "acme-2", "name": "Acme Two phone", "brand": "Acme"})
        + "\n",
        encoding="utf-8",
    )
    reviews = tmp_path / "reviews.jsonl"
    row = {"id": "a", "text": "Battery life is excellent.", "meta": {"product": "acme one"}}
    reviews.write_text(json.dumps(row) + "\n", encoding="utf-8")
    overrides = [
        f"graph.path={tmp_path / 'graph'}",
        "index.enabled=false",
        f"catalog.path={catalog}",
    ]
    config = load_config(path=None, overrides=overrides, environ={}).config
    pipeline = Pipeline(config, ("sentiment",), backends={"sentiment": general})
    assert ingest([reviews], config, pipeline=pipeline).ok
    store = open_store(config.graph, read_only=True)
    try:
        found = store.query(
            "MATCH (:Document)-[:EXPRESSES]->(o:Opinion)-[:ABOUT]->(p:Product) "
            "RETURN p.id AS product, p.name AS name"
        )
    finally:
        store.close()
    assert {(r["product"], r["name"]) for r in found} == {("acme-1", "Acme One phone")}


def _build_script() -> Any:
    """`scripts/build_sentiment_model.py` as a module (scripts are not a package)."""
    import importlib.util

    script = Path(__file__).parent.parent / "scripts" / "build_sentiment_model.py"
    spec = importlib.util.spec_from_file_location("build_sentiment_model", script)
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    return build


def test_huliu_sentences_without_terms_still_teach_aspects() -> None:
    """`build_sentiment_model.py --no-nokia-terms`: Hu & Liu docs keep their aspect labels
    but give the term head nothing (their features have no neutral class)."""
    from distill.plugins.sentiment.train import items_of

    build = _build_script()
    docs = read_corpus(FIXTURES / "huliu_sample.txt", "huliu", "sentiment")
    slots = ["battery", "design", "overall"]
    with_terms = items_of(docs, slots, CLASSES)
    without = items_of([build.aspects_only(d.copy()) for d in docs], slots, CLASSES)
    assert any(item.terms for item in with_terms)
    assert not any(item.terms for item in without)
    assert [i.aspects for i in without] == [i.aspects for i in with_terms]


def test_sentiment_build_trains_on_no_sentence_a_dev_row_scores() -> None:
    """The SemEval files repeat sentences across years (254 of the 2014 laptop dev
    sentences are in the 2016 train file): the build drops every copy, case and spacing
    aside."""
    build = _build_script()
    dev = [make_doc("The screen is bright.")]
    train = [make_doc("the screen  is BRIGHT."), make_doc("The screen is dim.")]
    assert [d.text for d in build.without_copies(train, dev)] == ["The screen is dim."]


def test_sentiment_build_keeps_only_2016_sentences_the_2014_train_file_has() -> None:
    """The 2016 files hold sentences 2014 train lacks (about the 2014 test split's 800):
    the build trains on none of them, so the official test is never seen."""
    build = _build_script()
    train14 = [make_doc("The screen is bright.")]
    docs16 = [make_doc("the screen  is BRIGHT."), make_doc("The keyboard is loud.")]
    assert [d.text for d in build.also_in(docs16, train14)] == ["the screen  is BRIGHT."]


def _semeval_files(root: Path) -> None:
    """Tiny SemEval files in the shared layout: 2014 sentences 1-10 (dev: 10), 2016 reviews
    `a` (dev) and `b` (train: a 2014 train copy, a 2014 dev copy, a 2016-only sentence)."""

    def xml14(kind: str) -> str:
        rows = "".join(
            f'<sentence id="{i}"><text>{kind} sentence {i} is good.</text><aspectTerms>'
            f'<aspectTerm term="sentence" polarity="positive" from="{len(kind) + 1}" '
            f'to="{len(kind) + 9}"/></aspectTerms></sentence>'
            for i in range(1, 11)
        )
        return f'<?xml version="1.0"?><sentences>{rows}</sentences>'

    def xml16(texts: dict[str, list[str]]) -> str:
        reviews = "".join(
            f'<Review rid="{rid}"><sentences>'
            + "".join(
                f'<sentence id="{rid}:{n}"><text>{t}</text><Opinions><Opinion '
                'category="LAPTOP#GENERAL" polarity="positive"/></Opinions></sentence>'
                for n, t in enumerate(ts)
            )
            + "</sentences></Review>"
            for rid, ts in texts.items()
        )
        return f'<?xml version="1.0"?><Reviews>{reviews}</Reviews>'

    (root / "semeval2014_absa").mkdir(parents=True)
    (root / "semeval2016_absa").mkdir()
    (root / "semeval2014_absa/Laptop_Train_v2.xml").write_text(xml14("Laptop"))
    (root / "semeval2014_absa/Restaurants_Train_v2.xml").write_text(xml14("Dinner"))
    laptops16 = {
        "a": ["A dev review sentence."],
        "b": ["Laptop sentence 2 is good.", "Laptop sentence 10 is good.", "A new laptop."],
    }
    (root / "semeval2016_absa/ABSA16_Laptops_Train_SB1_v2.xml").write_text(xml16(laptops16))
    restaurants16 = {"r": ["Dinner sentence 3 is good.", "A new dinner."]}
    (root / "semeval2016_absa/ABSA16_Restaurants_Train_SB1_v2.xml").write_text(xml16(restaurants16))


@pytest.mark.parametrize("shared_only", [False, True])
def test_sentiment_build_never_trains_on_dev_copies_or_2016_only_sentences(
    tmp_path: Path, shared_only: bool
) -> None:
    """The build's real data path on tiny files: dev sentences (and their copies in the
    other year's file) and 2016 sentences 2014 train lacks (possibly 2014 test ones) never
    train; `--shared-only` also drops 2014 sentences the 2016 file lacks."""
    build = _build_script()
    _semeval_files(tmp_path)
    train, dev, _ = build.datasets(tmp_path, nokia=False, shared_only=shared_only)
    texts = {d.text for d in train}
    assert "Laptop sentence 10 is good." in {d.text for d in dev}
    assert "Laptop sentence 10 is good." not in texts  # a dev sentence, in both files
    assert not {"A new laptop.", "A new dinner.", "A dev review sentence."} & texts
    assert "Laptop sentence 2 is good." in texts and "Dinner sentence 3 is good." in texts
    assert ("Laptop sentence 3 is good." in texts) is not shared_only
