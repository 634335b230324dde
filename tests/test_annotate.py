"""`distill annotate`: sources, weak supervision, Prodigy output, resume, failures, sorting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from loop_fakes import EmptyChat, LookupNER, provider
from typer.testing import CliRunner

from distill.config import Config, LLMConfig, TaskConfig
from distill.corpora import read_corpus
from distill.plugins import make_task
from distill.registry import register_llm_provider
from distill.workflow.annotate import (
    AnnotateError,
    BackendSource,
    PatternSource,
    annotate,
    make_sources,
)
from distill.workflow.label_model import (
    NONE,
    Unit,
    accuracy_by_em,
    accuracy_from_gold,
    decide,
    posterior,
)

LABELS = ["DISH", "INGREDIENT", "EQUIPMENT"]
TEXTS = [
    "Lasagna needs ricotta and a deep pan.",
    "Fry the eggs in butter.",
    "I love ramen with a soft egg.",
    "Season the wok before use.",
]
CHAT = EmptyChat(poison=["POISON"])
register_llm_provider("fake-teacher")(provider(CHAT))


def config(**llm: object) -> Config:
    return Config(
        llm=LLMConfig(provider="fake-teacher", cache=False, **llm),  # type: ignore[arg-type]
        tasks={"ner": TaskConfig(labels=LABELS)},
    )


def raw(tmp_path: Path, texts: list[str] = TEXTS) -> Path:
    path = tmp_path / "raw.jsonl"
    lines = [json.dumps({"text": t, "meta": {"n": i}}) for i, t in enumerate(texts)]
    path.write_text("\n".join(lines) + "\n")
    return path


def lookup(name: str, words: dict[str, str], fail_on: tuple[str, ...] = (), complete=True):
    spec = make_task("ner", config())
    return BackendSource(name, spec, LookupNER(spec, words, fail_on), complete=complete)


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# ---------------------------------------------------------------- the label model


def test_weighted_vote_trusts_the_accurate_sources() -> None:
    unit = Unit(item="1", key=(0, 4), votes={"a": "DISH", "b": "DISH", "c": NONE})
    assert decide(unit, {"a": 0.6, "b": 0.6, "c": 0.6}, k=4)[0] == "DISH"
    # one very accurate source outweighs two poor ones
    assert decide(unit, {"a": 0.3, "b": 0.3, "c": 0.95}, k=4)[0] == NONE
    probs = posterior(unit.votes, {"a": 0.8, "b": 0.8, "c": 0.8}, k=4)
    assert 0.5 < probs["DISH"] < 1 and sum(probs.values()) <= 1 + 1e-9


def test_accuracy_from_gold_and_em() -> None:
    units = [
        Unit("1", "x", {"good": "A", "bad": "B"}),
        Unit("2", "x", {"good": "A", "bad": "A"}),
        Unit("3", "x", {"good": NONE, "bad": "B"}),
    ]
    gold = {("1", "x"): "A", ("2", "x"): "A"}  # item 3: truly nothing
    scored = accuracy_from_gold(units, gold, ["good", "bad"])
    assert scored["good"] == ((3 + 1) / (3 + 2), 3)
    assert scored["bad"][0] < scored["good"][0]
    # EM without gold: the source that agrees with the majority is judged more accurate
    many = [Unit(str(i), "x", {"a": "A", "b": "A", "c": "B"}) for i in range(20)]
    estimated = accuracy_by_em(many, ["a", "b", "c"], k=3)
    assert estimated["a"] > estimated["c"] and estimated["b"] > estimated["c"]


# ---------------------------------------------------------------- runs


def test_one_source_writes_prodigy_records_that_train_reads(tmp_path: Path) -> None:
    out = tmp_path / "s.jsonl"
    source = lookup("teacher", {"lasagna": "DISH", "ricotta": "INGREDIENT", "eggs": "INGREDIENT"})
    report = annotate("ner", raw(tmp_path), out, "", config(), built=([source], []), sort="input")
    assert report.written == 4 and report.failed == 0
    first = records(out)[0]
    assert first["text"] == TEXTS[0] and first["answer"] == "accept"
    assert [(s["start"], s["end"], s["label"]) for s in first["spans"]] == [
        (0, 7, "DISH"),
        (14, 21, "INGREDIENT"),
    ]
    assert first["spans"][0]["token_start"] == 0 and first["tokens"][0]["text"] == "Lasagna"
    assert first["meta"]["n"] == 0 and first["meta"]["labels"] == LABELS
    assert first["meta"]["sources"]["teacher"]["vote"][0] == {"start": 0, "end": 7, "label": "DISH"}
    row = report.sources[0]
    assert row.items == 4 and row.coverage == 0.5 and row.votes == 3 and row.conflicts == 0
    docs = read_corpus(out, "prodigy", "ner")
    assert [(e.text, e.label_) for e in docs[1].ents] == [("eggs", "INGREDIENT")]


def test_sources_are_combined_and_disagreements_reported(tmp_path: Path) -> None:
    out = tmp_path / "s.jsonl"
    sources = [
        lookup("a", {"ricotta": "INGREDIENT", "wok": "EQUIPMENT", "ramen": "DISH"}),
        lookup("b", {"ricotta": "INGREDIENT", "wok": "EQUIPMENT", "butter": "DISH"}),
        lookup("c", {"ricotta": "INGREDIENT", "butter": "INGREDIENT", "ramen": "DISH"}),
    ]
    report = annotate("ner", raw(tmp_path), out, "", config(), built=(sources, []))
    by_text = {r["text"]: r for r in records(out)}
    assert [s["label"] for s in by_text[TEXTS[0]]["spans"]] == ["INGREDIENT"]
    assert by_text[TEXTS[0]]["spans"][0]["sources"] == ["a", "b", "c"]
    butter = by_text[TEXTS[1]]
    assert butter["meta"]["conflicts"] == 1 and butter["meta"]["confidence"] < 0.9
    stats = {row.name: row for row in report.sources}
    assert all(row.accuracy is not None for row in stats.values())  # EM estimates
    assert stats["a"].conflicts >= 1 and 0 < stats["a"].agreement <= 1


def test_partial_sources_abstain_where_they_do_not_match(tmp_path: Path) -> None:
    patterns = tmp_path / "patterns.jsonl"
    patterns.write_text(
        '{"label": "EQUIPMENT", "pattern": "deep pan"}\n'
        '{"label": "EQUIPMENT", "pattern": [{"LOWER": "wok"}]}\n'
    )
    spec = make_task("ner", config())
    ruler = PatternSource(patterns, spec)
    teacher = lookup("teacher", {"ricotta": "INGREDIENT"})
    out = tmp_path / "s.jsonl"
    annotate("ner", raw(tmp_path), out, "", config(), built=([teacher, ruler], []))
    first = records(out)[0]
    labels = {(first["text"][s["start"] : s["end"]], s["label"]) for s in first["spans"]}
    assert ("ricotta", "INGREDIENT") in labels
    # the teacher voted "nothing" on "deep pan"; with equal priors that ties, the vote is kept
    assert first["meta"]["sources"]["patterns:patterns.jsonl"]["vote"] == [
        {"start": 28, "end": 36, "label": "EQUIPMENT"}
    ]


def test_bad_pattern_line_is_named(tmp_path: Path) -> None:
    patterns = tmp_path / "p.jsonl"
    patterns.write_text('{"label": "DISH", "pattern": "pho"}\n{"pattern": "x"}\n')
    with pytest.raises(AnnotateError, match=r"p\.jsonl:2"):
        PatternSource(patterns, make_task("ner", config()))


def test_failed_items_are_recorded_and_the_run_goes_on(tmp_path: Path) -> None:
    out = tmp_path / "s.jsonl"
    source = lookup("teacher", {"ricotta": "INGREDIENT"}, fail_on=("eggs",))
    report = annotate("ner", raw(tmp_path), out, "", config(), built=([source], []))
    assert report.written == 4 and report.failed == 1 and report.sources[0].failed == 1
    failed = records(out)[1]
    assert failed["answer"] == "ignore" and failed["spans"] == []
    assert failed["meta"]["sources"]["teacher"] == {"failed": "off-schema JSON"}
    assert read_corpus(out, "prodigy", "ner")[1].text == TEXTS[2]  # ignored: not training data


def test_resume_skips_done_items_and_cuts_a_half_written_line(tmp_path: Path) -> None:
    data, out = raw(tmp_path), tmp_path / "s.jsonl"
    source = lookup("teacher", {"ricotta": "INGREDIENT"})
    annotate("ner", data, out, "", config(), limit=2, built=([source], []))
    with out.open("a") as handle:
        handle.write('{"text": "half a reco')  # a run killed mid-write
    with pytest.raises(AnnotateError, match="--resume"):
        annotate("ner", data, out, "", config(), built=([source], []))
    report = annotate("ner", data, out, "", config(), resume=True, built=([source], []))
    assert report.already_done == 2 and report.written == 2
    assert [r["text"] for r in records(out)] == TEXTS


def test_gold_estimates_each_sources_accuracy(tmp_path: Path) -> None:
    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        json.dumps(
            {"text": "Ricotta on toast.", "spans": [{"start": 0, "end": 7, "label": "INGREDIENT"}]}
        )
        + "\n"
    )
    good = lookup("good", {"ricotta": "INGREDIENT"})
    bad = lookup("bad", {"toast": "EQUIPMENT"})
    report = annotate(
        "ner", raw(tmp_path), tmp_path / "s.jsonl", "", config(), gold=gold, built=([good, bad], [])
    )
    stats = {row.name: row for row in report.sources}
    assert stats["good"].accuracy_n == 2 and stats["good"].accuracy > stats["bad"].accuracy


def test_sort_uncertain_puts_disputed_items_first(tmp_path: Path) -> None:
    sources = [lookup("a", {"butter": "DISH"}), lookup("b", {"butter": "INGREDIENT"})]
    out = tmp_path / "s.jsonl"
    annotate("ner", raw(tmp_path), out, "", config(), sort="uncertain", built=(sources, []))
    assert records(out)[0]["text"] == TEXTS[1]


def test_unknown_sources_and_missing_gazetteer(tmp_path: Path) -> None:
    with pytest.raises(AnnotateError, match="model:"):
        make_sources("ner", "model:", config())
    with pytest.raises(AnnotateError, match="no such directory"):
        make_sources("ner", "model:nowhere", config())
    with pytest.raises(Exception, match="no backend 'telepathy'"):
        make_sources("ner", "telepathy", config())
    sources, notes = make_sources("ner", "prompt,gazetteer", config(max_concurrency=3))
    assert sources[0].name == "prompt"
    assert sources[0].backend.max_concurrency == 3  # bounded parallel requests (remote LLMs)
    assert len(sources) == 2 or any("gazetteer" in note for note in notes)


def test_a_model_source_brings_its_own_labels(tmp_path: Path) -> None:
    from distill.model_card import ModelCard
    from distill.workflow.annotate import model_labels

    model = tmp_path / "cooking"
    model.mkdir()
    ModelCard(task="ner", task_version="1", kind="minilm-ner", labels=LABELS).save(model)
    products = Config(tasks={"ner": TaskConfig(labels=["PRODUCT", "BRAND"])})
    chosen, note = model_labels("ner", f"model:{model}", products)
    assert chosen.task("ner").labels == LABELS and "DISH" in (note or "")
    assert list(make_task("ner", chosen).labels) == LABELS
    same, note = model_labels("ner", f"prompt,model:{model}", config())
    assert same.task("ner").labels == LABELS and note is None  # the config already has them
    assert model_labels("ner", "prompt", products) == (products, None)


# ---------------------------------------------------------------- the prompt backend path


def test_off_schema_llm_answer_is_retried_once_then_failed(tmp_path: Path) -> None:
    data = raw(tmp_path, [*TEXTS[:2], "POISON soup", TEXTS[2]])
    out = tmp_path / "s.jsonl"
    before = CHAT.poisoned_calls
    report = annotate("ner", data, out, "prompt", config())
    assert CHAT.poisoned_calls - before == 2  # the first answer and its one retry
    assert report.written == 4 and report.failed == 1
    failed = [r for r in records(out) if r["answer"] == "ignore"]
    assert [r["text"] for r in failed] == ["POISON soup"]
    assert "Invalid json" in failed[0]["meta"]["sources"]["prompt"]["failed"]


def make_app() -> typer.Typer:
    from distill.cli import annotate_cmd
    from distill.cli.state import State

    app = typer.Typer()

    @app.callback()
    def _options(ctx: typer.Context) -> None:
        ctx.obj = State(overrides=["llm.provider=fake-teacher", "llm.cache=false"])

    app.command("annotate")(annotate_cmd.annotate)
    return app


def test_cli_annotate_prints_the_source_table(tmp_path: Path) -> None:
    out = tmp_path / "s.jsonl"
    args = ["annotate", "ner", "--data", str(raw(tmp_path)), "--out", str(out),
            "--labels", ",".join(LABELS), "--limit", "3"]  # fmt: skip
    result = CliRunner().invoke(make_app(), args)
    assert result.exit_code == 0, result.output
    assert "wrote 3 items" in result.stdout and "prompt" in result.stdout
    assert "distill review ner" in result.stdout
    again = CliRunner().invoke(make_app(), [*args[:-2], "--resume", "--json"])
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout.strip().splitlines()[-1])
    assert report["already_done"] == 3 and report["written"] == 1


def test_cli_annotate_reads_what_ingest_reads(tmp_path: Path) -> None:
    """Found on real reviews: `annotate --data "Nokia 6610.txt"` skipped every line as
    "not valid JSON" and wrote nothing; a Hu & Liu file is one item per review, as in
    `distill ingest`."""
    sample = Path(__file__).parent / "fixtures" / "huliu_sample.txt"
    out = tmp_path / "s.jsonl"
    args = ["annotate", "ner", "--data", str(sample), "--out", str(out),
            "--labels", ",".join(LABELS), "--json"]  # fmt: skip
    result = CliRunner().invoke(make_app(), args)
    assert result.exit_code == 0, result.output
    rows = records(out)
    reviews = sample.read_text().count("[t]")
    assert len(rows) == json.loads(result.stdout.strip().splitlines()[-1])["written"] == reviews
    assert rows[0]["meta"]["id"] == "huliu_sample.txt#1" and "##" not in rows[0]["text"]


# ---------------------------------------------------------------- the real teacher


@pytest.mark.real
def test_real_llm_teacher_annotates_three_short_items(tmp_path: Path) -> None:
    texts = [
        "I made pad thai in my wok with tofu and peanuts.",
        "Add garlic and butter to the cast iron skillet.",
        "This lasagna needs more ricotta.",
    ]
    real = Config(
        llm=LLMConfig(cache=False, max_tokens=256), tasks={"ner": TaskConfig(labels=LABELS)}
    )
    out = tmp_path / "s.jsonl"
    report = annotate("ner", raw(tmp_path, texts), out, "prompt", real)
    assert report.written == 3 and report.sources[0].words_per_second
    rows = records(out)
    assert all(r["answer"] in ("accept", "ignore") for r in rows)
    found = {
        (r["text"][s["start"] : s["end"]].lower(), s["label"]) for r in rows for s in r["spans"]
    }
    assert found, rows  # the 1.5B teacher finds something in three obvious sentences
    assert all(label in LABELS for _, label in found)
    assert all(s["sources"] == ["prompt"] for r in rows for s in r["spans"])


# ---------------------------------------------------------------- other tasks


def test_aspect_sentiment_votes_per_aspect(tmp_path: Path) -> None:
    from loop_fakes import LookupOpinions

    from distill.plugins.sentiment import Opinion

    text = "Great screen, awful battery."
    sentiment = Config(llm=LLMConfig(provider="fake-teacher", cache=False))
    spec = make_task("sentiment", sentiment)

    def source(name: str, battery: str) -> BackendSource:
        opinions = [Opinion(aspect="screen", polarity="positive"),
                    Opinion(aspect="battery", polarity=battery)]  # fmt: skip
        return BackendSource(name, spec, LookupOpinions(spec, {text: opinions}), complete=True)

    sources = [source("a", "negative"), source("b", "negative"), source("c", "positive")]
    out = tmp_path / "s.jsonl"
    annotate("sentiment", raw(tmp_path, [text]), out, "", sentiment, built=(sources, []))
    record = records(out)[0]
    assert {(o["aspect"], o["polarity"]) for o in record["opinions"]} == {
        ("screen", "positive"),
        ("battery", "negative"),
    }
    assert record["meta"]["conflicts"] == 1
    doc = read_corpus(out, "prodigy", "sentiment")[0]
    assert {(o.aspect, o.polarity) for o in doc._.opinions} == {
        ("screen", "positive"),
        ("battery", "negative"),
    }


def test_linking_votes_on_the_input_mentions(tmp_path: Path) -> None:
    from loop_fakes import LookupLinks

    linker = Config(llm=LLMConfig(provider="fake-teacher", cache=False))
    spec = make_task("linker", linker)
    data = tmp_path / "mentions.jsonl"
    data.write_text(
        json.dumps({"text": "My X2 beats the Orion 4.", "spans": [
            {"start": 3, "end": 5, "label": "PRODUCT"},
            {"start": 16, "end": 23, "label": "PRODUCT"}]}) + "\n"
    )  # fmt: skip
    both = {"x2": "nebula-x2", "orion 4": "orion-4"}
    sources = [
        BackendSource("a", spec, LookupLinks(spec, {"x2": "nebula-x2"}), complete=True),
        BackendSource("b", spec, LookupLinks(spec, both), complete=True),
        BackendSource("c", spec, LookupLinks(spec, both), complete=True),
    ]
    out = tmp_path / "s.jsonl"
    annotate("linker", data, out, "", linker, built=(sources, []))
    spans = records(out)[0]["spans"]
    assert [(s["start"], s["kb_id"]) for s in spans] == [(3, "nebula-x2"), (16, "orion-4")]
    assert spans[0]["sources"] == ["a", "b", "c"] and spans[1]["sources"] == ["b", "c"]
    doc = read_corpus(out, "prodigy", "linker")[0]
    assert [e.kb_id_ for e in doc.ents] == ["nebula-x2", "orion-4"]
