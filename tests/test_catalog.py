"""`[catalog]`: loading with a column mapping, `distill catalog check/show`, the `match`
linker and the gazetteer on small fixture catalogs (no MiniLM: semantic retrieval off)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from spacy.tokens import Span
from typer.testing import CliRunner

from distill.cli import app
from distill.config import CatalogConfig, Config, TaskConfig, load_config
from distill.doc import make_doc
from distill.errors import ConfigError
from distill.plugins import BackendOptions, make_backend
from distill.plugins.linker import match
from distill.plugins.linker.catalog import (
    Catalog,
    CatalogError,
    check,
    configured_catalog,
    settings_for,
)
from distill.plugins.linker.match import MatchLinker
from distill.plugins.linker.model import first_brand
from distill.plugins.linker.task import LinkerTask
from distill.plugins.ner.gazetteer import Gazetteer, brandless_ok, clean

FIXTURES = Path(__file__).parent / "fixtures" / "catalog"
PHONES = FIXTURES / "phones.jsonl"
CSV_COLUMNS = {"name": "Model", "brand": "Maker", "category": "Kind", "aliases": "Also"}
runner = CliRunner()


def settings(tmp_path: Path, path: Path = PHONES, **extra: object) -> CatalogConfig:
    return CatalogConfig.model_validate({"path": str(path), "cache": str(tmp_path), **extra})


# configuration and loading


def test_catalog_section_in_toml_with_column_mapping(tmp_path: Path) -> None:
    toml = tmp_path / "distill.toml"
    toml.write_text(
        f'[catalog]\npath = "{FIXTURES / "phones.csv"}"\n'
        'columns = {name = "Model", brand = "Maker", category = "Kind", aliases = "Also"}\n'
    )
    config = load_config(toml).config
    catalog = configured_catalog(config)
    assert catalog is not None and len(catalog) == 3
    s21 = catalog["samsung-galaxy-s21-android-smartphone"]  # no id column: made from the name
    assert s21.brand == "Samsung" and s21.category == "phone"
    assert s21.aliases == ["galaxy s21", "s21"]
    assert s21.brandless() == "Galaxy S21" and s21.short_name() == "Samsung Galaxy S21"


def test_unknown_column_field_is_a_config_error_with_a_suggestion(tmp_path: Path) -> None:
    toml = tmp_path / "distill.toml"
    toml.write_text('[catalog]\npath = "x.csv"\ncolumns = {nmae = "Model"}\n')
    with pytest.raises(ConfigError, match=r"catalog.columns.nmae.*did you mean 'name'"):
        load_config(toml)


def test_no_catalog_is_none_and_the_linker_option_is_a_deprecated_alias() -> None:
    assert configured_catalog(Config()) is None
    old = Config(tasks={"linker": TaskConfig(options={"catalog": str(PHONES)})})
    assert old.catalog_source().path == str(PHONES)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        catalog = configured_catalog(old)
    assert catalog is not None and catalog["nokia-6610"].attributes == {"year": "2002"}


def test_jsonl_fields_categories_and_brandless_forms() -> None:
    catalog = Catalog.load(PHONES)
    nokia = catalog["nokia-6610"]
    assert nokia.category == "phone" and nokia.aliases == ["6610 classic"]
    assert nokia.brandless() == "6610" and "6610" in nokia.names()


def test_find_by_id_name_or_alias_and_never_a_guess() -> None:
    catalog = Catalog.load(PHONES)
    assert catalog.find("nokia-6610").id == "nokia-6610"  # type: ignore[union-attr]
    assert catalog.find("NOKIA 6610").id == "nokia-6610"  # type: ignore[union-attr]
    assert catalog.find("6610 classic").id == "nokia-6610"  # type: ignore[union-attr]
    assert catalog.find("Nokia 66") is None  # no fuzzy guess for a document's subject


def test_missing_mapped_column_names_file_line_and_column() -> None:
    with pytest.raises(CatalogError) as error:
        Catalog.load(FIXTURES / "no_model_column.csv", {"name": "Model"})
    assert error.value.line == 2 and error.value.column == "Model"
    assert "no_model_column.csv:2 (column 'Model')" in str(error.value)
    assert 'columns = {name = "<column>"}' in str(error.value)


def test_check_lists_every_problem_with_line_and_column() -> None:
    _, issues = check(settings_for(FIXTURES / "dup_ids.jsonl"))
    found = {(i.level, i.line, i.column, i.message.split(" (")[0]) for i in issues}
    assert ("error", 2, "name", "empty name") in found
    assert ("error", 3, "id", "duplicate id 'a'") in found
    warning = next(i for i in issues if i.level == "warning")
    assert warning.line == 4 and warning.column == "aliases" and "'a'" in warning.message
    with pytest.raises(CatalogError, match=r"dup_ids.jsonl:2 \(column 'name'\): empty name"):
        Catalog.load(FIXTURES / "dup_ids.jsonl")


# the CLI


def test_cli_check_reports_errors_exits_1_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    bad = FIXTURES / "dup_ids.jsonl"
    result = runner.invoke(app, ["--set", f"catalog.path={bad}", "catalog", "check"])
    assert result.exit_code == 1
    assert "dup_ids.jsonl:3 (column 'id'): error duplicate id 'a'" in result.output
    assert "2 error(s), 1 warning(s)" in result.output
    assert list(tmp_path.iterdir()) == []


def test_cli_check_ok_and_without_a_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = runner.invoke(app, ["--set", f"catalog.path={PHONES}", "catalog", "check"])
    assert result.exit_code == 0 and "11 products" in result.output and "ok" in result.output
    monkeypatch.chdir(tmp_path)  # no distill.toml here
    result = runner.invoke(app, ["catalog", "check"])
    assert result.exit_code == 1 and "no catalog configured" in str(result.exception)


def test_ingest_with_a_bad_catalog_is_one_error_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reviews.jsonl").write_text('{"id": "r1", "text": "my nokia 6610"}\n')
    (tmp_path / "distill.toml").write_text(
        f'[catalog]\npath = "{FIXTURES / "no_model_column.csv"}"\ncolumns = {{name = "Model"}}\n'
    )
    result = runner.invoke(app, ["ingest", "reviews.jsonl"])
    assert result.exit_code != 0
    assert "no_model_column.csv:2 (column 'Model'): missing column 'Model'" in str(result.exception)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["distill.toml", "reviews.jsonl"]


def test_cli_show_lists_candidates_and_the_decision(tmp_path: Path) -> None:
    flags = ["--set", f"catalog.path={PHONES}", "--set", f"catalog.cache={tmp_path}"]
    result = runner.invoke(app, [*flags, "catalog", "show", "6610", "--no-semantic", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["linked"] == "nokia-6610" and shown["candidates"][0]["by"] == "alias"
    result = runner.invoke(app, [*flags, "catalog", "show", "nokia 6620", "--no-semantic"])
    assert "NIL" in result.output


# the match linker


def linked(backend: MatchLinker, text: str, spans: list[tuple[str, str]]) -> dict[str, str]:
    doc = make_doc(text)
    ents = []
    for mention, label in spans:
        start = text.rindex(mention)
        ents.append(doc.char_span(start, start + len(mention), label=label))
    doc.ents = ents
    backend.predict([doc])
    return {e.text: e.kb_id_ for e in doc.ents}


def test_match_linker_alias_fuzzy_model_numbers_and_nil(tmp_path: Path) -> None:
    options = BackendOptions(extra={"catalog": settings(tmp_path), "semantic": False})
    backend = MatchLinker(LinkerTask(), options)
    text = "my nokia 6610 beats the 6610i, the nokia 6620, the iphone eleven and nokia phones"
    found = linked(
        backend,
        text,
        [
            ("nokia 6610", "PRODUCT"),
            ("6610i", "PRODUCT"),
            ("nokia 6620", "PRODUCT"),
            ("iphone eleven", "PRODUCT"),
            ("nokia", "BRAND"),
        ],
    )
    assert found["nokia 6610"] == "nokia-6610" and found["6610i"] == "nokia-6610i"
    assert found["nokia 6620"] == "" and found["iphone eleven"] == "apple-iphone-11"
    assert found[text.split()[-2]] == ""  # a brand is not a catalog entry
    assert linked(backend, "the samsung galaxy s21x", [("samsung galaxy s21x", "PRODUCT")]) == {
        "samsung galaxy s21x": ""
    }
    assert linked(backend, "a samsung galxy s21", [("samsung galxy s21", "PRODUCT")]) == {
        "samsung galxy s21": "samsung-s21"
    }
    assert linked(backend, "my galaxy s22 ultra", [("galaxy s22 ultra", "PRODUCT")]) == {
        "galaxy s22 ultra": "samsung-s22u"
    }


def test_match_is_the_default_linker_and_without_a_catalog_links_nothing() -> None:
    backend = make_backend("linker", Config())
    assert isinstance(backend, MatchLinker)
    match._noted.clear()
    with pytest.warns(UserWarning, match=r"no catalog configured.*\[catalog\] path"):
        found = linked(backend, "my nokia 6610", [("nokia 6610", "PRODUCT")])
    assert found == {"nokia 6610": ""}


def test_factory_passes_the_configured_catalog_to_backends(tmp_path: Path) -> None:
    config = Config(catalog=settings(tmp_path), tasks={"linker": TaskConfig(options={})})
    backend = make_backend("linker", config)
    assert isinstance(backend, MatchLinker) and backend.settings.path == str(PHONES)
    assert backend.model_name().startswith("match:phones.jsonl@")


def test_the_match_linker_names_its_one_time_index_build_until_it_is_cached(
    tmp_path: Path,
) -> None:
    options = BackendOptions(extra={"catalog": settings(tmp_path), "semantic": False})
    backend = MatchLinker(LinkerTask(), options)
    products = len(Catalog.from_config(settings(tmp_path)).entries)
    assert backend.pending_setup() == (
        f"indexing {products} catalog products for the linker (once per catalog version)"
    )
    backend.warm_up()
    assert backend.pending_setup() is None
    assert MatchLinker(LinkerTask(), options).pending_setup() is None  # on disk now
    assert make_backend("linker", Config()).pending_setup() is None  # no catalog: nothing


def test_ingest_builds_what_a_backend_names_before_the_bar_and_says_so() -> None:
    import io

    from rich.console import Console

    from distill.cli.ingest_cmd import set_up

    class Slow:
        built = 0

        def pending_setup(self) -> str | None:
            return None if self.built else "indexing 3 catalog products"

        def warm_up(self) -> None:
            self.built += 1

    class Ready(Slow):
        built = 1

    slow, ready, out = Slow(), Ready(), io.StringIO()
    pipeline = type("P", (), {"backends": {"linker": slow, "sentiment": ready}})()
    set_up(pipeline, Console(file=out, width=200))
    assert (slow.built, ready.built) == (1, 1)
    assert out.getvalue().startswith("indexing 3 catalog products: ")
    quiet = Slow()
    set_up(type("P", (), {"backends": {"linker": quiet}})(), Console(file=out), quiet=True)
    assert quiet.built == 1 and out.getvalue().count("indexing") == 1


# the gazetteer and the junk filter


def test_gazetteer_names_brands_and_safe_brandless_forms() -> None:
    gazetteer = Gazetteer(Catalog.load(PHONES))

    def spans(text: str) -> list[tuple[str, str]]:
        return [(s.text, s.label_) for s in gazetteer.spans(make_doc(text))]

    assert spans("the nokia 6610 and my 6610 beat motorola") == [
        ("nokia 6610", "PRODUCT"),
        ("6610", "PRODUCT"),
        ("motorola", "BRAND"),
    ]
    assert spans("a bold design , one screen , the g3 in 2004") == []
    assert spans("the blackberry bold and the htc one and lg g3") == [
        ("blackberry bold", "PRODUCT"),
        ("htc one", "PRODUCT"),
        ("lg g3", "PRODUCT"),
    ]
    assert spans("I ate an apple on my Apple iPhone 11") == [("Apple iPhone 11", "PRODUCT")]
    assert spans("my galaxy s22 ultra") == [("galaxy s22 ultra", "PRODUCT")]  # "5G" left out
    assert spans("Apple makes it") == [("Apple", "BRAND")]


def test_a_one_word_product_name_inside_a_hyphenated_compound_is_no_mention(
    tmp_path: Path,
) -> None:
    catalog = tmp_path / "catalog.jsonl"
    catalog.write_text(
        '{"id": "coolpad-mega", "name": "Coolpad Mega", "brand": "Coolpad"}\n'
        '{"id": "nokia-6610", "name": "Nokia 6610", "brand": "Nokia"}\n'
    )
    gazetteer = Gazetteer(Catalog.load(catalog))

    def spans(text: str) -> list[tuple[str, str]]:
        return [(s.text, s.label_) for s in gazetteer.spans(make_doc(text))]

    assert spans("i get mega-static on calls , and my mega is fine") == [("mega", "PRODUCT")]
    assert spans("super-mega deals") == []
    assert spans("an ex-nokia fan with a 6610-style case") == [
        ("nokia", "BRAND"),
        ("6610", "PRODUCT"),
    ]


def test_a_brand_taken_from_names_is_two_words_where_the_catalog_has_a_joint_line(
    tmp_path: Path,
) -> None:
    names = ["Sony Xperia 1", "Sony Ericsson T610", "Sony Ericsson K750", "Ericsson T68",
             "Samsung Galaxy S5", "Samsung Galaxy S6", "Samsung Google Nexus S", "Google Pixel 7",
             *(f"Samsung E{n}" for n in range(20))]  # fmt: skip
    catalog = tmp_path / "catalog.csv"
    catalog.write_text("Model\n" + "\n".join(names) + "\n")
    loaded = Catalog.load(catalog, {"name": "Model"}, brand_from_name=True)
    brand = {e.name: e.brand for e in loaded.entries}
    assert brand["Sony Ericsson T610"] == "Sony Ericsson"  # "Ericsson" is a brand itself
    assert brand["Sony Xperia 1"] == "Sony"
    assert brand["Samsung Galaxy S5"] == "Samsung"  # "Galaxy" is no brand
    assert brand["Samsung Google Nexus S"] == "Samsung"  # 1 of 23 Samsung names: a partner
    assert loaded["sony-ericsson-t610"].brandless() == "T610"
    gazetteer = Gazetteer(loaded)
    spans = [(s.text, s.label_) for s in gazetteer.spans(make_doc("my old sony ericsson phone"))]
    assert spans == [("sony ericsson", "BRAND")]


def test_the_linker_reads_a_two_word_brand_in_the_context_before_its_first_word() -> None:
    brands = {"sony": "Sony", "ericsson": "Ericsson", "sony ericsson": "Sony Ericsson"}
    assert first_brand("my sony ericsson t610", brands) == "Sony Ericsson"
    assert first_brand("a sony tv and an ericsson", brands) == "Sony"
    assert first_brand("the ericsson t68", brands) == "Ericsson"
    assert first_brand("no maker here", brands) is None


@pytest.mark.parametrize(
    ("form", "ok"),
    [("6610", True), ("2004", False), ("5000", False), ("610", False), ("N95", True),
     ("G3", False), ("Galaxy S21", True), ("Bold", False), ("Razr", True), ("Galaxy Note", False)],
)  # fmt: skip
def test_brandless_forms_that_may_match_alone(form: str, ok: bool) -> None:
    assert brandless_ok(form) is ok


def test_clean_drops_spans_without_a_name() -> None:
    doc = make_doc("over the last 8 years , # 38 , 3.5 ) and the iPhone !")
    spans = [
        Span(doc, 1, 4, label="PRODUCT"),  # the last 8
        Span(doc, 6, 8, label="PRODUCT"),  # # 38
        Span(doc, 9, 11, label="PRODUCT"),  # 3.5 )
        Span(doc, 12, 15, label="PRODUCT"),  # the iPhone !
    ]
    assert [(s.text, s.label_) for s in clean(spans)] == [("iPhone", "PRODUCT")]


def test_clean_drops_quantities_and_lower_case_products_without_a_model_number() -> None:
    """A model's product needs a capital or a digit: "mms technology" in a lower-cased
    review would take the sentence's opinions; "4x zoom" is a quantity. Brands are
    kept as they are ("nokia")."""
    doc = make_doc("the mms technology , the 4x zoom , the sanyo 5500 , nokia , Zen Xtra")
    spans = [
        Span(doc, 1, 3, label="PRODUCT"),  # mms technology
        Span(doc, 5, 7, label="PRODUCT"),  # 4x zoom
        Span(doc, 9, 11, label="PRODUCT"),  # sanyo 5500
        Span(doc, 12, 13, label="BRAND"),  # nokia
        Span(doc, 14, 16, label="PRODUCT"),  # Zen Xtra
    ]
    assert [s.text for s in clean(spans)] == ["sanyo 5500", "nokia", "Zen Xtra"]
    standards = make_doc("gsm900 , usb 1.0 , tri-band gsm850 , samsung x105")
    found = [Span(standards, 0, 1, label="PRODUCT"), Span(standards, 2, 4, label="PRODUCT")]
    found += [Span(standards, 5, 9, label="PRODUCT"), Span(standards, 10, 12, label="PRODUCT")]
    assert [s.text for s in clean(found)] == ["samsung x105"]  # standards are no products
    described = make_doc("the very expensive sanyo 5500 and my old canon s30")
    found = [Span(described, 1, 5, label="PRODUCT"), Span(described, 7, 10, label="PRODUCT")]
    assert [s.text for s in clean(found)] == ["sanyo 5500", "canon s30"]  # adjectives cut
    brands = make_doc("my sony phones")
    assert [s.text for s in clean([Span(brands, 1, 3, label="BRAND")])] == ["sony"]


def test_a_model_product_holding_a_catalog_brand_replaces_the_brand() -> None:
    """The gazetteer knows the brand "sony" but not the camera; the model's "sony f717"
    is the more precise reading. Where the model only overlaps, the gazetteer wins."""
    from distill.plugins.ner.gazetteer import merge

    doc = make_doc("the sony f717 and the nokia 6610 , said nokia")
    pair = make_doc("the Aurex pair wins")  # a brand and a word: the brand stays
    assert [
        s.text
        for s in merge([Span(pair, 1, 2, label="BRAND")], [Span(pair, 1, 3, label="PRODUCT")])
    ] == ["Aurex"]
    gazetteer = [
        Span(doc, 1, 2, label="BRAND"),  # sony
        Span(doc, 5, 7, label="PRODUCT"),  # nokia 6610
        Span(doc, 9, 10, label="BRAND"),  # nokia
    ]
    model = [
        Span(doc, 1, 3, label="PRODUCT"),  # sony f717
        Span(doc, 6, 7, label="PRODUCT"),  # 6610, inside a catalog product
        Span(doc, 8, 10, label="BRAND"),  # said nokia: a brand never replaces one
    ]
    assert [(s.text, s.label_) for s in merge(gazetteer, model)] == [
        ("sony f717", "PRODUCT"),
        ("nokia 6610", "PRODUCT"),
        ("nokia", "BRAND"),
    ]


def test_clean_keeps_spans_of_labels_that_are_not_names() -> None:
    """The name filter is for PRODUCT/BRAND: "garlic" and "cast iron pan" are right as
    INGREDIENT and EQUIPMENT; a task that declares them names gets them filtered."""
    doc = make_doc("fry the garlic in a cast iron pan with the nokia")
    spans = [
        Span(doc, 2, 3, label="INGREDIENT"),  # garlic
        Span(doc, 5, 8, label="EQUIPMENT"),  # cast iron pan
        Span(doc, 9, 11, label="BRAND"),  # the nokia: trimmed, kept (not an English word)
        Span(doc, 4, 5, label="PRODUCT"),  # a
    ]
    assert [(s.text, s.label_) for s in clean(spans)] == [
        ("garlic", "INGREDIENT"),
        ("cast iron pan", "EQUIPMENT"),
        ("nokia", "BRAND"),
    ]
    every = {"INGREDIENT", "EQUIPMENT", "BRAND", "PRODUCT"}
    assert [s.text for s in clean(spans, names=every)] == ["nokia"]


def test_trained_linker_learns_against_the_configured_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distill.corpora import linking
    from distill.plugins.linker.train import LinkerTrainConfig
    from distill.plugins.linker.trained import TrainedLinker
    from distill.workflow.train import fit

    monkeypatch.chdir(tmp_path)
    (tmp_path / "distill.toml").write_text(f'[catalog]\npath = "{PHONES}"\n')
    rows = [("my nokia 6610 rocks", "nokia 6610", "nokia-6610"),
            ("the 6610i is newer", "6610i", "nokia-6610i"),
            ("an old nokia 3310", "nokia 3310", "nokia-3310"),
            ("a nokia 9999 prototype", "nokia 9999", None),
            ("the apple iphone 11 is fine", "apple iphone 11", "apple-iphone-11"),
            ("a samsung galaxy s21 ultra", "samsung galaxy s21", "samsung-s21")]  # fmt: skip
    data = tmp_path / "mentions.jsonl"
    data.write_text(
        "".join(
            json.dumps({"text": t, "span": [t.index(m), t.index(m) + len(m)], "kb_id": k}) + "\n"
            for t, m, k in rows
        )
    )
    docs = list(linking.read(data))
    settings = LinkerTrainConfig(embeddings=False)
    card = fit("linker", docs, docs, tmp_path / "model", ["PRODUCT"], settings)
    assert card.training["mode"] == "link"
    monkeypatch.setenv("DISTILL_LINKER_INDEX_DIR", str(tmp_path / "fresh-index"))
    backend = TrainedLinker(LinkerTask(), BackendOptions(model_path=str(tmp_path / "model")))
    assert backend.model.catalog_path == str(PHONES)
    assert backend.pending_setup() == (
        "indexing 11 catalog products for the linker (once per catalog version)"
    )
    backend.warm_up()
    assert backend.pending_setup() is None
    found = linked(backend, "a nokia 6610 here", [("nokia 6610", "PRODUCT")])  # type: ignore[arg-type]
    assert found == {"nokia 6610": "nokia-6610"}


def test_a_long_title_answers_to_its_name_up_to_the_model_code() -> None:
    """Found with the Walmart-Amazon product table as the catalog: "the MDR-V6" linked to
    nothing, its entry being "Sony MDR-V6 Monitor Series Headphones with CCAW Voice Coil"."""
    from distill.plugins.linker.catalog import CatalogEntry, add_model_forms

    def entry(i: int, name: str) -> CatalogEntry:
        return CatalogEntry(id=str(i), name=name, brand=name.split()[0])

    entries = [
        entry(1, "Sony MDR-V6 Monitor Series Headphones with CCAW Voice Coil"),
        entry(2, "Lenovo Legion 2 Pro Android smartphone"),  # a variant: not the Legion 2
        entry(3, "Samsung Galaxy S21 Ultra 5G"),
        entry(4, "Samsung Galaxy S21"),  # S21 Ultra's short form is this one's name
        entry(5, "Archos 80 Helium 4G"),
        entry(6, "Archos 80 Xenon"),  # two titles shorten alike: neither gets the form
        entry(7, "Apple iPod shuffle 2 GB Silver 4th Generation"),  # no model code
    ]
    add_model_forms(entries)
    assert [e.model_form for e in entries] == ["Sony MDR-V6", None, None, None, None, None, None]
    assert "MDR-V6" in entries[0].names()
