"""``run_many``: many requests in parallel, with a bound on how many run at once.

Threads, not processes: each run spends its life waiting on a sandboxed child process, so a thread
per running request costs nothing and keeps results in the caller's process without pickling. The
bound matters more than the mechanism: running more programs than cores makes wall-clock limits
fire on programs that would pass on an idle machine (the anchors' most common complaint), so the
default is one run per core.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from codemill.sandbox.runner import run
from codemill.sandbox.schema import Request, Result

__all__ = ["default_concurrency", "run_many"]


def default_concurrency() -> int:
    return len(os.sched_getaffinity(0)) or 1


def run_many(
    requests: Iterable[Request],
    concurrency: int | None = None,
    on_result: Callable[[int, Result], None] | None = None,
) -> list[Result]:
    """Run every request; results come back in the order of the requests.

    ``on_result(index, result)`` is called as each finishes (from a worker thread), for progress bars
    and for writing results out before the whole batch is done.
    """
    batch = list(requests)
    workers = max(1, min(concurrency or default_concurrency(), len(batch) or 1))

    def one(index: int) -> Result:
        result = run(batch[index])
        if on_result is not None:
            on_result(index, result)
        return result

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sandbox") as pool:
        return list(pool.map(one, range(len(batch))))
