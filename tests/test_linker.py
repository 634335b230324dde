"""Linker: catalogs, candidates, features, Ditto/linking readers, scorer, trained and prompt paths.

Fast: no MiniLM (embeddings off), tiny sklearn models; the real-model paths are in
test_linker_real.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langchain_core.runnables import RunnableLambda
from spacy.tokens import Span

from distill.corpora import ditto, linking
from distill.corpora.errors import CorpusError
from distill.doc import make_doc
from distill.model_card import ModelCard
from distill.plugins import BackendOptions
from distill.plugins.linker.candidates import CandidateIndex, recall_at_k
from distill.plugins.linker.catalog import Catalog, CatalogError, normalize
from distill.plugins.linker.features import FEATURE_NAMES, Side, pair_features, word_pair
from distill.plugins.linker.model import LinkerModel
from distill.plugins.linker.prompt import PromptLinker
from distill.plugins.linker.task import MATCH, Link, LinkerTask, Links, MatchAnswer, choice_schema
from distill.plugins.linker.train import LinkerTrainConfig, train
from distill.plugins.linker.trained import TrainedLinker

FIXTURES = Path(__file__).parent / "fixtures"
CATALOG = FIXTURES / "linker_catalog.csv"


def cleared(task: LinkerTask, docs: list) -> list:
    copies = [d.copy() for d in docs]
    for doc in copies:
        task.write(doc, Links())
    return copies


# catalogs


def test_csv_catalog_loads_with_aliases_and_attributes() -> None:
    catalog = Catalog.load(CATALOG)
    assert len(catalog) == 8
    entry = catalog["p1"]
    assert entry.brand == "Apple" and entry.aliases == ["iphone eleven"]
    assert entry.release_date == "2019-09" and entry.attributes == {"price": "699"}
    assert "Apple iPhone 11" in entry.names() and "iPhone 11" in entry.names()


def test_jsonl_catalog_with_column_mapping() -> None:
    columns = {"id": "sku", "name": "title", "brand": "maker"}
    catalog = Catalog.load(FIXTURES / "linker_catalog.jsonl", columns)
    assert [e.id for e in catalog.entries] == ["a1", "a2"]
    assert catalog["a1"].aliases == ["nebula x"] and catalog["a1"].attributes == {"color": "black"}


def test_missing_column_names_file_line_and_column() -> None:
    with pytest.raises(CatalogError) as error:
        Catalog.load(FIXTURES / "linker_catalog_missing.csv", {"id": "id"})
    assert error.value.column == "id" and error.value.line == 2
    assert "linker_catalog_missing.csv:2" in str(error.value) and "'id'" in str(error.value)
    # not mapped and absent: ids are made from the names
    assert Catalog.load(FIXTURES / "linker_catalog_missing.csv").entries[0].id == "apple-iphone-11"


def test_duplicate_id_names_both_lines() -> None:
    with pytest.raises(CatalogError, match=r"linker_catalog_dup.csv:4.*duplicate id 'p1'.*line 2"):
        Catalog.load(FIXTURES / "linker_catalog_dup.csv")


def test_derived_ids_are_numbered_not_rejected(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("Model\nalcatel OT-355 phone\nalcatel OT 355 phone\nalcatel Pop 4+ phone\n")
    catalog = Catalog.load(path, {"name": "Model"}, brand_from_name=True)
    ids = [e.id for e in catalog.entries]
    assert ids == ["alcatel-ot-355-phone", "alcatel-ot-355-phone-2", "alcatel-pop-4-plus-phone"]
    assert catalog.entries[0].brand == "alcatel"


def test_missing_file_is_a_catalog_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="no such catalog file"):
        Catalog.load(tmp_path / "nope.csv")


def test_normalize_keeps_plus_apart() -> None:
    assert normalize("Galaxy S8+") == "galaxy s8 plus" != normalize("Galaxy S8")


# candidates and features


def test_candidates_alias_and_fuzzy_without_embeddings() -> None:
    index = CandidateIndex(Catalog.load(CATALOG), semantic=False)
    ids = index.catalog.entries
    exact, typo, plus = index.generate(["iphone 11", "samsung galaxy s21 ultr", "galaxy s8+"], k=3)
    assert ids[exact[0].index].id == "p1" and "alias" in exact[0].sources
    assert ids[typo[0].index].id == "p3"
    assert ids[plus[0].index].id == "p4"
    assert recall_at_k(index, ["iphone 11", "pixel 7", "iphone 13"], ["p1", "p8", ""], 1) == 1.0


def test_pair_features_see_model_numbers() -> None:
    same = pair_features(Side("sony kdl-40v4100 tv"), Side("Sony KDL40V4100 bravia"), {})
    other = pair_features(Side("sony kdl-40v4100 tv"), Side("sony kdl-46v4100 tv"), {})
    assert len(same) == len(FEATURE_NAMES)
    shared = FEATURE_NAMES.index("codes_shared")
    assert same[shared] == 1.0 and other[shared] == 0.0


def feature(a: str, b: str, name: str) -> float:
    return pair_features(Side(a), Side(b), {})[FEATURE_NAMES.index(name)]


def test_pair_features_compare_versions_years_and_units() -> None:
    assert feature("instant immersion german v2 .0", "instant immers german 2.0", "versions") == 1
    assert feature("power translator 11.0", "power translator 12", "major_versions") == 0
    assert feature("visio 2007 upgrade", "visio 2003 upgrade", "years") == 0
    assert feature("visio 2007", "visio standard", "years") == -1
    assert feature("sd card 16gb", "sd card 8 gb", "units_conflict") == 1
    assert feature("sd card 16 GB 2 pack", "16gb sd card", "units_agree") == 1


def test_pair_features_near_identical_codes_and_spellings() -> None:
    assert feature("lg lds4821ww dishwasher", "lg lds4821wh dishwasher", "codes_same_digits") == 1
    assert feature("lg lds4821ww dishwasher", "lg ldf6920bb dishwasher", "codes_same_digits") == 0
    assert feature("lg lds4821ww", "lg lds4821wh", "codes_prefix") == pytest.approx(8 / 9)
    soft = feature("train sim modeler upg", "train sim modeller upgrade", "soft_a_in_b")
    assert 0.9 <= soft < 1.0  # "modeler" ~ "modeller", "upg" abbreviates "upgrade"
    assert feature("train sim modeler", "adobe photoshop", "soft_a_in_b") < 0.5


def test_static_title_vectors_average_their_wordpieces(monkeypatch: pytest.MonkeyPatch) -> None:
    from distill.plugins.linker import static_vectors

    class Encoding:
        def __init__(self, ids: list[int]) -> None:
            self.ids = ids

    class Tokenizer:
        def encode_batch(self, texts: list[str], add_special_tokens: bool) -> list[Encoding]:
            return [Encoding([{"a": 0, "b": 1}[w] for w in t.split()]) for t in texts]

    table = np.zeros((2, static_vectors.DIMENSION), dtype=np.float16)
    table[0, 0], table[1, 1] = 1.0, 3.0
    monkeypatch.setattr(static_vectors, "table", lambda: table)
    monkeypatch.setattr(static_vectors, "tokenizer", lambda: Tokenizer())
    a, b, ab, empty = static_vectors.title_vectors(["a", "b", "a b", ""])
    assert a[0] == 1.0 and b[1] == 1.0 and not empty.any()
    assert ab[:2] == pytest.approx([0.3162, 0.9487], abs=1e-4)  # (1, 3) / |(1, 3)|


# readers


def test_ditto_reader_builds_pair_docs() -> None:
    docs = list(ditto.read(FIXTURES / "linker_pairs.txt"))
    assert len(docs) == 2
    assert docs[0].text.startswith("title: sony bravia kdl-40v4100")
    assert docs[0]._.meta["right"]["price"] == "949.0" and docs[0]._.meta["pair"]
    assert [d.ents[0].kb_id_ for d in docs] == [MATCH, ""]


def test_ditto_reader_error_names_line() -> None:
    with pytest.raises(CorpusError, match=r"linker_pairs_bad.txt:2: expected 3 tab-separated"):
        list(ditto.read(FIXTURES / "linker_pairs_bad.txt"))


def test_linking_reader_spans_nil_and_catalog() -> None:
    docs = list(linking.read(FIXTURES / "linker_mentions.jsonl"))
    assert [(e.text, e.kb_id_) for e in docs[0].ents] == [("iphone 11", "p1")]
    assert docs[2].ents[0].kb_id_ == "" and docs[2].ents[0].text == "iphone 13"
    assert [e.kb_id_ for e in docs[3].ents] == ["p7", "p6"]
    assert docs[0]._.meta["catalog"] == str(CATALOG.resolve())


def test_linking_reader_error_names_line() -> None:
    with pytest.raises(CorpusError, match=r"linker_mentions_bad.jsonl:2: span \[5, 40\]"):
        list(linking.read(FIXTURES / "linker_mentions_bad.jsonl"))


# scorer


def test_pair_scorer_is_match_f1() -> None:
    task = LinkerTask()
    gold = [ditto.pair_doc({"t": "a"}, {"t": "b"}, y, str(i)) for i, y in enumerate([1, 1, 0, 0])]
    predicted = cleared(task, gold)
    for doc, y in zip(predicted, [1, 0, 1, 0], strict=True):
        task.write(doc, Links(links=[Link(text=doc.text, start=0, end=len(doc.text),
                                          kb_id=MATCH if y else None)]))  # fmt: skip
    scores = task.score(gold, predicted)
    assert (scores.precision, scores.recall, scores.f1, scores.accuracy) == (0.5, 0.5, 0.5, 0.5)


def test_link_scorer_counts_nil_and_clearing_removes_gold() -> None:
    task = LinkerTask()
    gold = list(linking.read(FIXTURES / "linker_mentions.jsonl"))
    predicted = cleared(task, gold)
    assert all(not e.kb_id_ for d in predicted for e in d.ents)
    assert task.score(gold, predicted).accuracy == pytest.approx(1 / 5)  # the NIL one


# trained backend, both modes


def test_train_and_predict_pairs(tmp_path: Path) -> None:
    docs = list(ditto.read(FIXTURES / "linker_pairs_train.txt"))
    config = LinkerTrainConfig(embeddings=False, max_iter=30)
    result = train(docs[:48], docs[48:], tmp_path, [], config)
    assert result["mode"] == "pair" and result["dev_scores"]["f1"] >= 0.8
    ModelCard(task="linker", task_version="1", kind=result["kind"], labels=[]).save(tmp_path)
    backend = TrainedLinker(LinkerTask(), BackendOptions(model_path=str(tmp_path)))
    predicted = backend.predict(cleared(backend.task, docs[48:]))
    assert backend.task.score(docs[48:], predicted).f1 >= 0.8


def test_train_and_link_with_nil(tmp_path: Path) -> None:
    docs = list(linking.read(FIXTURES / "linker_mentions.jsonl"))
    config = LinkerTrainConfig(catalog=str(CATALOG), embeddings=False, max_iter=20, top_k=3)
    result = train(docs * 3, docs, tmp_path, [], config)
    assert result["mode"] == "link" and result["examples"] > 0
    ModelCard(task="linker", task_version="1", kind=result["kind"], labels=[]).save(tmp_path)
    backend = TrainedLinker(LinkerTask(), BackendOptions(model_path=str(tmp_path)))
    doc = make_doc("my old iphone 11 and a nokia 6610")
    doc.ents = [Span(doc, 2, 4, label="PRODUCT"), Span(doc, 6, 8, label="PRODUCT")]
    backend.predict([doc])
    links = backend.task.read(doc).links
    assert [link.kb_id for link in links] == ["p1", "p6"]
    assert all(0 <= (link.confidence or 0) <= 1 for link in links)


# prompt backend, with a fake chat model


class FakeChat:
    def __init__(self, answers: list[dict[str, Any]]) -> None:
        self.answers = iter(answers)
        self.prompts: list[str] = []

    def with_structured_output(self, schema: type) -> RunnableLambda:
        def reply(messages: list) -> Any:
            self.prompts.append(messages[-1].content)
            return schema.model_validate(next(self.answers))

        return RunnableLambda(reply)


def test_prompt_linker_offers_candidates_and_maps_the_choice() -> None:
    fake = FakeChat([{"choice": 1}, {"choice": 0}])
    options = BackendOptions(chat_model=lambda: fake, extra={"catalog": str(CATALOG),
                                                             "semantic": False})  # fmt: skip
    backend = PromptLinker(LinkerTask(), options)
    docs = list(linking.read(FIXTURES / "linker_mentions.jsonl"))[:3:2]  # iphone 11, iphone 13
    predicted = backend.predict(cleared(backend.task, docs))
    assert "Mention: iphone 11" in fake.prompts[0] and "1. Apple iPhone 11" in fake.prompts[0]
    assert [d.ents[0].kb_id_ for d in predicted] == ["p1", ""]


def test_prompt_hooks_for_pairs_and_choice_schema() -> None:
    task = LinkerTask()
    doc = ditto.pair_doc({"title": "a"}, {"title": "b"}, None, "x")
    assert task.llm_schema(doc) is MatchAnswer
    assert task.prompt_variables(doc) == {"pair": True, "left": "title: a", "right": "title: b"}
    assert task.from_llm(doc, MatchAnswer(same_product=True)).links[0].kb_id == MATCH
    with pytest.raises(ValueError):
        choice_schema(3).model_validate({"choice": 4})


# the CLI, with the registrations the integration adds (readers, backend modules)


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    import distill.corpora as corpora
    import distill.plugins.factcheck.trained
    import distill.plugins.linker.trained  # noqa: F401
    from distill.corpora import halueval

    for name, reader, task in (("ditto", ditto.read, "linker"), ("linking", linking.read, "linker"),
                               ("halueval", halueval.read, "factcheck")):  # fmt: skip
        monkeypatch.setitem(corpora.READERS, name, reader)
        monkeypatch.setitem(corpora.TASKS, name, task)


def test_cli_train_and_evaluate_ditto_and_halueval(registered: None, tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from distill.cli import app

    cli = CliRunner()
    pairs = str(FIXTURES / "linker_pairs_train.txt")
    result = cli.invoke(app, ["train", "linker", "--data", pairs, "--format", "ditto",
                              "--out", str(tmp_path / "m"), "--set", "embeddings=false",
                              "--set", "max_iter=20"])  # fmt: skip
    assert result.exit_code == 0, result.output
    result = cli.invoke(app, ["evaluate", "linker", "--data", pairs, "--format", "ditto",
                              "--model", str(tmp_path / "m"), "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["f1"] >= 0.8
    qa = str(FIXTURES / "factcheck_halueval_qa.jsonl")
    result = cli.invoke(app, ["train", "factcheck", "--data", qa, "--format", "halueval",
                              "--out", str(tmp_path / "f"), "--set", "model=lexical",
                              "--set", "max_iter=5"])  # fmt: skip
    assert result.exit_code == 0, result.output
    result = cli.invoke(app, ["evaluate", "factcheck", "--data", qa, "--format", "halueval",
                              "--model", str(tmp_path / "f"), "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["n"] == 4


def test_word_pair_splits_shared_and_one_sided_title_words() -> None:
    words = word_pair(Side("Adobe Photoshop CS3 upgrade"), Side("adobe photoshop cs3 mac"))
    assert words == {
        "both:adobe": 1.0,
        "both:photoshop": 1.0,
        "both:cs3": 1.0,
        "one:upgrade": 1.0,
        "one:mac": 1.0,
    }


def test_pair_threshold_is_chosen_out_of_fold_over_train_and_dev(tmp_path: Path) -> None:
    docs = list(ditto.read(FIXTURES / "linker_pairs_train.txt"))
    config = LinkerTrainConfig(embeddings=False, max_iter=30, folds=3)
    result = train(docs[:48], docs[48:], tmp_path, [], config)
    scores = result["dev_scores"]
    assert scores["folds"] == 3 and 0 <= scores["out_of_fold_f1"] <= 1 and "f1" in scores
    assert result["examples"] == len(docs)  # the dev pairs were trained on too
    model = LinkerModel.load(tmp_path)
    assert model.words is not None and 0.05 <= model.threshold <= 0.95
    sides = [(Side("sony kdl-40v4100 tv"), Side("Sony KDL40V4100 bravia"))]
    assert model.pair_matrix(sides).shape[1] == len(FEATURE_NAMES) + 3  # + 2 TF-IDF + words


def test_pair_model_with_static_vectors_is_saved_and_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distill.plugins.linker import static_vectors

    def fake(texts: list[str]) -> np.ndarray:  # two directions: sony or not
        sony = np.asarray([["sony" in t.lower(), "sony" not in t.lower()] for t in texts])
        return np.pad(sony.astype(np.float32), ((0, 0), (0, static_vectors.DIMENSION - 2)))

    monkeypatch.setattr(static_vectors, "title_vectors", fake)
    docs = list(ditto.read(FIXTURES / "linker_pairs_train.txt"))
    train(docs[:48], docs[48:], tmp_path, [], LinkerTrainConfig(max_iter=30, folds=3))
    model = LinkerModel.load(tmp_path)
    assert model.embeddings and model.vectors == "static"
    sides = [(Side("sony kdl-40v4100 tv"), Side("Sony KDL40V4100 bravia"))]
    assert model.pair_matrix(sides)[0, FEATURE_NAMES.index("emb_title")] == 1.0


def test_a_linker_model_from_before_the_new_features_asks_to_be_retrained(
    tmp_path: Path,
) -> None:
    import json

    from distill.errors import PluginError

    LinkerModel(mode="pair").save(tmp_path)
    assert LinkerModel.is_current(tmp_path)
    info = json.loads((tmp_path / "linker.json").read_text())
    del info["features"], info["vectors"]  # as a model saved by the previous version
    (tmp_path / "linker.json").write_text(json.dumps(info))
    assert not LinkerModel.is_current(tmp_path)  # so `distill demo` trains it again
    with pytest.raises(PluginError, match="trained on 27 pair features.*train it again"):
        LinkerModel.load(tmp_path)


def test_a_short_form_of_a_product_linked_in_the_same_document_takes_its_link() -> None:
    """ "the X2" beside "the Nebula X2" is that entry, before or after it; a brand alone
    ("Nebula") or a NIL mention with no linked long form stays unlinked."""
    from distill.doc import get_confidence

    doc = make_doc("I love the X2 . The Nebula X2 beats the Nebula and the K5 .")
    doc.ents = [
        Span(doc, 3, 4, label="PRODUCT"),  # X2
        Span(doc, 6, 8, label="PRODUCT"),  # Nebula X2
        Span(doc, 10, 11, label="PRODUCT"),  # Nebula
        Span(doc, 13, 14, label="PRODUCT"),  # K5
    ]
    links = [Link(text=e.text, start=e.start_char, end=e.end_char, kb_id=None) for e in doc.ents]
    links[1] = links[1].model_copy(update={"kb_id": "nebula-x2", "confidence": 0.9})
    LinkerTask().write(doc, Links(links=links))
    assert [(e.text, e.kb_id_) for e in doc.ents] == [
        ("X2", "nebula-x2"),
        ("Nebula X2", "nebula-x2"),
        ("Nebula", ""),
        ("K5", ""),
    ]
    assert get_confidence(doc, "linker", 11, 13) == 0.9


def test_specifications_and_ordinals_are_no_model_numbers() -> None:
    """Found with the Walmart-Amazon product table as the catalog: "ipod shuffle" ranked
    an iPod Nano accessory kit above the "Apple iPod shuffle 4 GB Silver 3rd Generation",
    whose "4" and "3rd" counted as model numbers the mention lacked."""
    from distill.plugins.linker.match import agreement, codes

    assert codes("Apple iPod shuffle 4 GB Silver 3rd Generation") == set()
    assert codes("Creative Zen Xtra 40GB") == set()
    assert codes("Nokia 6610") == {"6610"}
    assert codes("Honor 10X") == {"10x"} and codes("Nokia 2 V Tella") == {"2"}
    assert agreement("ipod shuffle", "apple ipod shuffle 4 gb silver 3rd generation") == 1.0
