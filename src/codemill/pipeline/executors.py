"""Executors: who runs the shards. Local (a process pool, nothing to start) or Ray (a cluster).

Both call the same :func:`codemill.pipeline.runner.run_shard` on the same shards and yield each shard's
counts as it finishes. Shards are idempotent, so Ray may retry a shard whose worker died.
On a multi-node Ray cluster the output folder must be on a file system every node sees.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Literal

from codemill.pipeline.runner import run_shard

ExecutorName = Literal["local", "ray"]


def default_workers() -> int:
    """One worker per core this process may use."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def run_local(root: str, shards: list[int], workers: int) -> Iterator[dict[str, Any]]:
    """Run shards in a pool of ``workers`` processes (in this process when ``workers`` is 1)."""
    if workers <= 1 or len(shards) <= 1:
        for i in shards:
            yield run_shard(root, i)
        return
    ctx = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=min(workers, len(shards)), mp_context=ctx) as pool:
        futures = [pool.submit(run_shard, root, i) for i in shards]
        for future in as_completed(futures):
            yield future.result()


def run_ray(root: str, shards: list[int], workers: int, address: str | None = None) -> Iterator[dict[str, Any]]:
    """Run shards as Ray tasks; joins the cluster at ``address`` or starts a local Ray with ``workers`` CPUs."""
    try:
        import ray
    except ImportError as exc:
        raise RuntimeError("the ray executor needs Ray: pip install 'codemill[ray]'") from exc
    started_here = not ray.is_initialized()
    if started_here:
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if address:
            kwargs["address"] = address
        else:
            kwargs["num_cpus"] = workers
        ray.init(**kwargs)
    try:
        task = ray.remote(num_cpus=1, max_retries=3)(run_shard)
        pending = [task.remote(root, i) for i in shards]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])
    finally:
        if started_here:
            ray.shutdown()


def run_shards(
    executor: ExecutorName, root: str, shards: list[int], workers: int, address: str | None = None
) -> Iterator[dict[str, Any]]:
    """Dispatch to the named executor."""
    if executor == "local":
        return run_local(root, shards, workers)
    if executor == "ray":
        return run_ray(root, shards, workers, address)
    raise ValueError(f"unknown executor {executor!r}; use 'local' or 'ray'")
