"""The loop's round report: pass@1 per benchmark (and language) per round with its curve, gaps before and after
each round, the data each gap got, what training did, the paired before/after test with the decontamination proof
of the rows trained on, and the cost (model calls, tokens, time)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from markupsafe import Markup

from codemill import __version__
from codemill.data.textio import atomic_write_text
from codemill.report import plots
from codemill.report.html import _environment

__all__ = ["render_loop_report", "write_loop_report"]


def _pass_at_1(entry: dict[str, Any]) -> dict[str, float]:
    summary = entry["eval"]["summary"]
    return {key: 100 * value["pass@1"] for key, value in summary.items() if "pass@1" in value}  # shown in percent


def _cost(entry: dict[str, Any]) -> dict[str, str]:
    usage = entry["eval"]["generation"].get("usage", {})
    synth = entry.get("synth") or {}
    train = entry.get("train") or {}
    return {
        "eval": f"{usage.get('calls', 0)} calls, {usage.get('completion_tokens', 0)} tokens, "
        f"{usage.get('seconds', 0):.0f} s",
        "synth": f"{synth.get('model_calls', 0)} calls, {synth.get('completion_tokens', 0)} tokens, "
        f"{synth.get('model_seconds', 0):.0f} s of model time"
        if synth
        else "-",
        "train": (train.get("skipped") or f"{train.get('rows', 0)} samples, {train.get('seconds', 0):.0f} s")
        if train
        else "-",
    }


def render_loop_report(loop: dict[str, Any], name: str = "loop", split: bool = False) -> str:
    rounds = loop["rounds"]
    scores = [_pass_at_1(entry) for entry in rounds]
    keys = sorted({key for s in scores for key in s})
    series = {key: [s.get(key) for s in scores] for key in keys}
    curve = plots.curve_svg([entry["round"] for entry in rounds], series, "pass@1 per round", "round", "pass@1 (%)")
    gaps = [
        {
            "round": entry["round"],
            "before": entry.get("gaps_before", {}),
            "after": entry.get("gaps_after", {}),
            "added": entry.get("data_added", []),
        }
        for entry in rounds[1:]
    ]
    context = {
        "title": f"codemill loop — {name}",
        "version": __version__,
        "keys": keys,
        "rows": [
            {
                "round": entry["round"],
                "model": entry["model"],
                "scores": [s.get(k) for k in keys],
                "accepted": (entry.get("synth") or {}).get("accepted", "-"),
                "cost": _cost(entry),
            }
            for entry, s in zip(rounds, scores, strict=True)
        ],
        "curve_svg": Markup(curve) if curve else None,
        "gaps": gaps,
        "paired": [
            {"round": entry["round"], "benchmark": benchmark, **row}
            for entry in rounds[1:]
            for benchmark, row in (entry.get("paired") or {}).items()
        ],
        "proofs": [
            {"round": entry["round"], **entry["train"]["decontamination"]}
            for entry in rounds[1:]
            if "decontamination" in (entry.get("train") or {})
        ],
        "split": split,
        "seconds": loop.get("seconds", 0.0),
    }
    return _environment().get_template("loop.html").render(**context)


def write_loop_report(path: Path, loop: dict[str, Any], name: str = "loop", split: bool = False) -> Path:
    atomic_write_text(path, render_loop_report(loop, name, split))
    return path
