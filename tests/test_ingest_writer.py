"""The ingest writer thread: batches written in order while the next one is computed."""

from __future__ import annotations

import threading
import time

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
    with _shared_cores(2) as threads:
        assert threads == max(1, before // 2) == torch.get_num_threads()
    assert torch.get_num_threads() == before
