"""CRUXEval (800 Python functions): input prediction (``cruxeval-i``) and output prediction (``cruxeval-o``).

Scored as CRUXEval's ``evaluate_generations.py`` does: the answer ``g`` is executed as
``{code}\\nassert {output} == {g}`` (3 s), where for input prediction ``g`` is a call ``f(...)`` (an answer
without ``f(`` fails) and for output prediction a value (an answer that contains the call ``f(input)`` fails).
The answer is taken from ``[ANSWER] … [/ANSWER]`` when present, ``assert`` removed, and the side of ``==`` that
holds the prediction kept. Prompts are CRUXEval's direct (non-CoT) prompts with their two worked examples.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from codemill.evaluate.base import COMMON_STOP, Benchmark, Judgement, Task, python_exec_request
from codemill.sandbox.schema import LimitsOverride, Request, Result

__all__ = ["CruxEval", "answer"]

DATA = resources.files("codemill") / "data" / "benchmarks" / "cruxeval.jsonl.gz"
LIMITS = LimitsOverride(cpu_seconds=3, wall_seconds=6)

OUTPUT_PROMPT = """You are given a Python function and an assertion containing an input to the function. \
Complete the assertion with a literal (no unsimplified expressions, no function calls) containing the output when \
executing the provided code on the given input, even if the function is incorrect or incomplete. Do NOT output any \
extra information. Provide the full assertion with the correct output in [ANSWER] and [/ANSWER] tags, following \
the examples.

[PYTHON]
def f(n):
    return n
assert f(17) == ??
[/PYTHON]
[ANSWER]
assert f(17) == 17
[/ANSWER]

[PYTHON]
def f(s):
    return s + "a"
assert f("x9j") == ??
[/PYTHON]
[ANSWER]
assert f("x9j") == "x9ja"
[/ANSWER]

[PYTHON]
{code}
assert f({input}) == ??
[/PYTHON]
[ANSWER]
"""

INPUT_PROMPT = """You will be given a function f and an output in the form f(??) == output. Find any input such \
that executing f on the input leads to the given output. There may be multiple answers, but you should only output \
one. In [ANSWER] and [/ANSWER] tags, complete the assertion with one such input that will produce the output when \
executing the function.

[PYTHON]
def f(my_list):
    count = 0
    for i in my_list:
        if len(i) % 2 == 0:
            count += 1
    return count
assert f(??) == 3
[/PYTHON]
[ANSWER]
assert f(["mq", "px", "zy"]) == 3
[/ANSWER]

[PYTHON]
def f(s1, s2):
    return s1 + s2
assert f(??) == "banana"
[/PYTHON]
[ANSWER]
assert f("ba", "nana") == "banana"
[/ANSWER]

[PYTHON]
{code}
assert f(??) == {output}
[/PYTHON]
[ANSWER]
"""


def answer(text: str, mode: str) -> str:
    """The prediction in a model's text: inside ``[ANSWER]`` tags if any, ``assert`` dropped, one side of ``==``."""
    if "[ANSWER]" in text:
        text = text.rsplit("[ANSWER]", 1)[1]
    text = text.split("[/ANSWER]", 1)[0].strip()
    if text.startswith("assert "):
        text = text[len("assert ") :].strip()
    if "==" in text:
        left, right = text.split("==", 1)
        text = left if mode == "input" else right
    return text.strip()


class CruxEval(Benchmark):
    reference_kind = "completion"
    stop_words = (*COMMON_STOP, "[/ANSWER]")

    def __init__(self, mode: str, data: Path | None = None) -> None:
        super().__init__(data)
        if mode not in ("input", "output"):
            raise ValueError(f"CRUXEval mode is input or output, not {mode!r}")
        self.mode = mode
        self.key = "cruxeval-i" if mode == "input" else "cruxeval-o"

    def load(self) -> list[Task]:
        template = INPUT_PROMPT if self.mode == "input" else OUTPUT_PROMPT
        return [
            Task(row["id"], template.format(code=row["code"], input=row["input"], output=row["output"]), "f", row)
            for row in self.rows(DATA)
        ]

    def instruct_prompt(self, task: Task) -> str:
        return task.prompt

    def code(self, task: Task, row: Mapping[str, Any]) -> tuple[str, str]:
        text = str(row["solution"] if row.get("solution") is not None else row["completion"])
        return text, answer(text, self.mode)

    def canonical(self, task: Task) -> str:
        return f"assert f({task.data['input']}) == {task.data['output']}\n[/ANSWER]\n"

    def _refused(self, task: Task, prediction: str) -> str:
        if self.mode == "input" and "f(" not in prediction:
            return "the predicted input is not a call of f"
        if self.mode == "output" and f"f({task.data['input']})" in prediction:
            return "the predicted output calls f on the input"
        return ""

    def request(self, task: Task, code: str, request_id: str) -> Request | None:
        if self._refused(task, code):
            return None
        program = f"{task.data['code']}\nassert {task.data['output']} == {code}\n"
        return python_exec_request(program, request_id, LIMITS)

    def judge(self, task: Task, code: str, result: Result | None) -> Judgement:
        if result is None:
            return Judgement(False, "failed", self._refused(task, code))
        return super().judge(task, code, result)
