"""MultiPL-E verdicts, sample by sample: codemill's against the ones Qwen2.5-Coder published for its own runs.

The only per-sample MultiPL-E verdicts published with their programs that we found offline are those of the
Qwen2.5-Coder report's base-model evaluation: QwenLM/Qwen2.5-Coder ships, per model and language,
``qwencoder-eval/base/outptus/qwen2.5-coder/MODEL/multipl-e/humaneval-LANG-details.json``: for every problem,
the exact program its harness ran (``code``), its verdict (``passed``) and why (``result``). (nuprl/MultiPL-E's
own ``experiments/`` results are in a 2.2 GB repository, over what can be fetched here; Qwen's instruct
results ship pass@1 alone.)

Each program runs unchanged through the sandbox twice, and each run is judged by a rule set of
:mod:`codemill.sandbox.multipl_e_rules`:

* ``qwen-base``: the rules of the harness that made those verdicts (Qwen's ``multiple-eval``): agreement here
  says the sandbox reproduces a published evaluation;
* ``multipl-e`` (codemill's default): nuprl/MultiPL-E's evaluators' rules: every disagreement must be one of
  the rules in which Qwen's base harness departs from MultiPL-E's (each is listed with its reason).

Usage: ``git clone https://github.com/QwenLM/Qwen2.5-Coder`` somewhere, then
``python bench/multipl_e_agreement.py --details CLONE/qwencoder-eval/base/outptus/qwen2.5-coder``
(every ``*/multipl-e/`` folder under it is read). Writes ``bench/results/multipl_e_agreement.json``: per
model, language and rule set the sample count, the agreement, and every disagreement (problem, Qwen's
verdict and the first line of its reason, codemill's verdict and why). The data is not copied into this
repository.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from codemill.sandbox import Request, run_many
from codemill.sandbox.multipl_e import verdict
from codemill.sandbox.multipl_e_rules import QWEN_BASE, evaluator

RESULTS = Path(__file__).parent / "results" / "multipl_e_agreement.json"
"""Runs of a subset (``--models``, ``--languages``) merge into it: each key is model/language/rules."""
RULES = ("qwen-base", "multipl-e")


@dataclass(frozen=True)
class Sample:
    model: str
    dataset: str
    task: str
    code: str
    passed: bool
    result: str
    """Qwen's harness's reason: ``passed``, ``failed: ...``, ``timed out``."""


def samples(root: Path, languages: set[str] | None) -> Iterator[Sample]:
    """Every sample of every ``humaneval-LANG-details.json`` under ``root`` (the model is the folder's parent)."""
    for path in sorted(root.glob("**/multipl-e/humaneval-*-details.json")):
        dataset = path.name.removeprefix("humaneval-").removesuffix("-details.json")
        if dataset not in QWEN_BASE or (languages and dataset not in languages):
            continue
        model = path.parent.parent.name
        for task, runs in json.loads(path.read_text()).items():
            for _, run in runs:
                yield Sample(model, dataset, task, run["code"], bool(run["passed"]), str(run["result"]))


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")[:200]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--details", type=Path, required=True, help="folder with MODEL/multipl-e/*-details.json")
    parser.add_argument("--languages", help="comma-separated MultiPL-E names (default: all in the data)")
    parser.add_argument("--models", help="comma-separated model folders, e.g. 1.5b-base (default: all)")
    parser.add_argument("--concurrency", type=int, default=None)
    args = parser.parse_args()
    chosen = set(args.languages.split(",")) if args.languages else None
    models = set(args.models.split(",")) if args.models else None
    data = [s for s in samples(args.details, chosen) if models is None or s.model in models]
    if not data:
        sys.exit(f"no humaneval-LANG-details.json under {args.details}")

    batch, keys = [], []
    for rules in RULES:
        for index, sample in enumerate(data):
            spec = evaluator(sample.dataset, rules)
            batch.append(Request(language=spec.language, code=sample.code, limits=spec.limits(), id=str(index)))
            keys.append((rules, index))
    started = time.monotonic()
    results = run_many(batch, concurrency=args.concurrency)
    seconds = time.monotonic() - started

    table: dict[str, dict] = {}
    for (rules, index), result in zip(keys, results, strict=True):
        sample = data[index]
        judged = verdict(sample.dataset, result, rules)
        entry = table.setdefault(f"{sample.model}/{sample.dataset}/{rules}", {"samples": 0, "agree": 0, "differ": []})
        entry["samples"] += 1
        if judged.status == "SandboxError":
            entry["differ"].append({"task": sample.task, "sandbox_error": judged.why})
        elif judged.passed == sample.passed:
            entry["agree"] += 1
        else:
            entry["differ"].append(
                {
                    "task": sample.task,
                    "qwen": "passed" if sample.passed else _first_line(sample.result),
                    "codemill": judged.status,
                    "why": _first_line(judged.why),
                    "sandbox_status": result.status,
                    "stderr": _first_line(result.stderr or (result.compile.stdout if result.compile else "")),
                }
            )
    for entry in table.values():
        entry["agreement_percent"] = round(100 * entry["agree"] / entry["samples"], 2)

    report = {
        "what": "codemill's MultiPL-E verdicts vs the per-sample verdicts Qwen2.5-Coder published (base models)",
        "source": "QwenLM/Qwen2.5-Coder qwencoder-eval/base/outptus/qwen2.5-coder/*/multipl-e/*-details.json",
        "machine": f"{platform.machine()}, {platform.python_version()}; 2 cores shared with other developers' jobs",
        "programs": len(batch),
        "seconds": round(seconds, 1),
        "agreement": table,
    }
    if RESULTS.exists():
        earlier = json.loads(RESULTS.read_text())
        report["agreement"] = {**earlier.get("agreement", {}), **table}
        report["programs"] += earlier.get("programs", 0)
        report["seconds"] = round(report["seconds"] + earlier.get("seconds", 0.0), 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")
    print(f"{len(batch)} programs in {seconds:.0f} s")
    print(f"{'model/language/rules':40} {'samples':>7} {'agree':>6} {'%':>7}")
    for key, entry in table.items():
        print(f"{key:40} {entry['samples']:>7} {entry['agree']:>6} {entry['agreement_percent']:>7}")
        for differ in entry["differ"]:
            print(f"    {differ}")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
