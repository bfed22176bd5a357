"""One call that runs a recipe end to end: plan, run the shards, add up, check, write the report."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from codemill.pipeline.executors import ExecutorName, default_workers, run_shards
from codemill.pipeline.recipe import Recipe
from codemill.pipeline.runner import pending_shards, prepare, summarise


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
    report: bool = True,
) -> dict[str, Any]:
    """Run ``recipe`` over ``inputs`` into ``output``; resumes an interrupted run of the same recipe and input."""
    workers = workers or default_workers()
    started = time.perf_counter()
    layout, n = prepare(recipe, inputs, output, overwrite=overwrite)
    todo = pending_shards(layout, n)
    show = progress_enabled() if progress is None else progress
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("shards"),
        TextColumn("{task.fields[docs]:,} docs"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, disable=not show, transient=False) as bar:
        task = bar.add_task(f"curate ({executor}, {workers} workers)", total=n, completed=n - len(todo), docs=0)
        docs = 0
        for result in run_shards(executor, str(layout.root), todo, workers, ray_address):
            docs += result["steps"][0]["in"]
            bar.update(task, advance=1, docs=docs)
    stats = summarise(layout, n, time.perf_counter() - started)
    if report:
        from codemill.report import write_report  # matplotlib is imported only when it is needed

        write_report(stats, layout.root / "report.html")
    return stats
