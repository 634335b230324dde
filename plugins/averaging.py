"""Checkpoint averaging, shared by the MiniLM trainers (sentiment, fact-checker).

The running mean of the trained weights at epoch ends is a flatter point than any one
epoch's weights: what text unlike the training data needs, and it makes a recipe's dev
figure steadier across seeds (BENCHMARKS.md, aspect sentiment).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class WeightAverage:
    """The running mean of some modules' weights; `swap` puts it in the modules (and
    takes their own weights out: a second `swap` restores them)."""

    def __init__(self, modules: Sequence[nn.Module]) -> None:
        self.modules = list(modules)
        self.mean: list[dict[str, torch.Tensor]] | None = None
        self.count = 0

    def _states(self) -> list[dict[str, torch.Tensor]]:
        return [{k: v.detach().clone() for k, v in m.state_dict().items()} for m in self.modules]

    def add(self) -> None:
        self.count += 1
        current = self._states()
        if self.mean is None:
            self.mean = current
            return
        for mean, now in zip(self.mean, current, strict=True):
            for key, value in now.items():
                if value.is_floating_point():
                    mean[key] += (value - mean[key]) / self.count

    def swap(self) -> None:
        """Exchange the modules' weights with the mean (twice: back to the modules' own)."""
        assert self.mean is not None
        own = self._states()
        for module, mean in zip(self.modules, self.mean, strict=True):
            module.load_state_dict(mean)
        self.mean = own
