"""codemill loop: gaps from evaluation records, recipe checks, and two rounds end to end on CPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from helpers import Scripted
from typer.testing import CliRunner

from codemill.cli import app
from codemill.evaluate.paired import mcnemar_exact, paired_comparison
from codemill.evaluate.split import SPLITS, in_split, split_of
from codemill.loop.engine import Loop, run_loop
from codemill.loop.gaps import concepts_of, find_gaps
from codemill.loop.proof import decontamination_proof
from codemill.loop.recipe import LoopRecipe, load_loop_recipe
from codemill.pipeline.recipe import RecipeError
from codemill.synth import agents as agents_module
from codemill.synth.engine import Synth
from codemill.synth.recipe import SynthRecipe


def test_gaps_are_failure_rates_per_language_and_concept(tmp_path: Path) -> None:
    rows = [
        {"benchmark": "humaneval", "task_id": "HumanEval/1", "passed": False, "prompt": "Reverse the string s."},
        {"benchmark": "humaneval", "task_id": "HumanEval/1", "passed": True, "prompt": "Reverse the string s."},
        {"benchmark": "humaneval", "task_id": "HumanEval/2", "passed": False, "prompt": "Sort the list ascending."},
        {"benchmark": "multipl-e/java", "task_id": "HumanEval_3", "passed": False, "prompt": "Is n a prime number?"},
        {"benchmark": "multipl-e/java", "task_id": "HumanEval_4", "passed": True, "prompt": "Count vowels in a word"},
    ]
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    gaps = find_gaps(samples)
    assert gaps["tasks"] == 4 and gaps["failed"] == 2  # a task passes when any of its samples does
    assert gaps["languages"]["python"] == {"failed": 1, "tasks": 2, "rate": 0.5}
    assert gaps["languages"]["java"] == {"failed": 1, "tasks": 2, "rate": 0.5}
    assert gaps["concepts"]["sorting"]["rate"] == 1.0 and gaps["concepts"]["strings"]["failed"] == 0
    assert gaps["worst_concepts"][0] in ("sorting", "lists", "math")
    assert concepts_of("Return the sorted list of prime numbers") == ["lists", "math", "sorting"]


def test_recipe_refuses_what_cannot_work(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot be trained in-process"):
        LoopRecipe(model="http://127.0.0.1:8000/v1")
    LoopRecipe(model="http://127.0.0.1:8000/v1", train={"command": "my-trainer"})
    bad = tmp_path / "loop.yaml"
    bad.write_text(yaml.safe_dump({"train": {"lora": {"rnak": 8}}}))
    with pytest.raises(RecipeError, match=r"loop\.yaml"):
        load_loop_recipe(bad)
    result = CliRunner().invoke(app, ["loop", str(bad), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2 and "rnak" in result.output


@pytest.mark.slow
def test_two_rounds_end_to_end_and_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The smallest shipped model, run by llama.cpp, is evaluated on the held-out half, trained twice as a LoRA
    adapter on its own GGUF and evaluated again with the adapter applied; the gaps come from the other half. The
    synthesis teacher is scripted so that samples pass the sandbox and training has data (mechanics, not scores)."""
    monkeypatch.setattr(agents_module, "backend_from_spec", lambda spec, **_: Scripted())
    synth = tmp_path / "synth.yaml"
    synth.write_text(
        yaml.safe_dump(
            {
                "agents": [{"language": "python"}],
                "memory": {"embedder": None},
                "protocol": {"critique_rounds": 0, "attempts": 2},
                "budget": {"candidates": 3, "round_size": 3},
            }
        )
    )
    recipe = LoopRecipe.model_validate(
        {
            "model": "smollm2",
            "synth": str(synth),
            "focus": "weakest",
            "eval": {"benchmarks": ["humaneval"], "limit": 2, "max_tokens": 48, "split": True},
            "train": {"lora": {"max_steps": 2, "max_length": 256, "batch_size": 2}},
            "decontaminate_entry_points": False,  # the scripted teacher writes add(a, b): HumanEval/53's name
        }
    )
    output = tmp_path / "loop"
    result = run_loop(recipe, 2, output)
    assert [r["round"] for r in result.rounds] == [0, 1, 2]
    for entry in result.rounds:
        assert entry["eval"]["summary"]["humaneval"]["tasks"] == 2
    measured = {json.loads(line)["task_id"] for line in (output / "round-0/eval/samples.jsonl").open()}
    steering = {json.loads(line)["task_id"] for line in (output / "round-0/gap-eval/samples.jsonl").open()}
    assert len(measured) == len(steering) == 2 and not measured & steering
    assert {split_of("humaneval", t) for t in measured} == {"held-out"}
    assert (output / "round-1/gap-eval").is_dir() and not (output / "round-2/gap-eval").exists()  # no round 3
    first, second = result.rounds[1], result.rounds[2]
    assert first["focus"] == ["python"]
    assert first["train"]["rows"] > 0 and first["model"].startswith("smollm2+lora:")
    assert first["model"].endswith("round-1/model/adapter.gguf")
    assert first["train"]["decontamination"]["rows"] == first["train"]["rows"]
    assert second["train"]["rows"] >= first["train"]["rows"]  # accumulated data
    assert set(first["paired"]["humaneval"]) >= {"lost", "gained", "mcnemar_p"}
    assert first["paired"]["humaneval"]["tasks"] == 2
    assert first["data_added"] and "gaps_after" in second
    loop = json.loads((output / "loop.json").read_text())
    assert len(loop["rounds"]) == 3
    report = (output / "report.html").read_text()
    assert "Round 2" in report and "<svg" in report and "McNemar" in report

    written = {
        p: p.stat().st_mtime_ns
        for p in (output / "round-2" / "eval" / "report.html", output / "round-1" / "train.json")
    }
    again = run_loop(recipe, 2, output)  # everything finished: nothing is trained, evaluated or asked again
    assert [r["model"] for r in again.rounds] == [r["model"] for r in result.rounds]
    assert again.rounds[2]["synth"]["calls_this_run"] == 0
    assert {p: p.stat().st_mtime_ns for p in written} == written


def test_the_loop_refuses_benchmark_entry_points_by_default(tmp_path: Path) -> None:
    """The loop trains on what it then evaluates against: its synthesis refuses benchmark function names."""
    no_gaps = {"worst_concepts": [], "concepts": {}, "languages": {}}
    strict = Loop(LoopRecipe(), tmp_path, print).synth_recipe_for(1, no_gaps, tmp_path / "samples.jsonl")
    assert strict.decontaminate_entry_points is True
    loose = Loop(LoopRecipe(decontaminate_entry_points=False), tmp_path, print)
    assert loose.synth_recipe_for(1, no_gaps, tmp_path / "samples.jsonl").decontaminate_entry_points is False


def test_mcnemar_exact_is_the_two_sided_binomial_test_of_the_discordant_tasks() -> None:
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(0, 5) == pytest.approx(2 / 32)  # all five discordant tasks one way: 2 * 0.5**5
    assert mcnemar_exact(5, 0) == mcnemar_exact(0, 5)
    assert mcnemar_exact(3, 3) == 1.0
    assert mcnemar_exact(1, 9) == pytest.approx(2 * 11 / 1024)  # P(X <= 1) of Binomial(10, 1/2) = 11/1024


def test_paired_comparison_counts_only_tasks_both_sides_hold(tmp_path: Path) -> None:
    def samples(name: str, verdicts: dict[str, bool]) -> Path:
        path = tmp_path / f"{name}.jsonl"
        rows = [{"benchmark": "multipl-e/sh", "task_id": t, "passed": p} for t, p in verdicts.items()]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return path

    before = samples("before", {"a": True, "b": False, "c": False, "d": True, "x": True})
    after = samples("after", {"a": True, "b": True, "c": True, "d": False, "y": False})
    paired = paired_comparison(before, after)["multipl-e/sh"]
    assert paired["tasks"] == 4 and paired["unpaired"] == 2  # x and y are on one side only
    assert (paired["lost"], paired["gained"]) == (1, 2)
    assert paired["pass@1_before"] == 50.0 and paired["pass@1_after"] == 75.0
    assert paired["mcnemar_p"] == pytest.approx(mcnemar_exact(1, 2))


def test_the_split_halves_are_disjoint_stable_and_of_the_same_mix() -> None:
    from codemill.evaluate.score import resolve

    tasks = list(resolve("multipl-e/sh")[0].tasks())
    halves = {split: [t for t in tasks if split_of("multipl-e/sh", t) == split] for split in SPLITS}
    assert sorted(halves["gap"] + halves["held-out"]) == sorted(tasks)
    assert 0.4 < len(halves["gap"]) / len(tasks) < 0.6
    assert all(in_split("multipl-e/sh", t, "held-out") for t in halves["held-out"])
    assert all(in_split("multipl-e/sh", t, None) for t in tasks)
    first_half = tasks[: len(tasks) // 2]  # not by position: the benchmark's order is roughly by difficulty
    assert 0.3 < sum(t in halves["gap"] for t in first_half) / len(first_half) < 0.7


def test_focus_weakest_aims_synthesis_at_one_language(tmp_path: Path) -> None:
    gaps = {
        "worst_concepts": [],
        "concepts": {},
        "languages": {
            "python": {"failed": 3, "tasks": 10, "rate": 0.3},
            "bash": {"failed": 7, "tasks": 10, "rate": 0.7},
            "unknown": {"failed": 9, "tasks": 9, "rate": 1.0},  # not a sandbox language: never the focus
        },
    }
    synth = tmp_path / "synth.yaml"
    synth.write_text(yaml.safe_dump({"agents": [{"language": "python"}, {"language": "javascript"}]}))
    loop = Loop(LoopRecipe(focus="weakest", synth=synth), tmp_path, print)
    recipe = loop.synth_recipe_for(1, gaps, tmp_path / "samples.jsonl")
    assert recipe.steering.languages == ["bash"]
    assert {a.language for a in recipe.agents} == {"python", "javascript", "bash"}  # the others still critique
    assert Loop(LoopRecipe(), tmp_path, print).synth_recipe_for(1, gaps, tmp_path / "s").steering.languages is None
    with pytest.raises(ValueError, match="focus"):
        LoopRecipe(focus="klingon")
    with pytest.raises(ValueError, match="accumulate"):
        LoopRecipe(model="qwen2.5-coder-0.5b-instruct", train={"accumulate": False})
    with pytest.raises(ValueError, match=r"steering.languages \['ruby'\] have no agent"):
        SynthRecipe.model_validate({"agents": [{"language": "python"}], "steering": {"languages": ["ruby"]}})
    (tmp_path / "samples.jsonl").write_text("")
    steered = Synth(recipe, tmp_path / "synth")
    assert {cell.language for cell in steered.steering.cells} == {"bash"}
    assert set(steered.agents) == {"python", "javascript", "bash"}


def test_the_decontamination_proof_names_rows_that_leak(tmp_path: Path) -> None:
    humaneval_0 = "Check if in given list of numbers, are any two numbers closer to each other than given threshold."
    rows = [
        {
            "candidate_id": "clean",
            "language": "python",
            "messages": [
                {"role": "user", "content": "Write a function that doubles x."},
                {"role": "assistant", "content": "```python\ndef double(x):\n    return 2 * x\n```"},
            ],
        },
        {
            "candidate_id": "recited",
            "language": "python",
            "messages": [
                {"role": "user", "content": humaneval_0},
                {"role": "assistant", "content": "```python\ndef closer(a, t):\n    return False\n```"},
            ],
        },
        {
            "candidate_id": "named",
            "language": "python",
            "messages": [
                {"role": "user", "content": "Write a function."},
                {"role": "assistant", "content": "```python\ndef has_close_elements(a, t):\n    return False\n```"},
            ],
        },
    ]
    data = tmp_path / "train-data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    proof = decontamination_proof(data, ["humaneval"])
    assert proof["rows"] == 3 and proof["checked_against"] == ["humaneval"]
    assert [hit.split(":")[0] for hit in proof["rows_sharing_a_10gram"]] == ["recited"]
    assert [hit.split(":")[0] for hit in proof["rows_defining_an_entry_point"]] == ["named"]
