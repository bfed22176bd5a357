"""``codemill sample-corpus``: the sample corpus of ``make run``, built from what this machine has."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from codemill.clikit import out

__all__ = ["sample_corpus"]


def sample_corpus(
    target: Annotated[Path, typer.Argument(help="Folder to fill.")],
    math_problems: Annotated[int, typer.Option(help="School math problems to generate (mathematics-dataset).")] = 2000,
) -> None:
    """Build the sample corpus of `make run` from what this machine has: code (the standard library and each
    installed package as a repository, linked), text (the documentation packages ship) and math (generated)."""
    from codemill.data.samples import build_sample_corpus
    from codemill.data.samples_mixed import build_mixed_corpus

    links = build_sample_corpus(target / "repos")
    mixed = build_mixed_corpus(target, math_problems)
    out.print(
        f"{target}: {len(links)} repositories, {mixed['text_documents']:,} text and {mixed['math_documents']:,} math "
        f"documents; curate them with -i {target / 'repos'} -i {mixed['text']} -i {mixed['math']}",
        soft_wrap=True,
    )
