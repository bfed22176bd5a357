"""The recipe step ``pack``: the same packing as ``codemill pack``, run once at the end of a recipe.

It writes ``OUTPUT/packed`` (the shards and ``pack.json``) by calling :func:`codemill.curate.pack.packing.pack`,
the function the CLI calls. After a ``mix`` step it packs the mix, otherwise the curated ``data/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from codemill.curate.pack.packing import PackError, PackOptions, pack
from codemill.curate.pack.sources import PackInputError
from codemill.curate.pack.tokenizer import TokenizerError
from codemill.pipeline.step import FinalStep


class PackStepOptions(PackOptions):
    """``codemill pack``'s options, and what the recipe step packs."""

    source: Literal["previous", "data"] = Field(
        "previous",
        description="previous: the output of the nearest final step before it that writes documents (the mix), "
        "else data/; data: the curated data/ itself (repository-level samples want each file once, not the mix's "
        "repeats)",
    )


class PackStep(FinalStep[PackStepOptions]):
    """``- step: pack`` with ``codemill pack``'s options (``level``, ``seq_length``, ``fim``, ``formats``,
    ``kinds``...), plus ``source``."""

    name = "pack"
    folder = "packed"
    errors = (PackError, PackInputError, TokenizerError)

    @classmethod
    def folder_for(cls, params: Mapping[str, Any]) -> str:
        """``packed/`` for file-level shards, ``packed-repo/`` for repository-level ones: a recipe may end in both."""
        return "packed-repo" if params.get("level") == "repo" else "packed"

    @property
    def reads_data(self) -> bool:
        return self.params.source == "data"

    def run(self, inputs: Path, out_dir: Path) -> dict[str, Any]:
        options = PackOptions.model_validate(self.params.model_dump(exclude={"source"}))  # pack.json as the CLI's
        manifest = pack([inputs], out_dir, options, overwrite=True)  # a rerun after a kill starts clean
        return {k: v for k, v in manifest.items() if k != "shards"}  # the shard list is in pack.json

    def section(self, summary: dict[str, Any]) -> dict[str, Any] | None:
        return report_section(summary)


def report_section(manifest: dict[str, Any]) -> dict[str, Any]:
    """``pack.json`` as a report section: what was packed, how, and how fast."""
    counts = manifest.get("counts", {})
    options = manifest.get("options", {})
    fim = options.get("fim", {})
    rows = [
        ["documents", f"{counts.get('documents', 0):,}"],
        ["FIM documents (PSM / SPM)", f"{counts.get('psm', 0):,} / {counts.get('spm', 0):,}"],
        ["tokens", f"{counts.get('tokens', 0):,}"],
        ["sequences", f"{counts.get('sequences', 0):,} of {manifest.get('window', 0):,} tokens"],
        ["padding tokens", f"{counts.get('padding', 0):,}"],
        ["shards", f"{counts.get('shards', 0):,} ({', '.join(options.get('formats', []))})"],
        ["empty documents skipped", f"{counts.get('empty_skipped', 0):,}"],
    ]
    rows += [[f"syntax cut fell back: {reason}", f"{n:,}"] for reason, n in counts.get("syntax_fallback", {}).items()]
    summary = (
        f"{options.get('level', 'file')}-level, tokenizer {manifest.get('tokenizer', {}).get('name', '?')}, "
        f"FIM rate {fim.get('rate', 0)} (SPM share {fim.get('spm_rate', 0)}, {fim.get('split', 'char')} cuts), "
        f"{manifest.get('tokens_per_second') or 0:,} tokens/s"
    )
    table = {"caption": "Packed shards", "columns": ["", "count"], "rows": rows}
    return {"title": "Packed", "summary": summary, "warnings": [], "tables": [table]}
