"""Word n-gram hashes, the one primitive under near-dedup, decontamination and source overlap.

Tokens are hashed with xxh3 (stable across processes, runs and machines, unlike Python's ``hash``); an
n-gram's hash combines its token hashes in order, in numpy, so no n-gram string is ever built.
"""

from __future__ import annotations

import numpy as np
import xxhash

_WORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") | frozenset(range(128, 256))
#: every byte that cannot be part of a word becomes a space (UTF-8 bytes of non-ASCII letters stay inside words)
_NON_WORD_TO_SPACE = bytes(c if c in _WORD_BYTES else 32 for c in range(256))
_MIX = np.uint64(0x9E3779B97F4A7C15)
_xxh = xxhash.xxh3_64_intdigest


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def word_tokens(text: str) -> list[bytes]:
    """Runs of letters, digits and underscores: punctuation and layout never separate two texts.

    ``translate`` + ``split`` gives the tokens of the regex ``[A-Za-z0-9_\\x80-\\xff]+`` about 3x faster.
    """
    return _encode(text).translate(_NON_WORD_TO_SPACE).split()


def whitespace_tokens(text: str) -> list[bytes]:
    """Whitespace-separated tokens, as in Qwen2.5-Coder's decontamination (``str.split``)."""
    return _encode(text).split()


def token_hashes(tokens: list[bytes]) -> np.ndarray:
    return np.fromiter(map(_xxh, tokens), np.uint64, len(tokens))


def ngram_hashes(hashes: np.ndarray, n: int, whole_if_short: bool) -> np.ndarray:
    """Hashes of the consecutive ``n``-grams of a token-hash sequence (in order, with repeats).

    A sequence shorter than ``n`` gives one hash of all of it when ``whole_if_short``, else none.
    """
    if len(hashes) < n and not (whole_if_short and len(hashes)):
        return np.zeros(0, np.uint64)
    m = max(1, len(hashes) - n + 1)
    out = hashes[:m].copy()
    for k in range(1, min(n, len(hashes))):
        out *= _MIX
        out += hashes[k : k + m]
    return out


def ngram_text(tokens: list[bytes], start: int, n: int) -> str:
    """The text of the n-gram at ``start``, for reports."""
    return b" ".join(tokens[start : start + n]).decode("utf-8", "replace")
