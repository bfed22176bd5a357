"""Connected components of a graph whose edges arrive in batches, in numpy, with the labels on disk.

Every component ends labelled by its smallest node, whatever the order edges come in, so the result is
deterministic. The parent array is a memory-mapped file: memory holds one batch of edges, never them all,
and a corpus larger than RAM only pages. Union is vectorised: each round links every unsatisfied edge's
larger root under its smaller one (``np.minimum.at`` settles conflicts), and rounds repeat until every edge
of the batch joins one root.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


class DiskUnionFind:
    """Union-find over ``n`` nodes ``0..n-1``; the parent array lives in ``path``."""

    def __init__(self, path: Path, n: int) -> None:
        self.n = n
        self.parent = np.lib.format.open_memmap(path, mode="w+", dtype=np.int64, shape=(max(n, 1),))
        self.parent[:] = np.arange(max(n, 1), dtype=np.int64)

    def roots(self, nodes: np.ndarray) -> np.ndarray:
        """The root of each node (and shortens their paths on the way)."""
        r = self.parent[nodes]
        while True:
            up = self.parent[r]
            if np.array_equal(up, r):
                break
            r = up
        self.parent[nodes] = r
        return r

    def union(self, u: np.ndarray, v: np.ndarray) -> None:
        """Join the components of ``u[i]`` and ``v[i]`` for every ``i``."""
        u = np.asarray(u, np.int64)
        v = np.asarray(v, np.int64)
        while len(u):
            ru, rv = self.roots(u), self.roots(v)
            apart = ru != rv
            if not apart.any():
                return
            u, v, ru, rv = u[apart], v[apart], ru[apart], rv[apart]
            np.minimum.at(self.parent, np.maximum(ru, rv), np.minimum(ru, rv))

    def labels(self, chunk: int = 1 << 20) -> np.ndarray:
        """Every node's component label (its smallest node), computed a chunk at a time."""
        out = np.empty(self.n, np.int64)
        for start in range(0, self.n, chunk):
            nodes = np.arange(start, min(self.n, start + chunk), dtype=np.int64)
            out[start : start + len(nodes)] = self.roots(nodes)
        return out

    def close(self) -> None:
        self.parent.flush()
        del self.parent
