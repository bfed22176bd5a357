"""codemill loop: gaps from evaluation records, recipe checks, and two rounds end to end on CPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from helpers import Scripted
from typer.testing import CliRunner

from codemill.cli import app
from codemill.loop.engine import Loop, run_loop
from codemill.loop.gaps import concepts_of, find_gaps
from codemill.loop.recipe import LoopRecipe, load_loop_recipe
from codemill.pipeline.recipe import RecipeError
from codemill.synth import agents as agents_module


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
    """The smallest shipped model (transformers on CPU) is evaluated, trained twice and evaluated again; the
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
            "model": "hf:smollm2",
            "synth": str(synth),
            "eval": {"benchmarks": ["humaneval"], "limit": 2, "max_tokens": 48},
            "train": {"lora": {"max_steps": 2, "max_length": 256, "batch_size": 2}},
            "decontaminate_entry_points": False,  # the scripted teacher writes add(a, b): HumanEval/53's name
        }
    )
    output = tmp_path / "loop"
    result = run_loop(recipe, 2, output)
    assert [r["round"] for r in result.rounds] == [0, 1, 2]
    for entry in result.rounds:
        assert entry["eval"]["summary"]["humaneval"]["tasks"] == 2
    first, second = result.rounds[1], result.rounds[2]
    assert first["train"]["rows"] > 0 and first["model"].startswith("hf:") and first["model"] != "hf:smollm2"
    assert second["train"]["rows"] >= first["train"]["rows"]  # accumulated data
    assert first["data_added"] and "gaps_after" in second
    loop = json.loads((output / "loop.json").read_text())
    assert len(loop["rounds"]) == 3
    report = (output / "report.html").read_text()
    assert "Round 2" in report and "<svg" in report

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
