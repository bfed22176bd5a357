"""``codemill pack``: curated documents -> packed token shards; ``codemill pack verify``: check them.

Registered in the main app as a sub-app named ``pack``: the group itself packs (``codemill pack -i DIR -o
OUT``) and ``verify`` is its one sub-command (``codemill pack verify OUT -i DIR``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from codemill.clikit import command_group, out
from codemill.clikit import err as console
from codemill.clikit import fail as _fail

app = command_group("Tokenise (Qwen2.5), FIM and pack curated documents into Megatron .bin/.idx and numpy shards.")

InputsOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--input", "-i", help="A codemill output folder (its data/), Parquet or JSONL files, or folders of them."
    ),
]


@app.callback(invoke_without_command=True)
def pack(
    ctx: typer.Context,
    inputs: InputsOption = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Folder for the shards and pack.json.")] = None,
    level: Annotated[str, typer.Option(help="file (8,192-token sequences) or repo (32,768).")] = "file",
    seq_length: Annotated[int | None, typer.Option(min=8, help="Tokens per sequence (overrides --level).")] = None,
    tokenizer: Annotated[
        str, typer.Option(help="qwen2.5 (built in, offline) or a Hugging Face tokenizer folder / tokenizer.json.")
    ] = "qwen2.5",
    fim_rate: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of documents made FIM samples.")] = 0.5,
    spm_rate: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of FIM samples in SPM order.")] = 0.5,
    split: Annotated[
        str, typer.Option(help="char (random characters) or syntax (the middle is one tree-sitter node).")
    ] = "char",
    seed: Annotated[int, typer.Option(help="Run seed: with each document id it fixes the FIM cuts.")] = 0,
    formats: Annotated[str, typer.Option("--formats", help="megatron, numpy, or both (comma-separated).")] = (
        "megatron,numpy"
    ),
    shard_tokens: Annotated[int, typer.Option(min=8, help="Tokens per shard (bounds memory).")] = 1 << 24,
    overwrite: Annotated[bool, typer.Option(help="Replace a pack already in the output folder.")] = False,
    verify: Annotated[bool, typer.Option(help="Verify the shards against the input when done.")] = False,
) -> None:
    """Pack documents into fixed-length token sequences (``codemill pack -i IN -o OUT``)."""
    from pydantic import ValidationError

    from codemill.curate.pack.fim import FimOptions
    from codemill.curate.pack.packing import PackError, PackOptions
    from codemill.curate.pack.packing import pack as pack_inputs
    from codemill.curate.pack.sources import PackInputError
    from codemill.curate.pack.tokenizer import TokenizerError

    if ctx.invoked_subcommand is not None:
        return
    if not inputs or output is None:
        _fail("give --input and --output (or: codemill pack verify OUT --input IN); see codemill pack --help")
    try:
        options = PackOptions(
            level=level,  # type: ignore[arg-type]
            seq_length=seq_length,
            tokenizer=tokenizer,
            fim=FimOptions(rate=fim_rate, spm_rate=spm_rate, split=split, seed=seed),  # type: ignore[arg-type]
            formats=[f.strip() for f in formats.split(",") if f.strip()],  # type: ignore[misc]
            shard_tokens=shard_tokens,
        )
    except ValidationError as exc:
        _fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    try:
        manifest = pack_inputs(inputs, output, options, overwrite=overwrite)
    except (PackInputError, TokenizerError, PackError) as exc:
        _fail(str(exc))
    c = manifest["counts"]
    out.print(
        f"packed {c['documents']:,} documents ({c['psm']:,} PSM, {c['spm']:,} SPM) into {c['tokens']:,} tokens: "
        f"{c['sequences']:,} sequences of {manifest['window']:,} in {c['shards']} shard(s), "
        f"{manifest['tokens_per_second'] or 0:,} tokens/s",
        highlight=False,
    )
    if c["syntax_fallback"]:
        reasons = ", ".join(f"{n:,} {reason}" for reason, n in c["syntax_fallback"].items())
        out.print(f"syntax cuts that fell back to characters: {reasons}", highlight=False)
    out.print(f"output: {output}", highlight=False)
    if verify:
        _verify(output, inputs)  # type: ignore[arg-type]


def _verify(folder: Path, inputs: list[Path]) -> None:
    from codemill.curate.pack.packing import PackError
    from codemill.curate.pack.sources import PackInputError, iter_documents
    from codemill.curate.pack.tokenizer import TokenizerError
    from codemill.curate.pack.verify import verify_pack

    try:
        report = verify_pack(folder, iter_documents(inputs))
    except (PackInputError, TokenizerError, PackError) as exc:
        _fail(str(exc))
    if not report.ok:
        for problem in report.problems:
            console.print(f"  {problem}", highlight=False, soft_wrap=True)
        _fail(f"{report.problem_count} problem(s) in {folder}")
    out.print(
        f"verified {report.documents:,} documents ({report.psm:,} PSM, {report.spm:,} SPM), "
        f"{report.sequences:,} sequences, {report.tokens:,} tokens: all decode to the source",
        highlight=False,
    )


@app.command("verify")
def verify_command(
    folder: Annotated[Path, typer.Argument(help="A pack output folder (with pack.json).")],
    inputs: InputsOption = None,
) -> None:
    """Decode every packed document and check it against the input it was packed from."""
    if not inputs:
        _fail("give the --input the pack was made from")
    _verify(folder, inputs)  # type: ignore[arg-type]
