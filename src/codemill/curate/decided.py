"""What the global curation steps share: arrays on disk, a band/n-gram index split into buckets, and the
last pass that applies per-row decisions to each shard.

A global step's phases end by writing, for every shard, a Parquet file of decisions (``row``, ``id`` and
whatever the step needs). The final pass then walks the shard's documents in order, so the row number is the
key; the id in the decision must match the document's, which catches any drift between phases.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from codemill.data.schema import Document, Rejection
from codemill.data.textio import atomic_path, atomic_write_text
from codemill.pipeline.step import GlobalStep, ParamsT, StageContext, Verdict, partition


def save_array(path: Path, array: np.ndarray) -> None:
    """``np.save`` under a temporary name, then rename: a killed task leaves no half file."""
    with atomic_path(path) as tmp, tmp.open("wb") as f:
        np.save(f, array)


def write_table(path: Path, columns: dict[str, pa.Array]) -> None:
    """A small Parquet file, written atomically."""
    with atomic_path(path) as tmp:
        pq.write_table(pa.table(columns), tmp)


def save_bucketed(stem: Path, records: np.ndarray, bucket: np.ndarray, buckets: int) -> None:
    """Write ``records`` sorted by ``bucket`` to ``stem.npy`` with ``stem.offsets.npy``, so that the task of
    one bucket later reads only its slice of every shard's file."""
    order = np.argsort(bucket, kind="stable")
    save_array(stem.with_suffix(".npy"), records[order])
    offsets = np.searchsorted(bucket[order], np.arange(buckets + 1)).astype(np.int64)
    save_array(stem.with_suffix(".offsets.npy"), offsets)


def load_bucket(stems: list[Path], bucket: int, dtype: np.dtype | type) -> np.ndarray:
    """Bucket ``bucket``'s records from every shard's file written by :func:`save_bucketed`."""
    parts = []
    for stem in stems:
        offsets = np.load(stem.with_suffix(".offsets.npy"))
        data = np.load(stem.with_suffix(".npy"), mmap_mode="r")
        parts.append(np.asarray(data[offsets[bucket] : offsets[bucket + 1]]))
    return np.concatenate(parts) if parts else np.zeros(0, dtype)


def shard_row(docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split document keys ``shard << 32 | row`` into shard and row."""
    return (docs >> np.uint64(32)).astype(np.int64), (docs & np.uint64(0xFFFFFFFF)).astype(np.int64)


def doc_keys(shard: int, rows: int) -> np.ndarray:
    """Document keys ``shard << 32 | row`` for the rows of one shard."""
    return (np.uint64(shard) << np.uint64(32)) | np.arange(rows, dtype=np.uint64)


class DecidedStep(GlobalStep[ParamsT]):
    """A global step whose phases leave ``work/decisions/NNNNN.parquet`` and ``work/summary.json``."""

    def begin_shard(self, ctx: StageContext, shard: int) -> None:
        rows = pq.read_table(ctx.work / "decisions" / f"{shard:05d}.parquet").to_pylist()
        self._decisions: dict[int, dict[str, Any]] = {r["row"]: r for r in rows}
        self._row = 0

    def process(self, batch: list[Document]) -> tuple[list[Document], list[Rejection]]:
        return partition(batch, map(self._verdict, batch))

    def _verdict(self, doc: Document) -> Verdict:
        """The shard's next decision, checked against the document it is about, applied."""
        decision = self._decisions.get(self._row)
        self._row += 1
        if decision is not None and decision["id"] != doc.id:
            raise RuntimeError(f"{self.name}: decisions out of step at row {self._row - 1}: {doc.id}")
        return self.apply(doc, decision) if decision is not None else None

    @abstractmethod
    def apply(self, doc: Document, decision: dict[str, Any]) -> Verdict:
        """``(reason, detail)`` to reject the document the decision is about, or None to keep it."""

    def write_summary(self, ctx: StageContext, summary: dict[str, Any]) -> None:
        atomic_write_text(ctx.work / "summary.json", json.dumps(summary, indent=2))

    def summary(self, ctx: StageContext) -> dict[str, Any]:
        path = ctx.work / "summary.json"
        return json.loads(path.read_text()) if path.exists() else {}
