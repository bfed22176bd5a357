"""Pass 2 of a mix, and the whole of it: the chosen documents with their copies as Parquet shards, the repeat
index and ``mix.json``; :func:`mix` is what the command and the recipe step call."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

from codemill.curate.mix.counting import Counted, count_documents
from codemill.curate.mix.options import MixError, MixOptions
from codemill.curate.mix.plan import plan_mix
from codemill.curate.pack.sources import documents_of_files, input_files
from codemill.data.schema import Document, documents_to_table
from codemill.data.textio import atomic_path, atomic_write_text
from codemill.data.writers import score_names_in_files


def _prepare(out_dir: Path, overwrite: bool) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    ours = [out_dir / n for n in ("mix.json", "repeats.parquet", "data") if (out_dir / n).exists()]
    if ours and not overwrite:
        raise MixError(f"{out_dir} already holds a mix; pass overwrite to replace it")
    for p in ours:
        shutil.rmtree(p) if p.is_dir() else p.unlink()


BUFFERED_ROWS_PER_SHARD = 2
"""Rows held in memory while spreading, in shards' worth (``shard_rows``): the rest waits in part files."""


def shard_count(rows: int, options: MixOptions) -> int:
    """Output shards: enough for ``shard_rows`` each, and at least ``2 * max_repeats`` so that the copies of one
    document can all go to different shards with a shard between any two of them."""
    return max(2 * options.max_repeats, -(-rows // options.shard_rows), 1)


def shard_of_copy(key: int, copy: int, shards: int) -> int:
    """The shard of a document's ``copy``-th copy: its key's shard, then every second shard after it. With
    ``2 * copies <= shards`` no two copies share a shard or sit in neighbouring ones (the wrap-around included)."""
    return (key % shards + 2 * copy) % shards


def _order(seed: int, doc_id: str, copy: int) -> int:
    """A row's place inside its shard: a seeded hash, so the order depends on nothing but the seed and the id."""
    return xxhash.xxh64_intdigest(
        f"codemill-mix-order\x00{seed}\x00{doc_id}\x00{copy}".encode("utf-8", "surrogatepass")
    )


def write_mix(files: list[Path], counted: Counted, copies: np.ndarray, out_dir: Path, options: MixOptions) -> dict:
    """Pass 2: stream the inputs again and write the chosen documents, with their copies, shuffled, and the
    repeat index.

    A trainer reads the shards in order and packing concatenates them, so the mix must not be in input order
    (one repository, one kind, one source after another) and the copies of a document must not sit side by side
    (two copies in one packed window teach the model to copy). Each copy goes to a shard by
    :func:`shard_of_copy` (copies of one document: different, non-neighbouring shards, so a whole shard lies
    between any two), and each shard is ordered by a seeded hash of id and copy. Memory stays bounded: rows wait
    in per-shard part files (``_spread/``) until their shard is written.
    """
    data = out_dir / "data"
    data.mkdir(parents=True, exist_ok=True)
    spread = out_dir / "_spread"
    shutil.rmtree(spread, ignore_errors=True)
    spread.mkdir()
    chosen = np.flatnonzero(copies > 0)
    n_shards = shard_count(int(copies.sum()), options)
    by_file: dict[int, dict[int, tuple[int, int]]] = defaultdict(dict)
    for i in chosen.tolist():
        by_file[int(counted.file[i])][int(counted.row[i])] = (int(copies[i]), int(counted.key[i]))
    score_names = score_names_in_files(files)  # every shard gets the same score columns
    index: dict[str, list] = {"id": [], "copies": [], "kind": [], "quality": [], "lang": [], "shards": []}
    waiting: dict[int, list[tuple[int, Document]]] = defaultdict(list)
    parts: dict[int, int] = defaultdict(int)
    limit = BUFFERED_ROWS_PER_SHARD * options.shard_rows

    def spill(shard: int) -> None:
        rows = waiting.pop(shard)
        table = documents_to_table([d for _, d in rows], score_names)
        table = table.append_column("_order", pa.array([o for o, _ in rows], pa.uint64()))
        pq.write_table(table, spread / f"shard-{shard:05d}-part-{parts[shard]:05d}.parquet")
        parts[shard] += 1

    held = 0
    for f_index, file in enumerate(files):
        wanted = by_file.get(f_index)
        if not wanted:
            continue
        for row, doc in enumerate(documents_of_files([file])):
            if row not in wanted:
                continue
            n, key = wanted[row]
            targets = [shard_of_copy(key, k, n_shards) for k in range(n)]
            index["id"].append(doc.id)
            index["copies"].append(n)
            index["kind"].append(doc.kind)
            index["quality"].append(doc.quality)
            index["lang"].append(doc.lang)
            index["shards"].append(targets)
            for k, shard in enumerate(targets):
                meta = {**doc.meta, "mix_repeat": k, "mix_source_id": doc.id}
                copy = doc if k == 0 else replace(doc, id=f"{doc.id}#rep{k}", meta=meta)
                waiting[shard].append((_order(options.seed, doc.id, k), copy))
                held += 1
            while held > limit:
                biggest = max(waiting, key=lambda s: len(waiting[s]))
                held -= len(waiting[biggest])
                spill(biggest)
    for shard in list(waiting):
        spill(shard)
    shards: list[dict[str, Any]] = []
    for shard in range(n_shards):
        pieces = sorted(spread.glob(f"shard-{shard:05d}-part-*.parquet"))
        if not pieces:
            continue
        table = pa.concat_tables([pq.read_table(p) for p in pieces]).sort_by("_order").drop_columns(["_order"])
        name = f"shard-{len(shards):05d}.parquet"
        with atomic_path(data / name) as tmp:
            pq.write_table(table, tmp)
        shards.append({"name": f"data/{name}", "rows": table.num_rows})
        for piece in pieces:
            piece.unlink()
    shutil.rmtree(spread)
    with atomic_path(out_dir / "repeats.parquet") as tmp:
        pq.write_table(pa.table(index), tmp)
    return {"shards": shards, "documents": len(index["id"]), "rows": sum(s["rows"] for s in shards)}


def mix(inputs: list[Path], out_dir: Path, options: MixOptions | None = None, overwrite: bool = False) -> dict:
    """Count, select and write a mix of ``inputs`` into ``out_dir``; return what ``mix.json`` holds."""
    options = options or MixOptions()
    files = input_files(inputs)
    _prepare(out_dir, overwrite)
    counted = count_documents(files, options)
    copies, report = plan_mix(counted, options)
    written = write_mix(files, counted, copies, out_dir, options)
    report = {
        "options": options.model_dump(mode="json"),
        "inputs": [str(f) for f in files],
        "documents_in": len(counted.size) + counted.empty,
        **report,
        "output": written,
    }
    atomic_write_text(out_dir / "mix.json", json.dumps(report, indent=2))
    return report


def iter_selected(out_dir: Path) -> Iterator[Document]:
    """The documents of a mix, copies included (what ``codemill pack -i OUT`` reads)."""
    yield from documents_of_files(sorted((out_dir / "data").glob("*.parquet")))
