"""The reviewer's corrections carried over to the teacher's unreviewed annotations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from distill.config import Config, TaskConfig
from distill.doc import make_doc
from distill.errors import ConfigError
from distill.plugins import make_backend
from distill.plugins.ner.corrections import (
    FORMS_FILE,
    TeacherCorrector,
    correct_teacher,
    load_forms,
    reviewed_lexicon,
    save_forms,
)
from tests.test_ner_cli import make_app


def labelled(text: str, *spans: tuple[str, str]) -> object:
    """A Doc whose entities are the given (substring, label) pairs."""
    doc = make_doc(text)
    found = []
    for part, label in spans:
        start = text.index(part)
        found.append(doc.char_span(start, start + len(part), label=label))
    doc.ents = found
    return doc


REVIEWED = [
    labelled("I rinse the rice in a blender jar", ("rice", "INGREDIENT"), ("blender", "EQUIPMENT")),
    labelled(
        "Olive oil and butter, never oil spray",
        ("Olive oil", "INGREDIENT"),
        ("butter", "INGREDIENT"),
    ),
]


def ents(doc: object) -> list[tuple[str, str]]:
    return [(e.text, e.label_) for e in doc.ents]  # type: ignore[attr-defined]


def test_lexicon_keys_forms_in_lower_case_with_the_majority_label() -> None:
    extra = labelled("A BLENDER is a dish", ("BLENDER", "DISH"))
    lexicon = reviewed_lexicon(
        [*REVIEWED, labelled("the blender", ("blender", "EQUIPMENT")), extra]
    )
    assert lexicon["blender"] == "EQUIPMENT"
    assert lexicon["olive oil"] == "INGREDIENT"


def test_teacher_labels_are_relabelled_and_missed_forms_added() -> None:
    teacher = labelled(
        "My Blender makes risotto with rice and olive oil", ("Blender", "DISH"), ("risotto", "DISH")
    )
    fixed = TeacherCorrector(reviewed_lexicon(REVIEWED))(teacher)
    assert ents(fixed) == [
        ("Blender", "EQUIPMENT"),  # the reviewer's label for the form, any case
        ("risotto", "DISH"),  # a form nobody reviewed keeps the teacher's label
        ("rice", "INGREDIENT"),  # missed by the teacher, added
        ("olive oil", "INGREDIENT"),  # the longest reviewed form, not "oil"
    ]
    assert ents(teacher) == [("Blender", "DISH"), ("risotto", "DISH")]  # input untouched


def test_additions_never_overlap_the_teachers_spans() -> None:
    teacher = labelled("fry it in olive oil cake batter", ("olive oil cake", "DISH"))
    assert ents(TeacherCorrector(reviewed_lexicon(REVIEWED))(teacher)) == [
        ("olive oil cake", "DISH")
    ]


def test_reviewed_docs_win_over_the_teachers_copy_of_the_same_text() -> None:
    stale = labelled(REVIEWED[0].text, ("blender", "DISH"))  # type: ignore[attr-defined]
    other = labelled("butter on toast", ("toast", "DISH"))
    docs = correct_teacher([stale, other], REVIEWED, weight=1)
    assert docs[:2] == REVIEWED and len(docs) == 3
    assert ents(docs[2]) == [("butter", "INGREDIENT"), ("toast", "DISH")]
    twice = correct_teacher([stale, other], REVIEWED)  # a person's labels count twice
    assert twice[:4] == REVIEWED * 2 and len(twice) == 5
    assert correct_teacher([stale, other], REVIEWED, weight=0)[0].text == other.text


def test_a_students_spans_are_corrected_on_its_own_doc(tmp_path: Path) -> None:
    doc = make_doc("My Blender makes risotto with rice and olive oil")
    found = [doc.char_span(3, 10, label="DISH"), doc.char_span(17, 24, label="DISH")]
    assert load_forms(tmp_path) is None  # no forms saved: nothing to apply
    save_forms(tmp_path, reviewed_lexicon(REVIEWED))
    assert json.loads((tmp_path / FORMS_FILE).read_text())["blender"] == "EQUIPMENT"
    corrector = load_forms(tmp_path)
    assert corrector is not None
    spans = corrector.spans(doc, found)
    assert [(s.text, s.label_) for s in spans] == [
        ("Blender", "EQUIPMENT"),
        ("risotto", "DISH"),
        ("rice", "INGREDIENT"),
        ("olive oil", "INGREDIENT"),
    ]
    assert all(s.doc is doc for s in spans)  # on the doc given: the backend sets its ents
    (tmp_path / FORMS_FILE).write_text('["rice"]')
    with pytest.raises(ConfigError, match="form -> label"):
        load_forms(tmp_path)


def prodigy(path: Path, records: list[tuple[str, list[tuple[str, str]]]]) -> Path:
    with path.open("w") as out:
        for text, spans in records:
            found = [
                {"start": text.index(p), "end": text.index(p) + len(p), "label": label}
                for p, label in spans
            ]
            out.write(json.dumps({"text": text, "spans": found, "answer": "accept"}) + "\n")
    return path


def test_train_with_teacher_needs_a_span_task(tmp_path: Path) -> None:
    data = prodigy(tmp_path / "r.jsonl", [("rice", [("rice", "INGREDIENT")])])
    result = CliRunner().invoke(
        make_app(),
        ["train", "sentiment", "--data", str(data), "--teacher", str(data),
         "--out", str(tmp_path / "m")],
    )  # fmt: skip
    assert result.exit_code != 0
    assert "--teacher" in str(result.exception)
    alone = CliRunner().invoke(
        make_app(),
        ["train", "ner", "--data", str(data), "--reviewed-weight", "3",
         "--out", str(tmp_path / "m")],
    )  # fmt: skip
    assert alone.exit_code != 0  # a weight against no teacher is a mistake, not a no-op
    assert "--teacher FILE" in str(alone.exception)


@pytest.mark.real
def test_train_ner_with_teacher_trains_on_corrected_teacher_docs(tmp_path: Path) -> None:
    reviewed = prodigy(
        tmp_path / "reviewed.jsonl",
        [(f"I cook rice in the wok number {i}", [("rice", "INGREDIENT"), ("wok", "EQUIPMENT")])
         for i in range(6)],
    )  # fmt: skip
    teacher = prodigy(
        tmp_path / "teacher.jsonl",
        [(f"the wok and rice again, day {i}", [("wok", "DISH")]) for i in range(8)],
    )
    dev = prodigy(tmp_path / "dev.jsonl", [("rice in a wok", [("rice", "INGREDIENT")])])
    out = tmp_path / "model"
    result = CliRunner().invoke(
        make_app(),
        ["train", "ner", "--data", str(reviewed), "--teacher", str(teacher), "--dev", str(dev),
         "--out", str(out), "--set", "max_epochs=1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "teacher: 8 of 8 docs" in result.output
    card = json.loads((out / "distill-model.json").read_text())
    assert "each reviewed doc counts 2 times" in result.output.replace("\n", " ")
    assert card["train_data"]["teacher"] == str(teacher)
    # docs: the reviewed file's; the teacher's docs and the repeats are counted apart
    assert card["train_data"]["docs"] == 6 and card["train_data"]["teacher_docs"] == 8
    assert card["train_data"]["examples"] == 2 * 6 + 8
    assert card["train_data"]["reviewed_weight"] == 2
    assert sorted(card["labels"]) == ["EQUIPMENT", "INGREDIENT"]
    # the student keeps the reviewed forms and applies them to what it predicts
    assert json.loads((out / FORMS_FILE).read_text()) == {"rice": "INGREDIENT", "wok": "EQUIPMENT"}
    assert card["train_data"]["reviewed_forms"] == 2
    task = TaskConfig(backend="trained", model=str(out), labels=["EQUIPMENT", "INGREDIENT"])
    backend = make_backend("ner", Config(tasks={"ner": task}))
    (doc,) = backend.predict([make_doc("A new WOK for fried rice")])
    assert {(e.text, e.label_) for e in doc.ents} >= {("WOK", "EQUIPMENT"), ("rice", "INGREDIENT")}
