"""The pair cross-encoder probe's reading and scoring (its training is a benchmark run)."""

from pathlib import Path

import numpy as np

from benchmarks.pair_cross_encoder_probe import best_threshold, f1_at, read_pairs, record_text

FIXTURES = Path(__file__).parent / "fixtures"


def test_reads_ditto_pairs_as_records_and_labels() -> None:
    pairs = read_pairs(FIXTURES / "linker_pairs.txt")
    left, right, label, line = pairs[0]
    assert left["title"] == "sony bravia kdl-40v4100 40 lcd tv"
    assert label == 1 and line.endswith("1")
    assert record_text(right) == "sony kdl40v4100 bravia lcd hdtv | 949.0"


def test_threshold_is_the_best_f1_on_the_data_it_is_fit_on() -> None:
    probs = np.array([0.9, 0.8, 0.3, 0.1])
    gold = np.array([1, 1, 0, 0])
    threshold, f1 = best_threshold(probs, gold)
    assert f1 == 1.0 and 0.3 < threshold <= 0.8
    assert f1_at(probs, gold, 0.95) == 0.0
