"""codemill synth end to end: a scripted fake model (unit level), then the embedded model and llama.cpp's server.

The fake answers each role the way a competent model would, so the mechanics are checked exactly: the protocol's
transcript, memory refusing a near-repeat before it costs a solve, cross-lingual lineage, verification in the real
sandbox, DPO pairs from a failing attempt beside a passing one, checklist weighting, resume without model calls.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from helpers import Scripted
from typer.testing import CliRunner

from codemill.cli import app
from codemill.llm import Generation
from codemill.report.synth_html import write_synth_report
from codemill.synth import agents as agents_module
from codemill.synth.engine import SynthError, run_synth
from codemill.synth.recipe import CHECKLIST_POINTS, SynthRecipe

pytestmark = pytest.mark.slow


def recipe(**budget: int) -> SynthRecipe:
    return SynthRecipe.model_validate(
        {
            "agents": [{"language": "python"}, {"language": "javascript"}],
            "memory": {"embedder": None},
            "cross_lingual": {"rate": 0.5},
            "steering": {"concepts": ["sums"], "difficulties": ["easy"]},
            "checklist": {"weights": {"correctness": 3.0, "comments": 1.0}},
            "budget": {"candidates": budget.get("candidates", 8), "round_size": budget.get("round_size", 4)},
        }
    )


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> list[Scripted]:
    made: list[Scripted] = []

    def fake(spec: str, **_: object) -> Scripted:
        made.append(Scripted())
        return made[-1]

    monkeypatch.setattr(agents_module, "backend_from_spec", fake)
    return made


def outcomes(path: Path) -> list[dict]:
    return [json.loads(line)["outcome"] for line in path.read_text().splitlines() if '"outcome"' in line]


def test_protocol_memory_lineage_verification_dpo_and_checklist(tmp_path: Path, scripted: list[Scripted]) -> None:
    run = run_synth(recipe(), tmp_path)
    summary = run.summary
    rows = outcomes(tmp_path / "outcomes.jsonl")
    assert summary.made == len(rows) == 8
    own = [r for r in rows if not r["candidate"]["lineage"]]
    derived = [r for r in rows if r["candidate"]["lineage"]]
    # the protocol: propose, critique, revise, solve x2, test, judge, in that order, each a turn
    first = next(r for r in own if r["refused"] is None)
    roles = [t["role"] for t in first["candidate"]["transcript"]]
    assert roles == ["propose", "critique-0", "revise-0", "solve-0", "solve-1", "test", "judge"]
    # memory: the same task for the same language and topic is refused before any solve
    refused = [r for r in rows if r["refused"]]
    assert refused and all("minhash" in r["refused"] for r in refused)
    assert all(not r["candidate"]["attempts"] and r["similarity"] >= 0.7 for r in refused)
    # cross-lingual: a derived candidate names its parent, which is of another language
    ids = {r["candidate"]["id"]: r for r in rows}
    for r in derived:
        parent = ids[r["candidate"]["lineage"][-1]]
        assert parent["candidate"]["language"] != r["candidate"]["language"]
        assert r["candidate"]["origin_language"] == parent["candidate"]["origin_language"]
        assert r["candidate"]["transcript"][0]["role"] == "share"
    # verification in the real sandbox: attempt 0 passes, attempt 1 fails, in both languages
    verified = [r for r in rows if r["refused"] is None]
    for r in verified:
        statuses = [a["verification"]["status"] for a in r["candidate"]["attempts"]]
        assert statuses[0] == "passed" and statuses[1] != "passed", statuses
    # checklist: correctness 8 (weight 3) and comments 2 (weight 1) -> (24 + 2) / 4 = 6.5
    assert {r["checklist_score"] for r in verified} == {6.5}
    # outputs: SFT for accepted, DPO pairs chosen/rejected, metadata for every outcome
    sft = [json.loads(line) for line in (tmp_path / "sft.jsonl").read_text().splitlines()]
    dpo = [json.loads(line) for line in (tmp_path / "dpo.jsonl").read_text().splitlines()]
    assert len(sft) == summary.accepted == len(verified) and len(dpo) == len(verified)
    assert all("a + b" in p["chosen"][0]["content"] and "a - b" in p["rejected"][0]["content"] for p in dpo)
    assert pq.read_table(tmp_path / "metadata.parquet").num_rows == 8
    assert not (tmp_path / "report.html").exists()  # the command renders it, from what the run returned
    assert len(run.outcomes) == 8 and run.synergy["languages"] and run.coverage
    report = write_synth_report(tmp_path / "report.html", run.outcomes, run.synergy, run.coverage).read_text()
    assert "<svg" in report and "ynergy" in report


def test_resume_replays_finished_rounds_without_model_calls(tmp_path: Path, scripted: list[Scripted]) -> None:
    run_synth(recipe(candidates=4, round_size=4), tmp_path)
    first_calls = sum(b.calls for b in scripted)
    bigger = recipe(candidates=8, round_size=4)
    with pytest.raises(SynthError, match="another recipe"):
        run_synth(bigger, tmp_path)
    (tmp_path / "recipe.json").unlink()  # the same recipe with a larger budget: continue it
    summary = run_synth(bigger, tmp_path).summary
    assert summary.replayed_rounds == 1 and summary.made == 8
    again = run_synth(bigger, tmp_path).summary  # everything done: replay only, no model call at all
    assert again.replayed_rounds == 2 and again.calls_this_run == 0
    assert again.model_calls == summary.model_calls > 0  # what the data cost is remembered across runs
    assert outcomes(tmp_path / "outcomes.jsonl")[:4] == outcomes(tmp_path / "outcomes.jsonl")[:4]
    assert sum(b.calls for b in scripted) > first_calls


def test_recipe_errors_name_the_place(tmp_path: Path) -> None:
    bad = tmp_path / "r.yaml"
    bad.write_text(yaml.safe_dump({"agents": [{"language": "python", "model": "nope"}], "budget": {"candidate": 3}}))
    result = CliRunner().invoke(app, ["synth", str(bad), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "r.yaml:5:3: budget.candidate: unknown key; allowed: candidates" in result.output
    bad.write_text(yaml.safe_dump({"agents": [{"language": "python", "model": "nope"}]}))
    result = CliRunner().invoke(app, ["synth", str(bad), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2 and "agent python: model 'nope' is not a key of models" in result.output


def small_model_recipe(tmp_path: Path, spec: str, embedder: str | None) -> Path:
    path = tmp_path / "synth.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "models": {
                    "default": {"model": spec, "max_tokens": 96, "temperature": 0.7},
                    "judge": {"model": spec, "max_tokens": 96, "temperature": 0.0},
                },
                "agents": [{"language": "python", "roles": {"judge": "judge"}}],
                "protocol": {"critique_rounds": 0, "attempts": 1},
                "memory": {"embedder": embedder},
                "budget": {"candidates": 2, "round_size": 2},
            }
        )
    )
    return path


def check_small_model_run(output: Path) -> None:
    summary = json.loads((output / "summary.json").read_text())
    assert summary["made"] == 2 and summary["model_calls"] > 0
    rows = outcomes(output / "outcomes.jsonl")
    metadata = pq.read_table(output / "metadata.parquet").to_pylist()
    sft = (output / "sft.jsonl").read_text().splitlines()
    assert len(rows) == len(metadata) == 2 and len(sft) == summary["accepted"]
    for row in rows:  # whatever a 135M model writes, every accepted sample passed the sandbox
        passed = any((a["verification"] or {}).get("status") == "passed" for a in row["candidate"]["attempts"])
        assert row["accepted"] <= passed
    assert (output / "report.html").is_file()


def test_synth_with_the_embedded_model(tmp_path: Path) -> None:
    recipe_file = small_model_recipe(tmp_path, "smollm2", "smollm2")
    result = CliRunner().invoke(app, ["synth", str(recipe_file), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    check_small_model_run(tmp_path / "out")


def test_synth_against_llama_cpp_server(tmp_path: Path, llama_server: str) -> None:
    recipe_file = small_model_recipe(tmp_path, llama_server, None)
    result = CliRunner().invoke(app, ["synth", str(recipe_file), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    check_small_model_run(tmp_path / "out")


class CheckingNothing(Scripted):
    """The audit's scripted run: tests that are ``assert True`` and a judge that scores every point 0, or answers
    with no score at all."""

    def __init__(self, judge: str) -> None:
        super().__init__()
        self.judge = judge

    def generate(self, prompt, sampling):  # type: ignore[no-untyped-def]
        user = prompt.messages[-1].content
        if user.startswith(("Write tests", "Write a complete")):
            self.calls += 1
            return Generation("```python\nassert True\n```", "stop", 10, 20)
        if user.startswith("Rate this"):
            self.calls += 1
            return Generation(self.judge, "stop", 10, 20)
        return super().generate(prompt, sampling)


@pytest.mark.parametrize(
    ("judge", "says"),
    [("\n".join(f"{p}: 0" for p in CHECKLIST_POINTS), "checklist score 0.00 below 5.00"),
     ("I think this is fine.", "the judge's answer gave no checklist score")],
)  # fmt: skip
def test_tests_that_check_nothing_and_a_judge_that_scores_nothing_accept_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, judge: str, says: str
) -> None:
    made: list[CheckingNothing] = []

    def fake(spec: str, **_: object) -> CheckingNothing:
        made.append(CheckingNothing(judge))
        return made[-1]

    monkeypatch.setattr(agents_module, "backend_from_spec", fake)
    single = recipe(candidates=2, round_size=2).model_copy(update={"agents": recipe().agents[:1]})
    run = run_synth(single, tmp_path)
    rows = [r for r in outcomes(tmp_path / "outcomes.jsonl") if r["refused"] is None]
    assert rows and run.summary.accepted == 0 and run.summary.passed == len(rows)  # `assert True` passes the run
    for row in rows:
        assert row["accepted"] is False
        assert "the tests never call add" in row["rejected_because"]
        assert any("stub" in why for why in row["rejected_because"]) and says in row["rejected_because"]
        if "no checklist score" in says:  # asked twice: the judge turn and its retry
            assert [t["role"] for t in row["candidate"]["transcript"]][-2:] == ["judge", "judge-retry-1"]
    assert (tmp_path / "sft.jsonl").read_text() == "" and (tmp_path / "dpo.jsonl").read_text() == ""


def test_a_solution_named_as_a_benchmark_entry_point_is_refused_when_asked(
    tmp_path: Path, scripted: list[Scripted]
) -> None:
    """The scripted solver writes ``add(a, b)``: HumanEval/53's entry point. Off (the default), nothing changes;
    on, every verified sample is refused by name, though it shares no 10-gram with the benchmark."""
    strict = recipe(candidates=4, round_size=4).model_copy(update={"decontaminate_entry_points": True})
    rows = [r for r in run_synth(strict, tmp_path / "strict").outcomes if r.refused is None]
    assert rows and not any(r.accepted for r in rows)
    assert all(any("defines the entry point add of" in why for why in r.rejected_because) for r in rows)
    assert any(r.accepted for r in run_synth(recipe(candidates=4, round_size=4), tmp_path / "plain").outcomes)
