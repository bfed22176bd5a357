"""The evaluation report: ``report.html`` beside an eval's ``summary.json`` and ``samples.jsonl``.

Where a person would rather look than read: pass@k per benchmark, a bar of outcomes (passed, failed, timeout,
compile error…) per benchmark, and every failing sample with its status, the sandbox's message and the code
that ran, so each failure can be explained. Self-contained HTML like the curate report.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from markupsafe import Markup

from codemill import __version__
from codemill.data.textio import atomic_write_text
from codemill.report import plots
from codemill.report.html import _environment

__all__ = ["render_eval_report", "write_eval_report"]

MAX_FAILURES = 200  # per benchmark: enough to see the patterns, small enough to open
CODE_EXCERPT = 4000


def _why(record: dict[str, Any]) -> str:
    """The sandbox's message plus the last line of stderr (``SyntaxError: …``, ``AssertionError``), which is
    what explains most failures at a glance."""
    message = str(record.get("message", ""))
    last = next((line.strip() for line in reversed(str(record.get("stderr", "")).splitlines()) if line.strip()), "")
    return (f"{message}: {last}" if last and last not in message else message)[:500]


def _failures(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    by_benchmark: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        if not record.get("passed") and len(by_benchmark[record["benchmark"]]) < MAX_FAILURES:
            code = str(record.get("code", ""))
            by_benchmark[record["benchmark"]].append(
                {
                    "task_id": record["task_id"],
                    "sample": record.get("sample", 0),
                    "status": record.get("status", ""),
                    "message": _why(record),
                    "stderr": str(record.get("stderr", ""))[-1500:],
                    "code": code if len(code) <= CODE_EXCERPT else code[:CODE_EXCERPT] + "\n…",
                }
            )
    return dict(by_benchmark)


def _generation_rows(generation: dict[str, Any]) -> list[tuple[str, str]]:
    if not generation:
        return []
    usage = generation.get("usage") or {}
    seconds = float(usage.get("seconds") or 0.0)
    tokens = int(usage.get("completion_tokens") or 0)
    return [
        ("model", str(generation.get("model"))),
        ("backend", str(generation.get("backend"))),
        ("mode", str(generation.get("mode"))),
        (
            "sampling",
            f"{generation.get('samples')} per task, temperature {generation.get('temperature')}, "
            f"top-p {generation.get('top_p')}, at most {generation.get('max_tokens')} tokens, "
            f"seed {generation.get('seed')}",
        ),
        ("answers", f"{usage.get('prompts', 0):,} ({usage.get('cache_hits', 0):,} from the cache)"),
        ("model calls", f"{usage.get('calls', 0):,} ({usage.get('errors', 0):,} failed)"),
        ("tokens", f"{usage.get('prompt_tokens', 0):,} prompt, {tokens:,} generated"),
        ("generation time", f"{seconds:.1f} s ({tokens / seconds if seconds else 0:.1f} tokens/s)"),
    ]


def _shown(column: str, value: float | None) -> float | None:
    """pass@k as the report prints it, in percent (``summary.json`` holds fractions)."""
    return 100 * value if value is not None and column.startswith("pass@") else value


def render_eval_report(
    summary: dict[str, dict[str, Any]], records: list[dict[str, Any]], generation: dict[str, Any] | None = None
) -> str:
    """The report as HTML text; deterministic for the same inputs."""
    keys = [key for key, entry in summary.items() if "statuses" in entry]
    statuses = [dict(Counter(r["status"] for r in records if r["benchmark"] == key)) for key in keys]
    svg = plots.rejections_svg(keys, statuses, title="Outcomes per benchmark", xlabel="samples")
    columns = [k for k in ("pass@1", "pass@10", "pass@100", "edit_similarity") if any(k in e for e in summary.values())]
    rows = [
        {
            "key": key,
            "tasks": entry.get("tasks", 0),
            "samples": entry.get("samples", 0),
            "values": [_shown(c, entry.get(c)) for c in columns],
        }
        for key, entry in summary.items()
    ]
    context = {
        "title": "codemill evaluation",
        "version": __version__,
        "generation": _generation_rows(generation or {}),
        "columns": columns,
        "rows": rows,
        "outcomes_svg": Markup(svg) if svg else None,
        "failures": _failures(records),
        "max_failures": MAX_FAILURES,
    }
    return _environment().get_template("eval.html").render(**context)


def write_eval_report(
    path: Path,
    summary: dict[str, dict[str, Any]],
    records: list[dict[str, Any]],
    generation: dict[str, Any] | None = None,
) -> Path:
    atomic_write_text(path, render_eval_report(summary, records, generation))
    return path
