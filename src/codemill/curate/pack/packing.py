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

import shutil
import time
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from codemill.curate.pack.fim import FimOptions, FimTokens, encode_flat
from codemill.curate.pack.megatron import token_dtype
from codemill.curate.pack.repo import pack_repositories
from codemill.curate.pack.shards import Packer, write_manifest
from codemill.curate.pack.sources import iter_documents
from codemill.curate.pack.tokenizer import Tokenizer, TokenizerError, load_tokenizer
from codemill.data.schema import Document
from codemill.pipeline.step import Params

WINDOWS = {"file": 8192, "repo": 32768}


class PackOptions(Params):
    """How documents become sequences (``codemill pack``, the recipe step ``pack``); Qwen2.5-Coder defaults."""

    level: Literal["file", "repo"] = Field(
        "file", description="file-level documents (8,192) or repository-level samples (32,768; repo.py)"
    )
    seq_length: int | None = Field(None, ge=8, description="tokens per sequence; default by level")
    tokenizer: str = Field("qwen2.5", description="qwen2.5, or a Hugging Face tokenizer folder/tokenizer.json")
    fim: FimOptions = Field(default_factory=FimOptions)
    formats: list[Literal["megatron", "numpy"]] = Field(default_factory=lambda: ["megatron", "numpy"], min_length=1)
    kinds: list[str] | None = Field(None, description="pack only documents of these kinds (None: every kind)")
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
    return pack_documents(
        of_kinds(iter_documents(inputs), options or PackOptions()), out_dir, options, overwrite=overwrite
    )


def of_kinds(documents: Iterable[Document], options: PackOptions) -> Iterator[Document]:
    """The documents of the kinds ``options.kinds`` (all where None): what a pack is made of, and verified against."""
    kinds = set(options.kinds) if options.kinds is not None else None
    return (d for d in documents if kinds is None or d.kind in kinds)


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
    return write_manifest(out_dir, options, tokenizer, packer, counts, started, syntax_fallbacks)
