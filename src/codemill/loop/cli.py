"""``codemill loop RECIPE.yaml --rounds N --output DIR``: evaluate, find gaps, synthesise, verify, train, again."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from codemill.clikit import err, fail, out

__all__ = ["loop"]


def loop(
    recipe: Annotated[
        Path | None, typer.Argument(help="A loop recipe (YAML); default: the shipped configs/loop.yaml.")
    ] = None,
    rounds: Annotated[int, typer.Option(min=1, help="Improvement rounds after the starting evaluation.")] = 2,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Rounds, models, data, loop.json, report.html.")
    ] = Path("loop-out"),
) -> None:
    """Close the loop: evaluate the model, turn its failures into gaps, synthesise verified data for them, train,
    evaluate again — N rounds, resumable (a killed loop restarts at the first unfinished phase)."""
    from importlib.resources import files

    from rich.table import Table

    from codemill.llm import LLMError
    from codemill.loop.engine import run_loop
    from codemill.loop.recipe import load_loop_recipe
    from codemill.pipeline.recipe import RecipeError
    from codemill.synth.engine import SynthError

    path = recipe or Path(str(files("codemill") / "configs" / "loop.yaml"))
    try:
        loaded = load_loop_recipe(path)
        result = run_loop(loaded, rounds, output, lambda message: err.print(f"[dim]{message}[/]"))
    except (RecipeError, SynthError, LLMError, ValueError, RuntimeError) as error:
        fail(str(error))
    table = Table(title=f"codemill loop — {loaded.name} ({result.seconds:.0f} s)")
    keys = sorted({k for r in result.rounds for k, v in r["eval"]["summary"].items() if "pass@1" in v})
    for column in ("round", "model", *keys, "accepted"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for entry in result.rounds:
        summary = entry["eval"]["summary"]
        accepted = str((entry.get("synth") or {}).get("accepted", "-"))
        cells = [f"{100 * summary[k]['pass@1']:.2f}%" if k in summary else "-" for k in keys]
        table.add_row(str(entry["round"]), entry["model"], *cells, accepted)
    out.print(table)
    out.print(f"report: {output / 'report.html'}", soft_wrap=True)
