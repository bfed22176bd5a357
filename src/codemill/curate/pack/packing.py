"""Packing: documents -> token sequences of a fixed length, in shards, with the index a trainer masks by.

Documents are tokenised in batches, turned into FIM samples at the configured rate, each ended by
``<|endoftext|>`` and concatenated into one stream that is cut every ``window`` tokens (8,192 for
file-level data, 32,768 for repo-level). A document longer than what is left of a sequence continues in
the next one, so no token is wasted on padding; only the very last sequence is padded (with the end-of-text
id) and its true length recorded. Memory is one shard's buffer (``shard_tokens``) plus one batch.

Files in the output folder, per shard ``shard-NNNNN``:

* ``.bin`` + ``.idx``: Megatron-LM's indexed format, one packed sequence per entry (``megatron.py``).
* ``.tokens.npy``: the sequences as a ``(n, window)`` uint32 array (``np.load(..., mmap_mode="r")``).
* ``.sequences.npy``: per sequence ``length``, ``first_segment``, ``n_segments`` (rows of ``.segments.npy``).
* ``.segments.npy``: the boundary index, one row per piece of a document inside a sequence: ``seq`` (global
  sequence number), ``start`` and ``length`` (token positions in that sequence), ``doc`` (the document's
  ordinal in the input) and ``doc_offset`` (where the piece starts in the document's tokens). Attention
  masks and ``cu_seqlens`` come straight from ``start``/``length``; ``doc_offset > 0`` marks a continuation.
* ``.docs.jsonl``: the documents that start in the shard: ordinal, id, token count, FIM mode and cut (and
  ``syntax_fallback``, the reason, when a syntax cut fell back to characters).

With ``level="repo"`` the documents are first grouped by repository and turned into repo-level samples
(``repo.py``); each sample is one "document" of the stream, its record adds ``repo`` and ``files``.

``pack.json`` is written last (the completion marker): options, tokenizer, counts, and the shard list.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from codemill.curate.pack.fim import FimOptions, FimTokens, encode_flat
from codemill.curate.pack.megatron import token_dtype, write_megatron
from codemill.curate.pack.sources import iter_documents
from codemill.curate.pack.tokenizer import Tokenizer, TokenizerError, load_tokenizer
from codemill.data.schema import Document
from codemill.data.textio import atomic_write_text
from codemill.pipeline.step import Params

WINDOWS = {"file": 8192, "repo": 32768}
SEQUENCE_DTYPE = np.dtype([("length", "<i4"), ("first_segment", "<i8"), ("n_segments", "<i4")])
SEGMENT_DTYPE = np.dtype([("seq", "<i8"), ("start", "<i4"), ("length", "<i4"), ("doc", "<i8"), ("doc_offset", "<i8")])
FORMAT_VERSION = 1


class PackOptions(Params):
    """How documents become sequences (``codemill pack``, the recipe step ``pack``); Qwen2.5-Coder defaults."""

    level: Literal["file", "repo"] = Field(
        "file", description="file-level documents (8,192) or repository-level samples (32,768; repo.py)"
    )
    seq_length: int | None = Field(None, ge=8, description="tokens per sequence; default by level")
    tokenizer: str = Field("qwen2.5", description="qwen2.5, or a Hugging Face tokenizer folder/tokenizer.json")
    fim: FimOptions = Field(default_factory=FimOptions)
    formats: list[Literal["megatron", "numpy"]] = Field(default_factory=lambda: ["megatron", "numpy"], min_length=1)
    shard_tokens: int = Field(1 << 24, ge=8, description="tokens per output shard (the memory bound)")
    batch_size: int = Field(256, ge=1, description="documents tokenised per call")
    threads: int = Field(1, ge=1, description="tokenizer threads (1 per worker process is the efficient choice)")
    repo_group_memory: int = Field(
        1 << 30, ge=1, description="repo level: bytes of documents held while grouping by repository, then spill"
    )

    @property
    def window(self) -> int:
        return self.seq_length or WINDOWS[self.level]

    @property
    def sequences_per_shard(self) -> int:
        return max(1, self.shard_tokens // self.window)


class PackError(RuntimeError):
    """An output folder that cannot be written or read as a pack."""


def shard_name(i: int) -> str:
    return f"shard-{i:05d}"


class Packer:
    """Appends documents' ids to fixed-length sequences and writes a shard whenever its buffer is full."""

    def __init__(self, out_dir: Path, options: PackOptions, pad_id: int, megatron_dtype: np.dtype) -> None:
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


def _prepare(out_dir: Path, overwrite: bool) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    ours = [p for p in out_dir.iterdir() if p.name == "pack.json" or p.name.startswith(("shard-", ".tmp-shard-"))]
    if ours and not overwrite:
        raise PackError(f"{out_dir} already holds a pack ({len(ours)} files); pass overwrite to replace it")
    for p in ours:
        shutil.rmtree(p) if p.is_dir() else p.unlink()


def _batches(documents: Iterable[Document], size: int) -> Iterator[list[Document]]:
    it = iter(documents)
    while batch := list(islice(it, size)):
        yield batch


def fim_tokens_for(tokenizer: Tokenizer, options: PackOptions) -> FimTokens | None:
    """The FIM control ids, or None when FIM is off; a tokenizer without them is an error when it is on."""
    if options.fim.rate <= 0:
        return None
    try:
        return FimTokens.of(tokenizer)
    except TokenizerError as exc:
        raise TokenizerError(f"FIM rate {options.fim.rate} needs FIM tokens: {exc} (set the FIM rate to 0)") from exc


def pack(inputs: list[Path], out_dir: Path, options: PackOptions | None = None, overwrite: bool = False) -> dict:
    """Pack the documents of ``inputs`` (output folders, Parquet, JSONL) into ``out_dir``: the CLI and the step."""
    return pack_documents(iter_documents(inputs), out_dir, options, overwrite=overwrite)


def pack_documents(
    documents: Iterable[Document],
    out_dir: Path,
    options: PackOptions | None = None,
    tokenizer: Tokenizer | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Tokenise, FIM and pack ``documents`` (streamed) into ``out_dir``; return what ``pack.json`` records."""
    options = options or PackOptions()
    tokenizer = tokenizer or load_tokenizer(options.tokenizer, threads=options.threads)
    fim = fim_tokens_for(tokenizer, options)
    _prepare(out_dir, overwrite)
    if options.level == "repo":
        from codemill.curate.pack.repo import pack_repositories

        return pack_repositories(documents, out_dir, options, tokenizer, fim)
    started = time.perf_counter()
    packer = Packer(out_dir, options, tokenizer.eos_id, token_dtype(tokenizer.vocab_size))
    counts = {"documents": 0, "empty_skipped": 0, "tokens": 0, "psm": 0, "spm": 0, "bytes": 0}
    syntax_fallbacks: dict[str, int] = {}  # FIM documents that kept a character cut, by reason
    ordinal = 0
    for batch in _batches(documents, options.batch_size):
        kept = [d for d in batch if d.text]
        counts["empty_skipped"] += len(batch) - len(kept)
        texts = [tokenizer.normalize(d.text) for d in kept]
        langs = [d.lang for d in kept]
        flat, lengths, cuts, fallbacks = encode_flat(tokenizer, [d.id for d in kept], texts, options.fim, fim, langs)
        total = len(flat)
        offset = 0
        for doc, n, cut, fallback in zip(kept, lengths.tolist(), cuts, fallbacks, strict=True):
            record: dict[str, Any] = {"doc": ordinal, "id": doc.id, "tokens": n, "fim": None, "cut": None}
            if cut is not None:
                record["fim"], record["cut"] = cut.mode, [cut.start, cut.end]
                counts[cut.mode] += 1
            if fallback is not None:
                record["syntax_fallback"] = fallback
                syntax_fallbacks[fallback] = syntax_fallbacks.get(fallback, 0) + 1
            packer.add(ordinal, flat[offset : offset + n], record)
            offset += n
            ordinal += 1
            counts["bytes"] += doc.nbytes
        counts["documents"] += len(kept)
        counts["tokens"] += total
    shards = packer.close()
    seconds = time.perf_counter() - started
    manifest = {
        "format_version": FORMAT_VERSION,
        "options": options.model_dump(mode="json"),
        "window": options.window,
        "tokenizer": tokenizer_manifest(tokenizer),
        "counts": {
            **counts,
            "sequences": sum(s["sequences"] for s in shards),
            "padding": packer.padding,
            "shards": len(shards),
            "syntax_fallback": dict(sorted(syntax_fallbacks.items())),
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
