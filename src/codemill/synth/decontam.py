"""Decontamination of synthetic outputs: the curate step's whitespace-word 10-gram rule, on texts in memory.

A small model asked for "an exercise about lists" can recite a benchmark problem it saw in pre-training; an
output that shares a 10-gram with HumanEval, MBPP or MultiPL-E must not be trained on. This reuses the
``decontaminate`` step itself: its benchmark loaders and index phase (the same n-grams, the same filter of
number-and-punctuation n-grams) and its document n-gram function, so a synthetic sample and a corpus document
are judged by one rule. The step's corpus stoplist is not used: it needs document frequencies of a corpus, and
a few hundred synthetic samples are not one.

With ``entry_points`` (the loop's rule: the benchmark it evaluates on must not be trained on) a sample whose
solution defines a function named as a benchmark item's entry point is refused too, whatever its text: a model
trained on its own ``sort_array`` is no longer tested on HumanEval's. Names are exact (``add`` is HumanEval/53's);
a strict rule, so it is off unless asked for.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import numpy as np

from codemill.curate.decontam.step import Decontaminate, DecontaminateParams, _doc_ngrams
from codemill.pipeline.step import StageContext
from codemill.synth.schema import Outcome

__all__ = [
    "BenchmarkIndex",
    "benchmark_index",
    "contamination_reason",
    "decontaminate_outcomes",
    "decontaminated",
    "outcome_texts",
]

NGRAM = 10


@dataclass(frozen=True)
class BenchmarkIndex:
    """The benchmarks' n-gram hashes (sorted, unique) and, for each, the id of the first item holding it."""

    grams: np.ndarray
    owners: np.ndarray
    items: tuple[str, ...]
    entry_points: dict[str, str]  # a benchmark function's name -> the first item that defines it

    def first_hit(self, text: str) -> str | None:
        """The id of the benchmark item owning the first of ``text``'s n-grams found in the index, else None."""
        grams = _doc_ngrams(text, NGRAM)
        if not len(grams) or not len(self.grams):
            return None
        pos = np.searchsorted(self.grams, grams).clip(max=len(self.grams) - 1)
        hits = np.flatnonzero(self.grams[pos] == grams)
        return self.items[int(self.owners[pos[hits[0]]])] if len(hits) else None


@cache
def benchmark_index(benchmarks: tuple[str, ...]) -> BenchmarkIndex:
    """The index of the named built-in benchmarks (``humaneval``, ``mbpp``, ``multipl-e``, ``cruxeval``), built
    once per process by the decontaminate step's own index phase in a temporary folder."""
    step = Decontaminate(DecontaminateParams(benchmarks=list(benchmarks), ngram=NGRAM))
    with tempfile.TemporaryDirectory(prefix="codemill-synth-decontam-") as tmp:
        work = Path(tmp)
        step._index(StageContext(root=work, stage=0, inputs=(), work=work), 0)
        pairs = json.loads((work / "items.json").read_text())["items"]
        names: dict[str, str] = {}
        for item_id, name in pairs:
            if name:
                names.setdefault(name, item_id)
        items = tuple(item_id for item_id, _ in pairs)
        return BenchmarkIndex(np.load(work / "index.npy"), np.load(work / "owner.npy"), items, names)


def decontaminated(
    texts: Sequence[str], benchmarks: Iterable[str], names: Sequence[Sequence[str]] | None = None
) -> list[str | None]:
    """For each text, the benchmark item id it shares a whitespace-word 10-gram with, else None; with ``names``
    (the functions each text's solution defines), also ``entry point NAME of ITEM`` for a benchmark's name."""
    index = benchmark_index(tuple(sorted(set(benchmarks))))
    hits = [index.first_hit(text) for text in texts]
    for i, defined in enumerate(names or []):
        if hits[i] is None:
            name = next((n for n in defined if n in index.entry_points), None)
            hits[i] = None if name is None else f"entry point {name} of {index.entry_points[name]}"
    return hits


def contamination_reason(hit: str) -> str:
    """Why a sample that :func:`decontaminated` hit is not kept, in a sentence's words."""
    return f"defines the {hit}" if hit.startswith("entry point ") else f"shares a 10-gram with {hit}"


def outcome_texts(outcome: Outcome) -> list[str]:
    """What an outcome could put in the outputs: the instruction, every attempt's answer, the tests."""
    candidate = outcome.candidate
    return [candidate.instruction, *(a.answer for a in candidate.attempts), candidate.tests]


def decontaminate_outcomes(outcomes: Sequence[Outcome], benchmarks: Iterable[str]) -> list[Outcome]:
    """Copies of the outcomes with ``decontaminated`` set (and ``accepted`` cleared) where any text hits.

    Refused outcomes are passed through: nothing of theirs is written.
    """
    names = tuple(sorted(set(benchmarks)))
    if not names:
        return list(outcomes)
    out = []
    for outcome in outcomes:
        hit = None
        if outcome.refused is None:
            hit = next((h for h in decontaminated(outcome_texts(outcome), names) if h is not None), None)
        out.append(replace(outcome, decontaminated=hit, accepted=outcome.accepted and hit is None))
    return out
