"""Moved to `distill.workflow.model_card` (kept while the linker/fact-check work lands)."""

from distill.workflow.model_card import *  # noqa: F403
from distill.workflow.model_card import ModelCard, data_info, dir_size_mb, load_card, split_dev

__all__ = ["ModelCard", "data_info", "dir_size_mb", "load_card", "split_dev"]
