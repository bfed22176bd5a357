"""Seeded samples that do not depend on input order: an item is chosen by a hash of its id and the seed.

So the same corpus gives the same sample however it is sharded or ordered, and a sample can be drawn in one
streaming pass with memory for ``n`` items per group (never the whole corpus).
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

import xxhash

__all__ = ["sample_by_id"]

T = TypeVar("T")


def sample_by_id(
    items: Iterable[T],
    n: int,
    seed: int,
    id_of: Callable[[T], str],
    group_of: Callable[[T], Hashable | None] = lambda _: None,
) -> dict[Hashable | None, list[T]]:
    """Per group, the ``n`` items whose ``xxh64(id, seed)`` is smallest, in that order (by default one group,
    keyed None; a caller that groups can use None for "not wanted" and ignore that group)."""
    heaps: dict[Hashable | None, list[tuple[int, int, T]]] = defaultdict(list)
    for order, item in enumerate(items):
        group = group_of(item)
        key = -xxhash.xxh64_intdigest(id_of(item).encode("utf-8"), seed=seed)  # max-heap of the n smallest
        heap = heaps[group]
        if len(heap) < n:
            heapq.heappush(heap, (key, -order, item))
        elif n and key > heap[0][0]:
            heapq.heapreplace(heap, (key, -order, item))
    return {group: [item for _, _, item in sorted(heap, key=lambda e: (-e[0], -e[1]))] for group, heap in heaps.items()}
