"""The decontamination proof of a round: the rows it trained on, checked against the benchmarks it is judged on.

Synthesis already refuses samples sharing a word 10-gram with the benchmarks (and, in the loop, samples defining
a benchmark entry point's name). This checks again, after the fact, on exactly what training read
(``train-data.jsonl``, SFT or DPO rows): every message of every row for a 10-gram of the evaluated benchmarks,
and every function the assistant's code defines against their entry points. The counts go into the round's
report; any hit is a bug upstream, and the row is named.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from codemill.evaluate.extract import extract_code
from codemill.synth.adequacy import entry_points
from codemill.synth.decontam import decontaminated
from codemill.synth.verify import sandbox_name

__all__ = ["decontamination_proof", "index_names"]


def index_names(benchmarks: list[str]) -> list[str]:
    """The decontamination index's families of ``codemill eval`` names (``multipl-e/sh`` → ``multipl-e``)."""
    families = []
    for name in benchmarks:
        head = name.split("/", 1)[0]
        for family in ("humaneval", "mbpp", "multipl-e", "cruxeval"):
            if head.startswith(family):
                families.append(family)
    return sorted(set(families))


def language(row: dict[str, Any]) -> str:
    return sandbox_name(str(row.get("language", "")))


def messages(row: dict[str, Any]) -> list[dict[str, str]]:
    """Every message of an SFT row (``messages``) or a DPO row (``prompt``, ``chosen``, ``rejected``)."""
    return row.get("messages") or [*row.get("prompt", []), *row.get("chosen", []), *row.get("rejected", [])]


def decontamination_proof(train_data: Path, benchmarks: list[str]) -> dict[str, Any]:
    """Rows, rows sharing a 10-gram with ``benchmarks``, rows defining one of their entry points (with ids)."""
    rows = [json.loads(line) for line in train_data.read_text(encoding="utf-8").splitlines() if line.strip()]
    families = index_names(benchmarks)
    texts = ["\n".join(m["content"] for m in messages(row)) for row in rows]
    names = [
        [
            name
            for m in messages(row)
            if m["role"] == "assistant"
            for name in entry_points(extract_code(m["content"], language(row)), language(row))
        ]
        for row in rows
    ]
    grams = decontaminated(texts, families) if families else [None] * len(rows)
    defined = decontaminated([""] * len(rows), families, names) if families else [None] * len(rows)
    ids = [str(row.get("candidate_id", row.get("id", i))) for i, row in enumerate(rows)]
    return {
        "checked_against": families,
        "rows": len(rows),
        "rows_sharing_a_10gram": [f"{i}: {h}" for i, h in zip(ids, grams, strict=True) if h],
        "rows_defining_an_entry_point": [f"{i}: {h}" for i, h in zip(ids, defined, strict=True) if h],
    }
