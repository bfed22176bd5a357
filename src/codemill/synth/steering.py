"""Adaptive instruction generation: what to ask for next, from coverage and failure rates.

Left alone, small models write the same easy string problems in their favourite language. The grid
language x concept x difficulty (the recipe's ``steering``) makes the wanted spread explicit, and every outcome
is counted in its target's cell: ``made``, ``accepted``, ``failed`` (judged but no passing verification) and
``refused`` (a near-repeat, refused by the agent's memory). Each cell then gets a weight

    weight(cell) = (1 + failure_rate(cell) + eval_failure_rate(language) + eval_failure_rate(language, concept))
                   / (1 + accepted(cell) + refused(cell) + pending(cell))

* ``failure_rate(cell)`` = failed / (made - refused), 0 before anything was verified there: the model is weak
  there, so more (verified) samples of it are worth most;
* ``eval_failure_rate(language)`` = share of failed samples of ``codemill eval`` (``samples.jsonl``) in that
  language, 0 without eval results: the trained model's own weak languages get more data;
* ``eval_failure_rate(language, concept)`` = the same over the eval tasks of that language whose prompt is about
  the concept (:func:`concepts_of`: the concept's keywords in the task text, e.g. "sort", "ascending" for
  sorting): the weak concepts get more data too. The task text itself is never handed to a model: it is
  benchmark data, and synthesis from it would be contamination;
* ``accepted`` in the denominator sends generation towards the gaps: an empty cell weighs as much as a cell with
  one accepted sample and twice the failures;
* ``refused`` counts like ``accepted``: a cell whose candidates keep being refused is one the agent's memory
  already covers, and asking again mostly buys more refusals;
* ``pending`` is how often the cell was already picked in the same :meth:`Steering.next_targets` call, so one
  batch spreads over the gaps instead of asking for the heaviest cell n times.

Because each sample a cell gets dilutes its own weight, a cell's count grows like ``sqrt(numerator x time)``:
in the long run, shares follow the square roots of the numerators (a language failing every eval task gets
``sqrt(2)`` = 1.4x the samples of one passing all), while an empty cell outweighs one with ``k`` accepted samples
``k + 1`` times over, so gaps close first.

``next_targets(n)`` draws n cells one after another with probability proportional to weight. Its random stream
is seeded by ``(seed, outcomes recorded so far)``: the same seed and history give the same targets, so a resumed
run that replays its recorded outcomes asks for exactly what the killed run would have asked for.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codemill.benchmarks import benchmark_language
from codemill.synth.schema import Outcome, Target

__all__ = ["CellCounts", "Steering", "benchmark_language"]


@dataclass
class CellCounts:
    made: int = 0
    accepted: int = 0
    failed: int = 0
    refused: int = 0

    @property
    def failure_rate(self) -> float:
        judged = self.made - self.refused
        return self.failed / judged if judged > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "made": self.made,
            "accepted": self.accepted,
            "failed": self.failed,
            "refused": self.refused,
            "failure_rate": self.failure_rate,
        }


CONCEPT_KEYWORDS = {
    "strings": r"\bstrings?\b|substring|characters?\b|palindrom|vowel|letters?\b|uppercase|lowercase|prefix|suffix",
    "lists": r"\blists?\b|\barrays?\b|elements?\b|sublist|\btuples?\b|sequence",
    "math": r"\bprimes?\b|factorial|divisi|\bdigits?\b|\bgcd\b|modulo|\bsquare|\beven\b|\bodd\b|\bsum\b|product",
    "recursion": r"recursi|fibonacci|\bfib\b|permutation|\btrees?\b",
    "sorting": r"\bsort|ascending|descending|\border(?:ed)?\b|\bmedian\b|largest|smallest",
    "hash maps": r"dictionar|frequen|occurrence|\bcount|\bunique\b|duplicate|\bmapping\b",
    "parsing": r"\bpars|parenthes|bracket|expression|\btokens?\b|\bsplit|\bdecode|\bencode|\bformat",
}
"""Words that say a task is about one of the default concepts; another concept is found by its own words."""


def concepts_of(text: str, concepts: Iterable[str]) -> list[str]:
    """The concepts a task's text is about (none, one or several), by :data:`CONCEPT_KEYWORDS`."""
    found = []
    for concept in concepts:
        pattern = CONCEPT_KEYWORDS.get(concept) or "|".join(rf"\b{re.escape(w)}" for w in concept.split())
        if re.search(pattern, text, re.I):
            found.append(concept)
    return found


class Steering:
    """Coverage of the language x concept x difficulty grid, and the targets it asks for next.

    See the module docstring for the weight and why. Outcomes whose target lies outside the grid are counted
    (``coverage()["outside"]``) but never steer.
    """

    def __init__(
        self, languages: Iterable[str], concepts: Iterable[str], difficulties: Iterable[str], seed: int = 0
    ) -> None:
        self.languages = list(dict.fromkeys(languages))
        self.concepts = list(dict.fromkeys(concepts))
        self.difficulties = list(dict.fromkeys(difficulties))
        if not (self.languages and self.concepts and self.difficulties):
            raise ValueError("steering needs at least one language, one concept and one difficulty")
        self.seed = seed
        self.cells = [Target(lang, c, d) for lang in self.languages for c in self.concepts for d in self.difficulties]
        self.counts: dict[Target, CellCounts] = {cell: CellCounts() for cell in self.cells}
        self.outside = CellCounts()
        self.recorded = 0
        self.eval_counts: dict[str, list[int]] = {}
        """language -> [failed, total] samples of ``codemill eval``."""
        self.eval_concept_counts: dict[tuple[str, str], list[int]] = {}
        """(language, concept) -> [failed, total] samples whose task is about the concept."""

    # ------------------------------------------------------------------ inputs

    def record(self, outcome: Outcome) -> None:
        """Count one outcome in its target's cell: made, and accepted, failed verification or refused."""
        counts = self.counts.get(outcome.candidate.target, self.outside)
        counts.made += 1
        if outcome.refused is not None:
            counts.refused += 1
        elif not outcome.passed:
            counts.failed += 1
        if outcome.accepted:
            counts.accepted += 1
        self.recorded += 1

    def load_eval_failures(self, samples_jsonl: Path) -> dict[str, float]:
        """Add the failures of ``codemill eval``'s ``samples.jsonl`` per language; returns the rates so far.

        Each line has ``benchmark``, ``task_id`` and ``passed``; lines of benchmarks without a language (or not
        JSON objects) are skipped. Several files add up.
        """
        with Path(samples_jsonl).open(encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(row, dict) or "benchmark" not in row:
                    continue
                language = benchmark_language(str(row["benchmark"]), str(row.get("task_id", "")))
                if language is None:
                    continue
                failed = 0 if row.get("passed") else 1
                tally = self.eval_counts.setdefault(language, [0, 0])
                tally[0] += failed
                tally[1] += 1
                for concept in concepts_of(str(row.get("prompt", "")), self.concepts):
                    pair = self.eval_concept_counts.setdefault((language, concept), [0, 0])
                    pair[0] += failed
                    pair[1] += 1
        return self.eval_failure_rates()

    def eval_failure_rates(self) -> dict[str, float]:
        return {lang: failed / total for lang, (failed, total) in sorted(self.eval_counts.items()) if total}

    def eval_failure_rate(self, language: str, concept: str | None = None) -> float:
        """Share of failed eval samples of ``language`` (and, given one, of its tasks about ``concept``)."""
        if concept is None:
            failed, total = self.eval_counts.get(language, (0, 0))
        else:
            failed, total = self.eval_concept_counts.get((language, concept), (0, 0))
        return failed / total if total else 0.0

    def _numerator(self, cell: Target) -> float:
        return (
            1.0
            + self.counts[cell].failure_rate
            + self.eval_failure_rate(cell.language)
            + self.eval_failure_rate(cell.language, cell.concept)
        )

    # ------------------------------------------------------------------ outputs

    def weight(self, cell: Target, pending: int = 0) -> float:
        counts = self.counts[cell]
        return self._numerator(cell) / (1.0 + counts.accepted + counts.refused + pending)

    def weights(self) -> np.ndarray:
        """The weight of every cell of :attr:`cells`, in order, before any pick."""
        return np.array([self.weight(cell) for cell in self.cells], np.float64)

    def next_targets(self, n: int) -> list[Target]:
        """``n`` cells drawn one at a time by weight; a pure function of the seed and the recorded history."""
        rng = np.random.default_rng([self.seed, self.recorded])
        numerators = np.array([self._numerator(c) for c in self.cells], np.float64)
        denominators = np.array([1.0 + self.counts[c].accepted + self.counts[c].refused for c in self.cells])
        picks: list[Target] = []
        for _ in range(n):
            weights = numerators / denominators
            index = int(rng.choice(len(self.cells), p=weights / weights.sum()))
            picks.append(self.cells[index])
            denominators[index] += 1.0  # pending: the next pick of this batch sees it as asked for
        return picks

    def coverage(self) -> dict[str, Any]:
        """The grid with its counts and weights, nested language -> concept -> difficulty, and ``accepted`` as a
        language × concept matrix (summed over difficulties) for the report's heat-map."""
        grid: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
        for cell in self.cells:
            entry = {**self.counts[cell].to_json(), "weight": self.weight(cell)}
            grid.setdefault(cell.language, {}).setdefault(cell.concept, {})[cell.difficulty] = entry
        accepted = [
            [sum(self.counts[Target(lang, c, d)].accepted for d in self.difficulties) for c in self.concepts]
            for lang in self.languages
        ]
        return {
            "languages": list(self.languages),
            "concepts": list(self.concepts),
            "difficulties": list(self.difficulties),
            "accepted": accepted,
            "grid": grid,
            "outside": self.outside.to_json(),
            "recorded": self.recorded,
            "eval_failure_rates": self.eval_failure_rates(),
            "eval_concept_failure_rates": {
                f"{lang}/{concept}": failed / total
                for (lang, concept), (failed, total) in sorted(self.eval_concept_counts.items())
                if total
            },
        }

    def to_json(self) -> dict[str, Any]:
        return {"seed": self.seed, **self.coverage()}
