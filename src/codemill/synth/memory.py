"""An agent's adaptive memory: what it has made, so a near-repeat is refused before it costs a solve.

Small models repeat themselves: asked for "a medium string problem" twice, SmolLM2 proposes the same
palindrome check with another function name. Each agent keeps a bank of the drafts it let through (an
instruction enters when the memory passes it, before it is solved, not when it is accepted: a draft that fails
verification would otherwise come back and cost its solves again) and checks a new one against it twice:

* **MinHash** of the word 3-grams of the normalised text (lowercased, whitespace collapsed; a text of fewer than
  three words is one shingle of what it has), 128 permutations, through the curation near-dedup's own
  functions (:mod:`codemill.curate.dedup.minhash`), so "near duplicate" means the same thing in synthesis as
  in curation. It catches copies with renamed identifiers and a few changed words (43% of the labelled renamed
  copies of ``bench/data/memory_pairs.jsonl`` at the default 0.35, 3.7% of distinct same-topic tasks refused),
  not paraphrases, which share few 3-grams (``bench/memory_bench.py``).
* **Embedding cosine** (only with an :class:`~codemill.synth.embed.Embedder`; off by default), meant for rewordings.
  With SmolLM2's mean-pooled states it does not tell paraphrases from distinct tasks (AUC 0.60 on the labelled
  set), so it is for a real sentence-embedding model given as ``memory.embedder``.

The bank is one append-only JSONL per agent, ``{"id", "text", "signature", "embedding", "embedder"}`` a line,
read back on construction so memory spans runs. A run killed mid-write leaves a torn last line: it is dropped
(cut from the file, so the next append starts on a line of its own) and the run goes on. ``embedder`` names the
model that made ``embedding``: entries embedded by another model (or by none) are re-embedded in memory at load,
because cosines of two models' vectors mean nothing. Adding an id already in the bank does nothing, so a resumed
run that replays its last additions does not grow the bank.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np

from codemill.curate.dedup.minhash import estimated_jaccard, shingle_hashes, signatures
from codemill.synth.embed import Embedder, normalise_rows

__all__ = ["NGRAM", "NUM_PERM", "PERM_SEED", "MemoryBank", "normalise"]

NGRAM = 3
NUM_PERM = 128
PERM_SEED = 0
"""Fixed: stored signatures are only comparable with signatures of the same permutations."""

_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lowercased with runs of whitespace made one space: case and layout never make an instruction new."""
    return _SPACE.sub(" ", text.lower()).strip()


def _signature(text: str) -> np.ndarray:
    return signatures([shingle_hashes(normalise(text), NGRAM)], NUM_PERM, PERM_SEED)[0]


class MemoryBank:
    """One agent's memory, persisted at ``path``; see the module docstring for what it checks and why.

    ``check`` then ``add`` of the same text computes its signature and embedding once (the last check is kept).
    Thread-safe: the engine's workers share an agent's bank.
    """

    def __init__(
        self, path: Path, minhash_threshold: float, embedding_threshold: float, embedder: Embedder | None = None
    ) -> None:
        self.path = Path(path)
        self.minhash_threshold = minhash_threshold
        self.embedding_threshold = embedding_threshold
        self.embedder = embedder
        self._lock = threading.Lock()
        self._ids: list[str] = []
        self._known: set[str] = set()
        self._signatures: list[np.ndarray] = []
        self._embeddings: list[np.ndarray] = []
        self._sig_matrix: np.ndarray | None = None
        self._emb_matrix: np.ndarray | None = None
        self._last: tuple[str, np.ndarray, np.ndarray | None] | None = None
        self._load()

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._known

    # ------------------------------------------------------------------ persistence

    def _load(self) -> None:
        if not self.path.is_file():
            return
        raw = self.path.read_bytes()
        lines = raw.split(b"\n")
        entries: list[dict[str, Any]] = []
        good_end = 0  # byte offset just past the last line that parsed
        offset = 0
        for number, line in enumerate(lines, start=1):
            end = offset + len(line) + (1 if number < len(lines) else 0)
            if line.strip():
                try:
                    entry = json.loads(line)
                    if not isinstance(entry, dict) or "id" not in entry or "text" not in entry:
                        raise ValueError("not a memory entry")
                except ValueError as error:
                    if any(rest.strip() for rest in lines[number:]):
                        raise ValueError(f"{self.path}:{number}: corrupt memory entry ({error})") from None
                    break  # the torn last line of a killed run
                entries.append(entry)
            good_end = end
            offset = end
        keep = raw[:good_end]
        if good_end < len(raw) or (keep and not keep.endswith(b"\n")):
            # Cut the torn tail and end on a newline: appending after half a line would glue the next entry to it.
            with self.path.open("r+b") as handle:
                handle.truncate(good_end)
                if keep and not keep.endswith(b"\n"):
                    handle.seek(good_end)
                    handle.write(b"\n")
        stale: list[tuple[int, str]] = []
        identity = self.embedder.identity if self.embedder is not None else None
        for entry in entries:
            if entry["id"] in self._known:
                continue
            signature = entry.get("signature")
            if signature is None or len(signature) != NUM_PERM:
                sig = _signature(entry["text"])
            else:
                sig = np.asarray(signature, np.uint32)
            if identity is not None:
                embedding = entry.get("embedding")
                if embedding is None or entry.get("embedder") != identity:
                    stale.append((len(self._ids), entry["text"]))
                    self._embeddings.append(np.zeros(0, np.float32))
                else:
                    self._embeddings.append(np.asarray(embedding, np.float32))
            self._ids.append(entry["id"])
            self._known.add(entry["id"])
            self._signatures.append(sig)
        if stale and self.embedder is not None:
            vectors = normalise_rows(self.embedder.embed([text for _, text in stale]))
            for (i, _), vector in zip(stale, vectors, strict=True):
                self._embeddings[i] = vector

    # ------------------------------------------------------------------ checks

    def _features(self, text: str) -> tuple[np.ndarray, np.ndarray | None]:
        last = self._last
        if last is not None and last[0] == text:
            return last[1], last[2]
        sig = _signature(text)
        emb = normalise_rows(self.embedder.embed([text]))[0] if self.embedder is not None else None
        self._last = (text, sig, emb)
        return sig, emb

    def check(self, text: str, exclude: Collection[str] = ()) -> tuple[str | None, float]:
        """``(reason, similarity)``: why ``text`` is too close to memory (None when it is new enough), and the
        highest similarity seen (max of the MinHash Jaccard estimate and the cosine; 0.0 for an empty memory).

        Both measures are always computed, so ``similarity`` (and the novelty reported from it) measures the same
        thing for refused and accepted candidates. Entries whose id is in ``exclude`` are not compared (a resumed
        round's own drafts, remembered before the run was killed).
        """
        with self._lock:
            skipped = np.array([entry in exclude for entry in self._ids], dtype=bool) if exclude else None
            if not self._ids or (skipped is not None and skipped.all()):
                return None, 0.0
            sig, emb = self._features(text)
            if self._sig_matrix is None:
                self._sig_matrix = np.stack(self._signatures)
            jaccard = estimated_jaccard(self._sig_matrix, sig[None, :]).astype(np.float64)
            if skipped is not None:
                jaccard[skipped] = -1.0
            j_best = int(np.argmax(jaccard))
            j_value = float(jaccard[j_best])
            c_value, c_best = 0.0, -1
            if emb is not None:
                if self._emb_matrix is None:
                    self._emb_matrix = np.stack(self._embeddings)
                if self._emb_matrix.shape[1] == emb.shape[0]:
                    cosine = (self._emb_matrix @ emb).astype(np.float64)
                    if skipped is not None:
                        cosine[skipped] = -1.0
                    c_best = int(np.argmax(cosine))
                    c_value = float(cosine[c_best])
            similarity = float(min(1.0, max(0.0, j_value, c_value)))
            if j_value >= self.minhash_threshold:
                return f"minhash {j_value:.2f} >= {self.minhash_threshold:.2f} with {self._ids[j_best]}", similarity
            if c_best >= 0 and c_value >= self.embedding_threshold:
                reason = f"embedding {c_value:.2f} >= {self.embedding_threshold:.2f} with {self._ids[c_best]}"
                return reason, similarity
            return None, similarity

    def add(self, entry_id: str, text: str) -> None:
        """Remember ``text`` under ``entry_id`` (appended to the file at once); an id already present is kept."""
        with self._lock:
            if entry_id in self._known:
                return
            sig, emb = self._features(text)
            entry = {
                "id": entry_id,
                "text": text,
                "signature": [int(x) for x in sig],
                "embedding": None if emb is None else [float(x) for x in emb],
                "embedder": None if self.embedder is None else self.embedder.identity,
            }
            self.path.parent.mkdir(parents=True, exist_ok=True)
            line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
            with self.path.open("ab") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
            self._ids.append(entry_id)
            self._known.add(entry_id)
            self._signatures.append(sig)
            self._sig_matrix = None
            if emb is not None:
                self._embeddings.append(emb)
                self._emb_matrix = None
