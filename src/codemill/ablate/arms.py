"""The arms: datasets drawn from the pool by quality level or by mix ratio, every one at the same token budget.

Each arm is an ordinary ``codemill mix`` of the pool (``mix.json`` says what was drawn, and how often a document
was repeated where the arm is short) packed by ``codemill pack`` into sequences of the training length, so what a
model trains on here is exactly what a user would train on elsewhere. Every arm draws its documents uniformly
within its kinds and levels (level weights of 0 below a level arm's ``min_level``, 1 from it on): arms differ only
by what they are named for, not by a quality weighting that would itself be a second treatment.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from codemill.ablate.recipe import AblationRecipe, ArmSpec
from codemill.curate.mix import MixOptions, mix
from codemill.curate.pack.fim import FimOptions
from codemill.curate.pack.packing import PackOptions, pack
from codemill.data.textio import atomic_write_text

__all__ = ["arm_mix_options", "arm_tokens", "build_arm"]


def arm_mix_options(arm: ArmSpec, recipe: AblationRecipe) -> MixOptions:
    """The mix that makes ``arm``: its kinds or ratio, uniform within the levels it admits, at the budget."""
    if arm.ratio is not None:
        ratio, weights = arm.ratio, {0: 1.0}
    else:
        level = arm.min_level or 0
        ratio = dict.fromkeys(arm.kinds, 1.0)
        weights = {lvl: 0.0 for lvl in range(level)} | {level: 1.0}
    return MixOptions(
        budget=recipe.budget,
        ratio=ratio,
        level_weights=weights,
        max_repeats=recipe.max_repeats,
        seed=recipe.heldout.seed,
        shard_rows=50_000,
    )


def build_arm(arm: ArmSpec, recipe: AblationRecipe, pool: Path, folder: Path) -> dict[str, Any]:
    """Mix and pack one arm into ``folder`` (``arm.json`` last); a finished arm is returned as it is."""
    marker = folder / "arm.json"
    if marker.exists():
        return json.loads(marker.read_text(encoding="utf-8"))
    mixed = mix([pool], folder / "mix", arm_mix_options(arm, recipe), overwrite=True)
    options = PackOptions(
        seq_length=recipe.training.seq_length, fim=FimOptions(rate=0.0), formats=["numpy"], shard_tokens=1 << 22
    )
    packed = pack([folder / "mix"], folder / "packed", options, overwrite=True)
    repeated = sum(n for copies, n in _histogram(mixed).items() if copies > 1)
    summary = {
        "arm": arm.model_dump(exclude_none=True),
        "tokens": int(mixed["selected"]),
        "documents": sum(e["documents"] for e in mixed["kinds"].values()),
        "repeated_documents": repeated,
        "achieved_ratio": mixed["achieved_ratio"],
        "short": {k: e["shortfall"] for k, e in mixed["kinds"].items() if e["short"]},
        "warnings": mixed["warnings"],
        "packed_tokens": int(packed["counts"]["tokens"]),
    }
    atomic_write_text(marker, json.dumps(summary, indent=2))
    return summary


def _histogram(mixed: dict[str, Any]) -> dict[int, int]:
    out: dict[int, int] = {}
    for entry in mixed["kinds"].values():
        for copies, n in entry["repeat_histogram"].items():
            out[int(copies)] = out.get(int(copies), 0) + n
    return out


def arm_tokens(folder: Path) -> np.ndarray:
    """The arm's Qwen2.5 token stream, in packing order (its sequences joined without their padding)."""
    packed = folder / "packed"
    pieces = []
    for tokens_file in sorted(packed.glob("shard-*.tokens.npy")):
        rows = np.load(tokens_file)
        lengths = np.load(tokens_file.with_name(tokens_file.name.replace(".tokens.npy", ".sequences.npy")))["length"]
        pieces += [row[:n] for row, n in zip(rows, lengths.tolist(), strict=True)]
    return np.concatenate(pieces).astype(np.int64) if pieces else np.zeros(0, np.int64)
