"""The recipe step ``pack``: the same packing as ``codemill pack``, run once at the end of a recipe.

It writes ``OUTPUT/packed`` (the shards and ``pack.json``) by calling :func:`codemill.curate.pack.packing.pack`,
the function the CLI calls. After a ``mix`` step it packs the mix, otherwise the curated ``data/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codemill.curate.pack.packing import PackError, PackOptions, pack
from codemill.curate.pack.sources import PackInputError
from codemill.curate.pack.tokenizer import TokenizerError
from codemill.pipeline.step import FinalStep


class PackStep(FinalStep[PackOptions]):
    """``- step: pack`` with ``codemill pack``'s options (``level``, ``seq_length``, ``fim``, ``formats``...)."""

    name = "pack"
    folder = "packed"
    errors = (PackError, PackInputError, TokenizerError)

    def run(self, inputs: Path, out_dir: Path) -> dict[str, Any]:
        manifest = pack([inputs], out_dir, self.params, overwrite=True)  # a rerun after a kill starts clean
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
