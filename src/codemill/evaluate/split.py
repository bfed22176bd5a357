"""Two disjoint halves of every benchmark: ``gap`` tasks tell the loop where the model fails, ``held-out`` tasks
measure whether a round helped. Nothing synthesis is steered by may come from the tasks that judge the result,
or an improvement could be the benchmark leaking into the data; halving by a hash of ``benchmark/task_id``
(not by position: benchmarks are ordered roughly by difficulty) gives two halves of the same mix, and the same
halves on every machine and run.
"""

from __future__ import annotations

import hashlib
from typing import Literal

__all__ = ["SPLITS", "Split", "in_split", "split_of"]

Split = Literal["gap", "held-out"]
SPLITS: tuple[Split, ...] = ("gap", "held-out")


def split_of(benchmark: str, task_id: str) -> Split:
    digest = hashlib.sha256(f"{benchmark}/{task_id}".encode()).digest()
    return SPLITS[digest[0] & 1]


def in_split(benchmark: str, task_id: str, split: str | None) -> bool:
    """Whether the task belongs to ``split`` (None: every task)."""
    return split is None or split_of(benchmark, task_id) == split
