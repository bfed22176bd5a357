"""Render a curate run's ``stats.json`` as one self-contained HTML page (``report.html``).

The page has no external CSS, JS, fonts or images, so it can be mailed, archived or opened offline. All
data-derived text goes through Jinja2 autoescaping; only the SVG produced by matplotlib (which escapes its
own text) is inserted as markup.
"""

from __future__ import annotations

import contextlib
import functools
import os
import pathlib
import tempfile
from collections import Counter
from typing import Any

import jinja2
from markupsafe import Markup

from codemill.pipeline.stats import SCORE_BINS
from codemill.report import plots

TOP_LANGUAGES = 25


# --- tolerant accessors: a report must render even from a partial or newer stats.json -------------------


def _int(value: Any) -> int:
    """An int from whatever is there; bad or missing values count as 0 rather than crash the report."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    try:
        return int(float(value))
    except (TypeError, ValueError, OverflowError):
        return 0


def _float(value: Any) -> float:
    """A float from whatever is there (0.0 if missing or bad, also for NaN/inf)."""
    try:
        f = float(value)
    except (TypeError, ValueError, OverflowError):
        return 0.0
    return f if f == f and abs(f) != float("inf") else 0.0


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# --- number formatting --------------------------------------------------------------------------------


def _num(n: int) -> str:
    return f"{n:,}"


def _pct(part: float, whole: float) -> str:
    """Percentage with one decimal, or a dash when the whole is zero (an empty run)."""
    return f"{100.0 * part / whole:.1f}%" if whole > 0 else "—"


def _secs(s: float) -> str:
    return f"{s:,.2f} s"


def _sorted_counts(counts: dict[str, Any]) -> list[tuple[str, int]]:
    """(name, count) largest first, ties by name, so the page is the same on every render."""
    return sorted(((str(k), _int(v)) for k, v in counts.items()), key=lambda kv: (-kv[1], kv[0]))


# --- page model -----------------------------------------------------------------------------------------


def _totals(stats: dict[str, Any]) -> list[dict[str, str]]:
    docs_in, kept, rejected = (_int(stats.get(k)) for k in ("documents_in", "documents_kept", "documents_rejected"))
    bytes_in, bytes_kept = _int(stats.get("bytes_in")), _int(stats.get("bytes_kept"))
    seconds = _float(stats.get("seconds"))
    rows = [
        {"label": "Documents in", "value": _num(docs_in), "note": ""},
        {"label": "Documents kept", "value": _num(kept), "note": _pct(kept, docs_in)},
        {"label": "Documents rejected", "value": _num(rejected), "note": _pct(rejected, docs_in)},
        {"label": "Bytes in", "value": plots.human_bytes(bytes_in), "note": f"{bytes_in:,} bytes"},
        {"label": "Bytes kept", "value": plots.human_bytes(bytes_kept), "note": _pct(bytes_kept, bytes_in)},
        {"label": "Shards", "value": _num(_int(stats.get("shards"))), "note": ""},
        {"label": "Wall time", "value": _secs(seconds), "note": ""},
    ]
    if seconds > 0:
        rows.append({"label": "Throughput", "value": f"{docs_in / seconds:,.1f} docs/s", "note": "of input"})
        rows.append({"label": "Throughput", "value": f"{bytes_in / seconds / 1e6:,.2f} MB/s", "note": "of input"})
    return rows


def _steps(stats: dict[str, Any]) -> list[dict[str, Any]]:
    steps = []
    examples = _dict(stats.get("rejection_examples"))
    raw_steps = _list(stats.get("steps"))
    labels = [str(x) for x in _list(stats.get("step_labels"))]
    labels = labels if len(labels) == len(raw_steps) else [str(_dict(raw).get("name") or "") for raw in raw_steps]
    # A recipe may use one step several times (the text-code cascade's four classifiers): its label names the
    # model where it has one; what is still the same is numbered, so the table and the funnel tell them apart.
    names = Counter(labels)
    seen: Counter[str] = Counter()
    for i, raw in enumerate(raw_steps):
        step = _dict(raw)
        name = labels[i] or f"step {i + 1}"
        seen[name] += 1
        n_in, kept, rejected = _int(step.get("in")), _int(step.get("kept")), _int(step.get("rejected"))
        bytes_in, bytes_kept = _int(step.get("bytes_in")), _int(step.get("bytes_kept"))
        reasons = _sorted_counts(_dict(step.get("reasons")))
        unexplained = rejected - sum(n for _, n in reasons)
        steps.append(
            {
                "name": f"{name} #{seen[name]}" if names[name] > 1 else name,
                "in": _num(n_in),
                "kept": _num(kept),
                "kept_n": kept,
                "rejected": _num(rejected),
                "pct_rejected": _pct(rejected, n_in),
                "bytes_in": plots.human_bytes(bytes_in),
                "bytes_kept": plots.human_bytes(bytes_kept),
                "seconds": _secs(_float(step.get("seconds"))),
                "reasons": [
                    {
                        "reason": r,
                        "count": _num(n),
                        "share": _pct(n, rejected),
                        "examples": [_dict(e) for e in _list(_dict(examples.get(step.get("name"))).get(r))],
                    }
                    for r, n in reasons
                ],
                # For the plot: rejections no reason accounts for still belong in the step's bar.
                "reason_counts": dict(reasons) | ({"(no reason given)": unexplained} if unexplained > 0 else {}),
            }
        )
    return steps


def _languages(stats: dict[str, Any]) -> list[dict[str, Any]]:
    langs = []
    for name, raw in _dict(stats.get("languages")).items():
        entry = _dict(raw)
        langs.append((str(name), _int(entry.get("documents")), _int(entry.get("bytes"))))
    langs.sort(key=lambda t: (-t[2], -t[1], t[0]))
    total_bytes = sum(b for _, _, b in langs)
    total_docs = sum(d for _, d, _ in langs)
    return [
        {
            "name": name,
            "documents": _num(docs),
            "doc_share": _pct(docs, total_docs),
            "bytes": plots.human_bytes(nbytes),
            "bytes_exact": _num(nbytes),
            "bytes_n": nbytes,
            "share": _pct(nbytes, total_bytes),
        }
        for name, docs, nbytes in langs
    ]


def _size_histogram(stats: dict[str, Any]) -> tuple[list[int], list[int]]:
    """Contiguous buckets from the smallest to the largest seen, so the x axis is a true log2 scale."""
    counts: dict[int, int] = {}
    for key, value in _dict(stats.get("size_log2")).items():
        try:
            bucket = int(key)
        except (TypeError, ValueError):
            continue
        if 0 <= bucket <= 64 and _int(value) > 0:
            counts[bucket] = counts.get(bucket, 0) + _int(value)
    if not counts:
        return [], []
    buckets = list(range(min(counts), max(counts) + 1))
    return buckets, [counts.get(b, 0) for b in buckets]


def _code_removed(stats: dict[str, Any]) -> dict[str, Any] | None:
    """What code_removal took out of the kept text documents: totals and the first examples."""
    removed = _dict(stats.get("code_removed"))
    if not _int(removed.get("documents")):
        return None
    return {
        "documents": _num(_int(removed.get("documents"))),
        "segments": _num(_int(removed.get("segments"))),
        "chars": plots.human_bytes(_int(removed.get("chars"))),
        "examples": [_dict(e) for e in _list(removed.get("examples"))],
    }


def _score_bins(bins: Any) -> list[int]:
    """A score's histogram as SCORE_BINS counts, bin 0 first."""
    counts = [0] * SCORE_BINS
    for key, value in _dict(bins).items():
        try:
            counts[min(SCORE_BINS - 1, max(0, int(key)))] += _int(value)
        except (TypeError, ValueError):
            continue
    return counts


def _svg(text: str | None) -> Markup | None:
    # matplotlib escapes all text it writes into the SVG, so the SVG itself is trusted markup.
    return Markup(text) if text else None


def _context(stats: dict[str, Any], title: str | None) -> dict[str, Any]:
    stats = _dict(stats)
    recipe = str(stats.get("recipe") or "unknown")
    steps = _steps(stats)
    languages = _languages(stats)
    top = languages[:TOP_LANGUAGES]
    buckets, bucket_counts = _size_histogram(stats)
    funnel_labels = ["input", *(s["name"] for s in steps)] if steps else []
    funnel_values = [_int(stats.get("documents_in")), *(s["kept_n"] for s in steps)] if steps else []
    return {
        "title": title if title is not None else f"codemill run report — {recipe}",
        "version": str(stats.get("codemill") or "unknown"),
        "recipe": recipe,
        "totals": _totals(stats),
        "steps": steps,
        "languages": languages,
        "top_languages": len(top),
        "kinds": [{"name": k, "count": _num(n)} for k, n in _sorted_counts(_dict(stats.get("kinds")))],
        "quality_levels": [
            {"level": level, "count": _num(_int(n)), "share": _pct(_int(n), _int(stats.get("documents_kept")))}
            for level, n in sorted(_dict(stats.get("quality_levels")).items(), key=lambda kv: _int(kv[0]))
        ],
        "sizes": [
            {"label": plots.size_bucket_label(b), "count": _num(n)} for b, n in zip(buckets, bucket_counts, strict=True)
        ],
        "funnel_svg": _svg(plots.funnel_svg(funnel_labels, funnel_values)),
        "rejections_svg": _svg(plots.rejections_svg([s["name"] for s in steps], [s["reason_counts"] for s in steps])),
        "languages_svg": _svg(plots.languages_svg([x["name"] for x in top], [x["bytes_n"] for x in top])),
        "sizes_svg": _svg(plots.sizes_svg(buckets, bucket_counts)),
        "ladder_svg": _svg(_ladder(stats)),
        "code_removed": _code_removed(stats),
        "score_svgs": [
            _svg(plots.score_histogram_svg(name, _score_bins(bins), _dict(stats.get("score_thresholds")).get(name)))
            for name, bins in sorted(_dict(stats.get("scores")).items())
        ],
        "score_language_svgs": [
            _svg(
                plots.score_languages_svg(
                    name,
                    {lang: _score_bins(bins) for lang, bins in _dict(langs).items()},
                    _dict(stats.get("score_thresholds")).get(name),
                )
            )
            for name, langs in sorted(_dict(stats.get("score_languages")).items())
        ],
        "dedup": _dedup(stats),
        "decontamination": _decontamination(stats),
        "outputs": _outputs(stats),
    }


def _outputs(stats: dict[str, Any]) -> list[dict[str, Any]]:
    """The final steps' sections (mix, pack), as each step laid out its summary: title, line, warnings, tables."""
    sections = []
    for name, raw in _dict(stats.get("final_steps")).items():
        section = _dict(_dict(raw).get("section"))
        if not section:
            continue
        tables = [_dict(t) for t in _list(section.get("tables"))]
        sections.append(
            {
                "id": str(name),
                "title": str(section.get("title") or name),
                "folder": str(_dict(raw).get("folder") or ""),
                "summary": str(section.get("summary") or ""),
                "warnings": [str(w) for w in _list(section.get("warnings"))],
                "tables": [
                    {
                        "caption": str(t.get("caption") or ""),
                        "columns": [str(c) for c in _list(t.get("columns"))],
                        "rows": [[str(c) for c in _list(r)] for r in _list(t.get("rows"))],
                    }
                    for t in tables
                ],
            }
        )
    return sections


LEVEL_NAMES = {0: "level 0: format", 1: "level 1: rules", 2: "level 2: classifier", 3: "level 3: LM scorer"}


def _ladder(stats: dict[str, Any]) -> str | None:
    """Kept documents that reached each level of the filtering ladder (the report's Figure 1, in documents)."""
    levels = {_int(k): _int(v) for k, v in _dict(stats.get("quality_levels")).items()}
    if not levels or max(levels) == 0:
        return None
    top = max(levels)
    reached = [sum(n for level, n in levels.items() if level >= depth) for depth in range(top + 1)]
    labels = [LEVEL_NAMES.get(depth, f"level {depth}") for depth in range(top + 1)]
    return plots.funnel_svg(labels, reached, "Filtering ladder: kept documents reaching each level", "documents")


def _dedup(stats: dict[str, Any]) -> dict[str, Any] | None:
    """The dedup step's summary for the page, or None when the run had no dedup."""
    d = _dict(_dict(stats.get("global_steps")).get("dedup"))
    if not d:
        return None
    lsh = _dict(d.get("lsh"))
    removed = _dict(d.get("removed"))
    return {
        "lsh": {
            k: lsh.get(k)
            for k in ("bands", "rows", "threshold", "s_curve_midpoint", "false_positive_area", "false_negative_area")
        },
        "counts": [
            (label, _num(_int(d.get(key))))
            for label, key in (
                ("documents", "documents"),
                ("candidate pairs", "candidate_edges"),
                ("clusters", "clusters"),
                ("documents in clusters", "documents_in_clusters"),
                ("largest cluster", "largest_cluster"),
            )
        ]
        + [(f"removed: {reason}", _num(_int(n))) for reason, n in _sorted_counts(removed)],
        "svg": _svg(plots.s_curve_svg(_int(lsh.get("bands")), _int(lsh.get("rows")), _float(lsh.get("threshold")))),
    }


def _decontamination(stats: dict[str, Any]) -> dict[str, Any] | None:
    """The decontamination step's summary: stoplist and, per benchmark item, what matched on what."""
    d = _dict(_dict(stats.get("global_steps")).get("decontaminate"))
    if not d:
        return None
    stop = _dict(d.get("stoplist"))
    items = sorted(_dict(d.get("items")).items(), key=lambda kv: (-_int(_dict(kv[1]).get("documents")), kv[0]))
    return {
        "benchmarks": ", ".join(str(b) for b in _list(d.get("benchmarks"))),
        "counts": [
            ("benchmark items", _num(_int(d.get("benchmark_items")))),
            ("benchmark n-grams", _num(_int(d.get("benchmark_ngrams")))),
            ("n-gram size (words)", _num(_int(d.get("ngram")))),
            ("documents checked", _num(_int(d.get("documents")))),
            ("documents contaminated", _num(_int(d.get("contaminated_documents")))),
            ("stoplist: n-grams in at least", f"{_num(_int(stop.get('min_documents')))} documents"),
            ("stoplist size", _num(_int(stop.get("size")))),
        ],
        "stoplist": [
            (str(_dict(x).get("ngram", "")), _num(_int(_dict(x).get("documents"))))
            for x in _list(stop.get("most_common"))
        ],
        "matched": [
            {
                "id": item,
                "documents": _num(_int(_dict(v).get("documents"))),
                "examples": [_dict(e) for e in _list(_dict(v).get("examples"))],
            }
            for item, v in items
        ],
    }


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("codemill", "report/templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a typo in the template should fail the tests, not print nothing
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_report(stats: dict[str, Any], title: str | None = None) -> str:
    """The report as HTML text. Deterministic: the same stats give the same bytes (handy for diffing runs).

    Unknown top-level keys are ignored and missing or malformed values render as zero, so a report can
    always be produced, even from an older or newer ``stats.json``.
    """
    return _environment().get_template("run.html").render(**_context(stats, title))


def write_report(stats: dict[str, Any], path: pathlib.Path) -> pathlib.Path:
    """Write the report to ``path`` atomically, so a reader never sees half a file; returns ``path``."""
    path = pathlib.Path(path)
    text = render_report(stats)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is meant to be read by others
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path
