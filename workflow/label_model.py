"""Combine several noisy annotators into one decision per unit, as Snorkel's label model does.

A *unit* is one thing the sources can disagree about: a span (is it an entity, which
label?), a mention's catalog id, a (product, aspect) polarity. Each source votes a value
on a unit, or `NONE` ("nothing here": a complete source that did not mark it), or
abstains (a gazetteer that simply did not match, a source that failed on the item).

The model is Dawid–Skene's "one coin" per source: source s is right with probability
`a_s` and otherwise picks one of the k-1 wrong values uniformly. Given accuracies, the
posterior of value v is proportional to Π_s a_s^[vote=v] · ((1-a_s)/(k-1))^[vote≠v],
i.e. a vote weighted by log(a_s (k-1) / (1-a_s)). Accuracies come from labelled units
when there are any (Laplace-smoothed), else from EM on the votes themselves.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

NONE = "<none>"
"""The vote "nothing here"; a decided NONE writes nothing."""
PRIOR = 0.7
"""Accuracy assumed for a source before any evidence."""
LOW, HIGH = 0.05, 0.98


@dataclass
class Unit:
    item: str
    key: Hashable
    votes: dict[str, Hashable] = field(default_factory=dict)
    """source name -> value (NONE included); abstaining sources are absent."""

    @property
    def disputed(self) -> bool:
        return len(set(self.votes.values())) > 1


def posterior(
    votes: Mapping[str, Hashable], accuracy: Mapping[str, float], k: int
) -> dict[Hashable, float]:
    """P(true value | votes) over the voted values (unvoted values share the rest)."""
    values = list(dict.fromkeys(votes.values()))
    k = max(k, len(values), 2)
    scores = {value: _log_score(value, votes, accuracy, k) for value in values}
    unvoted = _log_score(object(), votes, accuracy, k)
    top = max([*scores.values(), unvoted])
    weights = {value: math.exp(score - top) for value, score in scores.items()}
    total = sum(weights.values()) + (k - len(values)) * math.exp(unvoted - top)
    return {value: weight / total for value, weight in weights.items()}


def _log_score(value: object, votes: Mapping[str, Hashable], accuracy: Mapping[str, float], k: int):
    score = 0.0
    for source, vote in votes.items():
        a = _clip(accuracy.get(source, PRIOR))
        score += math.log(a) if vote == value else math.log((1 - a) / (k - 1))
    return score


def decide(unit: Unit, accuracy: Mapping[str, float], k: int) -> tuple[Hashable, float]:
    """The most probable value and its probability; ties go to the first vote cast."""
    probs = posterior(unit.votes, accuracy, k)
    value = max(probs, key=lambda v: probs[v])
    return value, probs[value]


def accuracy_from_gold(
    units: Iterable[Unit], gold: Mapping[tuple[str, Hashable], Hashable], sources: Sequence[str]
) -> dict[str, tuple[float, int]]:
    """(smoothed accuracy, votes scored) per source on units whose true value is known.

    Gold is complete: a unit of a labelled item missing from `gold` is truly NONE."""
    right = dict.fromkeys(sources, 0)
    cast = dict.fromkeys(sources, 0)
    for unit in units:
        truth = gold.get((unit.item, unit.key), NONE)
        for source, vote in unit.votes.items():
            cast[source] += 1
            right[source] += vote == truth
    return {s: ((right[s] + 1) / (cast[s] + 2), cast[s]) for s in sources}


def accuracy_by_em(
    units: Sequence[Unit], sources: Sequence[str], k: int, iterations: int = 30
) -> dict[str, float]:
    """Unsupervised estimates: alternate posteriors and each source's expected agreement.

    With one source there is nothing to compare it with: it keeps the prior."""
    accuracy = dict.fromkeys(sources, PRIOR)
    if len(sources) < 2 or not units:
        return accuracy
    for _ in range(iterations):
        expected = dict.fromkeys(sources, 1.0)  # Laplace: one right, one wrong
        cast = dict.fromkeys(sources, 2.0)
        for unit in units:
            probs = posterior(unit.votes, accuracy, k)
            for source, vote in unit.votes.items():
                expected[source] += probs.get(vote, 0.0)
                cast[source] += 1
        new = {s: _clip(expected[s] / cast[s]) for s in sources}
        if all(abs(new[s] - accuracy[s]) < 1e-4 for s in sources):
            return new
        accuracy = new
    return accuracy


def _clip(a: float) -> float:
    return min(HIGH, max(LOW, a))
