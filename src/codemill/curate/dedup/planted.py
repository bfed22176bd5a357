"""Ground truth for near-dedup: exact Jaccard similarity, and edited copies to plant at a chosen distance.

The benchmark and the tests plant copies of real files and check that dedup finds those at or above its
threshold; a user can do the same on their own corpus to see the S-curve at work.
"""

from __future__ import annotations

import random

from codemill.curate.dedup.minhash import shingle_hashes


def jaccard(a: str, b: str, ngram: int = 5) -> float:
    """Exact Jaccard similarity of two texts' word ``ngram``-gram sets (dedup's own shingles)."""
    x, y = set(shingle_hashes(a, ngram).tolist()), set(shingle_hashes(b, ngram).tolist())
    return len(x & y) / max(1, len(x | y))


def edited_copy(text: str, share: float, rng: random.Random) -> str:
    """``text`` with one word replaced in about ``share`` of its lines."""
    lines = text.splitlines()
    for i in rng.sample(range(len(lines)), int(len(lines) * share)):
        words = lines[i].split()
        if words:
            words[rng.randrange(len(words))] = f"edited_{rng.randrange(10**9)}"
            lines[i] = " ".join(words)
    return "\n".join(lines) + "\n"
