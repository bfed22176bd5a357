"""The training step and the transformers backend, with the shipped SmolLM2 (dequantised from its GGUF).

The first test to load the model converts the GGUF into codemill's cache (most of a minute on a small machine);
later loads read the cached folder in about a second.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from codemill.llm import LLMError, Prompt, Sampling, backend_from_spec
from codemill.llm.transformers_backend import Transformers, ensure_converted, load_tokenizer, resolve_hf_model
from codemill.train import IGNORE_INDEX, LoraOptions, TrainError, evaluate_loss, read_sft, render_example, run_external
from codemill.train.cli import train
from codemill.train.sft import train_lora

pytest.importorskip("torch")
pytest.importorskip("peft")

TASKS = [
    ("Write a Python function that returns the square of x.", "def square(x):\n    return x * x\n"),
    ("Write a Python function that adds two numbers.", "def add(a, b):\n    return a + b\n"),
    ("Write a Python function that reverses a list.", "def reverse(items):\n    return items[::-1]\n"),
    ("Write a Python function that tells if n is even.", "def is_even(n):\n    return n % 2 == 0\n"),
    ("Write a Python function that returns the maximum of a list.", "def maximum(items):\n    return max(items)\n"),
    (
        "Write a Python function that counts the vowels in s.",
        "def vowels(s):\n    return sum(c in 'aeiou' for c in s)\n",
    ),
    ("Write a Python function that joins words with spaces.", "def join(words):\n    return ' '.join(words)\n"),
    ("Write a Python function that returns the absolute value.", "def absolute(x):\n    return -x if x < 0 else x\n"),
]


def write_sft(path: Path) -> Path:
    with path.open("w") as handle:
        for number, (question, answer) in enumerate(TASKS):
            row = {
                "messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}],
                "id": f"t{number}",
                "language": "python",
            }
            handle.write(json.dumps(row) + "\n")
    return path


@pytest.fixture(scope="module")
def sft(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sft(tmp_path_factory.mktemp("sft") / "sft.jsonl")


@pytest.fixture(scope="module")
def tokenizer() -> object:
    return load_tokenizer(ensure_converted(resolve_hf_model("smollm2")))


@pytest.fixture(scope="module")
def hf_smollm2() -> Iterator[Transformers]:
    backend = backend_from_spec("hf:smollm2", threads=1)
    assert isinstance(backend, Transformers)
    yield backend
    backend.close()


# --- data: reading and masking -------------------------------------------------------------------------------------


def test_bad_sft_line_is_named_by_file_and_line(tmp_path: Path) -> None:
    path = write_sft(tmp_path / "sft.jsonl")
    lines = path.read_text().splitlines()
    lines.insert(2, "{not json")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(TrainError, match=rf"{path}:3: not JSON"):
        read_sft(path)
    path.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    with pytest.raises(TrainError, match=rf"{path}:1: no assistant message"):
        read_sft(path)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(TrainError, match="empty"):
        train_lora("smollm2", empty, tmp_path / "never")
    assert not (tmp_path / "never").exists()


def test_train_command_reports_bad_data(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command()(train)
    app.command("other")(lambda: None)  # two commands, so ``train`` is addressed by name as when mounted
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": 3}\n')
    result = CliRunner().invoke(
        app, ["train", "--base", "smollm2", "--data", str(bad), "--output", str(tmp_path / "m")]
    )
    assert result.exit_code == 2
    assert "bad.jsonl:1" in result.output


@pytest.mark.slow
def test_prompt_tokens_are_masked(tokenizer: object) -> None:
    messages = [
        {"role": "user", "content": "Add two numbers."},
        {"role": "assistant", "content": "def add(a, b):\n    return a + b"},
        {"role": "user", "content": "And subtract?"},
        {"role": "assistant", "content": "def sub(a, b):\n    return a - b"},
    ]
    example = render_example(tokenizer, messages, max_length=512)
    assert len(example.input_ids) == len(example.labels)
    whole = tokenizer.decode(example.input_ids)  # type: ignore[attr-defined]
    assert whole == tokenizer.apply_chat_template(messages, tokenize=False)  # type: ignore[attr-defined]
    trained = [t if label != IGNORE_INDEX else None for t, label in zip(example.input_ids, example.labels, strict=True)]
    # The trained spans are exactly the two replies with their end-of-turn marker; everything else is masked.
    spans, current = [], []
    for token in [*trained, None]:
        if token is None:
            if current:
                spans.append(tokenizer.decode(current))  # type: ignore[attr-defined]
            current = []
        else:
            current.append(token)
    assert spans == [
        "def add(a, b):\n    return a + b<|im_end|>\n",
        "def sub(a, b):\n    return a - b<|im_end|>\n",
    ]
    masked = tokenizer.decode([t for t, label in zip(example.input_ids, example.labels, strict=True) if label < 0])  # type: ignore[attr-defined]
    assert "Add two numbers." in masked and "And subtract?" in masked and "<|im_start|>assistant\n" in masked
    assert "return" not in masked
    short = render_example(tokenizer, messages, max_length=16)
    assert len(short.input_ids) == 16 and short.trained_tokens == 0


# --- the transformers backend ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_hf_backend_answers_chat_greedily_and_deterministically(hf_smollm2: Transformers) -> None:
    assert hf_smollm2.identity.startswith("transformers:SmolLM2-135M-Instruct.Q4_1.gguf:")
    assert hf_smollm2.supports_chat
    chat = Prompt.chat("Write a Python function that reverses a string.")
    first = hf_smollm2.generate(chat, Sampling(max_tokens=48))
    second = hf_smollm2.generate(chat, Sampling(max_tokens=48))
    assert first.text == second.text and "def " in first.text
    assert first.prompt_tokens > 10 and 0 < first.completion_tokens <= 48
    stopped = hf_smollm2.generate(chat, Sampling(max_tokens=48, stop=("[::-1]",)))
    assert stopped.finish_reason == "stop" and "[::-1]" not in stopped.text
    assert first.text.startswith(stopped.text) and stopped.text
    sampled = [hf_smollm2.generate(chat, Sampling(max_tokens=12, temperature=0.9, seed=s)).text for s in (1, 1, 2)]
    assert sampled[0] == sampled[1]
    with pytest.raises(LLMError, match="context window"):
        hf_smollm2.generate(Prompt(text="x " * 5000), Sampling(max_tokens=4))


# --- training ----------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_lora_training_lowers_the_loss_and_saves_a_loadable_model(sft: Path, tmp_path: Path) -> None:
    before = evaluate_loss("smollm2", sft, max_length=256)
    steps: list[tuple[int, int, float]] = []
    options = LoraOptions(max_steps=4, max_length=256, learning_rate=1e-3, seed=0)
    folder = train_lora("smollm2", sft, tmp_path / "model", options, on_step=lambda *s: steps.append(s))
    assert folder == tmp_path / "model"
    assert [s[:2] for s in steps] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no partial folder left behind
    record = json.loads((folder / "codemill-train.json").read_text())
    assert record["steps"] == 4 and record["rows"] == 8 and record["options"]["rank"] == 8
    assert len(record["data_sha256"]) == 64 and record["base"] == "smollm2"
    assert (folder / "config.json").is_file() and (folder / "tokenizer.json").is_file()
    after = evaluate_loss(f"hf:{folder}", sft, max_length=256)
    assert after < before

    with backend_from_spec(f"hf:{folder}", threads=1) as trained:
        assert trained.identity.startswith("transformers:model:")
        assert trained.identity != backend_from_spec("hf:smollm2").identity
        answer = trained.generate(Prompt.chat(TASKS[0][0]), Sampling(max_tokens=24))
    assert answer.error is None and answer.text.strip()


# --- an external trainer ------------------------------------------------------------------------------------------


def test_external_trainer_names_its_model(sft: Path, tmp_path: Path) -> None:
    command = (
        'mkdir -p "$CODEMILL_OUTPUT_DIR/merged" && cp "$CODEMILL_SFT_DATA" "$CODEMILL_OUTPUT_DIR/seen.jsonl" && '
        'echo "$CODEMILL_BASE_MODEL" > "$CODEMILL_OUTPUT_DIR/base.txt" && '
        'echo "$CODEMILL_OUTPUT_DIR/merged" > "$CODEMILL_OUTPUT_DIR/model.txt" && echo "training done"'
    )
    spec = run_external(command, sft, tmp_path / "out", "smollm2")
    assert spec == f"hf:{(tmp_path / 'out' / 'merged').resolve()}"
    assert (tmp_path / "out" / "seen.jsonl").read_bytes() == sft.read_bytes()
    assert (tmp_path / "out" / "base.txt").read_text().strip() == "smollm2"
    by_stdout = run_external("echo loading; echo http://127.0.0.1:8000/v1#coder; echo", sft, tmp_path / "o2", "x")
    assert by_stdout == "http://127.0.0.1:8000/v1#coder"


def test_external_trainer_failure_quotes_stderr(sft: Path, tmp_path: Path) -> None:
    with pytest.raises(TrainError, match=r"status 3[\s\S]*CUDA out of memory"):
        run_external("echo starting; echo 'CUDA out of memory' >&2; exit 3", sft, tmp_path / "out", "smollm2")
    with pytest.raises(TrainError, match="named no model"):
        run_external("true", sft, tmp_path / "out2", "smollm2")
