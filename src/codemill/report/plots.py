"""Small matplotlib plots for the run report, rendered to inline SVG strings.

Figures are built with ``matplotlib.figure.Figure`` directly (never pyplot), so no global backend is chosen
and nothing here interferes with other users of matplotlib in the same process. Every plot function takes
plain lists prepared by :mod:`codemill.report.html` and returns the SVG text, or ``None`` when there is
nothing worth drawing (the template then says so instead).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Sequence

import matplotlib
from matplotlib import style as mpl_style
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

WIDTH_IN = 7.0
# Color-blind friendly qualitative palette (Okabe-Ito), plus a grey for "other".
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000", "#999999")
OTHER_COLOR = "#cccccc"
BAR_COLOR = "#4477aa"
MAX_LABEL = 40
MAX_REASONS = 8  # more than this many colors in one legend is unreadable; the rest become "other"

# Fixed style, so the report looks the same whatever matplotlibrc or style the calling process uses, and
# a fixed hash salt, so element ids (and hence the whole SVG) are the same on every render.
_RC = {
    "svg.hashsalt": "codemill",
    "svg.fonttype": "none",  # text stays text: 3x faster to render, smaller, searchable; the browser draws it
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "legend.fontsize": 8,
    "legend.frameon": False,
}
# No <metadata> block at all: it would hold the date (non-deterministic) and a few RDF namespace URLs.
_SVG_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}


# --- formatting shared with html.py --------------------------------------------------------------------


def human_bytes(n: float) -> str:
    """Decimal units (1 MB = 10**6 bytes), as disk and network sizes are usually quoted: "41.0 MB"."""
    n = float(n)
    if abs(n) < 1000:
        return f"{int(n)} B"
    for unit in ("KB", "MB", "GB", "TB", "PB"):
        n /= 1000.0
        if abs(n) < 999.95 or unit == "PB":
            return f"{n:.1f} {unit}"
    raise AssertionError("unreachable")


def human_count(n: float) -> str:
    """Short axis-tick form of a count: 950, 12k, 1.5M, 2B (full numbers are in the tables)."""
    n = float(n)
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= div:
            return f"{n / div:.3g}{suffix}"
    return f"{n:.0f}"


def _pow2_label(n: int) -> str:
    """A power of two in binary units, exact: 512 B, 1 KiB, 64 MiB."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n} {unit}"
        n //= 1024
    raise AssertionError("unreachable")


def size_bucket_label(bucket: int) -> str:
    """Label of a ``size_log2`` bucket: sizes s with ``s.bit_length() == bucket``, i.e. [2**(b-1), 2**b).

    Binary units (KiB) because the bucket edges are powers of two; decimal units would give "1.0 KB–2.0 KB"
    for 1024–2048 bytes, which reads as if the edges were rounded.
    """
    if bucket <= 0:
        return "empty"
    if bucket == 1:
        return "1 B"
    return f"{_pow2_label(2 ** (bucket - 1))}–{_pow2_label(2**bucket)}"


def plot_label(text: str) -> str:
    """Make user data safe as matplotlib text: no mathtext from "$", no runaway length."""
    text = " ".join(str(text).split()) or "(blank)"
    if len(text) > MAX_LABEL:
        text = text[: MAX_LABEL - 1] + "…"
    return text.replace("$", r"\$")


# --- rendering -------------------------------------------------------------------------------------------


def _figure(n_rows: int, *, per_row: float = 0.3, base: float = 1.0, min_h: float = 2.2) -> Figure:
    """A 7-inch-wide figure whose height follows the number of bars, so labels never overlap."""
    height = max(min_h, base + per_row * n_rows)
    return Figure(figsize=(WIDTH_IN, height), layout="constrained")


def svg_of(build: Callable[[], Figure]) -> str:
    """Build a figure under the report's fixed style and return it as an inline ``<svg>`` element."""
    with mpl_style.context("default"), matplotlib.rc_context(_RC), warnings.catch_warnings():
        # A reason or language name may hold characters DejaVu Sans has no glyph for; a box is fine.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font")
        fig = build()
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata=_SVG_METADATA)
    text = buf.getvalue()
    # Drop the XML prolog and DOCTYPE: inline SVG in HTML starts at the <svg> element.
    return text[text.index("<svg") :].strip()


def _hbar_axes(fig: Figure, labels: Sequence[str]) -> Axes:
    """Axes with one row per label, first label on top; numeric positions so duplicate names stay apart."""
    ax = fig.add_subplot()
    ax.set_yticks(range(len(labels)), [plot_label(s) for s in labels])
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.tick_params(axis="y", length=0)
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)
    return ax


def _count_axis(axis: Axis) -> None:
    """Integer ticks in short form, few enough that wide numbers never collide."""
    axis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    axis.set_major_formatter(FuncFormatter(lambda x, _pos: human_count(x)))


def funnel_svg(
    labels: Sequence[str],
    remaining: Sequence[int],
    title: str = "Funnel: documents remaining after each step",
    xlabel: str = "documents remaining",
) -> str | None:
    """Documents remaining after each step (or ladder level): where the data goes is easier seen than read."""
    if not labels:
        return None
    total = remaining[0] if remaining else 0

    def build() -> Figure:
        fig = _figure(len(labels))
        ax = _hbar_axes(fig, labels)
        ax.barh(range(len(labels)), remaining, color=BAR_COLOR, height=0.6)
        top = max(max(remaining), 1)
        ax.set_xlim(0, top * 1.28)
        _count_axis(ax.xaxis)
        for i, n in enumerate(remaining):
            pct = f" ({100.0 * n / total:.1f}%)" if total > 0 else ""
            ax.text(n + top * 0.01, i, f"{n:,}{pct}", va="center", fontsize=8)
        ax.set_xlabel(xlabel)
        ax.set_title(title, loc="left")
        return fig

    return svg_of(build)


def rejections_svg(
    steps: Sequence[str],
    reasons: Sequence[dict[str, int]],
    title: str = "Rejections by step and reason",
    xlabel: str = "documents rejected",
) -> str | None:
    """Rejected documents per step, stacked by reason; the most frequent reasons get their own color.

    Any count of things per row and category draws the same way (the eval report's statuses per benchmark)."""
    totals: dict[str, int] = {}
    for per_step in reasons:
        for reason, n in per_step.items():
            totals[reason] = totals.get(reason, 0) + n
    if not steps or sum(totals.values()) <= 0:
        return None
    ranked = sorted((r for r, n in totals.items() if n > 0), key=lambda r: (-totals[r], r))
    shown = ranked if len(ranked) <= MAX_REASONS + 1 else ranked[:MAX_REASONS]
    has_other = len(shown) < len(ranked)

    def build() -> Figure:
        fig = _figure(len(steps), base=1.3)
        ax = _hbar_axes(fig, steps)
        left = [0] * len(steps)
        handles, names = [], []
        series = [
            (r, [per_step.get(r, 0) for per_step in reasons], PALETTE[i % len(PALETTE)]) for i, r in enumerate(shown)
        ]
        if has_other:
            other = [sum(n for r, n in per_step.items() if r not in shown) for per_step in reasons]
            series.append(("other reasons", other, OTHER_COLOR))
        for name, values, color in series:
            bars = ax.barh(range(len(steps)), values, left=left, color=color, height=0.6)
            left = [a + b for a, b in zip(left, values, strict=True)]
            handles.append(bars)
            names.append(plot_label(name))
        top = max(max(left), 1)
        ax.set_xlim(0, top * 1.15)
        for i, n in enumerate(left):
            if n > 0:
                ax.text(n + top * 0.01, i, f"{n:,}", va="center", fontsize=8)
        _count_axis(ax.xaxis)
        ax.set_xlabel(xlabel)
        ax.set_title(title, loc="left")
        # Explicit handles and labels: matplotlib would silently drop labels that start with "_".
        fig.legend(handles, names, loc="outside right upper")
        return fig

    return svg_of(build)


def languages_svg(names: Sequence[str], nbytes: Sequence[int]) -> str | None:
    """Bytes kept per language (the caller passes the top ones, largest first)."""
    if not names:
        return None

    def build() -> Figure:
        fig = _figure(len(names), per_row=0.2)
        ax = _hbar_axes(fig, names)
        ax.barh(range(len(names)), nbytes, color=BAR_COLOR, height=0.65)
        top = max(max(nbytes), 1)
        ax.set_xlim(0, top * 1.2)
        for i, n in enumerate(nbytes):
            ax.text(n + top * 0.01, i, human_bytes(n), va="center", fontsize=7.5)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: human_bytes(x) if x else "0"))
        ax.set_xlabel("bytes kept")
        ax.set_title(f"Top {len(names)} languages by bytes kept", loc="left")
        return fig

    return svg_of(build)


def sizes_svg(buckets: Sequence[int], counts: Sequence[int]) -> str | None:
    """Histogram of kept document sizes over contiguous log2 buckets (gaps shown as empty bars)."""
    if not buckets or sum(counts) <= 0:
        return None

    def build() -> Figure:
        many = len(buckets) > 16  # then labels stand upright, or they would run into each other
        fig = Figure(figsize=(WIDTH_IN, 3.6 if many else 3.2), layout="constrained")
        ax = fig.add_subplot()
        xs = range(len(buckets))
        ax.bar(xs, counts, color=BAR_COLOR, width=0.8)
        labels = [size_bucket_label(b) for b in buckets]
        if many:
            ax.set_xticks(xs, labels, rotation=90, fontsize=7)
        else:
            ax.set_xticks(xs, labels, rotation=45, ha="right", rotation_mode="anchor", fontsize=7.5)
        ax.tick_params(axis="x", length=0)
        _count_axis(ax.yaxis)
        ax.grid(axis="y", color="#e5e5e5", linewidth=0.8)
        ax.set_axisbelow(True)
        ax.set_ylabel("documents")
        ax.set_title("Kept document sizes (bytes, log2 buckets)", loc="left")
        return fig

    return svg_of(build)


def score_histogram_svg(name: str, counts: Sequence[int], threshold: float | None) -> str | None:
    """Histogram of one score of the kept documents over [0, 1] (equal bins), with its step's threshold marked."""
    if sum(counts) <= 0:
        return None

    def build() -> Figure:
        fig = Figure(figsize=(WIDTH_IN, 2.6), layout="constrained")
        ax = fig.add_subplot()
        width = 1 / len(counts)
        ax.bar([(i + 0.5) * width for i in range(len(counts))], counts, width=width * 0.9, color=BAR_COLOR)
        if threshold is not None:
            ax.axvline(threshold, color="#c0392b", linewidth=1.5, linestyle="--")
            ax.annotate(f"threshold {threshold:g}", (threshold, 1), xycoords=("data", "axes fraction"),
                        xytext=(4, -12), textcoords="offset points", color="#c0392b", fontsize=8)  # fmt: skip
        ax.set_xlim(0, 1)
        _count_axis(ax.yaxis)
        ax.grid(axis="y", color="#e5e5e5", linewidth=0.8)
        ax.set_axisbelow(True)
        ax.set_ylabel("documents")
        ax.set_title(f"score_{plot_label(name)} of the kept documents", loc="left")
        return fig

    return svg_of(build)


def score_languages_svg(
    name: str, per_language: dict[str, Sequence[int]], threshold: float | None, most: int = 6
) -> str | None:
    """One score's histogram per language (the ``most`` languages with the most scored documents): each line is
    the share of that language's documents per bin, so a language with few documents is as readable as a big one."""
    shown = sorted(((lang, c) for lang, c in per_language.items() if sum(c) > 0), key=lambda x: (-sum(x[1]), x[0]))
    shown = shown[:most]
    if len(shown) < 2:  # one language: the histogram above says it all
        return None

    def build() -> Figure:
        fig = Figure(figsize=(WIDTH_IN, 2.6), layout="constrained")
        ax = fig.add_subplot()
        for i, (lang, counts) in enumerate(shown):
            total = sum(counts)
            edges = [k / len(counts) for k in range(len(counts) + 1)]
            shares = [c / total for c in counts]
            ax.stairs(shares, edges, color=PALETTE[i % len(PALETTE)], linewidth=1.4,
                      label=f"{plot_label(lang)} ({human_count(total)})")  # fmt: skip
        if threshold is not None:
            ax.axvline(threshold, color="#c0392b", linewidth=1.5, linestyle="--")
        ax.set_xlim(0, 1)
        ax.set_ylabel("share of the language's documents")
        ax.grid(axis="y", color="#e5e5e5", linewidth=0.8)
        ax.set_axisbelow(True)
        ax.set_title(f"score_{plot_label(name)} per language", loc="left")
        ax.legend(loc="best", fontsize=8)
        return fig

    return svg_of(build)


def s_curve_svg(bands: int, rows: int, threshold: float) -> str | None:
    """The LSH S-curve: the chance that a pair of each Jaccard similarity becomes a candidate.

    The shaded areas are what the bands x rows choice gets wrong: candidates below the threshold (checked,
    or kept as false positives) and missed pairs above it.
    """
    if bands <= 0 or rows <= 0:
        return None
    import numpy as np

    def build() -> Figure:
        fig = Figure(figsize=(WIDTH_IN, 2.8), layout="constrained")
        ax = fig.add_subplot()
        s = np.linspace(0, 1, 401)
        p = 1 - (1 - s**rows) ** bands
        ax.plot(s, p, color=BAR_COLOR, linewidth=2)
        ax.fill_between(s, p, where=s <= threshold, color="#d62728", alpha=0.25, label="false-positive area")
        ax.fill_between(s, p, 1, where=s >= threshold, color="#ff7f0e", alpha=0.25, label="false-negative area")
        ax.axvline(threshold, color="#555555", linestyle="--", linewidth=1)
        ax.set_xlabel("Jaccard similarity of a pair")
        ax.set_ylabel("P(candidate)")
        ax.set_title(f"LSH S-curve: {bands} bands x {rows} rows, threshold {threshold}", loc="left")
        ax.legend(loc="upper left", fontsize=8, frameon=False)
        ax.grid(color="#e5e5e5", linewidth=0.8)
        return fig

    return svg_of(build)


def heatmap_svg(
    rows: Sequence[str],
    columns: Sequence[str],
    values: Sequence[Sequence[float | None]],
    title: str,
    xlabel: str = "",
    ylabel: str = "",
    fmt: str = "{:.2f}",
    center: float | None = None,
) -> str | None:
    """A matrix as coloured cells with each value written in its cell; None cells stay blank.

    With ``center`` the colours diverge around it (symmetric limits), for values whose sign matters; without,
    one sequential scale from the smallest value to the largest. None when the matrix has no value at all.
    """
    import numpy as np

    if not rows or not columns:
        return None
    data = np.array([[np.nan if v is None else float(v) for v in row] for row in values], dtype=float)
    if data.shape != (len(rows), len(columns)) or np.isnan(data).all():
        return None
    finite = data[~np.isnan(data)]
    if center is None:
        cmap, vmin, vmax = "viridis", float(finite.min()), float(finite.max())
    else:
        spread = float(np.abs(finite - center).max()) or 1.0
        cmap, vmin, vmax = "RdBu", center - spread, center + spread
    if vmin == vmax:
        vmin, vmax = vmin - 1.0, vmax + 1.0

    def build() -> Figure:
        cell = 0.55
        width = min(WIDTH_IN, 2.2 + cell * len(columns))
        fig = Figure(figsize=(max(width, 3.5), 1.4 + cell * len(rows)), layout="constrained")
        ax = fig.add_subplot()
        image = ax.imshow(np.ma.masked_invalid(data), cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
        ax.set_xticks(range(len(columns)), [plot_label(c) for c in columns], rotation=45, ha="right")
        ax.set_yticks(range(len(rows)), [plot_label(r) for r in rows])
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        colormap = image.get_cmap()
        for i in range(len(rows)):
            for j in range(len(columns)):
                if np.isnan(data[i, j]):
                    continue
                r, g, b, _ = colormap(image.norm(data[i, j]))
                ink = "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"
                ax.text(j, i, fmt.format(data[i, j]), ha="center", va="center", fontsize=7.5, color=ink)
        if xlabel:
            ax.set_xlabel(xlabel)
        if ylabel:
            ax.set_ylabel(ylabel)
        ax.set_title(title, loc="left")
        fig.colorbar(image, ax=ax, shrink=0.8)
        return fig

    return svg_of(build)


def curve_svg(
    x: Sequence[int], series: dict[str, Sequence[float | None]], title: str, xlabel: str, ylabel: str
) -> str | None:
    """One line per series over integer steps (the loop's pass@1 per benchmark over rounds); gaps stay gaps."""
    if not x or not series:
        return None

    def build() -> Figure:
        fig = Figure(figsize=(WIDTH_IN, 3.2), layout="constrained")
        ax = fig.add_subplot()
        for i, (name, values) in enumerate(sorted(series.items())):
            points = [(a, b) for a, b in zip(x, values, strict=True) if b is not None]
            if points:
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, marker="o", color=PALETTE[i % len(PALETTE)], label=plot_label(name))
        ax.set_xticks(list(x))
        top = max((v for values in series.values() for v in values if v is not None), default=0.0)
        ax.set_ylim(0, max(5.0, min(100.0, top * 1.15)))  # a score is never negative; a flat 0 stays visible
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title, loc="left")
        ax.grid(color="#e5e5e5", linewidth=0.8)
        ax.set_axisbelow(True)
        ax.legend(loc="best", fontsize=8)
        return fig

    return svg_of(build)


def intervals_svg(
    labels: Sequence[str],
    series: dict[str, tuple[Sequence[float | None], Sequence[float | None]]],
    title: str,
    xlabel: str,
) -> str | None:
    """Grouped horizontal bars, one group per label, one bar per series, each with its interval as an error bar
    (the ablation's held-out scores per arm, mean ± 95% interval over seeds)."""
    if not labels or not series:
        return None
    names = list(series)
    width = 0.8 / len(names)

    def build() -> Figure:
        fig = _figure(len(labels) * len(names), per_row=0.22, base=1.2)
        ax = _hbar_axes(fig, labels)
        for i, name in enumerate(names):
            means, halves = series[name]
            ys = [k - 0.4 + width * (i + 0.5) for k in range(len(labels))]
            xs = [m if m is not None else 0.0 for m in means]
            errs = [h if h is not None and h == h else 0.0 for h in halves]  # NaN (one seed): no bar
            ax.barh(
                ys,
                xs,
                height=width,
                xerr=errs,
                color=PALETTE[i % len(PALETTE)],
                label=plot_label(name),
                error_kw={"elinewidth": 0.8, "capsize": 2},
            )
        lows = [
            m - (h if h is not None and h == h else 0.0)
            for ms, hs in series.values()
            for m, h in zip(ms, hs, strict=True)
            if m is not None
        ]
        if lows:
            ax.set_xlim(left=max(0.0, min(lows) * 0.9))
        ax.set_xlabel(xlabel)
        ax.set_title(title, loc="left")
        ax.legend(loc="lower right", fontsize=8)
        return fig

    return svg_of(build)
