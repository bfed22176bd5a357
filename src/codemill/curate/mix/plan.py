"""The plan of a mix: copies per document for each kind's share of the budget, and the report of what was
achieved (the selection rule is described in :mod:`codemill.curate.mix`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from codemill.curate.mix.counting import Counted
from codemill.curate.mix.options import MixError, MixOptions

SCAN_LIMIT = 200_000  # candidates scanned to fill the last gap of a budget


def _solve_scale(size: np.ndarray, weight: np.ndarray, cap: int, target: float) -> float:
    """The scale ``s`` with ``sum(size * min(s * weight, cap)) = target`` (bisection; the sum grows with s)."""
    lo, hi = 0.0, 1.0
    while float(np.sum(size * np.minimum(hi * weight, cap))) < target:
        hi *= 2
    for _ in range(100):
        mid = (lo + hi) / 2
        if float(np.sum(size * np.minimum(mid * weight, cap))) < target:
            lo = mid
        else:
            hi = mid
    return hi


def select_copies(size: np.ndarray, weight: np.ndarray, key: np.ndarray, target: float, cap: int) -> np.ndarray:
    """Copies of each document so that ``sum(size * copies)`` is as near ``target`` as one document allows."""
    copies = np.zeros(len(size), np.int64)
    usable = weight > 0
    capacity = float(np.sum(size[usable])) * cap
    if target >= capacity:
        copies[usable] = cap
        return copies
    if target <= 0:
        return copies
    s = _solve_scale(size, weight, cap, target)
    expected = np.minimum(s * weight, cap)
    copies = np.floor(expected).astype(np.int64)
    frac = expected - copies
    remaining = target - float(np.sum(size * copies))
    candidates = np.flatnonzero(frac > 1e-12)
    if remaining <= 0 or not len(candidates):
        return copies
    u = (key[candidates] >> np.uint64(11)).astype(np.float64) / float(1 << 53)  # uniform in [0, 1)
    priority = np.log(np.maximum(u, 1e-300)) / frac[candidates]  # log of u ** (1 / frac): larger first
    order = candidates[np.lexsort((key[candidates], -priority))]
    cumulative = np.cumsum(size[order])
    n = int(np.searchsorted(cumulative, remaining, side="right"))  # the longest prefix that fits
    copies[order[:n]] += 1
    left = remaining - (float(cumulative[n - 1]) if n else 0.0)
    rest = order[n : n + SCAN_LIMIT]
    for j in rest.tolist():  # then, in the same order, whatever still fits (a greedy fill of the gap)
        if left <= 0:
            break
        if size[j] <= left:
            copies[j] += 1
            left -= float(size[j])
    if left > 0:  # one more document if going over by it is nearer the target than stopping short
        over = [j for j in rest.tolist() if copies[j] == np.floor(expected[j]) and size[j] - left < left]
        if over:
            copies[min(over, key=lambda j: size[j])] += 1
    return copies


def plan_mix(counted: Counted, options: MixOptions) -> tuple[np.ndarray, dict[str, Any]]:
    """Copies per counted document, and the report (without output details)."""
    total_share = sum(options.ratio.values())
    shares = {k: v / total_share for k, v in options.ratio.items()}
    weights_by_level = {lvl: options.weight(int(lvl)) for lvl in np.unique(counted.level).tolist()}
    weight = np.array([weights_by_level[int(x)] for x in counted.level.tolist()], np.float64)
    kind_of = {name: i for i, name in enumerate(counted.kinds)}
    cap = options.max_repeats
    available: dict[str, int] = {}
    usable_size: dict[str, int] = {}
    for kind in shares:
        mask = counted.kind == kind_of[kind] if kind in kind_of else np.zeros(len(counted.kind), bool)
        available[kind] = int(counted.size[mask].sum())
        usable_size[kind] = int(counted.size[mask & (weight > 0)].sum())
    if options.budget is None:
        limits = [usable_size[k] * cap / shares[k] for k in shares if shares[k] > 0 and usable_size[k] > 0]
        budget = int(min(limits)) if limits else 0
        mode = "max"
    else:
        budget, mode = options.budget, "given"
    if budget <= 0:
        empty_kinds = [k for k in shares if shares[k] > 0 and usable_size[k] == 0]
        raise MixError(f"nothing to mix: no usable documents of kind {', '.join(empty_kinds) or '?'}")
    copies = np.zeros(len(counted.size), np.int64)
    kinds_report: dict[str, Any] = {}
    warnings: list[str] = []
    for kind, share in shares.items():
        target = budget * share
        mask = counted.kind == kind_of[kind] if kind in kind_of else np.zeros(len(counted.kind), bool)
        idx = np.flatnonzero(mask)
        got = select_copies(counted.size[idx], weight[idx], counted.key[idx], target, cap)
        copies[idx] = got
        selected = int(np.sum(counted.size[idx] * got))
        capacity = usable_size[kind] * cap
        short = capacity < target
        hist = np.bincount(got[got > 0]) if np.any(got > 0) else np.zeros(1, np.int64)
        entry: dict[str, Any] = {
            "target": round(target),
            "selected": selected,
            "available": available[kind],
            "capacity": capacity,
            "documents": int(np.count_nonzero(got)),
            "copies": int(got.sum()),
            "repeat_histogram": {str(i): int(n) for i, n in enumerate(hist) if i and n},
            "short": short,
        }
        if short:
            entry["shortfall"] = round(target - selected)
            entry["shortfall_pct"] = round(100 * (target - selected) / target, 3) if target else 0.0
            warnings.append(
                f"{kind} is short of its share: {selected:,} of {round(target):,} {options.unit} "
                f"({entry['shortfall_pct']}% short, {entry['shortfall']:,} missing) with every usable document "
                f"at the cap of {cap} copies; the other kinds keep their targets, so the achieved ratio differs"
            )
        kinds_report[kind] = entry
    total = sum(e["selected"] for e in kinds_report.values())
    achieved = {k: (e["selected"] / total if total else 0.0) for k, e in kinds_report.items()}
    for k in kinds_report:
        kinds_report[k]["target_share"] = round(shares[k], 6)
        kinds_report[k]["achieved_share"] = round(achieved[k], 6)
    levels: dict[str, dict[str, Any]] = {}
    languages: dict[str, dict[str, Any]] = {}
    for kind in shares:
        if kind not in kind_of:
            continue
        mask = counted.kind == kind_of[kind]
        sel = counted.size * copies
        kind_total = max(1, kinds_report[kind]["selected"])
        levels[kind] = {}
        for lvl in sorted(np.unique(counted.level[mask]).tolist()):
            m = mask & (counted.level == lvl)
            levels[kind][str(lvl)] = {
                "weight": weights_by_level[lvl],
                "available": int(counted.size[m].sum()),
                "selected": int(sel[m].sum()),
                "documents": int(np.count_nonzero(copies[m])),
                "share_of_kind": round(float(sel[m].sum()) / kind_total, 6),
            }
        languages[kind] = {}
        lang_ids = np.unique(counted.lang[mask]).tolist()
        rows = []
        for li in lang_ids:
            m = mask & (counted.lang == li)
            rows.append((counted.langs[li] or "unknown", int(counted.size[m].sum()), int(sel[m].sum())))
        for name, avail, chosen in sorted(rows, key=lambda r: (-r[2], r[0])):
            languages[kind][name] = {
                "available": avail,
                "selected": chosen,
                "share_of_kind": round(chosen / kind_total, 6),
            }
    excluded = {
        name: int(np.count_nonzero(counted.kind == i)) for i, name in enumerate(counted.kinds) if name not in shares
    }
    zero_weight = int(np.count_nonzero(weight == 0))
    report = {
        "unit": options.unit,
        "budget": budget,
        "budget_mode": mode,
        "selected": total,
        "target_ratio": {k: round(v, 6) for k, v in shares.items()},
        "achieved_ratio": {k: round(v, 6) for k, v in achieved.items()},
        "max_ratio_error": round(max(abs(achieved[k] - shares[k]) for k in shares), 6),
        "kinds": kinds_report,
        "levels": levels,
        "languages": languages,
        "excluded": {"kinds_not_in_ratio": excluded, "zero_weight_documents": zero_weight, "empty": counted.empty},
        "warnings": warnings,
    }
    return copies, report
