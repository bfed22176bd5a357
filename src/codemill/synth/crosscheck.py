"""Cross-check a draft's solutions against its tests one check at a time (CodeT's dual agreement).

Why: one pass/fail verdict per solution says nothing about how solutions and tests relate. Run each check alone
against each solution and the pattern shows it: solutions that pass the same checks agree with each other, and a
check that every solution fails is either a wrong expectation or a shared mistake. CodeT (Chen et al., 2022) ranks
a group of solutions that pass the same checks by ``group size × checks passed``; the largest score is the
consensus. Here it is measured and reported per sample (``agreement``: the share of solutions in the consensus
group; ``failed_by_all``: checks no solution passed). The kept solution is still the first that passes the whole
tests: a consensus of solutions that fail a check cannot be accepted, and among solutions that pass every check
the consensus is the group they form.

A check is one top-level ``assert`` statement (Python, read with ``ast``), one ``assert...`` line (JavaScript,
TypeScript, C++ ``assert(``) or one line ending a Bash check in ``|| exit``/``|| return``/``|| false``: the shapes
the tests' prompt asks for. Each check runs in a copy of the tests with the other checks removed, so helper
definitions and imports stay. Tests with fewer than two checks are not cross-checked (None).
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from codemill.sandbox import LimitsOverride, Request, run_many
from codemill.synth.verify import checked_request

__all__ = ["CrossCheck", "cross_check", "split_checks"]

LIMITS = LimitsOverride(cpu_seconds=5, wall_seconds=15)
_LINE_CHECKS = {
    "javascript": re.compile(r"^\s*assert\s*[.(]"),
    "typescript": re.compile(r"^\s*assert\s*[.(]"),
    "cpp": re.compile(r"^\s*assert\s*\("),
    "bash": re.compile(r"\|\|\s*(?:exit|return|false)\b"),
}


def _python_spans(tests: str) -> list[tuple[int, int]] | None:
    try:
        tree = ast.parse(tests)
    except SyntaxError:
        return None
    return [(n.lineno - 1, n.end_lineno or n.lineno) for n in tree.body if isinstance(n, ast.Assert)]


def split_checks(tests: str, language: str) -> list[str] | None:
    """One program body per check: ``tests`` with every other check removed; None where the checks cannot be
    told apart (another language, tests that do not parse)."""
    lines = tests.splitlines()
    if language == "python":
        spans = _python_spans(tests)
    elif language in _LINE_CHECKS:
        spans = [(i, i + 1) for i, line in enumerate(lines) if _LINE_CHECKS[language].search(line)]
    else:
        spans = None
    if spans is None:
        return None
    bodies = []
    for keep in spans:
        dropped = {i for start, end in spans if (start, end) != keep for i in range(start, end)}
        bodies.append("\n".join(line for i, line in enumerate(lines) if i not in dropped) + "\n")
    return bodies


@dataclass(frozen=True)
class CrossCheck:
    checks: int
    passed: list[list[bool]]
    """Per solution, per check: whether the check alone passed."""
    chosen: int
    """The consensus solution: first of the group with the largest group size × checks passed."""
    agreement: float
    """Share of the solutions whose pattern equals the chosen one's."""
    failed_by_all: int
    """Checks no solution passed: a wrong expectation, or a mistake every solution shares."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _consensus(passed: list[list[bool]]) -> CrossCheck:
    patterns = Counter(tuple(row) for row in passed)
    best = max(patterns, key=lambda p: (patterns[p] * sum(p), sum(p)))
    chosen = next(i for i, row in enumerate(passed) if tuple(row) == best)
    checks = len(passed[0]) if passed else 0
    failed_by_all = sum(1 for k in range(checks) if not any(row[k] for row in passed))
    return CrossCheck(checks, passed, chosen, patterns[best] / len(passed), failed_by_all)


def cross_check(
    items: Sequence[tuple[str, str, Sequence[str], str]], concurrency: int | None = None
) -> list[CrossCheck | None]:
    """One :class:`CrossCheck` per ``(id, language, solutions, tests)`` (sandbox language names); None where
    there are fewer than two solutions or fewer than two checks. One sandbox batch for all."""
    requests: list[Request] = []
    owners: list[tuple[int, int, int]] = []
    shapes: dict[int, tuple[int, int]] = {}
    for index, (id_, language, solutions, tests) in enumerate(items):
        bodies = split_checks(tests, language)
        codes = list(solutions)
        if bodies is None or len(bodies) < 2 or len(codes) < 2:
            continue
        shapes[index] = (len(codes), len(bodies))
        for s, code in enumerate(codes):
            for k, body in enumerate(bodies):
                requests.append(checked_request(language, code, body, LIMITS, f"{id_}/x{s}.{k}"))
                owners.append((index, s, k))
    grids = {index: [[False] * checks for _ in range(n)] for index, (n, checks) in shapes.items()}
    for (index, s, k), result in zip(owners, run_many(requests, concurrency), strict=True):
        grids[index][s][k] = result.status == "passed"
    return [_consensus(grids[i]) if i in grids else None for i in range(len(items))]
