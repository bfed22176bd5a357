"""MultiPL-E's HumanEval through the sandbox: the benchmark's own ``prompt + completion + "\\n" + tests``.

MultiPL-E (nuprl, BSD) translates HumanEval's prompts and tests to 18 languages; a model completes the
prompt, and the program that runs is the prompt, the completion cut at the first stop token, a newline
and the problem's ``tests``, exactly as MultiPL-E's own evaluator assembles it. Nothing is rewritten:
a harness that "fixes" programs scores a different benchmark. Programs are compiled, run and judged by
MultiPL-E's own evaluators' rules (:mod:`codemill.sandbox.multipl_e_rules`: their flags, type checks,
timeouts and verdicts, e.g. C# fails on ``Unhandled Exception`` whatever the exit code, TypeScript must pass
``tsc``); ``rules="sandbox"`` scores with codemill's own statuses instead, ``rules="qwen-base"`` with
Qwen2.5-Coder's base-model harness. What each language needs besides its sandbox entry is in
:data:`HARNESSES`:

* Go: the tests are a ``go test`` package (``language: go_test.go``): the ``go-test`` entry builds the
  test binary as ``go test`` does, vet included, and runs it.
* Lua: the tests ``require('luaunit')``; :file:`luaunit.lua` (ours, the part of luaunit's API the tests
  use) is written next to the program.
* Java: the tests import ``org.javatuples`` (Debian's ``libjavatuples-java``, on the entry's classpath).
* D: the tests are ``unittest`` blocks (the ``d`` entry compiles with ``-funittest``).
* C#: ``Debug.Assert`` (the ``csharp`` entry compiles with ``DEBUG`` and reports failed asserts).
* PHP: a failed test throws ``Exception("Test failed!")``; ``assert()`` is off, as in MultiPL-E's image.
* TypeScript: the program must type-check (``tsc --target esnext``), as MultiPL-E's evaluator requires.
* Python: the file is HumanEval's own layout (``prompt``, ``test`` with its ``check(...)`` call).

Racket, Julia and Swift have no toolchain here (Debian has no Julia and no Swift; Racket is not
installed by ``scripts/install_toolchains.sh``): they are listed, marked unsupported, and
:func:`requests` refuses them instead of scoring them 0.

Known broken problems, found by the hand-written solutions in ``tests/multipl_e_solutions``: PHP's
``HumanEval_23_strlen`` redeclares PHP's built-in ``strlen`` (a fatal error whatever the completion). C#'s
tests call ``.Equals`` on the answer, so where the right answer is ``null`` (``HumanEval_12_longest`` of an
empty list, ``HumanEval_162_string_to_md5`` of ``""``) every correct program dies of a
``NullReferenceException``: MultiPL-E's evaluator fails it, Qwen2.5-Coder's base harness (which only looks
for ``Fail``) passes it.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from codemill.sandbox.multipl_e_rules import DEFAULT_RULES, Evaluator, Verdict, evaluator
from codemill.sandbox.schema import LimitsOverride, Request, Result

__all__ = [
    "HARNESSES",
    "Harness",
    "Problem",
    "UnsupportedLanguageError",
    "evaluate",
    "load_problems",
    "program",
    "requests",
    "supported",
    "truncate",
    "verdict",
]

DATA = resources.files("codemill") / "data" / "benchmarks" / "multipl-e"


class UnsupportedLanguageError(ValueError):
    """A MultiPL-E language the sandbox cannot run (the message says why)."""


@cache
def _luaunit() -> str:
    return (resources.files("codemill.sandbox") / "luaunit.lua").read_text()


@dataclass(frozen=True)
class Harness:
    """How one MultiPL-E language runs in the sandbox."""

    dataset: str
    """MultiPL-E's name of the language, the ``LANG`` of ``humaneval-LANG.jsonl``."""
    runs: bool = True
    """False when the sandbox cannot run it."""
    unsupported: str = ""
    """Why the sandbox cannot run it (empty when it can)."""
    files: tuple[str, ...] = ()
    """Support files written next to the program (``luaunit.lua``)."""

    def evaluator(self, rules: str = DEFAULT_RULES) -> Evaluator:
        """How the rule set compiles, runs and judges this language (:mod:`codemill.sandbox.multipl_e_rules`)."""
        if not self.runs:
            raise UnsupportedLanguageError(f"MultiPL-E's {self.dataset} cannot run in the sandbox: {self.unsupported}")
        return evaluator(self.dataset, rules)

    @property
    def language(self) -> str | None:
        """The sandbox entry that runs it under the default rules; None when unsupported."""
        return self.evaluator().language if self.runs else None

    @property
    def limits(self) -> LimitsOverride:
        """The run phase's limits under the default rules (the evaluator's timeout)."""
        return self.evaluator().limits()

    def support_files(self) -> dict[str, str]:
        return {name: _luaunit() for name in self.files if name == "luaunit.lua"}


HARNESSES: dict[str, Harness] = {
    h.dataset: h
    for h in (
        Harness("python"),
        Harness("cpp"),
        Harness("java"),
        Harness("php"),
        Harness("ts"),
        Harness("cs"),
        Harness("sh"),
        Harness("js"),
        Harness("go"),
        Harness("rs"),
        Harness("rb"),
        Harness("pl"),
        Harness("lua", files=("luaunit.lua",)),
        Harness("r"),
        Harness("scala"),
        Harness("d"),
        Harness("rkt", False, "Racket is not installed (Debian's racket is not in scripts/install_toolchains.sh)"),
        Harness("jl", False, "Julia has no Debian package and no offline installer here"),
        Harness("swift", False, "Swift has no Debian package (Debian's `swift` is OpenStack Swift)"),
    )
}


def supported() -> list[str]:
    """MultiPL-E's names of the languages the sandbox runs."""
    return [name for name, harness in HARNESSES.items() if harness.runs]


@dataclass(frozen=True)
class Problem:
    """One MultiPL-E problem, normalised across the Python file's layout and the others'."""

    dataset: str
    name: str
    """MultiPL-E's name, e.g. ``HumanEval_23_strlen`` (``HumanEval_23`` for Python's file)."""
    number: int
    """HumanEval's problem number, the same in every language."""
    prompt: str
    tests: str
    stop_tokens: tuple[str, ...]


def _number(name: str) -> int:
    found = re.search(r"(\d+)", name)
    if found is None:
        raise ValueError(f"no problem number in {name!r}")
    return int(found.group(1))


def load_problems(dataset: str, path: Path | None = None) -> list[Problem]:
    """The problems of ``humaneval-DATASET.jsonl(.gz)``, from the package's copy unless ``path`` is given."""
    if dataset not in HARNESSES:
        raise KeyError(f"unknown MultiPL-E language {dataset!r}; known: {', '.join(HARNESSES)}")
    if path is None:
        with (DATA / f"humaneval-{dataset}.jsonl.gz").open("rb") as raw, gzip.open(raw, "rt") as lines:
            rows = [json.loads(line) for line in lines if line.strip()]
    else:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt") as lines:  # type: ignore[operator]
            rows = [json.loads(line) for line in lines if line.strip()]
    problems = []
    for row in rows:
        name = row.get("name") or row["task_id"].replace("Python/", "HumanEval_")
        tests = row["tests"] if "tests" in row else row["test"]  # Python's file: HumanEval-X's layout
        problems.append(
            Problem(dataset, name, _number(name), row["prompt"], tests, tuple(row.get("stop_tokens") or ()))
        )
    return problems


def truncate(completion: str, stop_tokens: Iterable[str]) -> str:
    """A model's completion cut at the first stop token, as MultiPL-E cuts it before evaluating."""
    cut = min((at for token in stop_tokens if token and (at := completion.find(token)) >= 0), default=None)
    return completion if cut is None else completion[:cut]


def program(problem: Problem, completion: str) -> str:
    """The program MultiPL-E's evaluator runs: prompt, completion, a newline, the tests."""
    return problem.prompt + completion + "\n" + problem.tests


def _harness(dataset: str) -> Harness:
    harness = HARNESSES.get(dataset)
    if harness is None:
        raise KeyError(f"unknown MultiPL-E language {dataset!r}; known: {', '.join(HARNESSES)}")
    return harness


def requests(
    dataset: str,
    completions: Mapping[str, str] | Iterable[tuple[Problem, str]],
    limits: LimitsOverride | None = None,
    rules: str = DEFAULT_RULES,
) -> Iterator[Request]:
    """Sandbox requests for completions, given as ``{problem name: completion}`` or ``(problem, completion)``.

    Completions are used as given: cut them with :func:`truncate` first when they are raw model output.
    Each request's ``id`` is ``DATASET/NAME``; it runs with the rule set's commands and timeout (judge the
    result with :func:`verdict` and the same ``rules``).
    """
    spec = _harness(dataset).evaluator(rules)
    if isinstance(completions, Mapping):
        by_name = {p.name: p for p in load_problems(dataset)}
        missing = sorted(set(completions) - set(by_name))
        if missing:
            raise KeyError(f"not problems of MultiPL-E's {dataset}: {', '.join(missing[:5])}")
        pairs: Iterable[tuple[Problem, str]] = ((by_name[name], text) for name, text in completions.items())
    else:
        pairs = completions
    files = _harness(dataset).support_files()
    for problem, completion in pairs:
        yield Request(
            language=spec.language,
            code=program(problem, completion),
            files=files,
            limits=limits or spec.limits(),
            id=f"{dataset}/{problem.name}",
        )


def verdict(dataset: str, result: Result, rules: str = DEFAULT_RULES) -> Verdict:
    """The rule set's evaluator's verdict on a sandbox result of MultiPL-E's ``dataset`` (``OK`` passes)."""
    return _harness(dataset).evaluator(rules).judge(result)


def evaluate(
    dataset: str,
    completions: Mapping[str, str] | Iterable[tuple[Problem, str]],
    concurrency: int | None = None,
    limits: LimitsOverride | None = None,
    rules: str = DEFAULT_RULES,
) -> list[tuple[Result, Verdict]]:
    """Run completions through the sandbox (in parallel); per completion, in order, its result and verdict."""
    from codemill.sandbox.pool import run_many

    results = run_many(requests(dataset, completions, limits, rules), concurrency=concurrency)
    return [(result, verdict(dataset, result, rules)) for result in results]
