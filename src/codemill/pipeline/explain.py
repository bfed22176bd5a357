"""Why a run kept nothing, in the words of its own statistics: the top rejection reasons and what to change.

A run that keeps no document still ends with ``stats.json`` and the report, and it says why: the reasons that
fell the most documents (with the step, the count and one example's detail) and, for the reasons that have a
known cause, the fix (a Parquet file without a ``text`` column: ``--columns text=content``; a folder of
binaries; JSONL compressed under another name). :func:`explain_empty` builds that from the counts and the
rejection examples that :func:`codemill.pipeline.runner.summarise` collects; :func:`explanation_lines` words it
for a terminal.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["TEXT_COLUMN_GUESSES", "explain_empty", "explanation_lines"]

#: column names that usually hold a record's text, in the order a fix suggests them
TEXT_COLUMN_GUESSES: tuple[str, ...] = (
    "content",
    "code",
    "contents",
    "body",
    "source",
    "document",
    "raw_content",
    "markdown",
    "question",
    "prompt",
    "solution",
    "completion",
)
TOP = 3


def explain_empty(steps: list[dict[str, Any]], examples: dict[str, dict[str, list[dict[str, str]]]]) -> dict:
    """The top reasons (``step``, ``reason``, ``count``, ``example``) and the fixes for a run that kept nothing.

    ``steps`` are ``stats.json``'s ``steps`` (each with ``name`` and ``reasons``), ``examples`` its
    ``rejection_examples`` (step -> reason -> ``[{"where", "detail"}]``).
    """
    counted = [(count, step["name"], reason) for step in steps for reason, count in step["reasons"].items()]
    top = sorted(counted, key=lambda c: (-c[0], c[1], c[2]))[:TOP]
    reasons = []
    for count, step, reason in top:
        example = (examples.get(step, {}).get(reason) or [{}])[0]
        reasons.append({"step": step, "reason": reason, "count": count, "example": example})
    fixes = list(dict.fromkeys(fix for r in reasons if (fix := _fix(r["step"], r["reason"], r["example"]))))
    return {"reasons": reasons, "fixes": fixes}


def _fix(step: str, reason: str, example: dict[str, str]) -> str:
    """What to change for one reason, or '' when the reason has no known cause beyond the step's own judgement."""
    detail = example.get("detail", "")
    if reason == "missing_text":
        present = re.search(r"\(has: ([^)]*)\)", detail)
        columns = [c.strip() for c in present.group(1).split(",")] if present else []
        guess = next((c for c in TEXT_COLUMN_GUESSES if c in columns), None)
        if guess:
            return f"map the column that holds the text: --columns text={guess}"
        listed = f" (the records have: {', '.join(columns)})" if columns else ""
        return f"map the column that holds the text: --columns text=COLUMN{listed}"
    if reason == "binary":
        compressed = re.search(r"extension '(\.(?:zst|gz))'", detail)
        if compressed:
            return (
                f"compressed JSONL is read as data only when named .jsonl{compressed.group(1)} (or pass --format "
                "jsonl); inside a repository such files are binaries"
            )
        return "the input holds binary files only: point --input at source code, JSONL or Parquet"
    if reason == "encoding":
        return "the files are not UTF-8: convert them (iconv) before curating"
    if reason == "malformed_json":
        return "the lines are not JSON objects: is the input JSONL? (--format names it)"
    if reason == "too_large":
        return (
            "documents exceed the size limits: raise read.max_file_bytes / read.max_record_bytes or "
            "format.max_bytes in the recipe"
        )
    if reason == "unreadable":
        return "files could not be read (permissions, truncated or corrupt files): see rejected/ for each one"
    if reason == "unknown_language":
        return (
            "no language is known for the documents: map their path or language (--columns path=COLUMN or "
            "lang=COLUMN), or keep them with keep_unknown: true on the languages step"
        )
    if reason == "invalid_field":
        return "a field has the wrong type or value: map the columns with --columns, or fix kind/quality"
    if step != "read":
        return f"every document fell at step {step!r} ({reason}): loosen it in the recipe (its bounds, or mode: soft)"
    return ""


def explanation_lines(stats: dict[str, Any]) -> list[str]:
    """A run's ``nothing_kept`` explanation as terminal lines (none for a run that kept something)."""
    why = stats.get("nothing_kept")
    if not why:
        return []
    lines = [f"nothing kept: all {stats['documents_in']:,} documents were rejected; top reasons:"]
    for r in why["reasons"]:
        example, where = r["example"], r["example"].get("where")
        shown = f"{where}: {example.get('detail')}" if where else example.get("detail")
        where = f" ({shown})" if example.get("detail") else ""
        lines.append(f"  {r['step']}: {r['reason']} {r['count']:,}{where}")
    lines += [f"fix: {fix}" for fix in why["fixes"]]
    if stats["documents_in"] == 0:
        lines = [
            "nothing kept: the input holds no documents (empty files or folders, or only folders that are skipped "
            "as vendored or build output: read.skip_dirs)"
        ]
    return lines
