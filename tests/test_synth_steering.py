"""Adaptive instruction generation: a planted gap, eval failures and determinism."""

from __future__ import annotations

import json
from collections import Counter
from itertools import count
from pathlib import Path

import pytest

from codemill.synth.schema import Attempt, Candidate, Outcome, Target, Verification
from codemill.synth.steering import Steering, benchmark_language, concepts_of

LANGUAGES = ["python", "java"]
CONCEPTS = ["strings", "recursion"]
DIFFICULTIES = ["easy", "hard"]
_ids = count()


def outcome(target: Target, *, passed: bool = True, refused: bool = False) -> Outcome:
    attempts = [] if refused else [Attempt("a", "c", Verification(True, status="passed" if passed else "failed"))]
    candidate = Candidate(
        id=f"c{next(_ids)}",
        agent=target.language,
        language=target.language,
        target=target,
        seed_id=None,
        instruction="i",
        tests="t",
        attempts=attempts,
        transcript=[],
        origin_language=target.language,
    )
    return Outcome(
        candidate, refused="minhash 1.00 >= 0.70 with x" if refused else None, accepted=passed and not refused
    )


def steering(seed: int = 0) -> Steering:
    return Steering(LANGUAGES, CONCEPTS, DIFFICULTIES, seed=seed)


def planted_gap(seed: int = 0) -> tuple[Steering, Target]:
    """Every cell has 30 accepted samples except java/recursion/hard, which has none (and two failures)."""
    gap = Target("java", "recursion", "hard")
    s = steering(seed)
    for cell in s.cells:
        if cell == gap:
            s.record(outcome(cell, passed=False))
            s.record(outcome(cell, passed=False))
        else:
            for _ in range(30):
                s.record(outcome(cell))
    return s, gap


def test_planted_gap_gets_the_largest_share() -> None:
    s, gap = planted_gap()
    targets = s.next_targets(200)
    assert len(targets) == 200 and set(targets) <= set(s.cells)
    share = Counter(targets)
    others = [share[cell] for cell in s.cells if cell != gap]
    assert share[gap] > max(others)
    assert share[gap] >= 200 / len(s.cells) * 1.5  # well above an even split

    grid = s.coverage()["grid"]
    assert grid["java"]["recursion"]["hard"]["accepted"] == 0
    assert grid["java"]["recursion"]["hard"]["failed"] == 2
    assert grid["java"]["recursion"]["hard"]["failure_rate"] == 1.0
    assert grid["python"]["strings"]["easy"]["accepted"] == 30
    assert grid["java"]["recursion"]["hard"]["weight"] == pytest.approx(2.0)  # (1 + 1 + 0) / (1 + 0)
    assert grid["python"]["strings"]["easy"]["weight"] == pytest.approx(1 / 31)


def test_weights_count_failures_refusals_and_acceptances() -> None:
    s = steering()
    failing, refused, fine = Target("python", "strings", "easy"), Target("python", "strings", "hard"), s.cells[2]
    s.record(outcome(failing, passed=False))
    s.record(outcome(failing, passed=True))
    s.record(outcome(refused, refused=True))
    s.record(outcome(fine))
    s.record(outcome(Target("rust", "strings", "easy")))  # outside the grid: counted, never steers
    assert s.weight(failing) == pytest.approx((1 + 0.5) / (1 + 1))
    assert s.weight(refused) == pytest.approx(1 / 2)  # a refusal is no verification failure
    assert s.weight(fine) == pytest.approx(1 / 2)
    assert s.weight(s.cells[-1]) == 1.0  # empty
    coverage = s.coverage()
    assert coverage["recorded"] == 5 and coverage["outside"]["made"] == 1
    assert coverage["grid"]["python"]["strings"]["hard"]["refused"] == 1


def test_an_empty_grid_spreads_one_batch_over_every_cell() -> None:
    s = steering()
    assert set(s.next_targets(len(s.cells) * 3)) == set(s.cells)


def write_samples(path: Path) -> None:
    rows = [
        {"benchmark": "humaneval", "task_id": f"HumanEval/{i}", "passed": True, "status": "passed"} for i in range(8)
    ]
    rows += [{"benchmark": "mbpp+", "task_id": f"Mbpp/{i}", "passed": i != 0, "status": "passed"} for i in range(2)]
    rows += [
        {"benchmark": "multipl-e/java", "task_id": f"HumanEval_{i}", "passed": False, "status": "failed"}
        for i in range(5)
    ]
    rows.append({"benchmark": "multipl-e/cs", "task_id": "HumanEval_0", "passed": False, "status": "compile_error"})
    rows.append({"benchmark": "some-new-benchmark", "task_id": "x", "passed": False, "status": "failed"})
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")


def test_eval_failures_shift_targets_towards_their_language(tmp_path: Path) -> None:
    samples = tmp_path / "samples.jsonl"
    write_samples(samples)
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    for seed in range(5):  # five batches of 200, so the shift shows above the sampling noise
        before.update(t.language for t in steering(seed).next_targets(200))
        s = steering(seed)
        rates = s.load_eval_failures(samples)
        assert rates == {"csharp": 1.0, "java": 1.0, "python": pytest.approx(0.1)}
        after.update(t.language for t in s.next_targets(200))
    # Without eval results both languages weigh the same; with them java weighs (1 + 0 + 1) against python's
    # (1 + 0 + 0.1). Picks dilute a cell's weight as they go, so shares follow the square roots of the
    # numerators: sqrt(2) / (sqrt(2) + sqrt(1.1)) = 57% of the targets instead of 50%.
    assert abs(before["java"] - 500) < 60
    assert after["java"] > after["python"] * 1.2
    assert after["java"] > before["java"] + 40
    assert s.to_json()["eval_failure_rates"]["java"] == 1.0


@pytest.mark.parametrize(
    ("benchmark", "task_id", "language"),
    [
        ("humaneval", "HumanEval/0", "python"),
        ("mbpp", "Mbpp/2", "python"),
        ("cruxeval-o", "sample_0", "python"),
        ("multipl-e/cpp", "HumanEval_0", "cpp"),
        ("multipl-e/js", "HumanEval_0", "javascript"),
        ("multipl-e/ts", "HumanEval_0", "typescript"),
        ("multipl-e/sh", "HumanEval_0", "bash"),
        ("multipl-e/rs", "HumanEval_0", "rust"),
        ("multipl-e/rb", "HumanEval_0", "ruby"),
        ("multipl-e/pl", "HumanEval_0", "perl"),
        ("multipl-e/scala", "HumanEval_0", "scala"),
        ("humaneval-fim", "java/humaneval-x.json-L3", "java"),
        ("unknown", "x", None),
    ],
)
def test_benchmark_language(benchmark: str, task_id: str, language: str | None) -> None:
    assert benchmark_language(benchmark, task_id) == language


def test_targets_are_deterministic_for_seed_and_history() -> None:
    first, _ = planted_gap(seed=7)
    second, _ = planted_gap(seed=7)
    assert first.next_targets(50) == second.next_targets(50)
    assert first.next_targets(50) == first.next_targets(50)  # asking again without new outcomes: the same
    other_seed, _ = planted_gap(seed=8)
    assert other_seed.next_targets(50) != first.next_targets(50)
    # A new outcome is new history: the stream moves on, and a replay of the same history follows it.
    first.record(outcome(first.cells[0]))
    second.record(outcome(second.cells[0]))
    assert first.next_targets(50) == second.next_targets(50)
    assert json.loads(json.dumps(first.to_json())) == json.loads(json.dumps(second.to_json()))


def test_empty_grid_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one language"):
        Steering([], CONCEPTS, DIFFICULTIES)


def test_concepts_of_a_task_come_from_its_words() -> None:
    concepts = ["strings", "lists", "math", "recursion", "sorting", "hash maps", "parsing"]
    assert concepts_of("Return the list sorted in ascending order.", concepts) == ["lists", "sorting"]
    assert concepts_of("Count the vowels of the string s.", concepts) == ["strings", "hash maps"]
    assert concepts_of("Is n a prime number?", concepts) == ["math"]
    assert concepts_of("Walk the graph breadth first.", ["graphs", "math"]) == []
    assert concepts_of("Shortest path in weighted graphs.", ["weighted graphs"]) == ["weighted graphs"]


def test_failing_eval_tasks_of_a_concept_steer_generation_to_that_concept(tmp_path: Path) -> None:
    """The issue's measurement: concept shares did not move with eval gaps (0.14 with and without). Every sorting
    task failed, every other one passed: the share of sorting targets rises, measured over rounds in which each
    target is accepted (so gaps close and the shares settle)."""
    prompts = {
        "sorting": "Sort the numbers in ascending order.",
        "strings": "Reverse the string.",
        "math": "Is the number prime?",
    }
    rows = [
        {"benchmark": "humaneval", "task_id": f"HumanEval/{i}", "prompt": prompts[c], "passed": c != "sorting"}
        for i, c in enumerate(["sorting", "strings", "math"] * 10)
    ]
    samples = tmp_path / "samples.jsonl"
    samples.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    concepts = ["strings", "lists", "math", "recursion", "sorting", "hash maps", "parsing"]

    def shares(with_gaps: bool) -> Counter[str]:
        made: Counter[str] = Counter()
        for seed in range(4):
            s = Steering(["python"], concepts, ["easy"], seed)
            if with_gaps:
                s.load_eval_failures(samples)
            for _ in range(25):
                for target in s.next_targets(8):
                    made[target.concept] += 1
                    s.record(outcome(target))
        return made

    without, with_gaps = shares(False), shares(True)
    total = sum(without.values())
    assert abs(without["sorting"] / total - 1 / 7) < 0.03  # no gaps: every concept about 1/7
    # measured: 105 of 800 sorting targets without gaps (13.1%), 134 with (16.8%): the square-root dynamics of the
    # module docstring (numerator 2.33 against 1.33 for the other concepts, sqrt ratio 1.32)
    assert with_gaps["sorting"] / total > without["sorting"] / total + 0.025
    assert with_gaps["sorting"] > max(n for c, n in with_gaps.items() if c != "sorting")
