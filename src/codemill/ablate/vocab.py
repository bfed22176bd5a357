"""A trimmed vocabulary that loses nothing: the Qwen2.5 tokens a small model can afford, the rest spelt in bytes.

Qwen2.5's 151,665 ids would make a miniature model almost all embedding (151,665 x 128 is 19 M parameters beside
a few hundred thousand in its layers) and its softmax the cost of every step. Qwen2.5's BPE is byte-level, so any
token is a sequence of bytes: the trimmed vocabulary keeps

* ids 0-255: the 256 bytes,
* id 256 onwards: ``<|endoftext|>`` and any other control token seen, then the ``size`` most frequent multi-byte
  tokens of the training data,

and writes every other token as its bytes. The mapping is a fixed function of the kept list (``vocab.json``), the
same for every arm; a text's bytes are unchanged, so bits per byte on held-out data stay exact and comparable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codemill.curate.pack.tokenizer import QWEN_FIRST_SPECIAL_ID, QWEN_SPECIAL_TOKENS, qwen_ranks
from codemill.data.textio import atomic_write_text

__all__ = ["QWEN_VOCAB", "TrimmedVocab", "count_tokens"]

QWEN_VOCAB = QWEN_FIRST_SPECIAL_ID + len(QWEN_SPECIAL_TOKENS)
BYTES = 256


def _token_bytes() -> list[bytes]:
    """Bytes of every Qwen2.5 id (control tokens: none)."""
    table = [b""] * QWEN_VOCAB
    for token, rank in qwen_ranks().items():
        table[rank] = token
    return table


def count_tokens(counts: np.ndarray | None, ids: np.ndarray) -> np.ndarray:
    """Add the ids' frequencies to ``counts`` (a Qwen2.5-sized array; None starts one)."""
    got = np.bincount(np.asarray(ids, np.int64), minlength=QWEN_VOCAB)
    return got if counts is None else counts + got


@dataclass
class TrimmedVocab:
    """The kept Qwen2.5 ids in new-id order from 256, and the tables that map old ids to new sequences."""

    kept: np.ndarray  # Qwen2.5 ids of new ids 256, 257, ...
    offsets: np.ndarray  # per Qwen2.5 id, where its new ids start in ``flat``
    lengths: np.ndarray  # per Qwen2.5 id, how many new ids it becomes
    flat: np.ndarray
    nbytes: np.ndarray  # per Qwen2.5 id, its bytes (0 for control tokens)

    @property
    def size(self) -> int:
        return BYTES + len(self.kept)

    @classmethod
    def fit(cls, counts: np.ndarray, size: int) -> TrimmedVocab:
        """Keep every control token that occurs and the ``size`` most frequent multi-byte tokens."""
        table = _token_bytes()
        ids = np.arange(QWEN_VOCAB)
        control = ids >= QWEN_FIRST_SPECIAL_ID
        multi = np.array([len(b) > 1 for b in table]) & ~control
        eos = QWEN_FIRST_SPECIAL_ID
        controls = [eos, *[int(i) for i in np.flatnonzero(control & (counts > 0)) if i != eos]]
        candidates = np.flatnonzero(multi & (counts > 0))
        order = candidates[np.lexsort((candidates, -counts[candidates]))][:size]  # ties: the lower id first
        return cls.of(np.array([*controls, *sorted(order.tolist())], np.int64), table)

    @classmethod
    def of(cls, kept: np.ndarray, table: list[bytes] | None = None) -> TrimmedVocab:
        table = table or _token_bytes()
        new_of = {int(old): BYTES + i for i, old in enumerate(kept.tolist())}
        pieces: list[list[int]] = []
        for old, token in enumerate(table):
            if old in new_of:
                pieces.append([new_of[old]])
            elif token:
                pieces.append(list(token))
            else:
                pieces.append([])  # a control token that was never seen: it maps to nothing, and is refused below
        lengths = np.array([len(p) for p in pieces], np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        flat = np.fromiter((i for p in pieces for i in p), np.int64, int(lengths.sum()))
        nbytes = np.array([len(t) for t in table], np.int64)
        return cls(kept=kept, offsets=offsets, lengths=lengths, flat=flat, nbytes=nbytes)

    def map(self, ids: np.ndarray) -> np.ndarray:
        """Qwen2.5 ids -> trimmed ids (longer where tokens are spelt in bytes)."""
        ids = np.asarray(ids, np.int64)
        lens = self.lengths[ids]
        if np.any(lens == 0):
            bad = int(ids[np.flatnonzero(lens == 0)[0]])
            raise ValueError(f"control token {bad} was not in the data the vocabulary was fitted on")
        ends = np.cumsum(lens)
        index = np.arange(int(ends[-1]) if len(ends) else 0) - np.repeat(ends - lens, lens)
        return self.flat[np.repeat(self.offsets[ids], lens) + index]

    def byte_count(self, ids: np.ndarray) -> int:
        """UTF-8 bytes of the text the Qwen2.5 ids spell."""
        return int(self.nbytes[np.asarray(ids, np.int64)].sum())

    def decode_bytes(self, new_ids: np.ndarray) -> bytes:
        """The bytes that trimmed ids spell (control tokens spell none): what tests compare."""
        table = _token_bytes()
        out = bytearray()
        for i in np.asarray(new_ids).tolist():
            out += bytes([i]) if i < BYTES else table[int(self.kept[i - BYTES])]
        return bytes(out)

    def save(self, path: Path) -> None:
        atomic_write_text(path, json.dumps({"tokenizer": "qwen2.5", "bytes": BYTES, "kept": self.kept.tolist()}))

    @classmethod
    def load(cls, path: Path) -> TrimmedVocab:
        return cls.of(np.array(json.loads(path.read_text(encoding="utf-8"))["kept"], np.int64))
