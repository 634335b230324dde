"""The ingest writer thread: batches written in order while the next one is computed."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from distill.ingest.pipeline import Writer, _shared_cores


def test_batches_are_written_in_order_on_another_thread() -> None:
    seen: list[tuple[int, str]] = []

    def write(number: int) -> None:
        time.sleep(0.01)
        seen.append((number, threading.current_thread().name))

    with Writer(write, depth=1) as writer:
        for number in range(6):
            writer.put(number)
    assert [n for n, _ in seen] == list(range(6))
    assert {name for _, name in seen} == {"distill-writer"}


def test_an_error_in_write_stops_the_writer_and_reaches_the_caller() -> None:
    written: list[int] = []

    def write(number: int) -> None:
        if number == 2:
            raise RuntimeError("disk full")
        written.append(number)

    with pytest.raises(RuntimeError, match="disk full"), Writer(write, depth=1) as writer:
        for number in range(50):
            writer.put(number)
            time.sleep(0.002)
    assert written == [0, 1]


def test_an_error_in_the_caller_drops_the_queued_batches() -> None:
    written: list[int] = []
    started = threading.Event()

    def write(number: int) -> None:
        started.set()
        time.sleep(0.05)
        written.append(number)

    with pytest.raises(KeyError), Writer(write, depth=3) as writer:
        for number in range(4):
            writer.put(number)
        started.wait()
        raise KeyError("interrupted")
    assert written == [0]  # the batch being written finished; the queued ones were dropped


def test_the_cores_are_shared_and_restored() -> None:
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    with _shared_cores(split=True) as threads:
        assert threads == max(1, before // 2) == torch.get_num_threads()
    assert torch.get_num_threads() == before
    with _shared_cores(split=False) as threads:  # the writer does not run MiniLM
        assert (threads, torch.get_num_threads()) == (1, before)
    assert torch.get_num_threads() == before


def test_the_tools_keep_every_core_when_the_index_takes_the_sentiment_vectors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One process, the default tools: the writer only writes (the index's vectors come
    from the sentiment pass), so the tools run on all of torch's threads; with the
    index's own embedding the cores are split."""
    torch = pytest.importorskip("torch")
    from distill.config import Config, GraphConfig, IndexConfig
    from distill.ingest import pipeline as module

    seen: list[tuple[bool, int]] = []
    real = module._shared_cores

    @contextlib.contextmanager
    def spy(split: bool) -> Iterator[int]:
        with real(split) as threads:
            seen.append((split, torch.get_num_threads()))
            yield threads

    monkeypatch.setattr(module, "_shared_cores", spy)
    data = tmp_path / "reviews.jsonl"
    data.write_text('{"id": "a", "text": "The battery lasts two days."}\n')
    for reuse in (True, False):
        config = Config(
            graph=GraphConfig(store="networkx", path=str(tmp_path / f"graph-{reuse}")),
            index=IndexConfig(path=str(tmp_path / f"index-{reuse}"), reuse_sentence_vectors=reuse),
        )
        tools = module.Pipeline(config, tasks=["sentiment"])
        assert module.ingest([data], config, pipeline=tools).written == 1
    before = torch.get_num_threads()
    assert seen == [(False, before), (True, max(1, before // 2))]
