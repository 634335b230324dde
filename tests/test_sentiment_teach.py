"""The LLM teaches aspects the real training data lacks (`distill.plugins.sentiment.teach`)."""

from __future__ import annotations

from pathlib import Path

from distill.plugins.sentiment.teach import Written, read_taught, requests, taught_docs, teach


class Writer:
    """A chat model that answers every writing request with two sentences in one string."""

    def __init__(self) -> None:
        self.prompts: list[str] = []

    def with_structured_output(self, schema: type) -> Writer:
        assert schema is Written
        return self

    def invoke(self, prompt: str) -> Written:
        self.prompts.append(prompt)
        return Written(sentences=["Photos are sharp. The zoom is great!", "Photos are sharp."])


def test_a_sentence_is_kept_only_where_the_judge_reads_the_asked_aspect_and_polarity(
    tmp_path: Path,
) -> None:
    judged: list[list[str]] = []

    def judge(sentences: list[str]) -> list:
        judged.append(sentences)
        return [[("camera", "positive"), ("battery", "negative"), ("screen", "neutral")], []]

    out = tmp_path / "taught.jsonl"
    items = requests(["camera"], rounds=1, polarities=["positive"])[:1]
    writer = Writer()
    records = teach(items, writer, judge, out, seconds=60, log=lambda _: None)
    assert "camera of their phone" in writer.prompts[0] and "likes it" in writer.prompts[0]
    # split into sentences, duplicates dropped, each judged on its own
    assert judged == [["Photos are sharp.", "The zoom is great!"]]
    assert [(r.text, r.kept) for r in records] == [
        ("Photos are sharp.", True),
        ("The zoom is great!", False),
    ]
    assert read_taught(out) == records
    teach(items, writer, judge, out, seconds=60, log=lambda _: None)  # resumes: no new call
    assert len(writer.prompts) == 1

    (doc,) = taught_docs(out, ["overall", "camera", "battery", "screen"])
    assert doc.text == "Photos are sharp."
    assert [(o.aspect, o.polarity) for o in doc._.opinions] == [("camera", "positive")]
    # other aspects are taught as none, except those the judge read a polarity for
    assert doc._.meta["unlabelled_aspects"] == ["battery"]


def test_a_failed_writer_or_judge_costs_only_its_request(tmp_path: Path) -> None:
    class Broken(Writer):
        def invoke(self, prompt: str) -> Written:
            raise ValueError("not JSON")

    out = tmp_path / "taught.jsonl"
    items = requests(["camera"], rounds=1)
    assert teach(items, Broken(), lambda s: [], out, seconds=60, log=lambda _: None) == []
    records = teach(items[:1], Writer(), lambda s: [None] * len(s), out, 60, log=lambda _: None)
    assert records and not any(r.kept for r in records)


def test_requests_vary_the_style_by_round_so_cached_answers_do_not_repeat() -> None:
    items = requests(["camera"], rounds=2, polarities=["negative"])
    kinds = {kind for _, kind, _, _ in items}
    assert kinds == {"phone", "digital camera", "laptop", "tablet"}
    assert len({source for *_, source in items}) == len(items) == 8
