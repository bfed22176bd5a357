"""What the global curation steps share: arrays on disk, a band/n-gram index split into buckets, and the
last pass that applies per-row decisions to each shard.

A global step's phases end by writing, for every shard, a Parquet file of decisions (``row``, ``id`` and
whatever the step needs). The final pass then walks the shard's documents in order, so the row number is the
key; the id in the decision must match the document's, which catches any drift between phases.
"""

from __future__ import annotations

import json
import mmap
import os
import time
from abc import abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
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


_NPY_HEADER = 128  # bytes: the fixed header of the arrays written by :class:`ArrayWriter`


class ArrayWriter:
    """A 1-D or 2-D ``.npy`` file written a batch at a time, so a phase holds one batch, not the whole shard.

    The header (with the final row count) is written last, into a fixed-size slot, and the file is renamed
    into place only when :meth:`close` succeeds: a killed task leaves no half file."""

    def __init__(self, path: Path, dtype: np.dtype | type, width: int | None = None) -> None:
        self.path, self.dtype, self.width, self.rows = path, np.dtype(dtype), width, 0
        self.tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = self.tmp.open("wb")
        self.file.write(b"\0" * _NPY_HEADER)

    def append(self, rows: np.ndarray) -> None:
        rows = np.ascontiguousarray(rows, self.dtype)
        self.file.write(rows.tobytes())
        self.rows += len(rows)

    def close(self) -> None:
        shape = (self.rows,) if self.width is None else (self.rows, self.width)
        header = repr({"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": shape})
        body = header.encode("latin1").ljust(_NPY_HEADER - 10 - 1) + b"\n"
        self.file.seek(0)
        self.file.write(b"\x93NUMPY\x01\x00" + len(body).to_bytes(2, "little") + body)
        self.file.close()
        os.replace(self.tmp, self.path)


def _npy_layout(path: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    """Shape, dtype and data offset of a ``.npy`` file, from its header."""
    with path.open("rb") as f:
        version = np.lib.format.read_magic(f)
        read_header = np.lib.format.read_array_header_2_0 if version >= (2, 0) else np.lib.format.read_array_header_1_0
        shape, _, dtype = read_header(f)
        return shape, dtype, f.tell()


class MappedArray:
    """A ``.npy`` file mapped read-only, whose pages can be handed back (:meth:`release`) after each use, so that
    random reads over a large file do not pile up in the process's resident memory."""

    def __init__(self, path: Path) -> None:
        shape, dtype, offset = _npy_layout(path)
        count = int(np.prod(shape))
        with path.open("rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) if count else None
        flat = np.frombuffer(self._map, dtype, count, offset) if self._map else np.zeros(0, dtype)
        self.array = flat.reshape(shape)

    def release(self) -> None:
        if self._map is not None:
            self._map.madvise(mmap.MADV_DONTNEED)


class ArrayFile:
    """A 1-D ``.npy`` file read a slice at a time with ``pread``: for sparse random reads of a file much larger
    than what is read (no mapping, so nothing read stays resident)."""

    def __init__(self, path: Path) -> None:
        _, self.dtype, self.offset = _npy_layout(path)
        self.fd = os.open(path, os.O_RDONLY)

    def slice(self, start: int, stop: int) -> np.ndarray:
        size = self.dtype.itemsize
        return np.frombuffer(os.pread(self.fd, (stop - start) * size, self.offset + start * size), self.dtype)

    def __del__(self) -> None:
        os.close(self.fd)


class PhaseClock:
    """Seconds spent in each part of a task (``with clock("signatures"): ...``, or ``start``/``stop`` between
    parts), saved beside the task's files so the last phase can put every task's profile in the summary."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._part: str | None = None
        self._since = 0.0

    def start(self, part: str) -> None:
        self.stop()
        self._part, self._since = part, time.perf_counter()

    def stop(self) -> None:
        if self._part is not None:
            self.seconds[self._part] = self.seconds.get(self._part, 0.0) + time.perf_counter() - self._since
            self._part = None

    @contextmanager
    def __call__(self, part: str) -> Iterator[None]:
        self.start(part)
        try:
            yield
        finally:
            self.stop()

    def save(self, path: Path) -> None:
        self.stop()
        atomic_write_text(path, json.dumps({k: round(v, 4) for k, v in self.seconds.items()}))

    @staticmethod
    def gather(folder: Path) -> dict[str, dict[str, float]]:
        """Each phase's parts summed over its tasks, from the files ``PHASE-TASK.json`` in ``folder``."""
        out: dict[str, dict[str, float]] = {}
        for path in sorted(folder.glob("*.json")):
            phase = out.setdefault(path.stem.rsplit("-", 1)[0], {})
            for part, seconds in json.loads(path.read_text()).items():
                phase[part] = round(phase.get(part, 0.0) + seconds, 4)
        return out


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

    def profile(self, ctx: StageContext) -> dict[str, dict[str, float]]:
        return PhaseClock.gather(ctx.work / "profile")

    def summary(self, ctx: StageContext) -> dict[str, Any]:
        path = ctx.work / "summary.json"
        return json.loads(path.read_text()) if path.exists() else {}
