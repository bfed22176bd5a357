"""DPO on verified preference pairs (TRL's DPOTrainer) with the SFT step's LoRA adapters and exports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from codemill.train.cli import train
from codemill.train.dpo import read_dpo
from codemill.train.sft import TrainError

pytest.importorskip("trl")

PAIRS = [
    ("Write add(a, b) in Python.", "def add(a, b):\n    return a + b\n", "def add(a, b):\n    return a - b\n"),
    ("Write square(x) in Python.", "def square(x):\n    return x * x\n", "def square(x):\n    return x + x\n"),
]


def write_pairs(path: Path) -> Path:
    rows = [
        {
            "prompt": [{"role": "user", "content": question}],
            "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}],
            "language": "python",
            "candidate_id": f"c{number}",
        }
        for number, (question, chosen, rejected) in enumerate(PAIRS)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(train)
    app.command("other")(lambda: None)  # two commands, so ``train`` is addressed by name as when mounted
    return app


def test_bad_pairs_are_named_by_file_and_line(tmp_path: Path) -> None:
    path = write_pairs(tmp_path / "dpo.jsonl")
    assert [row["chosen"][0]["content"] for row in read_dpo(path)] == [p[1] for p in PAIRS]
    same = json.loads(path.read_text().splitlines()[0])
    same["rejected"] = same["chosen"]
    path.write_text(path.read_text() + json.dumps(same) + "\n")
    with pytest.raises(TrainError, match=rf"{path}:3: chosen and rejected are the same"):
        read_dpo(path)
    path.write_text('{"prompt": [], "chosen": [], "rejected": []}\n')
    with pytest.raises(TrainError, match=rf"{path}:1: a DPO row needs"):
        read_dpo(path)
    result = CliRunner().invoke(
        cli(), ["train", "--method", "dpo", "--data", str(path), "--output", str(tmp_path / "m")]
    )
    assert result.exit_code == 2 and "dpo.jsonl:1" in result.output


@pytest.mark.slow
def test_dpo_prefers_the_chosen_answers_and_exports_an_adapter(tmp_path: Path) -> None:
    data = write_pairs(tmp_path / "dpo.jsonl")
    output = tmp_path / "model"
    arguments = ["train", "--method", "dpo", "--base", "smollm2", "--data", str(data), "--output", str(output)]
    arguments += ["--max-steps", "3", "--batch-size", "2", "--max-length", "256", "--lr", "1e-3"]
    result = CliRunner().invoke(cli(), [*arguments, "--export", "gguf-lora"])
    assert result.exit_code == 0, result.output
    assert f"model: smollm2+lora:{output / 'adapter.gguf'}" in result.output
    record = json.loads((output / "codemill-train.json").read_text())
    assert record["method"] == "dpo" and record["rows"] == 2 and record["steps"] == 3
    assert record["first_loss"] == pytest.approx(0.6931, abs=1e-3)  # log 2: the adapters start as the reference
    assert record["final_loss"] < record["first_loss"]
    assert (output / "adapter.gguf").stat().st_size > 0
