"""HumanEval-FIM single-line infilling (SantaCoder's benchmark: Python, Java, JavaScript; 4,792 tasks).

Scored as Qwen2.5-Coder's ``hm_fim/humaneval_fim.py``: the first line of the generation (leading newlines
skipped), stripped, against the stripped ``canonical_solution``: exact match (reported as ``pass@1``, the
report's metric) and edit similarity (``fuzz.ratio``: 100 × (1 - Indel distance / total length)). Nothing runs.
Names repeat across languages, so a task id is ``LANGUAGE/NAME`` (``py/humaneval-HumanEval_0_….json-L12``);
a row may instead give ``task_id: NAME`` with ``language``.
The base prompt is Qwen2.5's PSM layout ``<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from typing import Any

from codemill.evaluate.base import COMMON_STOP, Ask, Benchmark, Judgement, Task, read_jsonl
from codemill.sandbox.schema import Result

__all__ = ["HumanEvalFim", "edit_similarity", "first_line"]

DATA = resources.files("codemill") / "data" / "benchmarks" / "humaneval-singleline-infilling.parquet"


def first_line(generation: str) -> str:
    return generation.lstrip("\r\n").split("\n", 1)[0].strip()


def edit_similarity(a: str, b: str) -> float:
    """``fuzz.ratio``: 100 × 2·LCS / (len a + len b), one minus the normalised Indel distance (100 for two empties)."""
    if not a and not b:
        return 100.0
    previous = [0] * (len(b) + 1)
    for char in a:
        current = [0]
        for j, other in enumerate(b):
            current.append(previous[j] + 1 if char == other else max(previous[j + 1], current[j]))
        previous = current
    return 100.0 * 2 * previous[-1] / (len(a) + len(b))


class HumanEvalFim(Benchmark):
    key = "humaneval-fim"
    reference_kind = "completion"
    stop_words = COMMON_STOP

    def load(self) -> list[Task]:
        import pyarrow.parquet as pq

        if self.data is not None:  # the public JSONL (SantaCoder's layout): task_id, prompt, suffix, canonical_solution
            rows = [
                {"language": "python", "name": row.get("name") or row["task_id"], **row}
                for row in read_jsonl(self.data)
            ]
        else:
            with DATA.open("rb") as raw:
                rows = pq.read_table(raw).to_pylist()
        return [Task(f"{row['language']}/{row['name']}", row["prompt"], "", row) for row in rows]

    def task_key(self, row: Mapping[str, Any]) -> str:
        task_id = str(row["task_id"])
        return f"{row['language']}/{task_id}" if row.get("language") and "/" not in task_id else task_id

    def prompt(self, task: Task) -> str:
        return f"<|fim_prefix|>{task.prompt}<|fim_suffix|>{task.data['suffix']}<|fim_middle|>"

    def instruct_prompt(self, task: Task) -> str:
        return self.prompt(task)

    def generation_prompt(self, task: Task, mode: str) -> Ask:
        """Infilling is a base-model task in both modes: the FIM tokens are the prompt."""
        return super().generation_prompt(task, "base")

    def group(self, task: Task) -> str:
        return str(task.data["language"])

    def code(self, task: Task, row: Mapping[str, Any]) -> tuple[str, str]:
        text = str(row["solution"] if row.get("solution") is not None else row["completion"])
        return text, first_line(text)

    def canonical(self, task: Task) -> str:
        return str(task.data["canonical_solution"]) + "\n" + str(task.data["suffix"])

    def request(self, task: Task, code: str, request_id: str) -> None:
        return None

    def judge(self, task: Task, code: str, result: Result | None) -> Judgement:
        truth = str(task.data["canonical_solution"]).strip()
        exact = code == truth
        similarity = edit_similarity(code, truth)
        message = "" if exact else f"first line {code[:120]!r} != {truth[:120]!r}"
        return Judgement(exact, "passed" if exact else "failed", message, {"edit_similarity": similarity})
