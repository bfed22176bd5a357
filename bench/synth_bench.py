"""Synthesis benchmark: for a fixed budget, acceptance, accepted per hour, test audit, diversity, memory on/off.

Runs of ``codemill synth`` with the same recipe and budget (default: the shipped recipe: Qwen2.5-Coder-0.5B-Instruct
writes, 1.5B-Instruct judges, both embedded; ``--candidates`` candidates), with the agents' memory and/or without
(``--memory both|on|off``). Reported per run: acceptance, accepted per hour of model time (from the transcripts,
so a resumed run counts its first part), the tests' audit (how many stubs passed the tests, the mean mutation
score), the cross-check of solutions against the tests one check at a time (mean agreement, checks every solution
failed: :mod:`codemill.synth.crosscheck`), why outcomes were rejected, and 10 accepted samples for a reader to
judge. Diversity is the distribution of pairwise similarity between the instructions made (exact Jaccard of
normalised word 3-grams, the shingles the memory uses). Each setting runs in ``bench/.work/synth-*``: killed,
the same command resumes its rounds. Writes ``bench/results/synth.json``.

Usage: ``python bench/synth_bench.py [--candidates 12] [--memory on] [--recipe configs/synth.yaml]``.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np

from codemill.synth.engine import run_synth
from codemill.synth.memory import normalise
from codemill.synth.recipe import load_synth_recipe

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "synth.json"


def shingles(text: str, n: int = 3) -> set[tuple[str, ...]]:
    words = normalise(text).split()
    return {tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}


def diversity(instructions: list[str]) -> dict[str, float]:
    sets = [shingles(t) for t in instructions if t.strip()]
    pairs = [len(a & b) / len(a | b) for a, b in itertools.combinations(sets, 2) if a | b]
    if not pairs:
        return {"pairs": 0}
    values = np.asarray(pairs)
    return {
        "pairs": len(pairs),
        "mean": round(float(values.mean()), 4),
        "p50": round(float(np.percentile(values, 50)), 4),
        "p90": round(float(np.percentile(values, 90)), 4),
        "max": round(float(values.max()), 4),
        "share_at_or_above_0.7": round(float((values >= 0.7).mean()), 4),
    }


def run(recipe_path: Path, candidates: int, memory: bool) -> dict[str, object]:
    recipe = load_synth_recipe(recipe_path)
    data = recipe.model_dump(mode="json")
    data["memory"]["enabled"] = memory
    data["budget"]["candidates"] = candidates
    recipe = type(recipe).model_validate(data)
    # A folder of its own per setting (not a temporary one): a killed bench, run again, resumes its rounds.
    work = ROOT / "bench" / ".work" / f"synth-{'memory' if memory else 'no-memory'}-{candidates}"
    started = time.monotonic()
    run = run_synth(recipe, work)
    summary = run.summary
    # model time from the transcripts (a resumed run still counts what the first part measured); sandbox time aside
    seconds = summary.model_seconds or (time.monotonic() - started)
    rows = [json.loads(line) for line in (work / "outcomes.jsonl").read_text().splitlines()]
    judged = [r["outcome"] for r in rows if "outcome" in r]
    instructions = [o["candidate"]["instruction"] for o in judged]
    audits = [o["tests_audit"] for o in judged if o.get("tests_audit")]
    scores = [a["mutation_score"] for a in audits if a.get("mutation_score") is not None]
    reasons = Counter(why.split(":")[0].split(" (")[0] for o in judged for why in o.get("rejected_because", []))
    accepted = [o for o in judged if o.get("accepted")]
    crossed = [o["cross_check"] for o in judged if o.get("cross_check")]
    return {
        "memory": memory,
        "model_seconds": round(seconds, 1),
        "made": summary.made,
        "refused_by_memory": summary.refused,
        "passed": summary.passed,
        "accepted": summary.accepted,
        "acceptance_rate": round(summary.accepted / summary.made, 4) if summary.made else 0.0,
        "accepted_per_hour": round(3600 * summary.accepted / seconds, 2),
        "model_calls": summary.model_calls,
        "completion_tokens": summary.completion_tokens,
        "diversity_of_instructions": diversity(instructions),
        "tests_audited": len(audits),
        "stub_passed_the_tests": sum(a.get("stub") == "passed" for a in audits),
        "mean_mutation_score": round(sum(scores) / len(scores), 3) if scores else None,
        "mutation_scores_measured": len(scores),
        "cross_checked": len(crossed),
        "mean_agreement": round(sum(c["agreement"] for c in crossed) / len(crossed), 3) if crossed else None,
        "checks_failed_by_every_solution": sum(c["failed_by_all"] for c in crossed),
        "checks_cross_checked": sum(c["checks"] for c in crossed),
        "rejected_because": dict(reasons.most_common()),
        "accepted_samples": [
            {
                "language": o["candidate"]["language"],
                "instruction": o["candidate"]["instruction"],
                "solution": next(
                    a["code"] for a in o["candidate"]["attempts"] if a["verification"]["status"] == "passed"
                ),
                "tests": o["candidate"]["tests"],
                "mutation_score": (o.get("tests_audit") or {}).get("mutation_score"),
                "checklist_score": o.get("checklist_score"),
                "agreement": (o.get("cross_check") or {}).get("agreement"),
            }
            for o in accepted[:10]
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", type=Path, default=ROOT / "configs" / "synth.yaml")
    parser.add_argument("--candidates", type=int, default=12)
    parser.add_argument("--memory", choices=["both", "on", "off"], default="both", help="which settings to run")
    args = parser.parse_args()
    results = {"date": datetime.date.today().isoformat(), "recipe": str(args.recipe.relative_to(ROOT))}
    settings = {"both": (True, False), "on": (True,), "off": (False,)}[args.memory]
    for memory in settings:
        measured = run(args.recipe, args.candidates, memory)
        results["memory_on" if memory else "memory_off"] = measured
        d = measured["diversity_of_instructions"]
        print(
            f"memory {'on ' if memory else 'off'}: {measured['made']} made, {measured['refused_by_memory']} refused, "
            f"{measured['accepted']} accepted ({measured['acceptance_rate']:.0%}), "
            f"{measured['accepted_per_hour']}/h of model time, mutation score {measured['mean_mutation_score']}, "
            f"similarity mean {d.get('mean')} p90 {d.get('p90')} max {d.get('max')}, {measured['model_seconds']} s"
        )
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
