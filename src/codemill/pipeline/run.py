"""One call that runs a recipe end to end: plan, run every stage's tasks and the final steps, add up, check.

It returns the run's statistics (also in ``stats.json``); ``report.html`` is the command's to render from them
(``codemill curate``: :func:`codemill.report.write_report`), so the engine knows nothing of reports.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from codemill.data.progress import read_progress
from codemill.pipeline.executors import ExecutorName, default_workers, make_executor
from codemill.pipeline.explain import explanation_lines
from codemill.pipeline.recipe import Recipe
from codemill.pipeline.runner import (
    RunError,
    RunFailed,
    RunLayout,
    final_input,
    kept_rows,
    load_final_steps,
    load_run,
    prepare,
    run_final,
    run_phase_task,
    run_shard,
    summarise,
)
from codemill.pipeline.step import GlobalStep


class ShardRate:
    """What a stage's bar says beside its shard count: documents and bytes per second of this run, and the
    documents kept and rejected so far (from each finished shard's counts)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.docs = self.bytes = self.kept = self.rejected = 0

    def add(self, result: dict[str, Any]) -> str:
        steps = result.get("steps") or []
        if steps:
            self.docs += steps[0]["in"]
            self.bytes += steps[0]["bytes_in"]
            self.kept += steps[-1]["kept"]
            self.rejected += sum(step["rejected"] for step in steps)
        seconds = max(time.perf_counter() - self.started, 1e-9)
        return (
            f"shards · {self.docs / seconds:,.0f} docs/s · {self.bytes / seconds / 1e6:,.1f} MB/s · "
            f"kept {self.kept:,} · rejected {self.rejected:,}"
        )


def progress_enabled() -> bool:
    """Progress bars on an interactive terminal; quiet in CI and when output goes to a file."""
    return sys.stderr.isatty() and not os.environ.get("CI")


def curate(
    recipe: Recipe,
    inputs: list[Path],
    output: Path,
    executor: ExecutorName = "local",
    workers: int | None = None,
    overwrite: bool = False,
    ray_address: str | None = None,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Run ``recipe`` over ``inputs`` into ``output``; resumes an interrupted run of the same recipe and input."""
    workers = workers or default_workers()
    started = time.perf_counter()
    layout, n = prepare(recipe, inputs, output, overwrite=overwrite)
    _, stages = load_run(layout)
    show = progress_enabled() if progress is None else progress
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[unit]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, disable=not show) as bar, make_executor(executor, workers, ray_address) as pool:
        for k, steps in enumerate(stages):
            if k > 0:
                _run_phases(layout, steps[0], k, n, len(stages), pool, bar)  # type: ignore[arg-type]
            todo = [(str(layout.root), k, i, n) for i in range(n) if not layout.done(k, i).exists()]
            names = ", ".join(s.name for s in steps) or "read"
            task = bar.add_task(f"stage {k} ({names})", total=n, completed=n - len(todo), unit="shards")
            rate = ShardRate()
            for result in pool.map(run_shard, todo):
                bar.update(task, advance=1, unit=rate.add(result))
        failure = _run_finals(layout, n, len(stages), pool, bar)
    stats = summarise(layout, n, time.perf_counter() - started, failure)
    if failure is not None:
        raise RunFailed("\n".join([failure, *explanation_lines(stats)]), stats)
    return stats


def _run_finals(layout: RunLayout, shards: int, stages: int, pool: Any, bar: Progress) -> str | None:
    """Run the final steps one after the other (each may read the one before); why they could not, or None.

    A run that kept nothing has nothing to mix or pack: its final steps are not run, and the run says so."""
    finals = load_final_steps(layout)
    if finals and kept_rows(layout, shards, stages) == 0:
        return f"nothing kept, so the final steps ({', '.join(s.name for s in finals)}) did not run"
    for k, step in enumerate(finals):
        done = layout.final_done(k).exists()
        total = step.passes * input_rows(final_input(layout, finals, k)) or None
        task = bar.add_task(f"final {step.name} -> {step.folder}/", total=total, completed=0, unit="documents")
        if done:
            bar.update(task, total=1, completed=1, unit="")
            continue
        try:
            _run_watched(pool, layout, k, lambda p, task=task: bar.update(task, completed=p[0], unit=p[1]))
        except RunError as exc:
            return str(exc)
        bar.update(task, total=total or 1, completed=total or 1)
    return None


def input_rows(folder: Path) -> int:
    """Documents in a final step's input folder (its ``data/`` where it has one, as the readers take it), from the
    Parquet files' footers (0 if it holds none)."""
    root = folder / "data" if (folder / "data").is_dir() else folder
    return sum(pq.ParquetFile(f).metadata.num_rows for f in sorted(root.rglob("*.parquet")))


def _run_watched(pool: Any, layout: RunLayout, k: int, show: Callable[[tuple[int, str]], None]) -> None:
    """Run final step ``k`` on the pool in a thread, moving its bar from the documents its worker has read."""
    outcome: list[BaseException] = []

    def work() -> None:
        try:
            list(pool.map(run_final, [(str(layout.root), k)]))
        except BaseException as exc:  # re-raised in the caller's thread
            outcome.append(exc)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(0.5)
        seen = read_progress(layout.final_progress(k))
        if seen is not None:
            rate = seen["documents"] / max(seen["seconds"], 1e-9)
            show((int(seen["documents"]), f"documents read · {rate:,.0f} docs/s"))
    if outcome:
        raise outcome[0]


def _run_phases(
    layout: RunLayout, step: GlobalStep, stage: int, shards: int, stages: int, pool: Any, bar: Progress
) -> None:
    """Run the phases of the global step that opens ``stage``, each phase's tasks in parallel."""
    ctx = layout.context(stage, shards, stages)
    for phase, count in step.phases(ctx):
        todo = [(str(layout.root), stage, shards, phase, t) for t in range(count)]
        todo = [args for args in todo if not layout.phase_done(stage, phase, args[-1]).exists()]
        task = bar.add_task(
            f"stage {stage} {step.name}: {phase}", total=count, completed=count - len(todo), unit="tasks"
        )
        for _ in pool.map(run_phase_task, todo):
            bar.advance(task)
