"""The recipe step ``mix``: the same mix as ``codemill mix``, run once on the finished corpus of a recipe.

It writes ``OUTPUT/mix`` (``data/``, ``repeats.parquet``, ``mix.json``) by calling :func:`codemill.curate.mix.mix`,
the function the CLI calls, so a recipe and the command line cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codemill.curate.mix.options import MixError, MixOptions
from codemill.curate.mix.section import report_section
from codemill.curate.mix.writing import mix
from codemill.curate.pack.sources import PackInputError
from codemill.curate.pack.tokenizer import TokenizerError
from codemill.pipeline.step import FinalStep


class MixStep(FinalStep[MixOptions]):
    """``- step: mix`` with ``codemill mix``'s options (``budget``, ``ratio``, ``level_weights``, ``seed``...)."""

    name = "mix"
    folder = "mix"
    writes_documents = True  # a pack after it packs the mix
    passes = 2  # counts, then writes
    errors = (MixError, PackInputError, TokenizerError)

    def run(self, inputs: Path, out_dir: Path) -> dict[str, Any]:
        report = mix([inputs], out_dir, self.params, overwrite=True)  # a rerun after a kill starts clean
        summary = {k: v for k, v in report.items() if k != "inputs"}  # paths of this machine: not a summary
        summary["output"] = {k: v for k, v in report["output"].items() if k != "shards"}
        return summary

    def section(self, summary: dict[str, Any]) -> dict[str, Any] | None:
        return report_section(summary)
