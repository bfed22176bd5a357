"""``codemill mix``: pick documents for a token budget at a code:text:math ratio, weighted by quality.

A Typer sub-app; the main CLI mounts it as ``mix`` (:data:`codemill.cli.COMMANDS`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from codemill.clikit import command_group, out
from codemill.clikit import err as console
from codemill.clikit import fail as _fail

app = command_group("Mix curated documents to a token budget split code:text:math (7:2:1), weighted by quality level.")


@app.callback(invoke_without_command=True)
def mix_command(
    inputs: Annotated[
        list[Path],
        typer.Option("--input", "-i", help="A codemill output folder (its data/), Parquet or JSONL files, or folders."),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for data/, repeats.parquet and mix.json.")],
    budget: Annotated[
        float | None, typer.Option(min=1, help="Total tokens (or bytes); default: the largest the ratio allows.")
    ] = None,
    ratio: Annotated[str, typer.Option(help="code:text:math shares (7:2:1) or kind=share pairs.")] = "7:2:1",
    level_weights: Annotated[
        str, typer.Option(help="Sampling weight per quality level, e.g. 0=1,1=1.5,2=2,3=3.")
    ] = "0=1,1=1.5,2=2,3=3",
    max_repeats: Annotated[int, typer.Option(min=1, help="Most copies of one document.")] = 4,
    seed: Annotated[int, typer.Option(help="With each document id, decides the sampling.")] = 0,
    unit: Annotated[str, typer.Option(help="tokens (Qwen2.5) or bytes.")] = "tokens",
    tokenizer: Annotated[str, typer.Option(help="qwen2.5 or a Hugging Face tokenizer folder.")] = "qwen2.5",
    overwrite: Annotated[bool, typer.Option(help="Replace a mix already in the output folder.")] = False,
) -> None:
    """Mix documents (``codemill mix -i IN -o OUT --budget 1e9``)."""
    from pydantic import ValidationError
    from rich.table import Table

    from codemill.curate.mix.options import MixError, MixOptions, parse_ratio, parse_weights
    from codemill.curate.mix.writing import mix
    from codemill.curate.pack.sources import PackInputError
    from codemill.curate.pack.tokenizer import TokenizerError

    try:
        options = MixOptions(
            budget=int(budget) if budget else None,
            ratio=parse_ratio(ratio),
            level_weights=parse_weights(level_weights),
            max_repeats=max_repeats,
            seed=seed,
            unit=unit,  # type: ignore[arg-type]
            tokenizer=tokenizer,
        )
    except ValidationError as exc:
        _fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    except ValueError as exc:
        _fail(str(exc))
    try:
        report = mix(inputs, output, options, overwrite=overwrite)
    except (PackInputError, TokenizerError, MixError) as exc:
        _fail(str(exc))
    table = Table(title=f"mix: {report['selected']:,} of {report['budget']:,} {report['unit']}")
    for column in ("kind", "target", "achieved", "selected", "available", "documents", "status"):
        table.add_column(column, justify="left" if column in ("kind", "status") else "right")
    for kind, e in report["kinds"].items():
        status = f"[red]short by {e['shortfall']:,} ({e['shortfall_pct']}%)[/]" if e["short"] else "ok"
        table.add_row(
            kind,
            f"{100 * e['target_share']:.2f}%",
            f"{100 * e['achieved_share']:.2f}%",
            f"{e['selected']:,}",
            f"{e['available']:,}",
            f"{e['documents']:,}",
            status,
        )
    out.print(table)
    for warning in report["warnings"]:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    out.print(f"output: {output} ({report['output']['rows']:,} rows in {len(report['output']['shards'])} shards)")
