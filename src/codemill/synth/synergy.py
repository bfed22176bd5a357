"""The synergy metric: does an idea that crossed languages fare better or worse than a language's own ideas?

Cross-lingual discussion hands a distilled problem from one agent to another; the question the report asks is
whether that helps. It is answered from recorded :class:`~codemill.synth.schema.Outcome` records only, with no
model judging "synergy" itself.

For every ordered pair of languages ``(src, dst)`` with ``src != dst``:

* **derived** = the outcomes of candidates made in ``dst`` whose idea came from ``src``
  (``candidate.language == dst`` and ``candidate.origin_language == src``);
* **own** = the outcomes of ``dst``'s own ideas (``origin_language == dst``; an empty ``origin_language`` counts
  as the candidate's own language).

Each group gets three measured means:

* ``pass_rate``: share of candidates with a passing verification (``Outcome.passed``);
* ``checklist``: mean ``checklist_score / 10`` (the weighted 0-10 score on the 0-1 scale), over candidates that
  have a score;
* ``novelty``: mean ``Outcome.novelty`` (``1 - similarity`` to the agent's memory).

Refused candidates (``Outcome.refused``) never reached a solve or a judge, so they count for ``novelty`` only: a
refusal is exactly a lack of novelty, but not a failed verification. A metric a group has no candidates for
(e.g. ``checklist`` when nothing was judged) is missing for that group.

    parts(src, dst)[m] = metric_m(derived) - metric_m(own)       for m where both groups have metric_m
    synergy(src, dst)  = mean over those m of parts(src, dst)[m]

``synergy(src, dst)`` is None when ``dst`` has no candidates derived from ``src`` or no own candidates (and on the
diagonal). Positive: ideas from ``src`` did better in ``dst`` than ``dst``'s own; negative: worse. The three
metrics are all on a 0-1 scale, so their differences average without weights. An idea's origin is the first
agent of its lineage, so a python -> java -> go chain counts for (python, go).

That difference is uncontrolled: derived ideas may simply land on easier concepts. So each pair also gets a
**matched** comparison of acceptance (:func:`matched_acceptance`): derived and own outcomes are compared only
within the same (concept, difficulty) target, and the per-target differences are pooled with Mantel-Haenszel
weights ``w = n_d * n_o / (n_d + n_o)``::

    p~ = (accepted + 1) / (n + 2)                                   (Agresti-Caffo: no 0 or 1 from tiny groups)
    difference = sum(w * (p~_derived - p~_own)) / sum(w)
    variance   = sum(w^2 * (p~_d (1 - p~_d) / (n_d + 2) + p~_o (1 - p~_o) / (n_o + 2))) / sum(w)^2
    95% interval = difference +- 1.96 * sqrt(variance)

with the counts that went in. Fewer than :data:`MIN_MATCHED` matched derived outcomes (or own ones) is "not enough
data", and the verdict says so instead of a number a reader would take for an effect.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from codemill.synth.schema import Outcome

__all__ = ["METRICS", "MIN_MATCHED", "GroupStats", "Matched", "SynergyMatrix", "matched_acceptance", "synergy_matrix"]

METRICS = ("pass_rate", "checklist", "novelty")
MIN_MATCHED = 10
"""Matched outcomes on each side below which a pair's comparison is "not enough data"."""
Z95 = 1.96


@dataclass(frozen=True)
class GroupStats:
    """The measured means of one group of outcomes (None where the group has nothing to measure)."""

    count: int
    refused: int
    pass_rate: float | None
    checklist: float | None
    novelty: float | None

    def metric(self, name: str) -> float | None:
        value: float | None = getattr(self, name)
        return value

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "refused": self.refused,
            **{name: self.metric(name) for name in METRICS},
        }


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def group_stats(outcomes: list[Outcome]) -> GroupStats:
    """``pass_rate`` and ``checklist`` over unrefused outcomes, ``novelty`` over all (see the module docstring)."""
    judged = [o for o in outcomes if o.refused is None]
    return GroupStats(
        count=len(outcomes),
        refused=len(outcomes) - len(judged),
        pass_rate=_mean([1.0 if o.passed else 0.0 for o in judged]),
        checklist=_mean([o.checklist_score / 10.0 for o in judged if o.checklist_score is not None]),
        novelty=_mean([o.novelty for o in outcomes]),
    )


@dataclass(frozen=True)
class Matched:
    """Derived against own acceptance for one language pair, within the same targets (see the module docstring)."""

    derived: int
    own: int
    targets: int
    """(concept, difficulty) targets that both groups have outcomes in."""
    difference: float | None
    low: float | None
    high: float | None

    @property
    def verdict(self) -> str:
        if self.difference is None or self.derived < MIN_MATCHED or self.own < MIN_MATCHED:
            return f"not enough data ({self.derived} derived and {self.own} own outcomes matched; {MIN_MATCHED} each)"
        assert self.low is not None and self.high is not None
        if self.low > 0:
            return "derived ideas accepted more often"
        if self.high < 0:
            return "derived ideas accepted less often"
        return "no difference shown"

    def to_json(self) -> dict[str, Any]:
        return {
            "derived": self.derived,
            "own": self.own,
            "targets": self.targets,
            "difference": self.difference,
            "interval_95": [self.low, self.high] if self.low is not None else None,
            "verdict": self.verdict,
        }


def matched_acceptance(derived: Iterable[Outcome], own: Iterable[Outcome]) -> Matched:
    """The acceptance difference derived - own, pooled over the targets both have, with its 95% interval.

    Refused outcomes are left out on both sides: memory refusal is novelty, not the quality of an idea.
    """

    def by_target(outcomes: Iterable[Outcome]) -> dict[tuple[str, str], list[bool]]:
        cells: dict[tuple[str, str], list[bool]] = defaultdict(list)
        for o in outcomes:
            if o.refused is None:
                cells[(o.candidate.target.concept, o.candidate.target.difficulty)].append(o.accepted)
        return cells

    d_cells, o_cells = by_target(derived), by_target(own)
    shared = sorted(set(d_cells) & set(o_cells))
    n_d = sum(len(d_cells[t]) for t in shared)
    n_o = sum(len(o_cells[t]) for t in shared)
    if not shared:
        return Matched(0, 0, 0, None, None, None)
    total = difference = variance = 0.0
    for target in shared:
        a, b = d_cells[target], o_cells[target]
        weight = len(a) * len(b) / (len(a) + len(b))
        pa, pb = (sum(a) + 1) / (len(a) + 2), (sum(b) + 1) / (len(b) + 2)
        total += weight
        difference += weight * (pa - pb)
        variance += weight**2 * (pa * (1 - pa) / (len(a) + 2) + pb * (1 - pb) / (len(b) + 2))
    difference /= total
    half = Z95 * (variance**0.5) / total
    return Matched(
        n_d, n_o, len(shared), round(difference, 4), round(difference - half, 4), round(difference + half, 4)
    )


@dataclass(frozen=True)
class SynergyMatrix:
    """``matrix[src][dst]``: the synergy of ideas from ``src`` made in ``dst`` (None where undefined).

    ``counts[src][dst]`` is ``{"derived": n, "own": m}``, ``parts[src][dst]`` the per-metric differences (None
    where a metric is missing on either side), ``groups[origin][language]`` the raw means of every group that
    has outcomes, so the report can show what each difference came from.
    """

    languages: list[str]
    matrix: dict[str, dict[str, float | None]]
    counts: dict[str, dict[str, dict[str, int]]]
    parts: dict[str, dict[str, dict[str, float | None]]]
    groups: dict[str, dict[str, GroupStats]]
    matched: dict[str, dict[str, Matched]]
    """``matched[src][dst]``: acceptance of ``src``'s ideas in ``dst`` against ``dst``'s own, target by target."""

    def rows(self) -> list[list[float | None]]:
        """The matrix as a list of lists in ``languages`` order (rows: src, columns: dst)."""
        return [[self.matrix[s][d] for d in self.languages] for s in self.languages]

    def to_json(self) -> dict[str, Any]:
        return {
            "languages": list(self.languages),
            "metrics": list(METRICS),
            "matrix": self.rows(),
            "counts": self.counts,
            "parts": self.parts,
            "groups": {o: {lang: g.to_json() for lang, g in row.items()} for o, row in self.groups.items()},
            "matched": {src: {dst: m.to_json() for dst, m in row.items()} for src, row in self.matched.items()},
        }


def synergy_matrix(outcomes: Iterable[Outcome], languages: Iterable[str] | None = None) -> SynergyMatrix:
    """The synergy of every ordered language pair over ``outcomes``.

    ``languages`` fixes the rows and columns (e.g. the recipe's agents, so a language with no outcomes still has
    its row of None); by default, every language and origin language seen, sorted.
    """
    by_group: dict[tuple[str, str], list[Outcome]] = defaultdict(list)
    outcomes = list(outcomes)
    for outcome in outcomes:
        candidate = outcome.candidate
        origin = candidate.origin_language or candidate.language
        by_group[(origin, candidate.language)].append(outcome)
    if languages is None:
        names = sorted({lang for pair in by_group for lang in pair})
    else:
        names = list(dict.fromkeys(languages))
    stats = {key: group_stats(group) for key, group in by_group.items()}

    matrix: dict[str, dict[str, float | None]] = {}
    counts: dict[str, dict[str, dict[str, int]]] = {}
    parts: dict[str, dict[str, dict[str, float | None]]] = {}
    for src in names:
        matrix[src], counts[src], parts[src] = {}, {}, {}
        for dst in names:
            derived, own = stats.get((src, dst)), stats.get((dst, dst))
            counts[src][dst] = {
                "derived": derived.count if derived and src != dst else 0,
                "own": own.count if own else 0,
            }
            diffs: dict[str, float | None] = dict.fromkeys(METRICS)
            if src == dst or derived is None or own is None:
                matrix[src][dst] = None
                parts[src][dst] = diffs
                continue
            for name in METRICS:
                a, b = derived.metric(name), own.metric(name)
                diffs[name] = None if a is None or b is None else a - b
            present = [d for d in diffs.values() if d is not None]
            matrix[src][dst] = sum(present) / len(present) if present else None
            parts[src][dst] = diffs

    groups: dict[str, dict[str, GroupStats]] = defaultdict(dict)
    for (origin, language), group in sorted(stats.items()):
        groups[origin][language] = group
    matched = {
        src: {
            dst: matched_acceptance(by_group.get((src, dst), []), by_group.get((dst, dst), []))
            for dst in names
            if dst != src
        }
        for src in names
    }
    return SynergyMatrix(names, matrix, counts, parts, dict(groups), matched)
