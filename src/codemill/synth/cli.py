"""``codemill synth RECIPE.yaml --output DIR``: multilingual multi-agent instruction synthesis."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from codemill.clikit import err, fail, out

__all__ = ["synth"]


def synth(
    recipe: Annotated[
        Path | None, typer.Argument(help="A synthesis recipe (YAML); default: the shipped configs/synth.yaml.")
    ] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where outcomes, SFT/DPO data and the report go.")
    ] = Path("synth-out"),
    overwrite: Annotated[bool, typer.Option(help="Start again instead of resuming what is in --output.")] = False,
) -> None:
    """Synthesise instruction data: one agent per language discusses, remembers, solves, tests and is verified.

    Writes sft.jsonl (ChatML messages), dpo.jsonl, metadata.parquet, outcomes.jsonl (every candidate with its
    transcript) and report.html. Killed and started again with the same command, it resumes without asking any
    model twice.
    """
    from importlib.resources import files

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from codemill.llm import LLMError
    from codemill.pipeline.recipe import RecipeError
    from codemill.report.synth_html import write_synth_report
    from codemill.synth.engine import SynthError, run_synth
    from codemill.synth.recipe import load_synth_recipe

    path = recipe or Path(str(files("codemill") / "configs" / "synth.yaml"))
    try:
        loaded = load_synth_recipe(path)
    except RecipeError as error:
        fail(str(error))
    columns = (
        TextColumn("synth"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=err, transient=True) as progress:
            bar = progress.add_task("", total=loaded.budget.candidates)
            run = run_synth(
                loaded,
                output,
                overwrite,
                lambda r, s: progress.update(
                    bar, completed=s.made, description=f"round {r}: {s.accepted} accepted, {s.refused} refused"
                ),
            )
    except (SynthError, LLMError, ValueError) as error:
        fail(str(error))
    write_synth_report(output / "report.html", run.outcomes, run.synergy, run.coverage)
    summary = run.summary
    table = Table(title=f"codemill synth — {loaded.name} ({summary.seconds:.0f} s, stopped by {summary.stopped_by})")
    for column in ("language", "made", "accepted"):
        table.add_column(column, justify="left" if column == "language" else "right")
    for language, cell in summary.per_language.items():
        table.add_row(language, str(cell["made"]), str(cell["accepted"]))
    out.print(table)
    out.print(
        f"{summary.made} candidates in {summary.rounds} rounds ({summary.replayed_rounds} replayed): "
        f"{summary.refused} refused by memory, {summary.passed} passed the sandbox, {summary.accepted} accepted, "
        f"{summary.decontaminated} decontaminated; {summary.model_calls} model calls, "
        f"{summary.completion_tokens} tokens "
        f"({summary.calls_this_run} calls in this run, {summary.cache_hits} answers from the cache)",
        soft_wrap=True,
    )
    out.print(f"report: {output / 'report.html'}", soft_wrap=True)
