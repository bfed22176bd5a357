"""Opening JSONL files whatever their compression, and writing files atomically.

One place decides how ``.gz`` and ``.zst`` are read and written, and how a file appears on disk all at
once (written under a temporary name, then renamed), which is what makes a killed run safe to restart.
"""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import zstandard

JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".json.gz", ".json.zst", ".ndjson")


def is_jsonl(path: Path) -> bool:
    """Whether a file name says it holds JSON lines (optionally compressed)."""
    return path.name.lower().endswith(JSONL_SUFFIXES)


def is_parquet(path: Path) -> bool:
    """Whether a file name says it is a Parquet file."""
    return path.suffix.lower() == ".parquet"


def open_binary_read(path: Path) -> BinaryIO:
    """Open a possibly compressed file for reading bytes, by its suffix."""
    suffix = path.suffix.lower()
    if suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if suffix == ".zst":
        raw = path.open("rb")
        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw, closefd=True))  # type: ignore[arg-type]
    return path.open("rb")


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only if the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".tmp-{os.getpid()}-{target.name}")  # keeps the suffix that picks compression
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_text(target: Path, text: str) -> None:
    """Write a text file so that readers see either the old file or the whole new one."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


@contextmanager
def open_binary_write(path: Path) -> Iterator[BinaryIO]:
    """Open a file for writing bytes, compressing by its suffix (``.gz``, ``.zst``)."""
    suffix = path.suffix.lower()
    with path.open("wb") as raw:
        if suffix == ".gz":
            # mtime=0 keeps the bytes identical from run to run
            with gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as gz:
                yield gz  # type: ignore[misc]
        elif suffix == ".zst":
            with zstandard.ZstdCompressor(level=3).stream_writer(raw, closefd=False) as zw:
                yield zw  # type: ignore[misc]
        else:
            yield raw
