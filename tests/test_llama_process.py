"""A native crash of the embedded model is a clear error and a resumable run, never a silently dead process.

The crash is real: the process running llama.cpp is sent SIGSEGV while it answers, which is what an unsuitable
CPU kernel (AMX in these VMs) did before the portable build.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers import LLAMA_N_CTX

from codemill.llm import LLM, Cache, Prompt, Sampling, backend_from_spec
from codemill.llm.llama_process import LlamaProcess, ModelCrashed
from codemill.llm.llamacpp import LlamaCpp
from codemill.llm.models import shipped_model_path
from codemill.llm.perplexity import PerplexityScorer
from codemill.llm.schema import ModelUnavailable

pytestmark = pytest.mark.slow

PROMPTS = [Prompt.chat(f"Write a Python function that returns {n} times its argument.") for n in (2, 3, 4)]
SAMPLING = Sampling(max_tokens=24)


def smollm2() -> LlamaCpp:
    backend = backend_from_spec("smollm2", n_ctx=LLAMA_N_CTX, threads=1)
    assert isinstance(backend, LlamaCpp)
    return backend


def test_a_model_process_killed_by_sigsegv_is_a_clear_error_and_the_run_resumes(tmp_path: Path) -> None:
    backend = smollm2()
    llm = LLM(backend, Cache(tmp_path / "cache.sqlite"))

    def crash_after_the_first_answer(index: int, _answer: object) -> None:
        if index == 0:
            os.kill(backend.process.pid or 0, signal.SIGSEGV)

    with pytest.raises(ModelCrashed) as crashed:
        llm.generate_many(PROMPTS, SAMPLING, on_done=crash_after_the_first_answer)
    message = str(crashed.value)
    assert "SmolLM2-135M-Instruct.Q4_1.gguf" in message and "signal SIGSEGV" in message
    assert "llama.cpp" in message and "run the same command again" in message and "--model http://" in message
    assert "generation" in message  # what the model was doing
    llm.close()

    resumed = LLM(smollm2(), Cache(tmp_path / "cache.sqlite"))
    answers = resumed.generate_many(PROMPTS, SAMPLING)
    assert resumed.usage.cache_hits == 1 and resumed.usage.calls == 2
    assert all(a.error is None and a.text for a in answers)
    resumed.close()


def test_a_crash_is_reported_for_perplexity_too_and_the_next_call_starts_a_new_process() -> None:
    scorer = PerplexityScorer("smollm2", window=64, n_threads=1)
    first = scorer.score("def add(a, b):\n    return a + b\n")
    pid = scorer.process.pid
    assert pid is not None and first.tokens > 0
    os.kill(pid, signal.SIGABRT)
    with pytest.raises(ModelCrashed, match=r"signal SIGABRT.*perplexity"):
        scorer.score("x = 1\n")
    again = scorer.score("def add(a, b):\n    return a + b\n")  # a fresh process, the same numbers
    assert again == first and scorer.process.pid not in (None, pid)
    scorer.close()
    assert scorer.process.pid is None


def test_a_file_llama_cpp_cannot_load_stops_the_run_with_its_name(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\x00" * 64)
    llm = LLM(LlamaCpp(broken, n_ctx=256, n_threads=1))
    with pytest.raises(ModelUnavailable, match=r"broken\.gguf: llama\.cpp could not load it"):
        llm.generate_many([Prompt(text="def f():")], SAMPLING)
    llm.close()


def test_the_child_ends_when_its_pipe_closes() -> None:
    process = LlamaProcess({"model_path": str(shipped_model_path("smollm2")), "n_ctx": 256, "verbose": False}, "test")
    assert "general.name" in process.call("metadata")
    child = process._process
    assert child is not None
    process.close()
    assert not child.is_alive() and child.exitcode == 0


def _model_process_of(parent: int) -> int | None:
    """The pid of the spawned llama.cpp child of ``parent`` (not multiprocessing's resource tracker)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"spawn_main" in cmdline:
            return int(entry.name)
    return None


def _answers_cached(path: Path) -> int:
    try:
        with sqlite3.connect(path, timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM answers").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_codemill_eval_whose_model_crashes_says_so_and_resumes(tmp_path: Path) -> None:
    command = [
        sys.executable, "-c", "from codemill.cli import app; app()", "eval", "-b", "humaneval", "--model", "smollm2",
        "--limit", "3", "--max-tokens", "48", "--threads", "1", "--output", str(tmp_path),
    ]  # fmt: skip
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed: list[int] = []

    def kill_the_model_after_one_answer() -> None:
        deadline = time.monotonic() + 300
        while run.poll() is None and time.monotonic() < deadline:
            child = _model_process_of(run.pid)
            if child is not None and _answers_cached(tmp_path / "llm-cache.sqlite") >= 1:
                os.kill(child, signal.SIGSEGV)
                killed.append(child)
                return
            time.sleep(0.02)

    watcher = threading.Thread(target=kill_the_model_after_one_answer)
    watcher.start()
    _, stderr = run.communicate(timeout=600)
    watcher.join()
    assert killed, "the model process was never seen"
    assert run.returncode != 0
    assert "signal SIGSEGV" in stderr and "SmolLM2-135M-Instruct.Q4_1.gguf" in stderr, stderr
    assert "Traceback" not in stderr

    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    usage = json.loads((tmp_path / "generation.json").read_text())["usage"]
    assert usage["cache_hits"] >= 1 and usage["cache_hits"] + usage["calls"] == 3
