"""Verification of solve attempts: tree-sitter parse of every code block, then one sandbox batch of code + tests.

Parsing first is cheap and explains a failure better than a compiler would ("line 3: missing ')'"); an attempt
that does not parse is not run. Everything runnable then goes to the sandbox in one ``run_many`` batch, so the
pool keeps every core busy across candidates. Only an attempt whose program passed verifies; failing attempts
beside a passing one for the same instruction become DPO pairs (:func:`dpo_pairs`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from codemill.curate.pack.syntax import parser_for
from codemill.data.language_rules import languages, rules_for, whole_program
from codemill.evaluate.extract import fenced_blocks
from codemill.sandbox import LimitsOverride, Request, run_many
from codemill.sandbox import marker as completion
from codemill.sandbox.languages import UnknownLanguageError, get_language
from codemill.synth.runner_tail import runner_tail
from codemill.synth.schema import Attempt, Candidate, Outcome, Verification

__all__ = [
    "DEFAULT_LIMITS",
    "checked_request",
    "dpo_pairs",
    "parse_blocks",
    "program",
    "sandbox_name",
    "verify_attempts",
]

DEFAULT_LIMITS = LimitsOverride(cpu_seconds=10, wall_seconds=30)
"""Per-request run limits: a synthetic exercise that needs more than 10 s of CPU is not an exercise."""

MAX_PARSE_ERRORS = 5
STDERR_CHARS = 2000

_GO_GROUP = re.compile(r"^import\s*\(\s*\n(.*?)^\)\s*$", re.M | re.S)


def sandbox_name(language: str) -> str:
    """The sandbox's name of a language (``js`` -> ``javascript``); an unknown one lower-cased."""
    try:
        return get_language(language).name
    except UnknownLanguageError:
        return language.lower()


def parse_blocks(code: str, language: str) -> tuple[bool | None, list[str]]:
    """Whether ``code`` parses with the language's tree-sitter grammar, and its errors as ``line L: ...``.

    None (and no errors) when there is no grammar for the language: unknown, not a syntax error.
    """
    name = sandbox_name(language)
    rules = rules_for(name)
    parser = parser_for(rules.corpus if rules is not None else name)
    if parser is None:
        return None, []
    data = code.encode("utf-8")
    root = parser.parse(data).root_node
    if not root.has_error:
        return True, []
    errors: list[str] = []
    stack = [root]
    while stack and len(errors) < MAX_PARSE_ERRORS:
        node = stack.pop()
        line = node.start_point[0] + 1
        if node.is_missing:
            errors.append(f"line {line}: missing {node.type!r}")
        elif node.is_error and not any(child.has_error for child in node.children):
            # the innermost error node: an outer one can span from line 1 and would point at the wrong line
            text = data[node.start_byte : node.end_byte].decode("utf-8", "replace").strip().split("\n")[0]
            snippet = " ".join(text.split())[:40]
            errors.append(f"line {line}: syntax error at {snippet!r}" if snippet else f"line {line}: syntax error")
            continue
        if node.has_error:
            stack.extend(reversed(node.children))
    return False, errors or ["syntax error"]


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _split_header(text: str, language: str) -> tuple[list[str], list[str], str]:
    """``(package lines, import lines, the rest)`` of a whole-program language's source (column-0 lines only)."""
    if language == "go":  # a grouped import becomes one import line per package
        text = _GO_GROUP.sub(
            lambda m: "\n".join(f"import {x.strip()}" for x in m.group(1).splitlines() if x.strip()), text
        )
    rules = rules_for(language)
    assert rules is not None and rules.import_line is not None, f"{language} is no whole-program language"
    package = re.compile(rf"^(?:{rules.package_line})$") if rules.package_line is not None else None
    imports = re.compile(rf"^(?:{rules.import_line})$")
    packages: list[str] = []
    found: list[str] = []
    rest: list[str] = []
    for line in text.splitlines():
        stripped = line.rstrip()
        if package is not None and package.match(stripped):
            packages.append(stripped)
        elif imports.match(stripped):
            found.append(stripped)
        else:
            rest.append(line)
    return packages, found, "\n".join(rest).strip("\n")


def program(language: str, code: str, tests: str) -> str:
    """The one program the sandbox runs for a solution and its tests.

    * Script languages (python, javascript, ruby...): the sandbox's own harness for the language, which for
      these is the code followed by the tests (``assert``-style tests that call the solution); Python test
      functions and ``TestCase`` classes that the tests only define are then run (:mod:`.runner_tail`).
    * Whole-program languages (``whole_program`` in :mod:`codemill.data.language_rules`: java, c, cpp, go, rust,
      csharp, kotlin, scala, haskell, d): the tests block is expected to be the full program, ``main`` included.
      If it already holds the solution's code verbatim (whitespace aside), it runs alone. Otherwise the code is
      put in front of it: package/module lines and imports of both are hoisted to the top, de-duplicated (the
      tests' package line wins; Go's grouped imports are split into one line each), then the code, then the rest
      of the tests.

    The rule never edits the solution's own definitions: what passes is exactly the answer that is kept. A tests
    block that re-implements the solution differently, or code that brings its own ``main``, therefore fails to
    compile (duplicate definitions) and counts as a failed attempt rather than a silently rewritten one.
    """
    name = sandbox_name(language)
    if not whole_program(name):
        tail = runner_tail(tests, name, code)  # test functions the tests define but never call, run as a runner would
        tests = f"{tests.rstrip()}\n\n{tail}\n" if tail else tests
        try:
            return get_language(name).program(code, tests)
        except UnknownLanguageError:
            return f"{code}\n\n{tests}\n"
    if _collapse(code) and _collapse(code) in _collapse(tests):
        return tests
    code_packages, code_imports, code_rest = _split_header(code, name)
    test_packages, test_imports, test_rest = _split_header(tests, name)
    header = list(dict.fromkeys(test_packages[:1] or code_packages[:1]))
    header += list(dict.fromkeys(test_imports + code_imports))
    if name == "java" and test_rest:
        # javac allows one public class per file, and the tests' class (with main) is the one the file is named for
        code_rest = re.sub(r"(?m)^public\s+((?:final\s+|abstract\s+)*class\b)", r"\1", code_rest)
    parts = ["\n".join(header), code_rest, test_rest]
    return "\n\n".join(p for p in parts if p.strip()) + "\n"


def checked_request(language: str, code: str, tests: str, limits: LimitsOverride, id_: str) -> Request:
    """The sandbox request that runs ``code`` against ``tests``: :func:`program`, with a completion marker after
    the tests where the language allows one (an exit 0 before them is no pass). Verification, the test audit and
    the cross-check all run their programs this one way."""
    name = sandbox_name(language)
    source, marker = completion.append(name, program(name, code, tests))
    return Request(language=name, code=source, completion_marker=marker, limits=limits, id=id_)


def _answer_blocks(attempt: Attempt, language: str) -> list[str]:
    """The blocks to parse: the extracted code and every fenced block tagged with the attempt's language.

    Untagged blocks other than the extracted code are left alone: they are as often sample output as code.
    """
    names = {language, sandbox_name(language)}
    for rules in languages():
        if names & rules.fences:
            names |= rules.fences
    tagged = [body for info, body in fenced_blocks(attempt.answer) if info in names]
    return list(dict.fromkeys([attempt.code, *tagged]))


def _parse_attempt(attempt: Attempt, language: str) -> tuple[bool | None, list[str]]:
    results = [parse_blocks(block, language) for block in _answer_blocks(attempt, language) if block.strip()]
    errors = [e for _, errs in results for e in errs]
    if any(ok is False for ok, _ in results):
        return False, errors
    if results and all(ok is True for ok, _ in results):
        return True, []
    return None, []


def verify_attempts(
    candidates: Sequence[Candidate], concurrency: int | None = None, limits: LimitsOverride | None = None
) -> list[Candidate]:
    """The candidates with a :class:`Verification` on every attempt, in order.

    Every attempt is parsed; those that parse (or have no grammar), have code and whose candidate has tests run
    in one ``run_many`` batch of :func:`program` with ``limits`` (default :data:`DEFAULT_LIMITS`). An attempt
    without code or without tests is ``not_run``: code that was never checked is not called verified.
    """
    parsed: list[list[Verification]] = []
    requests: list[Request] = []
    slots: list[tuple[int, int]] = []
    for c, candidate in enumerate(candidates):
        row = []
        for a, attempt in enumerate(candidate.attempts):
            ok, errors = _parse_attempt(attempt, candidate.language)
            if ok is False:
                row.append(Verification(ok, errors, "not_run", "syntax error: " + "; ".join(errors[:2])))
            elif not attempt.code.strip():
                row.append(Verification(ok, [], "not_run", "no code in the answer"))
            elif not candidate.tests.strip():
                row.append(Verification(ok, [], "not_run", "no tests to run"))
            else:
                row.append(Verification(ok))
                run_id = f"{candidate.id}/{a}"
                requests.append(
                    checked_request(candidate.language, attempt.code, candidate.tests, limits or DEFAULT_LIMITS, run_id)
                )
                slots.append((c, a))
        parsed.append(row)
    for (c, a), result in zip(slots, run_many(requests, concurrency), strict=True):
        parsed[c][a] = replace(
            parsed[c][a], status=result.status, message=result.message, stderr=result.stderr[-STDERR_CHARS:]
        )
    return [
        replace(
            candidate,
            attempts=[replace(at, verification=v) for at, v in zip(candidate.attempts, row, strict=True)],
        )
        for candidate, row in zip(candidates, parsed, strict=True)
    ]


def _fails_a_check(attempt: Attempt) -> bool:
    """Whether the attempt ran and its tests failed on a check (not a syntax error, a crash before the tests, no
    code at all): the only kind of wrong answer that teaches a preference."""
    v = attempt.verification
    return v is not None and v.parsed is not False and v.status == "failed" and bool(attempt.code.strip())


def dpo_pairs(outcomes: Iterable[Outcome]) -> list[dict[str, Any]]:
    """Preference pairs: the first passing attempt against each attempt whose tests failed on a check.

    Only accepted outcomes give pairs: their tests were audited (they call the solution, fail a stub and its
    mutants), so "passes" and "fails" mean right and wrong rather than whatever tests that check nothing say.
    A wrong answer identical to the chosen one gives no pair.
    """
    pairs = []
    for outcome in outcomes:
        candidate = outcome.candidate
        if not outcome.accepted or outcome.refused is not None or outcome.decontaminated is not None:
            continue
        chosen = next((a for a in candidate.attempts if a.verification is not None and a.verification.passed), None)
        if chosen is None:
            continue
        for attempt in candidate.attempts:
            if _fails_a_check(attempt) and attempt.answer != chosen.answer:
                pairs.append(
                    {
                        "prompt": candidate.instruction,
                        "chosen": chosen.answer,
                        "rejected": attempt.answer,
                        "language": candidate.language,
                        "candidate_id": candidate.id,
                    }
                )
    return pairs
