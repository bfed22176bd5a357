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


def write_mix(files: list[Path], counted: Counted, copies: np.ndarray, out_dir: Path, options: MixOptions) -> dict:
    """Pass 2: stream the inputs again and write the chosen documents, with their copies, and the repeat index."""
    data = out_dir / "data"
    data.mkdir(parents=True, exist_ok=True)
    chosen = np.flatnonzero(copies > 0)
    by_file: dict[int, dict[int, int]] = defaultdict(dict)
    for i in chosen.tolist():
        by_file[int(counted.file[i])][int(counted.row[i])] = int(copies[i])
    shards: list[dict[str, Any]] = []
    buffer: list[Document] = []
    score_names = score_names_in_files(files)  # every shard gets the same score columns
    index: dict[str, list] = {"id": [], "copies": [], "kind": [], "quality": [], "lang": [], "shard": []}

    def flush() -> None:
        if not buffer:
            return
        name = f"shard-{len(shards):05d}.parquet"
        with atomic_path(data / name) as tmp:
            pq.write_table(documents_to_table(buffer, score_names), tmp)
        shards.append({"name": f"data/{name}", "rows": len(buffer)})
        buffer.clear()

    for f_index, file in enumerate(files):
        wanted = by_file.get(f_index)
        if not wanted:
            continue
        for row, doc in enumerate(documents_of_files([file])):
            n = wanted.get(row)
            if not n:
                continue
            index["id"].append(doc.id)
            index["copies"].append(n)
            index["kind"].append(doc.kind)
            index["quality"].append(doc.quality)
            index["lang"].append(doc.lang)
            index["shard"].append(len(shards))
            for k in range(n):
                meta = {**doc.meta, "mix_repeat": k, "mix_source_id": doc.id}
                buffer.append(doc if k == 0 else replace(doc, id=f"{doc.id}#rep{k}", meta=meta))
                if len(buffer) >= options.shard_rows:
                    flush()
    flush()
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
