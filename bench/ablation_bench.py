"""The report's two data ablations in miniature, on ``make run``'s curated output: a small Qwen2-architecture model
trained from scratch on each ladder level and each mix ratio, several seeds per arm (``configs/ablate.yaml``).

    make run                                  # out/curated
    .venv/bin/python bench/ablation_bench.py  [--recipe configs/ablate.yaml] [--curated out/curated]
        [--only levels|ratios --work bench/.work/ablation-levels --out bench/results/ablation-levels.json]

Resumable: the work folder ``bench/.work/ablation`` keeps every finished arm and run (delete it to start again).
Writes ``bench/results/ablation.json``: per arm the held-out bits per byte (mean, sd, 95% t-interval over seeds),
the data it was made of, the verdicts beside the report's published trend, the machine and the wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from codemill.ablate.engine import run_ablation
from codemill.ablate.recipe import load_ablation_recipe
from codemill.report.ablate_html import write_ablation_report

ROOT = Path(__file__).resolve().parent.parent


def _cpu() -> str:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    return next((x.split(":", 1)[1].strip() for x in lines if x.startswith("model name")), platform.processor())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", type=Path, default=ROOT / "configs" / "ablate.yaml")
    parser.add_argument("--curated", type=Path, default=ROOT / "out" / "curated")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / ".work" / "ablation")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ablation.json")
    parser.add_argument("--only", choices=["levels", "ratios"], help="run one experiment's arms (another --work)")
    args = parser.parse_args()
    recipe = load_ablation_recipe(args.recipe)
    recipe.curated = args.curated.resolve()
    if args.only:
        recipe.arms = [a for a in recipe.arms if (a.min_level is not None) == (args.only == "levels")]
    started = time.perf_counter()
    summary = run_ablation(recipe, args.work, lambda m: print(m, flush=True))
    wall = time.perf_counter() - started
    write_ablation_report(args.work / "report.html", summary)
    for experiment, rows in summary["experiments"].items():
        sets = [k for k in rows[0]["heldout"] if k != "mean"] + ["mean"]
        print(f"\n{experiment}: held-out bits per byte, mean ± 95% interval over {len(rows[0]['seeds'])} seeds")
        print(f"{'arm':16}" + "".join(f"{s:>20}" for s in sets) + f"{'repeated docs':>15}")
        for row in rows:
            cells = "".join(
                f"{row['heldout'][s]['bpb']['mean']:>11.4f} ± {row['heldout'][s]['bpb']['ci95']:<6.4f}" for s in sets
            )
            print(f"{row['arm']:16}{cells}{row['data']['repeated_documents']:>15,}")
        print(f"published: {summary['published'][experiment]}")
    print()
    for line in summary["verdicts"]:
        print(f"· {line}")
    for rows in summary["experiments"].values():
        for row in rows:
            row.pop("spec", None)
    result = {
        "machine": {"cpu": _cpu(), "cores": os.cpu_count()},
        "wall_seconds_this_call": round(wall, 1),
        "note": "wall time of this call only: arms and runs finished by an earlier call were reused",
        **{k: v for k, v in summary.items() if k not in ("recipe",)},
        "recipe": {k: v for k, v in summary["recipe"].items() if k != "curated"},
    }
    result["split"] = {k: v for k, v in result["split"].items() if k != "curated"}
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}; report: {args.work / 'report.html'}")


if __name__ == "__main__":
    main()
