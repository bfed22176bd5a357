"""The ``codemill`` command line: one Typer app, one command per capability."""

from __future__ import annotations

from typing import Annotated

import typer

from codemill import __version__
from codemill.clikit import command_group, out

app = command_group(
    "codemill: turn raw code, text and math into training data for code LLMs, and check it by running it.",
    no_args_is_help=True,
)


def _add_sub_apps() -> None:
    """Every capability lives beside its domain: the curation commands (``curate/cli.py``), ``sample-corpus``
    (``data/cli.py``); groups ``sandbox``, ``mix``, ``pack``, ``classifier``; commands ``eval``, ``synth``,
    ``loop``, ``train``."""
    from codemill.curate import cli as curate_cli
    from codemill.curate.classify.cli import app as classifier_app
    from codemill.curate.mix.cli import app as mix_app
    from codemill.curate.pack.cli import app as pack_app
    from codemill.data.cli import sample_corpus
    from codemill.evaluate.cli import evaluate
    from codemill.loop.cli import loop
    from codemill.sandbox.cli import app as sandbox_app
    from codemill.synth.cli import synth
    from codemill.train.cli import train

    for command in (
        curate_cli.curate,
        curate_cli.dedup,
        curate_cli.decontaminate,
        curate_cli.inspect,
        curate_cli.report,
    ):
        app.command()(command)
    app.command("export")(curate_cli.export)
    app.command("sample-corpus")(sample_corpus)
    app.add_typer(sandbox_app, name="sandbox")
    app.add_typer(mix_app, name="mix")
    app.add_typer(classifier_app, name="classifier")
    app.command("eval")(evaluate)
    app.add_typer(pack_app, name="pack")
    app.command("synth")(synth)
    app.command("loop")(loop)
    app.command("train")(train)


def _version(value: bool) -> None:
    if value:
        out.print(f"codemill {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = None,
) -> None:
    """codemill: curate pretraining data, synthesise and verify instruction data, evaluate code models."""


_add_sub_apps()

if __name__ == "__main__":
    app()
