"""Executors: who runs the tasks of a run. Local (a process pool, nothing to start) or Ray (a cluster).

Both run the same module-level functions (:func:`~codemill.pipeline.runner.run_shard`,
:func:`~codemill.pipeline.runner.run_phase_task`) with the same arguments and yield results as tasks finish.
Tasks are idempotent, so Ray may retry one whose worker died. On a multi-node Ray cluster the output folder
must be on a file system every node sees.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from typing import Any, Literal

ExecutorName = Literal["local", "ray"]


def default_workers() -> int:
    """One worker per core this process may use."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def _exit_with(pid: int) -> None:
    """Pool initializer: end this worker when the run's main process is gone (killed, or closed with Ctrl-C),
    so no orphan keeps computing a shard nobody will read."""

    def watch() -> None:
        while True:
            time.sleep(1.0)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="codemill-parent-watch").start()


class LocalExecutor:
    """A pool of ``workers`` processes kept for the whole run (tasks run in this process when ``workers`` is 1, or
    when a lone task comes before the pool is started)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.pool: Executor | None = None

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def map(self, fn: Callable[..., Any], tasks: Sequence[tuple]) -> Iterator[Any]:
        # A lone task runs here only while there is no pool yet: once there is one, it runs there, so what it
        # leaves in memory (a global step's clustering holds a little per document) goes back with its worker's
        # heap, not into the main process for the rest of the run.
        if self.workers <= 1 or (len(tasks) <= 1 and self.pool is None):
            for args in tasks:
                yield fn(*args)
            return
        if self.pool is None:
            ctx = multiprocessing.get_context("forkserver")
            self.pool = ProcessPoolExecutor(
                self.workers, mp_context=ctx, initializer=_exit_with, initargs=(os.getpid(),)
            )
        futures = [self.pool.submit(fn, *args) for args in tasks]
        for future in as_completed(futures):
            yield future.result()


class RayExecutor:
    """Tasks as Ray tasks; joins the cluster at ``address`` or starts a local Ray with ``workers`` CPUs."""

    def __init__(self, workers: int, address: str | None = None) -> None:
        try:
            import ray
        except ImportError as exc:
            raise RuntimeError("the ray executor needs Ray: pip install 'codemill[ray]'") from exc
        self.ray = ray
        self.workers, self.address = workers, address
        self.started_here = False

    def __enter__(self) -> RayExecutor:
        if not self.ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            kwargs.update({"address": self.address} if self.address else {"num_cpus": self.workers})
            self.ray.init(**kwargs)
            self.started_here = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self.started_here:
            self.ray.shutdown()

    def map(self, fn: Callable[..., Any], tasks: Sequence[tuple]) -> Iterator[Any]:
        remote = self.ray.remote(num_cpus=1, max_retries=3)(fn)
        pending = [remote.remote(*args) for args in tasks]
        while pending:
            done, pending = self.ray.wait(pending, num_returns=1)
            yield self.ray.get(done[0])


def make_executor(name: ExecutorName, workers: int, address: str | None = None) -> LocalExecutor | RayExecutor:
    """The executor called ``name``."""
    if name == "local":
        return LocalExecutor(workers)
    if name == "ray":
        return RayExecutor(workers, address)
    raise ValueError(f"unknown executor {name!r}; use 'local' or 'ray'")
