"""The one benchmark table: evaluation, decontamination and steering read it, and a new benchmark is one entry.

The toy benchmark is this file's own: one :class:`BenchmarkEntry` naming its evaluation class and its
decontamination items, registered once, is scored by ``resolve``, accepted by the ``decontaminate`` step and
given a language by steering.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from codemill.benchmarks import (
    BENCHMARKS,
    BenchmarkEntry,
    benchmark_language,
    decontamination_items,
    decontamination_names,
    evaluation_names,
    register,
)
from codemill.curate.decontam.benchmarks import BenchmarkItem
from codemill.curate.decontam.step import DecontaminateParams
from codemill.evaluate.humaneval import HumanEval
from codemill.evaluate.score import known_names, resolve


class ToyBenchmark(HumanEval):
    """HumanEval's harness over two of its tasks, under another name."""

    key = "toy"

    def load(self):  # type: ignore[no-untyped-def]
        return super().load()[:2]


def toy_items() -> Iterator[BenchmarkItem]:
    yield BenchmarkItem("toy/0", "def add_two_numbers(a, b): return a + b  # the toy benchmark's only item", "add")


@pytest.fixture
def toy() -> Iterator[None]:
    register(BenchmarkEntry("toy", "python", f"{__name__}:ToyBenchmark", decontamination=f"{__name__}:toy_items"))
    yield
    del BENCHMARKS["toy"]


def test_the_table_holds_what_the_three_places_held() -> None:
    assert evaluation_names() == ["humaneval", "mbpp", "mbpp+", "humaneval-fim", "cruxeval-i", "cruxeval-o"]
    assert decontamination_names() == ["humaneval", "mbpp", "multipl-e", "cruxeval"]
    assert [benchmark_language(b) for b in ("mbpp+", "cruxeval", "cruxeval-o", "multipl-e", "nonesuch")] == [
        "python", "python", "python", None, None,
    ]  # fmt: skip
    assert benchmark_language("multipl-e/rs") == "rust" and benchmark_language("humaneval/x") is None
    assert len(list(decontamination_items("humaneval"))) == 164


def test_a_new_benchmark_is_one_entry(toy: None) -> None:
    [benchmark] = resolve("toy")
    assert isinstance(benchmark, ToyBenchmark) and len(benchmark.tasks()) == 2
    assert "toy" in known_names()
    assert DecontaminateParams(benchmarks=["toy"]).benchmarks == ["toy"]
    assert [item.id for item in decontamination_items("toy")] == ["toy/0"]
    assert benchmark_language("toy") == "python"
    with pytest.raises(ValueError, match="registered already"):
        register(BenchmarkEntry("toy"))


def test_without_the_entry_it_is_unknown() -> None:
    with pytest.raises(ValueError, match="unknown benchmark 'toy'"):
        resolve("toy")
    with pytest.raises(ValueError, match="unknown benchmark 'toy'"):
        DecontaminateParams(benchmarks=["toy"])
