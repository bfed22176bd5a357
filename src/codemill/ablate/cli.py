"""``codemill ablate RECIPE.yaml -o DIR``: train small models on arms cut by quality level or mix ratio."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from codemill.clikit import err, fail, out

__all__ = ["ablate"]


def ablate(
    recipe: Annotated[
        Path | None, typer.Argument(help="An ablation recipe (YAML); default: the shipped configs/ablate.yaml.")
    ] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Split, arms, runs, ablation.json, report.html.")
    ] = Path("ablate-out"),
    curated: Annotated[
        Path | None, typer.Option(help="The curated run to cut the arms from (overrides the recipe's curated:).")
    ] = None,
) -> None:
    """Train a small Qwen2-architecture model from scratch on each arm (the documents of a quality level or more,
    or a code:text:math ratio, all at one token budget), with several seeds, and score each on held-out code, text
    and math that no arm saw: the report's Figure 1 and Table 3 in miniature. Resumable per arm and seed."""
    from importlib.resources import files

    from rich.table import Table

    from codemill.ablate.engine import AblationError, run_ablation
    from codemill.ablate.recipe import load_ablation_recipe
    from codemill.llm import LLMError
    from codemill.pipeline.recipe import RecipeError
    from codemill.report.ablate_html import write_ablation_report

    path = recipe or Path(str(files("codemill") / "configs" / "ablate.yaml"))
    try:
        loaded = load_ablation_recipe(path)
        if curated is not None:
            loaded.curated = curated
        summary = run_ablation(loaded, output, lambda message: err.print(f"[dim]{message}[/]"))
    except (RecipeError, AblationError, LLMError, OSError, ValueError) as error:
        fail(str(error))
    for experiment, rows in summary["experiments"].items():
        sets = [k for k in rows[0]["heldout"] if k != "mean"]
        table = Table(title=f"{experiment}: held-out bits per byte, mean ± 95% interval over seeds (lower is better)")
        for column in ("arm", *sets, "mean", "held-out in arm"):
            table.add_column(column, justify="left" if column == "arm" else "right")
        for row in rows:
            cells = [_cell(row["heldout"].get(k, {}).get("bpb")) for k in [*sets, "mean"]]
            table.add_row(row["arm"], *cells, str(row["heldout_in_arm"]))
        out.print(table)
    for line in summary.get("verdicts", []):
        out.print(f"· {line}", soft_wrap=True)
    report = write_ablation_report(output / "report.html", summary)
    out.print(f"{summary['seconds']:.0f} s of training and scoring; report: {report}", soft_wrap=True)


def _cell(spread: dict | None) -> str:
    if not spread:
        return "-"
    return f"{spread['mean']:.4f} ± {spread['ci95']:.4f}" if spread["n"] > 1 else f"{spread['mean']:.4f}"
