"""The real backends with the models shipped in PyPI packages: embedded llama.cpp, llama.cpp's OpenAI-compatible
server on loopback, and ``codemill eval --model`` end to end on ten HumanEval problems.

Greedy decoding is deterministic, so the server must give exactly the embedded backend's text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import LLAMA_N_CTX
from typer.testing import CliRunner

from codemill.cli import app
from codemill.evaluate.humaneval import HumanEval
from codemill.llm import LLM, Prompt, Sampling, backend_from_spec
from codemill.llm.llamacpp import LlamaCpp
from codemill.llm.models import shipped_model_path

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smollm2() -> Iterator[LlamaCpp]:
    backend = backend_from_spec("smollm2", n_ctx=LLAMA_N_CTX, threads=1)
    assert isinstance(backend, LlamaCpp)
    yield backend
    backend.close()


def humaneval_prompts(n: int) -> list[str]:
    benchmark = HumanEval()
    return [benchmark.base_prompt(task) for task in list(benchmark.tasks().values())[:n]]


def test_embedded_chat_and_completion_are_deterministic(smollm2: LlamaCpp) -> None:
    assert smollm2.supports_chat
    llm = LLM(smollm2)
    chat = Prompt.chat("Write a Python function that reverses a string.")
    first, second = llm.generate_many([chat, chat], Sampling(max_tokens=64))
    assert first.text == second.text and "def " in first.text and first.completion_tokens > 0
    completion = llm.complete("def add(a, b):\n", max_tokens=48, stop=("\ndef ",))
    assert completion.error is None and completion.prompt_tokens > 0
    assert "\ndef " not in completion.text


def test_prompt_longer_than_the_context_fails_that_prompt_only(smollm2: LlamaCpp) -> None:
    answers = LLM(smollm2).generate_many([Prompt(text="x " * 6000), Prompt(text="def f():")], Sampling(max_tokens=4))
    assert answers[0].error is not None and "context" in answers[0].error
    assert answers[1].error is None


def test_gemma_base_model_assembles_and_completes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEMILL_CACHE", str(tmp_path))
    path = shipped_model_path("gemma3-270m")
    assert path.stat().st_size == 253_113_024 and path.parent.parent == tmp_path
    with backend_from_spec("gemma3-270m", n_ctx=1024, threads=1) as gemma:
        assert not gemma.supports_chat  # a base model: completion only
        answer = LLM(gemma).complete("import os\n\ndef list_python_files(folder):\n", max_tokens=24)
        assert answer.error is None and answer.completion_tokens > 0
        refused = LLM(gemma).chat("hello")
        assert refused.error is not None and "no chat template" in refused.error


def test_server_gives_the_embedded_backends_greedy_text(smollm2: LlamaCpp, llama_server: str) -> None:
    prompts = [Prompt(text=p) for p in humaneval_prompts(3)] + [Prompt.chat("Write a bash one-liner counting lines.")]
    sampling = Sampling(max_tokens=64, stop=HumanEval.stop_words)
    embedded = LLM(smollm2).generate_many(prompts, sampling)
    remote = LLM(backend_from_spec(llama_server)).generate_many(prompts, sampling)
    assert [r.error for r in remote] == [None] * 4
    assert [r.text for r in remote] == [e.text for e in embedded]


def test_eval_with_the_embedded_model_end_to_end_and_resumes_from_cache(tmp_path: Path) -> None:
    runner = CliRunner()
    command = ["eval", "-b", "humaneval", "--model", "smollm2", "--limit", "10", "--max-tokens", "256"]
    result = runner.invoke(app, [*command, "--threads", "1", "--output", str(tmp_path)])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["humaneval"]["tasks"] == 10 and summary["humaneval"]["samples"] == 10
    assert summary["humaneval"]["tasks_missing"] == 154
    records = [json.loads(line) for line in (tmp_path / "samples.jsonl").read_text().splitlines()]
    assert len(records) == 10 and all(r["status"] for r in records)
    assert all("solution" in r and r["generation"]["error"] is None for r in records)  # instruct mode: chat model
    generation = json.loads((tmp_path / "generation.json").read_text())
    assert generation["mode"] == "instruct" and generation["usage"]["calls"] == 10
    assert "codemill evaluation" in (tmp_path / "report.html").read_text()

    again = runner.invoke(app, [*command, "--threads", "1", "--output", str(tmp_path)])
    assert again.exit_code == 0, again.output
    assert json.loads((tmp_path / "generation.json").read_text())["usage"]["cache_hits"] == 10
    resumed = json.loads((tmp_path / "summary.json").read_text())
    assert resumed["config"].pop("date") and summary["config"].pop("date")  # when each scoring ran: the rest is equal
    assert resumed == summary


def test_eval_through_the_server_matches_the_embedded_backend(tmp_path: Path, llama_server: str) -> None:
    runner = CliRunner()
    texts = {}
    for name, spec in (("embedded", "smollm2"), ("server", llama_server)):
        output = tmp_path / name
        command = ["eval", "-b", "humaneval", "--model", spec, "--mode", "base", "--limit", "3", "--max-tokens", "96"]
        result = runner.invoke(app, [*command, "--output", str(output), "--no-cache"])
        assert result.exit_code == 0, result.output
        texts[name] = [json.loads(line)["completion"] for line in (output / "samples.jsonl").read_text().splitlines()]
    assert texts["server"] == texts["embedded"]
