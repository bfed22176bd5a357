"""From an evaluation's per-sample records to gaps: where the model fails, per language and per concept.

Languages come from the benchmark (``multipl-e/java`` → java; HumanEval, MBPP and CRUXEval are Python). Concepts
come from the task's prompt by keywords (the synthesis steering grid's default concepts), so a failing task
about palindromes counts against ``strings``. A gap is the failure rate of a language or concept; the loop hands
the evaluation's records to synthesis steering (per-language weights) and puts the failing concepts first.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from codemill.synth.steering import benchmark_language

__all__ = ["CONCEPT_KEYWORDS", "concepts_of", "find_gaps"]

CONCEPT_KEYWORDS = {
    "strings": r"string|character|substring|vowel|palindrome|letter|word",
    "lists": r"\blist|array|element|sequence",
    "math": r"prime|integer|digit|factor|divisible|sum of|product|number",
    "sorting": r"\bsort|ascending|descending|order",
    "recursion": r"recurs|fibonacci|factorial|fib\b",
    "hash maps": r"dictionar|frequen|count|\bmap",
    "parsing": r"parse|bracket|parenthes|format",
}


def concepts_of(prompt: str) -> list[str]:
    text = prompt.lower()
    return [concept for concept, pattern in CONCEPT_KEYWORDS.items() if re.search(pattern, text)]


def _rates(counts: dict[str, list[int]]) -> dict[str, dict[str, float]]:
    return {
        key: {"failed": failed, "tasks": total, "rate": round(failed / total, 4) if total else 0.0}
        for key, (failed, total) in sorted(counts.items())
    }


def find_gaps(samples_jsonl: Path) -> dict[str, Any]:
    """Failure rates per benchmark language and per concept, over tasks (a task fails when no sample passed)."""
    tasks: dict[tuple[str, str], dict[str, Any]] = {}
    for line in samples_jsonl.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        key = (row["benchmark"], row["task_id"])
        task = tasks.setdefault(key, {"passed": False, "prompt": row.get("prompt", "")})
        task["passed"] = task["passed"] or bool(row.get("passed"))
    languages: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    concepts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (benchmark, task_id), task in tasks.items():
        language = benchmark_language(benchmark, task_id) or "unknown"
        languages[language][0] += not task["passed"]
        languages[language][1] += 1
        for concept in concepts_of(task["prompt"]):
            concepts[concept][0] += not task["passed"]
            concepts[concept][1] += 1
    concept_rates = _rates(concepts)
    return {
        "tasks": len(tasks),
        "failed": sum(not t["passed"] for t in tasks.values()),
        "languages": _rates(languages),
        "concepts": concept_rates,
        "worst_concepts": sorted(concept_rates, key=lambda c: (-concept_rates[c]["rate"], c)),
    }
