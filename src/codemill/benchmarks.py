"""The one table of benchmarks: what ``codemill eval`` scores, what decontamination removes, what steering reads.

Each :class:`BenchmarkEntry` names, by import path (loaded only when used, so this module imports nothing of
codemill but the language table), the :class:`~codemill.evaluate.base.Benchmark` that scores it, the function that
yields its items for the ``decontaminate`` step, and the language its tasks are in (or how to tell it from a task,
for MultiPL-E and HumanEval-FIM). Evaluation (:mod:`codemill.evaluate.score`), decontamination
(:mod:`codemill.curate.decontam.benchmarks`) and synthesis steering (:mod:`codemill.synth.steering`) all read this
table. A new benchmark is its module plus one entry here; :func:`register` adds one from outside codemill.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codemill.data.language_rules import by_short_name

__all__ = [
    "BENCHMARKS",
    "BenchmarkEntry",
    "benchmark_language",
    "decontamination_items",
    "decontamination_names",
    "evaluation_factory",
    "evaluation_names",
    "register",
]

FROM_KEY = "from-key"
"""``language`` of a benchmark scored per language, named in its key: ``multipl-e/rs`` is Rust."""
FROM_TASK = "from-task"
"""``language`` of a benchmark whose task ids start with their language: HumanEval-FIM's ``py/…``."""


@dataclass(frozen=True)
class BenchmarkEntry:
    """One benchmark under the name recipes, ``--benchmark`` and evaluation summaries use."""

    name: str
    language: str | None = "python"
    """The language of every task, or :data:`FROM_KEY` / :data:`FROM_TASK` where the key or the task id names it."""
    evaluation: str | None = None
    """``module:attribute`` of its :class:`~codemill.evaluate.base.Benchmark` class; None: not evaluated."""
    arguments: tuple[Any, ...] = ()
    """Arguments before the data file when the class is built (CRUXEval's ``input``/``output``)."""
    decontamination: str | None = None
    """``module:function`` yielding its :class:`~codemill.curate.decontam.benchmarks.BenchmarkItem`; None: none."""


_DECONTAM = "codemill.curate.decontam.benchmarks"
BENCHMARKS: dict[str, BenchmarkEntry] = {
    entry.name: entry
    for entry in (
        BenchmarkEntry("humaneval", evaluation="codemill.evaluate.humaneval:HumanEval",
                       decontamination=f"{_DECONTAM}:humaneval"),
        BenchmarkEntry("mbpp", evaluation="codemill.evaluate.mbpp:Mbpp", decontamination=f"{_DECONTAM}:mbpp_plus"),
        BenchmarkEntry("mbpp+", evaluation="codemill.evaluate.mbpp:MbppPlus"),
        BenchmarkEntry("humaneval-fim", FROM_TASK, evaluation="codemill.evaluate.humaneval_fim:HumanEvalFim"),
        BenchmarkEntry("cruxeval-i", evaluation="codemill.evaluate.cruxeval:CruxEval", arguments=("input",)),
        BenchmarkEntry("cruxeval-o", evaluation="codemill.evaluate.cruxeval:CruxEval", arguments=("output",)),
        BenchmarkEntry("multipl-e", FROM_KEY, decontamination=f"{_DECONTAM}:multipl_e"),
        BenchmarkEntry("cruxeval", decontamination=f"{_DECONTAM}:cruxeval"),
    )
}  # fmt: skip
"""Every known benchmark, in the order messages list them. ``multipl-e`` is evaluated per language
(``multipl-e/LANG``, :class:`~codemill.evaluate.multipl_e.MultiplE`)."""


def register(entry: BenchmarkEntry) -> None:
    """Add a benchmark (a plug-in's, a test's); a name already taken is an error."""
    if entry.name in BENCHMARKS:
        raise ValueError(f"benchmark {entry.name!r} is registered already")
    BENCHMARKS[entry.name] = entry


def _load(target: str) -> Any:
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def evaluation_names() -> list[str]:
    """The names ``codemill eval`` scores directly (``multipl-e`` is expanded by language)."""
    return [name for name, entry in BENCHMARKS.items() if entry.evaluation is not None]


def evaluation_factory(name: str) -> Callable[[Path | None], Any]:
    """A function of the user's data file (or None) that builds the benchmark ``name`` for evaluation."""
    entry = BENCHMARKS[name]
    if entry.evaluation is None:
        raise KeyError(f"benchmark {name!r} is not evaluated")
    cls = _load(entry.evaluation)
    return lambda data: cls(*entry.arguments, data)


def decontamination_names() -> list[str]:
    """The names the ``decontaminate`` step accepts in ``benchmarks:``."""
    return [name for name, entry in BENCHMARKS.items() if entry.decontamination is not None]


def decontamination_items(name: str) -> Iterator[Any]:
    """The items of benchmark ``name`` that decontamination removes documents for."""
    entry = BENCHMARKS[name]
    if entry.decontamination is None:
        raise KeyError(f"benchmark {name!r} has no decontamination items")
    return _load(entry.decontamination)()


def benchmark_language(benchmark: str, task_id: str = "") -> str | None:
    """The language a sample of ``codemill eval`` was in, or None for a benchmark this does not know.

    ``multipl-e/java`` -> ``java``; HumanEval-FIM names its language in the task id (``py/…``, ``java/…``).
    """
    family, slash, short = benchmark.lower().partition("/")
    entry = BENCHMARKS.get(family)
    if entry is None:
        return None
    if slash:  # multipl-e/LANG
        if entry.language != FROM_KEY:
            return None
        rules = by_short_name(short)
        return rules.name if rules is not None else short
    if entry.language == FROM_TASK:
        rules = by_short_name(task_id.split("/", 1)[0].lower()) if "/" in task_id else None
        return rules.name if rules is not None else None
    return None if entry.language == FROM_KEY else entry.language
