"""``codemill eval``: score completions made elsewhere, or the benchmarks' own reference solutions.

A Typer sub-app; the main CLI mounts its callback as the single command ``eval`` (:data:`codemill.cli.COMMANDS`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from codemill.clikit import command_group, err, out
from codemill.clikit import fail as _fail
from codemill.llm.spec import DEFAULT_MODEL, SPEC_HELP

if TYPE_CHECKING:
    from codemill.evaluate.base import Benchmark
    from codemill.evaluate.generate import GenerationPlan

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
    data: Annotated[
        Path | None,
        typer.Option(
            help="Your own tasks: a JSONL in the benchmark's public format (one benchmark), not the packaged copy."
        ),
    ] = None,
    completions: Annotated[
        Path | None,
        typer.Option(help='JSONL of {"task_id", "completion"} or {"task_id", "solution"} rows (repeats = samples).'),
    ] = None,
    solutions: Annotated[
        str | None, typer.Option(help="'canonical': score the benchmarks' reference solutions (the self-check).")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help=f"Generate the answers with this model, then score (the default: {DEFAULT_MODEL}). {SPEC_HELP}",
        ),
    ] = None,
    mode: Annotated[
        str, typer.Option(help="auto (chat if the model has a chat template), base (completion) or instruct (chat).")
    ] = "auto",
    samples: Annotated[int, typer.Option(min=1, help="Answers per task (pass@k needs k or more).")] = 1,
    temperature: Annotated[float, typer.Option(min=0.0, help="0 is greedy.")] = 0.0,
    top_p: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.95,
    max_tokens: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Most tokens per answer (default: the report's budget per benchmark: HumanEval/MBPP chat 1024, "
            "MultiPL-E chat 4096, completions 512).",
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N tasks of each benchmark.")] = None,
    split: Annotated[
        str | None,
        typer.Option(
            help="Only one half of each benchmark's tasks, halved by a hash of the task id: 'gap' (the half the loop "
            "steers synthesis by) or 'held-out' (the half it measures on)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Sample i of a task uses seed + i.")] = 0,
    cache: Annotated[
        Path | None,
        typer.Option(help="Answer cache (SQLite); default OUTPUT/llm-cache.sqlite, or codemill's user cache folder."),
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Ask the model again for every prompt.")] = False,
    threads: Annotated[int | None, typer.Option(help="llama.cpp threads (default: half the cores).")] = None,
    llm_concurrency: Annotated[int | None, typer.Option(help="Requests in flight to a server (default 8).")] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write samples.jsonl, summary.json and report.html here."),
    ] = None,
    concurrency: Annotated[int | None, typer.Option(help="Programs run at once (default: one per core).")] = None,
) -> None:
    """Score a model's answers on code benchmarks and print pass@k per benchmark.

    The answers come from --model (generated here, cached, resumable; by default the shipped
    Qwen2.5-Coder-0.5B-Instruct), from --completions FILE (made elsewhere) or from the benchmarks' own reference
    solutions (--solutions canonical, the self-check).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from codemill.evaluate.base import read_jsonl
    from codemill.evaluate.generate import GenerationPlan
    from codemill.evaluate.score import canonical_rows, resolve, score, write
    from codemill.evaluate.split import SPLITS
    from codemill.report.eval_html import write_eval_report

    if sum(x is not None for x in (completions, solutions, model)) > 1:
        _fail("give one of --model SPEC, --completions FILE or --solutions canonical")
    if completions is None and solutions is None:
        model = model or DEFAULT_MODEL
    if solutions is not None and solutions != "canonical":
        _fail(f"--solutions takes 'canonical', not {solutions!r}")
    try:
        benchmarks = resolve(benchmark, data)
        for b in benchmarks:
            b.tasks()
    except (KeyError, ValueError) as error:
        _fail(str(error.args[0]))
    except OSError as error:
        _fail(f"{data}: {error}")
    generation: dict[str, object] = {}
    if model is not None:
        if split is not None and split not in SPLITS:
            _fail(f"--split is {' or '.join(SPLITS)}, not {split!r}")
        plan = GenerationPlan("base", samples, temperature, top_p, max_tokens, seed, limit, split)
        cache_path = None if no_cache else cache or (output / "llm-cache.sqlite" if output else None)
        rows, generation = _generate(benchmarks, model, mode, plan, cache_path, no_cache, threads, llm_concurrency)
    elif completions is not None:
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
            *(f"{100 * entry[k]:.2f}%" if k in entry else "-" for k in ("pass@1", "pass@10", "pass@100")),
            statuses,
        )
    out.print(table)
    for key, entry in scored.summary.items():
        if entry.get("tasks_missing"):
            err.print(f"[yellow]{key}: {entry['tasks_missing']} tasks have no samples (not counted)[/]")
    if output is not None:
        write(scored, output, generation)
        write_eval_report(output / "report.html", scored.summary, scored.records, dict(generation or {}))
        err.print(f"wrote {output / 'samples.jsonl'}, {output / 'summary.json'} and {output / 'report.html'}")


def _generate(
    benchmarks: list[Benchmark],
    spec: str,
    mode: str,
    plan: GenerationPlan,
    cache_path: Path | None,
    no_cache: bool,
    threads: int | None,
    llm_concurrency: int | None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """:func:`generate_with_model` with a progress bar and a one-line account of the model's work."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from codemill.evaluate.generate import generate_with_model
    from codemill.llm import LLMError
    from codemill.llm.models import cache_dir

    if plan.samples > 1 and plan.temperature == 0:
        err.print("[yellow]--samples > 1 with --temperature 0: greedy samples are identical (use --temperature)[/]")
    cache = None if no_cache else cache_path or cache_dir() / "llm-cache.sqlite"
    columns = (TextColumn("generate"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=err, transient=True) as progress:
            bar = progress.add_task("generate", total=None)
            rows, info = generate_with_model(
                benchmarks,
                spec,
                mode,
                plan,
                cache,
                threads,
                llm_concurrency,
                lambda done, total: progress.update(bar, completed=done, total=total),
            )
    except (LLMError, ValueError) as error:
        _fail(str(error))
    usage = info["usage"]
    seconds = usage["seconds"] or 0.0
    err.print(
        f"generated {usage['prompts']} answers ({info['mode']} mode): {usage['cache_hits']} from the cache, "
        f"{usage['calls']} model calls ({usage['errors']} failed), {usage['completion_tokens']} tokens, "
        f"{usage['completion_tokens'] / seconds if seconds else 0:.1f} tokens/s"
    )
    return rows, info


if __name__ == "__main__":
    app()
