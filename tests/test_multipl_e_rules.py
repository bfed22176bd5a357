"""MultiPL-E's own evaluators' rules, a program on each side of each, through the real sandbox.

Each case is a completion of a real MultiPL-E problem (the program is MultiPL-E's ``prompt + completion +
"\\n" + tests``) or, where a completion cannot show the rule (a duplicate ``using`` at the top of the file),
a whole program. Every case says what the rule set's evaluator must answer: ``OK`` passes, anything else
fails. Where codemill's own statuses (``rules="sandbox"``) or Qwen2.5-Coder's base harness
(``rules="qwen-base"``) decide otherwise, the same program is run under them too: that is the difference the
rule is about. All programs run in one parallel batch. The exit-0 rule of every language (the rule of most
of them) is proven on both sides by ``tests/test_sandbox_multipl_e.py``'s correct and buggy solutions.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from codemill.sandbox import Request, Result, run_many
from codemill.sandbox.multipl_e import load_problems, program, verdict
from codemill.sandbox.multipl_e_rules import RULE_SETS, Verdict, evaluator
from codemill.sandbox.schema import PhaseResult


@dataclass(frozen=True)
class Case:
    name: str
    dataset: str
    rules: str
    expect: str
    """The evaluator's status: OK, or the first word of why not (SyntaxError, Exception, Timeout...)."""
    completion: str = ""
    number: int = 23
    """HumanEval's problem the completion completes (23 is strlen, 53 add)."""
    whole: str = ""
    """A whole program instead of a completion."""
    shows: str = ""
    """Text the compiler's or the program's output must hold: the failure is the rule's, not another one."""


STRLEN_CS = "        return str.Length;\n"
TS_TYPE_ERROR = '  return string.length + ("" - 0);\n}\n'  # TS2362; runs and answers right
TS_ES2016 = '  return [..."abc"].includes("z") ? -1 : string.length;\n}\n'  # Array.includes: TS2550 before ES2016
CS_USINGS_TWICE = """using System;
using System.Diagnostics;
using System;
class Problem {
    public static void Main(string[] args) {
        Debug.Assert(1 + 1 == 2);
    }
}
"""
CS_BIGINTEGER = "        return (long)(new BigInteger(str.Length));\n"
RS_TRY_INTO = "    string.len().try_into().unwrap()\n"
CS_LONGEST = "        return strings.Count == 0 ? null : strings.Aggregate((a, b) => b.Length > a.Length ? b : a);\n"

CASES = [
    # TypeScript: tsc must accept the program; a type error is a SyntaxError even when the program runs right.
    Case("ts typed", "ts", "multipl-e", "OK", "  return string.length;\n}\n"),
    Case("ts TS2362", "ts", "multipl-e", "SyntaxError", TS_TYPE_ERROR, shows="TS2362"),
    Case("ts TS2362 without type checks", "ts", "sandbox", "OK", TS_TYPE_ERROR),
    Case("ts wrong answer", "ts", "multipl-e", "AssertionError", "  return string.length + 1;\n}\n"),
    Case("ts Array.includes with esnext's library", "ts", "multipl-e", "OK", TS_ES2016),
    Case("ts TS2550 with ES2015's library", "ts", "qwen-base", "SyntaxError", TS_ES2016, shows="TS2550"),
    # C#: stderr decides, not the exit code.
    Case("cs right", "cs", "multipl-e", "OK", STRLEN_CS),
    Case("cs failed Debug.Assert exits 0", "cs", "multipl-e", "Exception", "        return str.Length + 1;\n"),
    Case(
        "cs exit 1 without a failure on stderr",
        "cs",
        "multipl-e",
        "OK",
        '        if (str == "asdasnakj") { Environment.Exit(1); }\n' + STRLEN_CS,
    ),
    Case(
        "cs exit 1 is a failure for the sandbox",
        "cs",
        "sandbox",
        "failed",
        '        if (str == "asdasnakj") { Environment.Exit(1); }\n' + STRLEN_CS,
    ),
    Case("cs unhandled exception", "cs", "multipl-e", "Exception", '        return long.Parse("x" + str);\n'),
    Case(
        "cs unhandled exception passes Qwen's base rule", "cs", "qwen-base", "OK", '        return long.Parse("x");\n'
    ),
    Case("cs CS0105 is a warning", "cs", "multipl-e", "OK", whole=CS_USINGS_TWICE),
    Case("cs System.Numerics is referenced", "cs", "multipl-e", "OK", CS_BIGINTEGER),
    Case("cs no System.Numerics for Qwen's base", "cs", "qwen-base", "SyntaxError", CS_BIGINTEGER, shows="BigInteger"),
    # MultiPL-E's C# tests call .Equals on the answer: a right answer of null dies (a broken problem).
    Case("cs null answer dies", "cs", "multipl-e", "Exception", CS_LONGEST, number=12, shows="NullReferenceException"),
    Case("cs null answer passes Qwen's base rule", "cs", "qwen-base", "OK", CS_LONGEST, number=12),
    # Go: FAIL in go test's stdout fails, whatever the exit code.
    Case("go right", "go", "multipl-e", "OK", "    return len(myString)\n}\n"),
    Case("go prints FAIL", "go", "multipl-e", "Exception", '    fmt.Println("FAIL")\n    return len(myString)\n}\n'),
    Case("go prints FAIL, sandbox", "go", "sandbox", "OK", '    fmt.Println("FAIL")\n    return len(myString)\n}\n'),
    # Perl: ERROR in the output fails, whatever the exit code.
    Case("pl right", "pl", "multipl-e", "OK", "    return length($string);\n}\n"),
    Case(
        "pl prints ERROR", "pl", "multipl-e", "Exception", '    print STDERR "ERROR";\n    return length($string);\n}\n'
    ),
    Case(
        "pl prints ERROR, sandbox", "pl", "sandbox", "OK", '    print STDERR "ERROR";\n    return length($string);\n}\n'
    ),
    # Scala: exit 0 and an empty stderr.
    Case("scala right", "scala", "multipl-e", "OK", "        string.length\n"),
    Case(
        "scala writes to stderr",
        "scala",
        "multipl-e",
        "Exception",
        '        System.err.println("x")\n        string.length\n',
    ),
    Case(
        "scala writes to stderr, sandbox",
        "scala",
        "sandbox",
        "OK",
        '        System.err.println("x")\n        string.length\n',
    ),
    # PHP: Debian's php.ini compiles assert() out, as MultiPL-E's image does; codemill's own entry turns it on.
    Case("php assert is off", "php", "multipl-e", "OK", "    assert(false);\n    return $x + $y;\n}\n", number=53),
    Case(
        "php assert on, sandbox", "php", "sandbox", "failed", "    assert(false);\n    return $x + $y;\n}\n", number=53
    ),
    Case("php wrong answer", "php", "multipl-e", "Exception", "    return $x - $y;\n}\n", number=53),
    # Rust: rustc's default edition (2015): TryInto is not in its prelude, `async` is not a keyword.
    Case("rs 2015 keyword", "rs", "multipl-e", "OK", "    let async = string.len();\n    async as isize\n"),
    Case(
        "rs 2015 keyword, sandbox (2021)",
        "rs",
        "sandbox",
        "compile_error",
        "    let async = string.len();\n    async as isize\n",
        shows="async",
    ),
    Case("rs TryInto needs a use in 2015", "rs", "multipl-e", "SyntaxError", RS_TRY_INTO, shows="try_into"),
    Case("rs TryInto is in 2021's prelude, sandbox", "rs", "sandbox", "OK", RS_TRY_INTO),
    # JavaScript: exit 0 for MultiPL-E; nothing printed at all for Qwen's base harness.
    Case("js prints and passes", "js", "multipl-e", "OK", "  console.log(x);\n  return x + y;\n}\n", number=53),
    Case(
        "js prints: Qwen's base fails it",
        "js",
        "qwen-base",
        "Exception",
        "  console.log(x);\n  return x + y;\n}\n",
        number=53,
    ),
    Case("js wrong answer", "js", "multipl-e", "AssertionError", "  return x - y;\n}\n", number=53),
]


def _request(case: Case, index: int) -> Request:
    spec = evaluator(case.dataset, case.rules)
    if case.whole:
        code = case.whole
    else:
        problem = next(p for p in load_problems(case.dataset) if p.number == case.number)
        code = program(problem, case.completion)
    return Request(language=spec.language, code=code, limits=spec.limits(), id=str(index))


@pytest.fixture(scope="module")
def outcomes() -> dict[str, tuple[Result, Verdict]]:
    results = run_many([_request(case, index) for index, case in enumerate(CASES)])
    return {
        case.name: (result, verdict(case.dataset, result, case.rules))
        for case, result in zip(CASES, results, strict=True)
    }


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_evaluator_decides(case: Case, outcomes: dict[str, tuple[Result, Verdict]]) -> None:
    result, judged = outcomes[case.name]
    output = (result.compile.stdout + result.compile.stderr if result.compile else "") + result.stderr
    assert judged.status != "SandboxError", judged.why
    assert judged.status == case.expect, f"{judged.status} ({judged.why}); sandbox: {result.status}\n{output[-1500:]}"
    assert case.shows in output + result.stdout, f"{case.shows!r} is not in the output:\n{output[-1500:]}"


def _result(exit_code: int = 0, stdout: str = "", stderr: str = "", killed_by: str | None = None) -> Result:
    run = PhaseResult(exit_code=exit_code, stdout=stdout, stderr=stderr, killed_by=killed_by)  # type: ignore[arg-type]
    return Result(
        language="x", status="passed", phase="run", exit_code=exit_code, stdout=stdout, stderr=stderr, run=run
    )


def test_a_timeout_is_a_timeout_for_every_evaluator() -> None:
    for rules in RULE_SETS:
        for dataset in ("cs", "ts", "js", "cpp"):
            spec = evaluator(dataset, rules)
            if rules != "sandbox":
                assert spec.judge(_result(killed_by="cpu_time")).status == "Timeout", (rules, dataset)


def test_a_sandbox_error_is_never_a_verdict_on_the_program() -> None:
    broken = Result(language="x", status="sandbox_error", message="bwrap: no permission")
    for dataset in ("cs", "go", "scala", "pl"):
        judged = verdict(dataset, broken)
        assert judged.status == "SandboxError" and not judged.passed and "bwrap" in judged.why


def test_timeouts_are_the_evaluators_own_as_cpu_time() -> None:
    assert evaluator("js").limits().cpu_seconds == 5  # eval_javascript.py: timeout=5
    assert evaluator("cs").limits().cpu_seconds == 5  # eval_cs.py: timeout=5
    assert evaluator("go").limits().cpu_seconds == 30  # eval_go.py: timeout=30
    assert evaluator("java").limits().cpu_seconds == 15  # safe_subprocess's default
    assert evaluator("java").limits().wall_seconds == 45


def test_unknown_rules_and_languages_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown rule set 'nope'"):
        evaluator("cs", "nope")
    with pytest.raises(KeyError, match="qwen-base rules have no evaluator for MultiPL-E's 'lua'"):
        evaluator("lua", "qwen-base")
