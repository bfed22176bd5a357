"""The curation commands: ``codemill curate``, ``dedup``, ``decontaminate``, ``inspect``, ``report``, ``export``.

They run a recipe (or a one-step recipe built from options) with :func:`codemill.pipeline.run.curate`, print its
summary, and render ``report.html`` from the statistics the run returned; the main CLI mounts them by name.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from codemill.clikit import fail as _fail
from codemill.clikit import out

if TYPE_CHECKING:
    from codemill.pipeline.recipe import Recipe

__all__ = ["curate", "decontaminate", "dedup", "export", "inspect", "report"]

InputsOpt = Annotated[
    list[Path],
    typer.Option(
        "--input",
        "-i",
        help="A folder of repositories, a JSONL(.gz/.zst) or Parquet file, or a folder of them. Repeat for several.",
    ),
]
OutputOpt = Annotated[
    Path,
    typer.Option(
        "--output",
        "-o",
        help="Output folder (data/, rejected/, stats.json, report.html). Rerun the same command to resume.",
    ),
]
ExecutorOpt = Annotated[str, typer.Option(help="local (process pool) or ray (a Ray cluster).")]
WorkersOpt = Annotated[int | None, typer.Option(min=1, help="Parallel workers; default: one per core.")]
FormatOpt = Annotated[
    str | None, typer.Option("--format", help="auto, repos, jsonl or parquet (overrides the recipe).")
]
ColumnsOpt = Annotated[
    str | None,
    typer.Option(
        help="Map input columns to the contract: 'stack' (The Stack's columns) or "
        "'text=content,repo=max_stars_repo_name,...' (overrides the recipe)."
    ),
]
OverwriteOpt = Annotated[bool, typer.Option(help="Replace a run of another recipe or input in --output.")]
RayAddressOpt = Annotated[str | None, typer.Option(help="Ray cluster address; default: start a local Ray.")]


def curate(
    recipe: Annotated[
        Path | None,
        typer.Argument(help="Recipe YAML; default: the shipped configs/default.yaml (the Qwen2.5-Coder recipe)."),
    ] = None,
    inputs: InputsOpt = ...,  # type: ignore[assignment]
    output: OutputOpt = ...,  # type: ignore[assignment]
    executor: ExecutorOpt = "local",
    workers: WorkersOpt = None,
    fmt: FormatOpt = None,
    columns: ColumnsOpt = None,
    overwrite: OverwriteOpt = False,
    ray_address: RayAddressOpt = None,
) -> None:
    """Curate pretraining data: read, filter, and write kept and rejected documents with their reasons.

    Examples: `codemill curate -i repos/ -o out/` (rerun it to resume a killed run);
    `codemill curate my.yaml -i the-stack.parquet --columns stack -o out/ --executor ray`.
    """
    from codemill.pipeline.recipe import RecipeError, default_recipe_path, load_recipe

    try:
        rec = load_recipe(recipe or default_recipe_path())
    except RecipeError as exc:
        _fail(str(exc))
    _run(rec, inputs, output, executor, workers, fmt, columns, overwrite, ray_address)


def dedup(
    inputs: InputsOpt = ...,  # type: ignore[assignment]
    output: OutputOpt = ...,  # type: ignore[assignment]
    threshold: Annotated[float, typer.Option(help="Jaccard similarity of word 5-gram sets.")] = 0.7,
    num_perm: Annotated[int, typer.Option(help="MinHash permutations.")] = 256,
    ngram: Annotated[int, typer.Option(help="Words per shingle.")] = 5,
    verify: Annotated[str, typer.Option(help="Check candidate pairs: exact, signature or none.")] = "exact",
    exact: Annotated[bool, typer.Option(help="Remove copies equal up to whitespace.")] = True,
    near: Annotated[bool, typer.Option(help="Remove MinHash-LSH near-duplicates.")] = True,
    survivors: Annotated[
        str,
        typer.Option(
            help="star: remove a document only for a survivor it is near itself; chain: one survivor per "
            "connected cluster (fewer kept, but a removed document may be far from its survivor)."
        ),
    ] = "star",
    executor: ExecutorOpt = "local",
    workers: WorkersOpt = None,
    fmt: FormatOpt = None,
    columns: ColumnsOpt = None,
    overwrite: OverwriteOpt = False,
    ray_address: RayAddressOpt = None,
) -> None:
    """Remove exact and near-duplicates; each removed document names its survivor in meta.duplicate_of.

    The survivor of a cluster has the highest quality, then the most repository stars, then the smallest id.
    """
    step = {
        "step": "dedup",
        "threshold": threshold,
        "num_perm": num_perm,
        "ngram": ngram,
        "verify": verify,
        "exact": exact,
        "near": near,
        "survivors": survivors,
    }
    _run(_one_step_recipe("dedup", step), inputs, output, executor, workers, fmt, columns, overwrite, ray_address)


def decontaminate(
    inputs: InputsOpt = ...,  # type: ignore[assignment]
    output: OutputOpt = ...,  # type: ignore[assignment]
    benchmark: Annotated[
        list[str] | None, typer.Option(help="Built-in benchmark: humaneval, mbpp, multipl-e, cruxeval. Repeat.")
    ] = None,
    extra: Annotated[
        list[str] | None,
        typer.Option(help="Your benchmark as NAME=FILE.jsonl:field1,field2 (fields joined into the text). Repeat."),
    ] = None,
    ngram: Annotated[int, typer.Option(help="Words per n-gram (whitespace split).")] = 10,
    function_names: Annotated[bool, typer.Option(help="Also drop documents defining a benchmark entry point.")] = False,
    executor: ExecutorOpt = "local",
    workers: WorkersOpt = None,
    fmt: FormatOpt = None,
    columns: ColumnsOpt = None,
    overwrite: OverwriteOpt = False,
    ray_address: RayAddressOpt = None,
) -> None:
    """Remove documents sharing a word 10-gram with a benchmark; stats.json names the match of each item."""
    step: dict = {"step": "decontaminate", "ngram": ngram, "function_names": function_names}
    if benchmark:
        step["benchmarks"] = benchmark
    try:
        step["extra"] = [_parse_extra(e) for e in extra or []]
    except ValueError as exc:
        _fail(str(exc))
    rec = _one_step_recipe("decontaminate", step)
    _run(rec, inputs, output, executor, workers, fmt, columns, overwrite, ray_address)


def _parse_extra(spec: str) -> dict:
    name, _, rest = spec.partition("=")
    path, _, fields = rest.rpartition(":")
    if not (name and path and fields):
        raise ValueError(f"--extra {spec!r}: write NAME=FILE.jsonl:field1,field2")
    return {"name": name, "path": path, "fields": fields.split(",")}


def _one_step_recipe(name: str, step: dict) -> Recipe:
    from codemill.pipeline.recipe import RecipeError, parse_recipe

    try:
        return parse_recipe({"name": name, "steps": [step]}, source=f"--options of codemill {name}")
    except RecipeError as exc:
        _fail(str(exc))
        raise


def _run(
    rec: Recipe,
    inputs: list[Path],
    output: Path,
    executor: str,
    workers: int | None,
    fmt: str | None,
    columns: str | None,
    overwrite: bool,
    ray_address: str | None,
) -> None:
    """Run a recipe from the command line: apply the reading overrides, run, print the summary."""
    from codemill.data.sources import InputError
    from codemill.pipeline.explain import explanation_lines
    from codemill.pipeline.recipe import RecipeError
    from codemill.pipeline.run import curate as run_curate
    from codemill.pipeline.runner import RunError, RunFailed
    from codemill.pipeline.stats import InvariantError

    if executor not in ("local", "ray"):
        _fail(f"--executor must be 'local' or 'ray', not {executor!r}")
    for p in inputs:
        if not p.exists():
            _fail(f"input path {p} does not exist")
    try:
        overrides: dict = {}
        if fmt:
            overrides["format"] = fmt
        if columns:
            overrides["columns"] = columns if "=" not in columns else _parse_columns(columns)
        if overrides:
            rec.read = rec.read.model_validate({**rec.read.model_dump(), **overrides})
        stats = run_curate(
            rec,
            inputs,
            output,
            executor=executor,
            workers=workers,  # type: ignore[arg-type]
            overwrite=overwrite,
            ray_address=ray_address,
        )
    except RunFailed as exc:  # it ended without its products, stats.json written: the report and the why too
        _finish(exc.stats, output)
        _fail(str(exc))
    except (RecipeError, InputError, RunError, InvariantError) as exc:
        _fail(str(exc))
    except ValueError as exc:  # pydantic's errors for --format / --columns
        _fail(f"bad option: {exc}")
    _finish(stats, output)
    for line in explanation_lines(stats):  # a run that kept nothing says why
        out.print(f"[yellow]{line}[/]", highlight=False, soft_wrap=True)


def _finish(stats: dict, output: Path) -> None:
    """What every run that ended leaves: the report beside ``stats.json``, and the summary printed."""
    from codemill.report import write_report  # matplotlib is imported only when it is needed

    write_report(stats, output / "report.html")
    _print_summary(stats)
    out.print(f"report: {output / 'report.html'}", soft_wrap=True)


def _parse_columns(spec: str) -> dict[str, str]:
    pairs = [p.split("=", 1) for p in spec.split(",") if p.strip()]
    if any(len(p) != 2 for p in pairs):
        raise ValueError(f"--columns {spec!r}: write contract=input pairs separated by commas")
    return {k.strip(): v.strip() for k, v in pairs}


def _print_summary(stats: dict) -> None:
    from rich.table import Table

    table = Table(title=f"codemill curate — {stats['recipe']}", show_lines=False)
    for col in ("step", "in", "kept", "rejected", "top reasons", "seconds"):
        table.add_column(col, justify="left" if col in ("step", "top reasons") else "right")
    labels = stats.get("step_labels") or [s["name"] for s in stats["steps"]]
    for s, label in zip(stats["steps"], labels, strict=False):
        reasons = ", ".join(f"{k} {v:,}" for k, v in list(s["reasons"].items())[:3])
        table.add_row(label, f"{s['in']:,}", f"{s['kept']:,}", f"{s['rejected']:,}", reasons, f"{s['seconds']:.1f}")
    out.print(table)
    mb = stats["bytes_in"] / 1e6
    rate = f", {mb / stats['seconds']:.1f} MB/s" if stats["seconds"] > 0 else ""
    out.print(
        f"{stats['documents_in']:,} documents in ({mb:,.1f} MB): {stats['documents_kept']:,} kept, "
        f"{stats['documents_rejected']:,} rejected, in {stats['seconds']:.1f} s{rate}"
    )
    dedup = stats.get("global_steps", {}).get("dedup")
    if dedup:
        lsh = dedup["lsh"]
        out.print(
            f"dedup: {lsh['bands']} bands x {lsh['rows']} rows for Jaccard {lsh['threshold']} (S-curve midpoint "
            f"{lsh['s_curve_midpoint']}, false-positive area {lsh['false_positive_area']}, false-negative area "
            f"{lsh['false_negative_area']}); {dedup['clusters']:,} clusters, largest {dedup['largest_cluster']:,}",
            soft_wrap=True,
        )
    decont = stats.get("global_steps", {}).get("decontaminate")
    if decont:
        out.print(
            f"decontaminate: {decont['contaminated_documents']:,} documents matched {len(decont['items']):,} of "
            f"{decont['benchmark_items']:,} items of {', '.join(decont['benchmarks'])}; stoplist "
            f"{decont['stoplist']['size']:,} n-grams (in >= {decont['stoplist']['min_documents']:,} documents)",
            soft_wrap=True,
        )
    for name, final in stats.get("final_steps", {}).items():
        section = final.get("section") or {}
        out.print(f"{name} -> {final['folder']}/: {section.get('summary', '')}", soft_wrap=True)
        for warning in section.get("warnings", []):
            out.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)


def inspect(
    folder: Annotated[Path, typer.Argument(help="An output folder of `codemill curate`.")],
    samples: Annotated[int, typer.Option("--samples", "-n", help="Documents to show, kept and rejected.")] = 5,
    seed: Annotated[int, typer.Option(help="Seed for picking the sample.")] = 0,
) -> None:
    """Show a run's counts and a sample of kept and rejected documents with their reasons."""
    from rich.table import Table

    from codemill.pipeline.runner import iter_outputs

    stats_file = folder / "stats.json"
    if not stats_file.exists():
        _fail(f"{folder} has no stats.json: is it an output folder of a finished `codemill curate`?")
    _print_summary(json.loads(stats_file.read_text()))
    rng = random.Random(seed)
    for which in ("data", "rejected"):
        rows = _sample_rows(list(iter_outputs(folder, which)), samples, rng)
        table = Table(title=f"{'kept' if which == 'data' else 'rejected'} (sample of {len(rows)})")
        extra = ["rejected_by", "reason", "detail"] if which == "rejected" else ["quality"]
        for col in ("id", "lang", "repo/path", "bytes", *extra, "first line"):
            table.add_column(col, overflow="fold")
        for r in rows:
            first = next((ln for ln in r["text"].splitlines() if ln.strip()), "")[:80]
            table.add_row(
                r["id"],
                r["lang"],
                f"{r['repo']}/{r['path']}".strip("/"),
                f"{len(r['text'].encode('utf-8', 'surrogatepass')):,}",
                *(str(r[c]) for c in extra),
                first,
            )
        out.print(table)


def _sample_rows(files: list[Path], n: int, rng: random.Random) -> list[dict]:
    """Up to ``n`` rows from the first row group of a few randomly picked shards (cheap on huge outputs)."""
    import pyarrow.parquet as pq

    rows: list[dict] = []
    for f in rng.sample(files, len(files)):
        pf = pq.ParquetFile(f)
        if pf.metadata.num_row_groups:
            rows += pf.read_row_group(0).to_pylist()
        if len(rows) >= n * 20:
            break
    return rng.sample(rows, min(n, len(rows)))


def report(folder: Annotated[Path, typer.Argument(help="An output folder of `codemill curate`.")]) -> None:
    """Write report.html again from a run's stats.json."""
    stats_file = folder / "stats.json"
    if not stats_file.exists():
        _fail(f"{folder} has no stats.json")
    from codemill.report import write_report  # matplotlib: only once there is something to plot

    out.print(f"report: {write_report(json.loads(stats_file.read_text()), folder / 'report.html')}", soft_wrap=True)


def export(
    folder: Annotated[Path, typer.Argument(help="An output folder of `codemill curate`.")],
    to: Annotated[Path, typer.Option("--to", help="JSONL file to write; .gz or .zst compresses.")],
    rejected: Annotated[bool, typer.Option(help="Export the rejected documents instead of the kept ones.")] = False,
) -> None:
    """Write a run's documents as JSONL (the contract's columns, meta and scores as JSON objects)."""
    from codemill.data.schema import Document
    from codemill.data.writers import iter_parquet_rows, write_jsonl
    from codemill.pipeline.runner import iter_outputs

    which = "rejected" if rejected else "data"
    files = list(iter_outputs(folder, which))
    if not files:
        _fail(f"{folder / which} holds no shards")
    extra_cols = ("rejected_by", "reason", "detail") if rejected else ()
    items = ((Document.from_row(r), {c: r[c] for c in extra_cols}) for r in iter_parquet_rows(files))
    out.print(f"wrote {write_jsonl(items, to):,} documents to {to}")
