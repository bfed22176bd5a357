"""MultiPL-E's harnesses: for every language the sandbox runs, our own solutions pass and buggy ones fail.

MultiPL-E ships no reference solutions outside Python, so each harness proves itself on programs we
wrote: ``tests/multipl_e_solutions/LANG.json`` holds, per problem, a correct completion and the same
completion with one planted bug (``bug`` says which). They run as the benchmark's own
``prompt + completion + "\\n" + tests`` through the real sandbox, all languages in one parallel batch.
A language whose correct programs fail (a missing toolchain, a broken harness) or whose buggy programs
pass (assertions compiled out, a swallowed exit status) fails here: it can never score 0 or 100 through
a harness bug. Both the sandbox's status and MultiPL-E's evaluator's verdict (the default rules of
:mod:`codemill.sandbox.multipl_e_rules`) must say so: this is each language's exit-0 rule on both sides.
A missing toolchain fails with the message to run ``scripts/install_toolchains.sh``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codemill.sandbox import Result, run_many
from codemill.sandbox.multipl_e import (
    DATA,
    HARNESSES,
    UnsupportedLanguageError,
    load_problems,
    program,
    requests,
    supported,
    truncate,
    verdict,
)

SOLUTIONS = Path(__file__).parent / "multipl_e_solutions"
REPORT_LANGUAGES = {"python", "cpp", "java", "php", "ts", "cs", "sh", "js"}  # the Qwen2.5-Coder report's 8
SLOW_FIRST = ["scala", "java", "go", "rs", "cpp", "d", "cs", "r"]  # packs the parallel batch tighter


def _solutions(dataset: str) -> dict[str, dict[str, str]]:
    return json.loads((SOLUTIONS / f"{dataset}.json").read_text())


@pytest.fixture(scope="module")
def results() -> dict[tuple[str, str, str], Result]:
    """Every solution of every supported language, run once: (dataset, problem, correct|buggy) -> result."""
    datasets = sorted(supported(), key=lambda d: (SLOW_FIRST.index(d) if d in SLOW_FIRST else len(SLOW_FIRST), d))
    batch, keys = [], []
    for dataset in datasets:
        problems = {p.name: p for p in load_problems(dataset)}
        for name, solution in _solutions(dataset).items():
            for kind in ("correct", "buggy"):
                batch.extend(requests(dataset, [(problems[name], solution[kind])]))
                keys.append((dataset, name, kind))
    return dict(zip(keys, run_many(batch), strict=True))


def test_every_dataset_file_has_a_harness() -> None:
    files = {path.name.removeprefix("humaneval-").removesuffix(".jsonl.gz") for path in DATA.iterdir()}
    assert files == set(HARNESSES)
    assert {d for d, h in HARNESSES.items() if not h.runs} == {"rkt", "jl", "swift"}
    assert set(supported()) >= REPORT_LANGUAGES
    assert len(supported()) == 16


@pytest.mark.parametrize("dataset", ["rkt", "jl", "swift"])
def test_unsupported_languages_are_refused_not_scored(dataset: str) -> None:
    with pytest.raises(UnsupportedLanguageError, match="cannot run in the sandbox"):
        list(requests(dataset, {}))


@pytest.mark.parametrize("dataset", sorted(HARNESSES))
def test_problems_load(dataset: str) -> None:
    problems = load_problems(dataset)
    assert 150 <= len(problems) <= 164
    assert len({p.number for p in problems}) == len(problems)
    assert all(p.prompt and p.tests for p in problems)


def test_program_is_prompt_completion_newline_tests() -> None:
    problem = next(p for p in load_problems("cpp") if p.number == 53)
    assert program(problem, "    return x + y;") == problem.prompt + "    return x + y;\n" + problem.tests
    assert problem.tests.startswith("}")  # the tests close the function: the completion is its body


def test_truncate_cuts_at_the_first_stop_token() -> None:
    assert truncate("  return 1;\n}\nfunction extra() {}", ["\nfunction ", "\n}"]) == "  return 1;"
    assert truncate("  return 1;", ["\n}"]) == "  return 1;"


def test_requests_name_the_problem_and_carry_support_files() -> None:
    (lua,) = requests("lua", {"HumanEval_53_add": "    return x + y\nend\n"})
    assert lua.id == "lua/HumanEval_53_add" and lua.language == "lua"
    assert "function M.assertEquals" in lua.files["luaunit.lua"]
    (go,) = requests("go", {"HumanEval_53_add": "    return x + y\n}\n"})
    assert go.language == "go-test"
    with pytest.raises(KeyError, match="not problems"):
        list(requests("go", {"HumanEval_999_nothing": ""}))


@pytest.mark.parametrize("dataset", sorted(HARNESSES))
def test_solutions_are_ours_and_cover_every_supported_language(dataset: str) -> None:
    if not HARNESSES[dataset].runs:
        assert not (SOLUTIONS / f"{dataset}.json").exists()
        return
    solutions = _solutions(dataset)
    names = {p.name for p in load_problems(dataset)}
    assert len(solutions) >= 10
    assert set(solutions) <= names
    for name, solution in solutions.items():
        assert solution["correct"] != solution["buggy"], name
        assert solution["bug"], name


def _why(result: Result) -> str:
    output = (result.compile.stderr if result.compile and result.phase == "compile" else "") or result.stderr
    judged = verdict(result.id.split("/")[0], result)
    return (
        f"{result.id}: {result.status} ({result.message}); MultiPL-E: {judged.status} ({judged.why})\n"
        + (output or result.stdout)[-1500:]
    )


@pytest.mark.parametrize("dataset", supported())
def test_correct_solutions_pass(dataset: str, results: dict[tuple[str, str, str], Result]) -> None:
    mine = {key: r for key, r in results.items() if key[0] == dataset and key[2] == "correct"}
    assert len(mine) >= 10
    wrong = [_why(r) for r in mine.values() if r.status != "passed" or not verdict(dataset, r).passed]
    assert not wrong, "\n\n".join(wrong)


@pytest.mark.parametrize("dataset", supported())
def test_buggy_solutions_fail(dataset: str, results: dict[tuple[str, str, str], Result]) -> None:
    """Failed, not a compile or runtime error: the planted bug is a wrong answer, and the harness says so."""
    mine = {key: r for key, r in results.items() if key[0] == dataset and key[2] == "buggy"}
    assert len(mine) >= 10
    wrong = [_why(r) for r in mine.values() if r.status != "failed" or verdict(dataset, r).passed]
    assert not wrong, "\n\n".join(wrong)
