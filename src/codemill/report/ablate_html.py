"""The ablation report: per experiment, held-out bits per byte of every arm with its 95% interval over seeds, a
plot of the same, what each arm was made of, the verdicts beside the report's published trend, and the proof that
no held-out document is in any arm."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from markupsafe import Markup

from codemill import __version__
from codemill.data.textio import atomic_write_text
from codemill.report import plots
from codemill.report.html import _environment

__all__ = ["render_ablation_report", "write_ablation_report"]


def _experiment(name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    sets = [k for k in rows[0]["heldout"] if k != "mean"] + ["mean"]
    series = {
        s: (
            [r["heldout"].get(s, {}).get("bpb", {}).get("mean") for r in rows],
            [r["heldout"].get(s, {}).get("bpb", {}).get("ci95") for r in rows],
        )
        for s in sets
    }
    svg = plots.intervals_svg([r["arm"] for r in rows], series, f"{name}: held-out bits per byte", "bits per byte")
    return {
        "name": name,
        "sets": sets,
        "rows": rows,
        "svg": Markup(svg) if svg else None,
    }


def render_ablation_report(summary: dict[str, Any]) -> str:
    context = {
        "title": f"codemill ablate — {summary['name']}",
        "version": __version__,
        "summary": summary,
        "experiments": [_experiment(name, rows) for name, rows in summary["experiments"].items()],
    }
    return _environment().get_template("ablate.html").render(**context)


def write_ablation_report(path: Path, summary: dict[str, Any]) -> Path:
    atomic_write_text(path, render_ablation_report(summary))
    return path
