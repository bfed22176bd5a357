"""Two evaluations of the same tasks compared task by task: did the second model pass more, beyond chance?

pass@1 before and after on the same tasks is a paired comparison: what carries the evidence are the discordant
tasks, ``b`` (passed before, failed after) and ``c`` (failed before, passed after). Under "no change" each
discordant task is a fair coin, so McNemar's exact test is the two-sided binomial test of ``min(b, c)`` out of
``b + c`` at 1/2: ``p = min(1, 2 · P(X ≤ min(b, c)))``. With no discordant task ``p`` is 1. A task passes when
any of its samples passed (greedy evaluation has one sample per task).
"""

from __future__ import annotations

import json
from math import comb
from pathlib import Path
from typing import Any

__all__ = ["mcnemar_exact", "paired_comparison", "task_verdicts"]


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value of ``b`` and ``c`` discordant pairs."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(comb(n, i) for i in range(min(b, c) + 1)) / 2**n
    return min(1.0, 2 * tail)


def task_verdicts(samples_jsonl: Path) -> dict[tuple[str, str], bool]:
    """(benchmark, task_id) → passed, from ``codemill eval``'s ``samples.jsonl``."""
    verdicts: dict[tuple[str, str], bool] = {}
    for line in samples_jsonl.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            key = (row["benchmark"], row["task_id"])
            verdicts[key] = verdicts.get(key, False) or bool(row["passed"])
    return verdicts


def paired_comparison(before: Path, after: Path) -> dict[str, dict[str, Any]]:
    """Per benchmark, over the tasks both evaluations hold: pass@1 before and after, ``b``, ``c`` and McNemar's p.

    Tasks only one side holds are counted (``unpaired``) and left out, so a partial evaluation cannot pass for
    a change."""
    first, second = task_verdicts(before), task_verdicts(after)
    out: dict[str, dict[str, Any]] = {}
    for benchmark in sorted({b for b, _ in first} | {b for b, _ in second}):
        keys = [k for k in first if k[0] == benchmark and k in second]
        unpaired = sum(k[0] == benchmark for k in first.keys() ^ second.keys())
        b = sum(first[k] and not second[k] for k in keys)
        c = sum(second[k] and not first[k] for k in keys)
        n = len(keys)
        out[benchmark] = {
            "tasks": n,
            "unpaired": unpaired,
            "pass@1_before": round(100 * sum(first[k] for k in keys) / n, 2) if n else None,
            "pass@1_after": round(100 * sum(second[k] for k in keys) / n, 2) if n else None,
            "lost": b,
            "gained": c,
            "mcnemar_p": round(mcnemar_exact(b, c), 6),
        }
    return out
