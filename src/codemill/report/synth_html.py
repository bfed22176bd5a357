"""The synthesis report: ``report.html`` beside a synth run's ``sft.jsonl``, ``dpo.jsonl`` and metadata.

What a person checks after a run: where the candidates went (made, refused by memory, parsed, passed, accepted,
decontaminated), which languages accept well, whether ideas carried across languages help (the synergy matrix),
which language x concept cells are still empty (the coverage heat-map), and a few accepted and failed samples with
the whole discussion that made them, to judge the data by reading it. Self-contained HTML like the other reports.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from markupsafe import Markup

from codemill import __version__
from codemill.data.textio import atomic_write_text
from codemill.report import plots
from codemill.report.html import _environment
from codemill.synth.decontam import contamination_reason
from codemill.synth.outputs import first_passing, is_accepted
from codemill.synth.schema import Outcome

__all__ = ["render_synth_report", "synth_counts", "write_synth_report"]

SAMPLES = 3  # accepted and failed samples shown each
TEXT_CHARS = 4000


def _cut(text: str) -> str:
    return text if len(text) <= TEXT_CHARS else text[:TEXT_CHARS] + "\n…"


def synth_counts(outcomes: Sequence[Outcome]) -> dict[str, int]:
    """The funnel: made, refused by memory, parsed (an attempt parsed with a grammar), passed, accepted,
    decontaminated (caught by the 10-gram check, hence not accepted)."""
    parsed = sum(
        any(a.verification is not None and a.verification.parsed is True for a in o.candidate.attempts)
        for o in outcomes
        if o.refused is None
    )
    return {
        "made": len(outcomes),
        "refused": sum(o.refused is not None for o in outcomes),
        "parsed": parsed,
        "passed": sum(o.refused is None and o.passed for o in outcomes),
        "accepted": sum(is_accepted(o) for o in outcomes),
        "decontaminated": sum(o.decontaminated is not None for o in outcomes),
    }


def _per_language(outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    rows: dict[str, Counter[str]] = defaultdict(Counter)
    for o in outcomes:
        row = rows[o.candidate.language]
        row["made"] += 1
        row["refused"] += o.refused is not None
        row["passed"] += o.refused is None and o.passed
        row["accepted"] += is_accepted(o)
    out = []
    for language in sorted(rows):
        row = rows[language]
        solved = row["made"] - row["refused"]
        out.append(
            {"language": language, **row, "solved": solved, "rate": row["accepted"] / solved if solved else None}
        )
    return out


def _synergy_svg(synergy: dict[str, Any] | None) -> str | None:
    if not synergy:
        return None
    languages = list(synergy["languages"])
    matrix = synergy["matrix"]
    finite = [v for row in matrix for v in row if v is not None and not math.isnan(v)]
    both_signs = bool(finite) and min(finite) < 0 < max(finite)
    return plots.heatmap_svg(
        languages,
        languages,
        matrix,
        title=str(synergy.get("title", "Synergy between languages")),
        xlabel=str(synergy.get("column_label", "adapted to")),
        ylabel=str(synergy.get("row_label", "idea from")),
        center=0.0 if both_signs else None,
    )


def _coverage_svg(coverage: dict[str, Any] | None) -> str | None:
    if not coverage:
        return None
    return plots.heatmap_svg(
        list(coverage["languages"]),
        list(coverage["concepts"]),
        coverage["accepted"],
        title="Accepted samples per language and concept",
        xlabel="concept",
        ylabel="language",
        fmt="{:.0f}",
    )


def _why(outcome: Outcome) -> str:
    """Why an outcome was not accepted: every gate it failed, else the first reason a reader can act on."""
    if outcome.rejected_because:
        return "; ".join(outcome.rejected_because)
    if outcome.decontaminated is not None:
        return contamination_reason(outcome.decontaminated)
    messages = [a.verification.message for a in outcome.candidate.attempts if a.verification is not None]
    return next((m for m in messages if m), "")


def _sample(outcome: Outcome) -> dict[str, Any]:
    c = outcome.candidate
    shown = first_passing(c) or (c.attempts[0] if c.attempts else None)
    return {
        "id": c.id,
        "language": c.language,
        "agent": c.agent,
        "target": f"{c.target.concept}, {c.target.difficulty}",
        "lineage": " → ".join([*c.lineage, c.id]) if c.lineage else "",
        "origin_language": c.origin_language,
        "score": outcome.checklist_score,
        "instruction": _cut(c.instruction),
        "answer": _cut(shown.answer) if shown else "",
        "tests": _cut(c.tests),
        "statuses": [
            (a.verification.status if a.verification else "not_verified")
            + (" (syntax error)" if a.verification and a.verification.parsed is False else "")
            for a in c.attempts
        ],
        "why": _why(outcome),
        "transcript": [
            {
                "agent": t.agent,
                "role": t.role,
                "model": t.model,
                "prompt": _cut(t.prompt),
                "answer": _cut(t.answer),
                "tokens": t.completion_tokens,
            }
            for t in c.transcript
        ],
    }


def render_synth_report(
    outcomes: Sequence[Outcome],
    synergy: dict[str, Any] | None = None,
    coverage: dict[str, Any] | None = None,
    title: str = "codemill synthesis",
) -> str:
    """The report as HTML text; deterministic for the same inputs.

    ``synergy``: ``{"languages": [l1, ...], "matrix": [[float | None, ...], ...]}``, an n x n matrix whose row i,
    column j is the synergy of ideas from language i adapted to language j as the synergy module defines it (None:
    not measured); optional ``"title"``, ``"row_label"``, ``"column_label"`` and ``"note"`` (the formula, shown
    under the plot). ``coverage``: ``{"languages": [...], "concepts": [...], "accepted": [[int, ...], ...]}``,
    accepted samples per language (row) and concept (column). Either may be None: the section says so.
    """
    counts = synth_counts(outcomes)
    accepted = [o for o in outcomes if is_accepted(o)][:SAMPLES]
    failed = [o for o in outcomes if o.refused is None and not is_accepted(o)][:SAMPLES]
    synergy_svg = _synergy_svg(synergy)
    coverage_svg = _coverage_svg(coverage)
    context = {
        "title": title,
        "version": __version__,
        "counts": list(counts.items()),
        "languages": _per_language(outcomes),
        "synergy_svg": Markup(synergy_svg) if synergy_svg else None,
        "synergy_note": str((synergy or {}).get("note", "")),
        "matched": [
            {"src": src, "dst": dst, **m}
            for src, row in (synergy or {}).get("matched", {}).items()
            for dst, m in row.items()
            if m["derived"] or m["own"]
        ],
        "coverage_svg": Markup(coverage_svg) if coverage_svg else None,
        "accepted": [_sample(o) for o in accepted],
        "failed": [_sample(o) for o in failed],
    }
    return _environment().get_template("synth.html").render(**context)


def write_synth_report(
    path: Path,
    outcomes: Sequence[Outcome],
    synergy: dict[str, Any] | None = None,
    coverage: dict[str, Any] | None = None,
) -> Path:
    atomic_write_text(path, render_synth_report(outcomes, synergy, coverage))
    return path
