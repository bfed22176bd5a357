"""``mix.json`` as a section of the run's report: a title, a summary line, warnings and plain tables (the
report renders and escapes them)."""

from __future__ import annotations

from typing import Any


def _fmt(n: float) -> str:
    return f"{n:,.0f}" if abs(n) >= 1 or n == 0 else f"{n:.3g}"


def report_section(report: dict[str, Any]) -> dict[str, Any]:
    """The mix as a section for the HTML report: a title, a summary line, warnings and plain tables."""
    unit = report.get("unit", "tokens")
    kinds = report.get("kinds", {})
    rows = [
        [
            k,
            f"{100 * e.get('target_share', 0):.2f}%",
            f"{100 * e.get('achieved_share', 0):.2f}%",
            _fmt(e.get("target", 0)),
            _fmt(e.get("selected", 0)),
            _fmt(e.get("available", 0)),
            _fmt(e.get("documents", 0)),
            (f"short by {_fmt(e.get('shortfall', 0))} ({e.get('shortfall_pct', 0)}%)" if e.get("short") else "ok"),
        ]
        for k, e in kinds.items()
    ]
    tables = [
        {
            "caption": f"Kinds ({unit})",
            "columns": ["kind", "target", "achieved", "target " + unit, "selected", "available", "documents", "status"],
            "rows": rows,
        }
    ]
    level_rows = [
        [k, lvl, f"{e['weight']:g}", _fmt(e["available"]), _fmt(e["selected"]), f"{100 * e['share_of_kind']:.2f}%"]
        for k, levels in report.get("levels", {}).items()
        for lvl, e in levels.items()
    ]
    tables.append(
        {
            "caption": "Quality levels",
            "columns": ["kind", "level", "weight", "available", "selected", "share of kind"],
            "rows": level_rows,
        }
    )
    lang_rows = [
        [k, name, _fmt(e["available"]), _fmt(e["selected"]), f"{100 * e['share_of_kind']:.2f}%"]
        for k, langs in report.get("languages", {}).items()
        for name, e in list(langs.items())[:15]
    ]
    tables.append(
        {
            "caption": "Languages (top 15 per kind)",
            "columns": ["kind", "language", "available", "selected", "share"],
            "rows": lang_rows,
        }
    )
    achieved = ", ".join(f"{k} {100 * v:.2f}%" for k, v in report.get("achieved_ratio", {}).items())
    summary = (
        f"{_fmt(report.get('selected', 0))} {unit} selected of a budget of {_fmt(report.get('budget', 0))} "
        f"({report.get('budget_mode', 'given')}); achieved {achieved}; largest deviation from the target "
        f"{100 * report.get('max_ratio_error', 0):.2f} points"
    )
    return {"title": "Mix", "summary": summary, "warnings": list(report.get("warnings", [])), "tables": tables}
