"""What file-level and repo-level packing share: the shard writer (:class:`Packer`) and ``pack.json``.

The file formats are described in :mod:`codemill.curate.pack.packing`. Both levels stream their samples into one
:class:`Packer` and end with :func:`write_manifest`, so a shard and the manifest are built in one place only.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from codemill.curate.pack.megatron import token_dtype, write_megatron
from codemill.data.textio import atomic_write_text

__all__ = ["FORMAT_VERSION", "SEGMENT_DTYPE", "SEQUENCE_DTYPE", "Packer", "shard_name", "write_manifest"]

SEQUENCE_DTYPE = np.dtype([("length", "<i4"), ("first_segment", "<i8"), ("n_segments", "<i4")])
SEGMENT_DTYPE = np.dtype([("seq", "<i8"), ("start", "<i4"), ("length", "<i4"), ("doc", "<i8"), ("doc_offset", "<i8")])
FORMAT_VERSION = 1


def shard_name(i: int) -> str:
    return f"shard-{i:05d}"


class Packer:
    """Appends documents' ids to fixed-length sequences and writes a shard whenever its buffer is full."""

    def __init__(self, out_dir: Path, options: Any, pad_id: int, megatron_dtype: np.dtype) -> None:
        self.out_dir = out_dir
        self.window = options.window
        self.formats = set(options.formats)
        self.pad_id = pad_id
        self.megatron_dtype = megatron_dtype
        # empty, not filled: _flush pads the tail of the last row, and rows past it are never written; a full
        # shard buffer (64 MiB by default) would cost more to fill than a small pack takes to tokenise
        self.buffer = np.empty((options.sequences_per_shard, self.window), dtype=np.uint32)
        self.flat = self.buffer.reshape(-1)
        self.fill = 0
        self.segments: list[tuple[int, int, int, int, int]] = []
        self.docs: list[dict[str, Any]] = []
        self.seq_base = 0
        self.shards: list[dict[str, Any]] = []
        self.padding = 0

    def add(self, ordinal: int, tokens: np.ndarray, record: dict[str, Any]) -> None:
        """Append one document's ids (ending in end-of-text); ``record`` goes to the shard's docs list."""
        if self.fill == self.flat.size:
            self._flush()
        self.docs.append(record)
        n, pos, window = len(tokens), 0, self.window
        while pos < n:
            if self.fill == self.flat.size:
                self._flush()
            row, col = divmod(self.fill, window)
            k = min(n - pos, window - col)
            self.flat[self.fill : self.fill + k] = tokens[pos : pos + k]
            self.segments.append((self.seq_base + row, col, k, ordinal, pos))
            self.fill += k
            pos += k

    def close(self) -> list[dict[str, Any]]:
        """Write the last, partial shard; return the list of shards written."""
        if self.fill:
            self._flush()
        return self.shards

    def _flush(self) -> None:
        window = self.window
        n_rows = -(-self.fill // window)
        lengths = np.full(n_rows, window, dtype=np.int32)
        lengths[-1] = self.fill - (n_rows - 1) * window
        self.flat[self.fill : n_rows * window] = self.pad_id
        self.padding += n_rows * window - self.fill
        segments = np.array(self.segments, dtype=SEGMENT_DTYPE)
        sequences = np.zeros(n_rows, dtype=SEQUENCE_DTYPE)
        sequences["length"] = lengths
        rows = segments["seq"] - self.seq_base
        sequences["n_segments"] = np.bincount(rows, minlength=n_rows)
        sequences["first_segment"] = np.concatenate([[0], np.cumsum(sequences["n_segments"])[:-1]])
        name = shard_name(len(self.shards))
        tmp = self.out_dir / f".tmp-{name}"
        tmp.mkdir(exist_ok=True)
        if "megatron" in self.formats:
            write_megatron(tmp / name, self.buffer[:n_rows], lengths, self.megatron_dtype)
        if "numpy" in self.formats:
            np.save(tmp / f"{name}.tokens.npy", self.buffer[:n_rows])
        np.save(tmp / f"{name}.sequences.npy", sequences)
        np.save(tmp / f"{name}.segments.npy", segments)
        with open(tmp / f"{name}.docs.jsonl", "w", encoding="utf-8") as f:
            f.writelines(json.dumps(d, ensure_ascii=False) + "\n" for d in self.docs)
        for file in sorted(tmp.iterdir()):
            os.replace(file, self.out_dir / file.name)
        tmp.rmdir()
        self.shards.append({"name": name, "sequences": n_rows, "tokens": int(self.fill), "documents": len(self.docs)})
        self.seq_base += n_rows
        self.fill = 0
        self.segments = []
        self.docs = []


def write_manifest(
    out_dir: Path,
    options: Any,
    tokenizer: Any,
    packer: Packer,
    counts: dict[str, Any],
    started: float,
    syntax_fallback: dict[str, int],
    samples: str | None = None,
    **more_counts: Any,
) -> dict[str, Any]:
    """Close ``packer`` and write ``pack.json`` last (the completion marker): options, tokenizer, ``counts`` with
    the shards' totals, the speed since ``started`` (``time.perf_counter()``) and the shard list."""
    shards = packer.close()
    seconds = time.perf_counter() - started
    manifest = {
        "format_version": FORMAT_VERSION,
        "options": options.model_dump(mode="json"),
        "window": options.window,
        **({"samples": samples} if samples is not None else {}),
        "tokenizer": tokenizer_manifest(tokenizer),
        "counts": {
            **counts,
            "sequences": sum(s["sequences"] for s in shards),
            "padding": packer.padding,
            "shards": len(shards),
            "syntax_fallback": dict(sorted(syntax_fallback.items())),
            **more_counts,
        },
        "seconds": round(seconds, 3),
        "tokens_per_second": round(counts["tokens"] / seconds) if seconds > 0 else None,
        "shards": shards,
    }
    atomic_write_text(out_dir / "pack.json", json.dumps(manifest, indent=2))
    return manifest


def tokenizer_manifest(tokenizer: Any) -> dict[str, Any]:
    """What ``pack.json`` records of the tokenizer, so ``verify`` and a trainer know how to read the shards."""
    return {
        "name": tokenizer.name,
        "eos_id": tokenizer.eos_id,
        "vocab_size": tokenizer.vocab_size,
        "megatron_dtype": str(token_dtype(tokenizer.vocab_size)),
    }
