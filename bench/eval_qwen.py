"""The Qwen2.5-Coder report's instruct table (Tables 16-17) for its 0.5B and 1.5B models, beside codemill's figures.

codemill evaluates the shipped Q4_K_M GGUFs (embedded llama.cpp, greedy, instruct mode: the report's own prompts,
stop words, answer budgets and code extraction, :mod:`codemill.evaluate.qwen_instruct`) and prints, per benchmark,
the published pass@1, codemill's, and the difference. Hours of work on a small machine, so it goes in steps of
``--step`` tasks: after each step the scores of every task answered so far are written to
``bench/results/eval_qwen.json`` (labelled partial until a benchmark is complete) with the samples, and every
answer is kept in codemill's answer cache, so the same command run again resumes where it stopped.

    nice -n 10 .venv/bin/python bench/eval_qwen.py --model qwen2.5-coder-0.5b-instruct -b humaneval,mbpp,mbpp+ &
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from llama_build_bench import cpu_name  # bench/ is the script's folder

from codemill.evaluate.generate import GenerationPlan, generate_rows
from codemill.evaluate.score import resolve, score
from codemill.llm import LLM, Cache, backend_from_spec
from codemill.llm.models import cache_dir

RESULTS = Path(__file__).resolve().parent / "results"

# Qwen2.5-Coder technical report, Table 16 (HumanEval, HumanEval+, MBPP, MBPP+) and Table 17 (MultiPL-E).
PUBLISHED = {
    "qwen2.5-coder-0.5b-instruct": {
        "humaneval": 61.6,
        "humaneval+": 57.3,
        "mbpp": 52.4,
        "mbpp+": 43.7,
        "multipl-e/python": 62.8,
        "multipl-e/java": 46.2,
        "multipl-e/cpp": 43.5,
        "multipl-e/cs": 62.7,
        "multipl-e/ts": 50.3,
        "multipl-e/js": 50.3,
        "multipl-e/php": 52.8,
        "multipl-e/sh": 27.8,
    },
    "qwen2.5-coder-1.5b-instruct": {
        "humaneval": 70.7,
        "humaneval+": 66.5,
        "mbpp": 69.2,
        "mbpp+": 59.4,
        "multipl-e/python": 71.2,
        "multipl-e/java": 55.7,
        "multipl-e/cpp": 50.9,
        "multipl-e/cs": 64.6,
        "multipl-e/ts": 61.0,
        "multipl-e/js": 62.1,
        "multipl-e/php": 59.0,
        "multipl-e/sh": 29.1,
    },
}


def generation_totals(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Tokens and seconds the model spent on these answers (kept with each cached answer, so a resumed run
    still counts what the first run measured)."""
    tokens = sum(r["generation"]["completion_tokens"] for r in rows)
    seconds = sum(r["generation"]["seconds"] for r in rows)
    truncated = sum(r["generation"]["finish_reason"] == "length" for r in rows)
    return {
        "completion_tokens": tokens,
        "generation_seconds": round(seconds, 1),
        "tokens_per_second": round(tokens / seconds, 2) if seconds else 0.0,
        "answers_at_max_tokens": truncated,
    }


def entry(
    model: str, key: str, records: list[dict[str, Any]], rows: list[dict[str, Any]], total: int
) -> dict[str, Any]:
    """One benchmark's line: pass@1 in percent over the tasks answered so far (one greedy sample each)."""
    done = len({r["task_id"] for r in records})
    codemill = round(100 * sum(bool(r["passed"]) for r in records) / done, 1) if done else None
    published = PUBLISHED.get(model, {}).get(key)
    return {
        "published_pass@1": published,
        "codemill_pass@1": codemill,
        "difference": round(codemill - published, 1) if codemill is not None and published is not None else None,
        "tasks_done": done,
        "tasks_total": total,
        "partial": done < total,
        "statuses": dict(Counter(r["status"] for r in records).most_common()),
        **generation_totals(rows),
    }


def save(path: Path, model: str, results: dict[str, Any], conditions: dict[str, Any]) -> None:
    """Write this run's benchmarks beside the ones earlier runs measured (each benchmark keeps the conditions it
    was measured under: a later run of other benchmarks, perhaps on another machine, does not relabel it)."""
    stored = json.loads(path.read_text()) if path.exists() else {}
    earlier = stored.get(model, {}).get("benchmarks", {})
    for entry_ in earlier.values():
        entry_.setdefault("conditions", stored[model].get("conditions"))
    stored[model] = {"benchmarks": {**earlier, **results}}
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(stored, indent=2) + "\n")
    temporary.replace(path)


def print_table(model: str, results: dict[str, Any]) -> None:
    print(f"\n{model}: published vs codemill pass@1 (greedy)")
    print(f"{'benchmark':<18}{'published':>10}{'codemill':>10}{'diff':>7}{'tasks':>11}{'tok/s':>7}")
    for key, e in results.items():
        codemill = "-" if e["codemill_pass@1"] is None else f"{e['codemill_pass@1']:.1f}"
        diff = "-" if e["difference"] is None else f"{e['difference']:+.1f}"
        tasks = f"{e['tasks_done']}/{e['tasks_total']}"
        print(
            f"{key:<18}{e['published_pass@1'] or '-':>10}{codemill:>10}{diff:>7}{tasks:>11}{e['tokens_per_second']:>7}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b-instruct", choices=sorted(PUBLISHED))
    parser.add_argument(
        "-b",
        "--benchmarks",
        default="humaneval,mbpp,mbpp+,multipl-e/python,multipl-e/java,"
        "multipl-e/cpp,multipl-e/cs,multipl-e/ts,multipl-e/js,multipl-e/php,multipl-e/sh",
    )
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads (the machine is shared)")
    parser.add_argument("--step", type=int, default=8, help="tasks answered between two writes of the results")
    parser.add_argument("--max-tokens", type=int, default=None, help="default: the report's budget per benchmark")
    parser.add_argument("--limit", type=int, default=None, help="only the first N tasks of each benchmark")
    parser.add_argument("--cache", type=Path, default=cache_dir() / "eval-qwen" / "llm-cache.sqlite")
    parser.add_argument("--output", type=Path, default=RESULTS / "eval_qwen.json")
    args = parser.parse_args()

    benchmarks = resolve(args.benchmarks)
    samples_dir = args.output.with_suffix("") / args.model
    samples_dir.mkdir(parents=True, exist_ok=True)
    args.cache.parent.mkdir(parents=True, exist_ok=True)
    backend = backend_from_spec(args.model, threads=args.threads)
    llm = LLM(backend, Cache(args.cache))
    plan = GenerationPlan("instruct", max_tokens=args.max_tokens)
    conditions = {
        "model": args.model,
        "backend": backend.identity,
        "decoding": "greedy (temperature 0), 1 sample, instruct mode with the report's prompts",
        "max_tokens": args.max_tokens or "the report's per benchmark (HumanEval/MBPP 1024, MultiPL-E 4096)",
        "llama_threads": args.threads,
        "machine": f"{os.cpu_count()} cores of an {cpu_name()}, shared with other jobs ({platform.machine()})",
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    results: dict[str, Any] = {}
    started = time.monotonic()
    try:
        for benchmark in benchmarks:
            total = len(benchmark.tasks())
            last = min(total, args.limit or total)
            for limit in [*range(args.step, last, args.step), last]:
                rows = generate_rows([benchmark], llm, replace(plan, limit=limit))
                scored = score([benchmark], rows, concurrency=1)
                results[benchmark.key] = entry(args.model, benchmark.key, scored.records, rows, total)
                conditions["wall_seconds_this_run"] = round(time.monotonic() - started, 1)
                results[benchmark.key]["conditions"] = dict(conditions)
                save(args.output, args.model, results, conditions)
                with (samples_dir / f"{benchmark.key.replace('/', '_')}.jsonl").open("w") as out:
                    for record in scored.records:
                        out.write(json.dumps(record) + "\n")
                print(
                    f"{benchmark.key}: {limit}/{total} tasks, pass@1 {results[benchmark.key]['codemill_pass@1']}%",
                    flush=True,
                )
    finally:
        llm.close()
    print_table(args.model, results)


if __name__ == "__main__":
    main()
