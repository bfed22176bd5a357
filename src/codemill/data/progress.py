"""Documents read so far, for the progress bar of work that runs in another process (a run's final steps).

``mix`` and ``pack`` run once, in a worker, over files they read through
:func:`codemill.curate.pack.sources.documents_of_files`; that reader calls :func:`read` for every document. The
runner wraps a final step in :func:`counting_reads` with a :class:`ProgressFile`, which writes the count and the
time to a small JSON file at most twice a second; the main process reads it (:func:`read_progress`) to move the
bar. Outside such a block :func:`read` does nothing, so the readers cost the same as before.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["ProgressFile", "counting_reads", "read", "read_progress"]

_sink: Callable[[int], None] | None = None


def read(n: int = 1) -> None:
    """``n`` more documents were read (counted only inside :func:`counting_reads`)."""
    if _sink is not None:
        _sink(n)


@contextmanager
def counting_reads(sink: Callable[[int], None]) -> Iterator[None]:
    """Send every :func:`read` inside the block to ``sink``."""
    global _sink
    before, _sink = _sink, sink
    try:
        yield
    finally:
        _sink = before


class ProgressFile:
    """A sink that keeps ``{"documents", "seconds"}`` in ``path``, rewritten at most every ``every`` seconds."""

    def __init__(self, path: Path, every: float = 0.5) -> None:
        self.path, self.every = path, every
        self.started = self.last = time.monotonic()
        self.documents = 0

    def __call__(self, n: int) -> None:
        self.documents += n
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            self.write()

    def write(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"documents": self.documents, "seconds": time.monotonic() - self.started}))
        os.replace(tmp, self.path)


def read_progress(path: Path) -> dict[str, Any] | None:
    """What a :class:`ProgressFile` wrote last, or None (not started, or being replaced)."""
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data
