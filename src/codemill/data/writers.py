"""Writing documents out as JSONL (optionally .gz/.zst) for tools that do not read Parquet, and what a writer of
many shards must know first: which score columns all of them carry."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import orjson
import pyarrow.parquet as pq

from codemill.data.schema import Document, score_names_of
from codemill.data.textio import atomic_path, is_parquet, open_binary_read, open_binary_write


def document_json(doc: Document, extra: dict | None = None) -> str:
    """One JSONL line of the contract: ``meta`` and ``scores`` as JSON objects."""
    row = doc.to_row()
    row["meta"] = doc.meta
    row["scores"] = dict(sorted(doc.scores.items()))
    if extra:
        row.update(extra)
    return json.dumps(row, ensure_ascii=False, sort_keys=False)


def write_jsonl(documents: Iterable[Document | tuple[Document, dict]], path: Path) -> int:
    """Write documents (or ``(document, extra columns)`` pairs) to ``path`` atomically; return the count."""
    n = 0
    with atomic_path(path) as tmp, open_binary_write(tmp) as out:
        for item in documents:
            doc, extra = item if isinstance(item, tuple) else (item, None)
            out.write(document_json(doc, extra).encode("utf-8", "surrogatepass") + b"\n")
            n += 1
    return n


def iter_parquet_rows(files: Iterable[Path], batch_size: int = 1024) -> Iterator[dict]:
    """Rows of Parquet files, streamed a batch at a time."""
    for f in files:
        for batch in pq.ParquetFile(f).iter_batches(batch_size=batch_size):
            yield from batch.to_pylist()


def score_names_in_files(files: Iterable[Path]) -> tuple[str, ...]:
    """The names of the scores that documents of ``files`` hold, in order of first appearance.

    A writer that turns these documents into several Parquet shards gives every shard these columns, so that
    readers loading the shards as one table meet one schema. A Parquet file says it in its footer; a JSONL
    file is read through for its lines' ``scores`` objects (lines that are not JSON objects are left to the
    reader that reports them).
    """
    names: dict[str, None] = {}
    for f in files:
        if is_parquet(f):
            names.update(dict.fromkeys(score_names_of(pq.read_schema(f).names)))
            continue
        with open_binary_read(f) as lines:
            for raw in lines:
                if b'"scores"' not in raw:
                    continue
                try:
                    scores = orjson.loads(raw).get("scores")
                except (orjson.JSONDecodeError, AttributeError):
                    continue
                if isinstance(scores, dict):
                    names.update(dict.fromkeys(map(str, scores)))
    return tuple(names)
