"""MinHash signatures of word n-gram shingles, LSH band keys, and bands/rows derived from a threshold.

Shingles follow BigCode's near-dedup for code: text split into runs of letters, digits and underscores
(punctuation and whitespace never make two files different), word 5-grams. A batch of texts is one byte
array: words are found and hashed in numpy (stable across processes and machines, unlike ``hash``), 5-grams
are combined in numpy, and the 256 permutations run in Rust through ``rensa``'s batch digest: the Python loop
only ever sees whole batches.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import rensa
import xxhash

_MIX = np.uint64(0x9E3779B97F4A7C15)


_IS_WORD = np.array([(chr(c).isascii() and (chr(c).isalnum() or c == 95)) or c >= 128 for c in range(256)])
_LOW_BYTES = np.array([(1 << (8 * n)) - 1 for n in range(8)] + [(1 << 64) - 1], np.uint64)  # masks of n bytes


def _finalise(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: every input bit reaches every output bit."""
    z = z ^ (z >> np.uint64(30))
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _word_hashes(buffer: bytes, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """A hash of each word ``buffer[starts[i]:ends[i]]``, eight bytes at a time, with no Python object per word:
    its first eight bytes (read as one little-endian number, masked to the word) and its length, finalised,
    then each further eight bytes mixed in and finalised again. ``buffer`` must end in 8 spare bytes."""
    windows = np.ndarray(shape=(len(buffer) - 7,), dtype="<u8", buffer=buffer, strides=(1,))  # unaligned reads
    length = ends - starts
    h = _finalise((windows[starts] & _LOW_BYTES[np.minimum(length, 8)]) ^ length.astype(np.uint64))
    done, longer = 8, np.flatnonzero(length > 8)
    while len(longer):
        part = windows[starts[longer] + done] & _LOW_BYTES[np.minimum(length[longer] - done, 8)]
        h[longer] = _finalise(h[longer] * _MIX ^ part)
        done += 8
        longer = longer[length[longer] > done]
    return h


def batch_shingle_hashes(texts: list[str], ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """Word ``ngram``-gram hashes of many texts at once: all of them flat (uint64, each text's in order, with
    repeats) and each text's offsets into them (``len(texts) + 1``).

    Words are runs of letters, digits, underscores and non-ASCII bytes (of the UTF-8 text). The whole batch is
    one byte array and no word is ever a Python object (:func:`_word_hashes`); an n-gram's hash combines its
    words' hashes in order. A text shorter than one n-gram yields one hash of all its words; one with no words
    yields none.
    """
    encoded = [t.encode("utf-8", "surrogatepass") for t in texts]
    buffer = b" ".join(encoded) + b" " + bytes(8)  # the space ends the last word; 8 spare bytes to read past it
    word = _IS_WORD[np.frombuffer(buffer, np.uint8, len(buffer) - 8)].view(np.int8)
    change = np.diff(word, prepend=np.int8(0))
    starts, ends = np.flatnonzero(change == 1), np.flatnonzero(change == -1)
    words = _word_hashes(buffer, starts, ends)
    text_of = np.searchsorted(np.cumsum([len(e) + 1 for e in encoded]), starts, side="right")
    counts = np.bincount(text_of, minlength=len(texts))
    first = np.concatenate([[0], np.cumsum(counts)])
    m = max(0, len(words) - ngram + 1)
    grams = words[:m].copy()
    for k in range(1, ngram):
        grams *= _MIX
        grams += words[k : k + m]
    whole = text_of[:m] == text_of[ngram - 1 : ngram - 1 + m] if m else np.zeros(0, bool)
    short = (counts > 0) & (counts < ngram)
    sizes = np.where(short, 1, np.maximum(counts - ngram + 1, 0))
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.uint64)
    flat = np.empty(int(offsets[-1]), np.uint64)
    slot_is_short = np.zeros(len(flat), bool)
    slot_is_short[offsets[:-1][short].astype(np.int64)] = True
    flat[~slot_is_short] = grams[whole]
    flat[slot_is_short] = [_combine(words[first[i] : first[i + 1]]) for i in np.flatnonzero(short)]
    return flat, offsets


def _combine(words: np.ndarray) -> int:
    """The n-gram hash of a text's few words, as the batch combines n of them."""
    out = int(words[0])
    for w in words[1:].tolist():
        out = (out * int(_MIX) + w) & 0xFFFFFFFFFFFFFFFF
    return out


def shingle_hashes(text: str, ngram: int) -> np.ndarray:
    """Hashes of the word ``ngram``-grams of one text (see :func:`batch_shingle_hashes`)."""
    return batch_shingle_hashes([text], ngram)[0]


def exact_hash(text: str) -> int:
    """A hash of the text with all runs of whitespace made one space: reindented copies are exact copies.

    (``bytes.split`` and ``join`` in C beat collapsing the runs of a whole batch in numpy: measured 99 against
    57 MB/s on the standard library.)"""
    return xxhash.xxh3_64_intdigest(b" ".join(text.encode("utf-8", "surrogatepass").split()))


def signatures(shingles: list[np.ndarray], num_perm: int, seed: int) -> np.ndarray:
    """MinHash signatures (``len(shingles)`` x ``num_perm``, uint32) of many documents at once."""
    offsets = np.zeros(len(shingles) + 1, np.uint64)
    np.cumsum([len(s) for s in shingles], out=offsets[1:])
    flat = np.concatenate(shingles) if offsets[-1] else np.zeros(0, np.uint64)
    return flat_signatures(flat, offsets, num_perm, seed)


def flat_signatures(flat: np.ndarray, offsets: np.ndarray, num_perm: int, seed: int) -> np.ndarray:
    """MinHash signatures of documents whose shingle hashes are ``flat[offsets[i]:offsets[i + 1]]``."""
    if len(offsets) < 2:
        return np.zeros((0, num_perm), np.uint32)
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

    ``bands`` pins the band count (rows = num_perm // bands) instead of searching. Every pair is scored at
    once (about 1,500 for 256 permutations); ties go to the fewest bands, then the fewest rows.
    """
    if bands is not None:
        rows = num_perm // bands
        return LshParams(bands, rows, threshold, *_areas(threshold, bands, rows))
    pairs = np.array([(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)], np.float64)
    b, r = pairs[:, :1], pairs[:, 1:]
    below = np.linspace(0.0, threshold, 1001)[None, :]
    above = np.linspace(threshold, 1.0, 1001)[None, :]
    fp = np.trapezoid(1 - (1 - below**r) ** b, below, axis=1)
    fn = np.trapezoid((1 - above**r) ** b, above, axis=1)
    cost = fp_weight * fp + fn_weight * fn
    best = int(np.flatnonzero(cost <= cost.min() + 1e-12)[0])
    return LshParams(int(pairs[best, 0]), int(pairs[best, 1]), threshold, float(fp[best]), float(fn[best]))
