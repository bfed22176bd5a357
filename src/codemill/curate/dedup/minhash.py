"""MinHash signatures of word n-gram shingles, LSH band keys, and bands/rows derived from a threshold.

Shingles follow BigCode's near-dedup for code: text split into runs of letters, digits and underscores
(punctuation and whitespace never make two files different), word 5-grams. Tokens are hashed with xxh3
(stable across processes and machines, unlike ``hash``), 5-grams are combined in numpy, and the 256
permutations run in Rust through ``rensa``'s batch digest: the Python loop only ever sees whole batches.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import numpy as np
import rensa
import xxhash

from codemill.curate.ngrams import ngram_hashes, token_hashes, word_tokens

_SPACE = re.compile(rb"\s+")
_MIX = np.uint64(0x9E3779B97F4A7C15)


def shingle_hashes(text: str, ngram: int) -> np.ndarray:
    """Hashes of the word ``ngram``-grams of ``text`` (uint64, in order, with repeats).

    A document shorter than one n-gram yields one shingle of all its words; one with no words yields none.
    """
    return ngram_hashes(token_hashes(word_tokens(text)), ngram, whole_if_short=True)


def exact_hash(text: str) -> int:
    """A hash of the text with all runs of whitespace made one space: reindented copies are exact copies."""
    return xxhash.xxh3_64_intdigest(_SPACE.sub(b" ", text.encode("utf-8", "surrogatepass")).strip())


def signatures(shingles: list[np.ndarray], num_perm: int, seed: int) -> np.ndarray:
    """MinHash signatures (``len(shingles)`` x ``num_perm``, uint32) of many documents at once."""
    if not shingles:
        return np.zeros((0, num_perm), np.uint32)
    offsets = np.zeros(len(shingles) + 1, np.uint64)
    np.cumsum([len(s) for s in shingles], out=offsets[1:])
    flat = np.concatenate(shingles) if offsets[-1] else np.zeros(0, np.uint64)
    rows = rensa.RMinHash.digest_matrix_from_flat_token_hashes(flat, offsets, num_perm, seed).to_rows()
    out = np.fromiter(itertools.chain.from_iterable(rows), np.uint32, len(rows) * num_perm)
    return out.reshape(len(rows), num_perm)


def band_keys(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One uint64 key per document and band (``n`` x ``bands``): equal keys mean an equal band of the signature."""
    keys = np.zeros((sig.shape[0], bands), np.uint64)
    wide = sig.astype(np.uint64)
    for b in range(bands):
        k = np.full(sig.shape[0], ((b + 1) * int(_MIX)) & 0xFFFFFFFFFFFFFFFF, np.uint64)
        for c in range(b * rows, (b + 1) * rows):
            k ^= wide[:, c]
            k *= _MIX
            k ^= k >> np.uint64(29)
        keys[:, b] = k
    return keys


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The Jaccard similarity each pair of signature rows estimates (the share of equal minima)."""
    return (a == b).mean(axis=-1)


@dataclass(frozen=True)
class LshParams:
    """Bands and rows, and how much of the S-curve falls on the wrong side of the threshold."""

    bands: int
    rows: int
    threshold: float
    false_positive_area: float  # integral of P(candidate) below the threshold
    false_negative_area: float  # integral of P(not candidate) above the threshold

    @property
    def curve_midpoint(self) -> float:
        """The similarity at which a pair becomes a candidate with probability 1/2 ~ (1/b)^(1/r)."""
        return float((1 - 0.5 ** (1 / self.bands)) ** (1 / self.rows))

    def probability(self, similarity: float) -> float:
        """Chance that a pair of this Jaccard similarity shares at least one band."""
        return float(1 - (1 - similarity**self.rows) ** self.bands)

    def describe(self) -> str:
        return (
            f"LSH {self.bands} bands x {self.rows} rows for Jaccard {self.threshold}: S-curve midpoint "
            f"{self.curve_midpoint:.3f}, false-positive area {self.false_positive_area:.4f}, "
            f"false-negative area {self.false_negative_area:.4f}"
        )


def _areas(threshold: float, bands: int, rows: int) -> tuple[float, float]:
    below = np.linspace(0.0, threshold, 1001)
    above = np.linspace(threshold, 1.0, 1001)
    fp = np.trapezoid(1 - (1 - below**rows) ** bands, below)
    fn = np.trapezoid((1 - above**rows) ** bands, above)
    return float(fp), float(fn)


def lsh_params(
    threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5, bands: int | None = None
) -> LshParams:
    """The bands x rows (with bands x rows <= num_perm) that minimise the weighted wrong-side areas.

    ``bands`` pins the band count (rows = num_perm // bands) instead of searching.
    """
    if bands is not None:
        rows = num_perm // bands
        return LshParams(bands, rows, threshold, *_areas(threshold, bands, rows))
    best: LshParams | None = None
    best_cost = float("inf")
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            fp, fn = _areas(threshold, b, r)
            cost = fp_weight * fp + fn_weight * fn
            if cost < best_cost - 1e-12:
                best, best_cost = LshParams(b, r, threshold, fp, fn), cost
    assert best is not None
    return best
