"""``codemill eval``: score completions made elsewhere, or the benchmarks' own reference solutions.

A Typer sub-app; the main CLI mounts it with ``app.add_typer(eval_app, name="eval")`` (or as a single command).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from codemill.clikit import command_group, err, out
from codemill.clikit import fail as _fail

__all__ = ["app"]

app = command_group(
    "Evaluate code models: score completions on HumanEval, MBPP(+), MultiPL-E, HumanEval-FIM, CRUXEval."
)


@app.callback(invoke_without_command=True)
def evaluate(
    benchmark: Annotated[
        str,
        typer.Option(
            "--benchmark",
            "-b",
            help="Comma list: humaneval, mbpp, mbpp+, multipl-e (every language), multipl-e/LANG (java, cpp, cs, "
            "sh…), humaneval-fim, cruxeval-i, cruxeval-o.",
        ),
    ] = "humaneval",
    completions: Annotated[
        Path | None,
        typer.Option(help='JSONL of {"task_id", "completion"} or {"task_id", "solution"} rows (repeats = samples).'),
    ] = None,
    solutions: Annotated[
        str | None, typer.Option(help="'canonical': score the benchmarks' reference solutions (the self-check).")
    ] = None,
    model: Annotated[str | None, typer.Option(help="A model backend (not built yet).")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write samples.jsonl and summary.json here.")
    ] = None,
    concurrency: Annotated[int | None, typer.Option(help="Programs run at once (default: one per core).")] = None,
) -> None:
    """Score completions (or the reference solutions) and print pass@k per benchmark."""
    from codemill.evaluate.base import read_jsonl
    from codemill.evaluate.score import canonical_rows, resolve, score, write

    if model is not None:
        _fail("model backends are not built yet; use --completions FILE.jsonl (or --solutions canonical)")
    if (completions is None) == (solutions is None):
        _fail("give exactly one of --completions FILE or --solutions canonical")
    if solutions is not None and solutions != "canonical":
        _fail(f"--solutions takes 'canonical', not {solutions!r}")
    try:
        benchmarks = resolve(benchmark)
    except (KeyError, ValueError) as error:
        _fail(str(error.args[0]))
    if completions is not None:
        if not completions.is_file():
            _fail(f"{completions}: no such file")
        rows = list(read_jsonl(completions))
    else:
        rows = [row for b in benchmarks for row in canonical_rows(b)]
        empty = [b.key for b in benchmarks if not any(r["benchmark"] == b.key for r in rows)]
        if empty:
            err.print(f"[yellow]no reference solutions for {', '.join(empty)}: not scored[/]")
    columns = (TextColumn("sandbox"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        bar = progress.add_task("run", total=None)
        try:
            scored = score(
                benchmarks, rows, concurrency, lambda done, total: progress.update(bar, completed=done, total=total)
            )
        except (KeyError, ValueError, RuntimeError) as error:
            _fail(str(error))
    table = Table(title=f"codemill eval ({scored.seconds:.1f} s)")
    for column in ("benchmark", "tasks", "samples", "pass@1", "pass@10", "pass@100", "statuses"):
        if column == "statuses":
            table.add_column(column, overflow="fold")
        else:
            justify = "left" if column == "benchmark" else "right"
            table.add_column(column, justify=justify, no_wrap=True, min_width=18 if column == "benchmark" else None)
    for key, entry in scored.summary.items():
        statuses = ", ".join(f"{k} {v}" for k, v in entry.get("statuses", {}).items())
        if "edit_similarity" in entry:
            statuses = (statuses + f"; ES {entry['edit_similarity']:.1f}").lstrip("; ")
        table.add_row(
            key,
            str(entry["tasks"]),
            str(entry["samples"]),
            *(f"{entry[k]:.2f}" if k in entry else "-" for k in ("pass@1", "pass@10", "pass@100")),
            statuses,
        )
    out.print(table)
    for key, entry in scored.summary.items():
        if entry.get("tasks_missing"):
            err.print(f"[yellow]{key}: {entry['tasks_missing']} tasks have no samples (not counted)[/]")
    if output is not None:
        write(scored, output)
        err.print(f"wrote {output / 'samples.jsonl'} and {output / 'summary.json'}")


if __name__ == "__main__":
    app()
