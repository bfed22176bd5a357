"""Exact and near-duplicate removal."""

from codemill.curate.dedup.step import Dedup

__all__ = ["Dedup"]
