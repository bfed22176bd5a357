"""Verification: tree-sitter parse, real sandbox runs of code with its tests, DPO pairing."""

from __future__ import annotations

from codemill.synth.schema import Attempt, Candidate, Outcome, Target, Verification
from codemill.synth.verify import dpo_pairs, parse_blocks, program, verify_attempts

PY_TESTS = "assert add(2, 3) == 5\nassert add(-1, 1) == 0\n"
GOOD = "```python\ndef add(a, b):\n    return a + b\n```"
WRONG = "```python\ndef add(a, b):\n    return a - b\n```"
BROKEN = "```python\ndef add(a, b)\n    return a + b\n```"


def _candidate(cid: str, language: str, tests: str, answers: list[str], code: list[str] | None = None) -> Candidate:
    codes = code or [a.split("\n", 1)[1].rsplit("```", 1)[0] for a in answers]
    return Candidate(
        id=cid,
        agent=language,
        language=language,
        target=Target(language, "math", "easy"),
        seed_id=None,
        instruction=f"Write add(a, b) in {language}.",
        tests=tests,
        attempts=[Attempt(a, c) for a, c in zip(answers, codes, strict=True)],
        transcript=[],
    )


def test_parse_blocks_finds_syntax_errors_with_lines() -> None:
    assert parse_blocks("def add(a, b):\n    return a + b\n", "python") == (True, [])
    ok, errors = parse_blocks("x = 1\ndef add(a, b)\n    return a + b\n", "python")
    assert ok is False and errors and errors[0].startswith("line 2:")
    ok, errors = parse_blocks("int f() { return 1 }", "cpp")  # sandbox name, grammar "c++"
    assert ok is False and any("missing" in e for e in errors)


def test_a_language_without_a_grammar_is_unknown_not_wrong() -> None:
    assert parse_blocks("puts 1 +", "ruby") == (None, [])
    assert parse_blocks("whatever", "no-such-language") == (None, [])


def test_program_for_script_and_whole_program_languages() -> None:
    assert program("python", "def f(): pass", "assert f() is None").index("def f") < program(
        "python", "def f(): pass", "assert f() is None"
    ).index("assert")
    code = "#include <stdio.h>\nint add(int a, int b) { return a + b; }\n"
    main = "#include <stdio.h>\n#include <assert.h>\nint main(void) { assert(add(2, 3) == 5); return 0; }\n"
    merged = program("c", code, main)
    assert merged.count("#include <stdio.h>") == 1
    assert merged.index("#include <assert.h>") < merged.index("int add") < merged.index("int main")
    whole = code + "int main(void) { return add(1, 1) == 2 ? 0 : 1; }\n"
    assert program("c", code, whole) == whole  # the tests already hold the solution: run as they are
    go_code = 'package main\n\nimport "strings"\n\nfunc up(s string) string { return strings.ToUpper(s) }\n'
    go_tests = 'package main\n\nimport (\n\t"fmt"\n\t"strings"\n)\n\nfunc main() { fmt.Println(up("a")) }\n'
    merged = program("go", go_code, go_tests)
    assert merged.count("package main") == 1 and merged.count('import "strings"') == 1
    assert merged.index('import "fmt"') < merged.index("func up") < merged.index("func main")
    java = program("java", "public class Sol { static int f() { return 1; } }", "public class Main { }")
    assert "\nclass Sol" in "\n" + java and "public class Main" in java


def test_verify_runs_every_attempt_in_the_sandbox() -> None:
    python = _candidate("py", "python", PY_TESTS, [GOOD, WRONG, BROKEN])
    js = _candidate(
        "js",
        "javascript",
        "const assert = require('assert');\nassert.strictEqual(add(2, 3), 5);\n",
        ["```javascript\nfunction add(a, b) { return a + b; }\n```"],
    )
    c = _candidate(
        "c",
        "c",
        "#include <assert.h>\nint main(void) { assert(add(2, 3) == 5); return 0; }\n",
        ["```c\nint add(int a, int b) { return a + b; }\n```"],
    )
    untested = _candidate("none", "python", "", [GOOD])
    out = verify_attempts([python, js, c, untested], concurrency=2)
    assert [x.id for x in out] == ["py", "js", "c", "none"]
    good, wrong, broken = (a.verification for a in out[0].attempts)
    assert good is not None and good.parsed is True and good.status == "passed" and good.passed
    assert wrong is not None and wrong.status == "failed" and not wrong.passed and "AssertionError" in wrong.stderr
    assert broken is not None and broken.parsed is False and broken.status == "not_run"
    assert broken.parse_errors[0].startswith("line 1:")
    assert out[1].attempts[0].verification == Verification(True, [], "passed", "", "")
    assert out[2].attempts[0].verification is not None and out[2].attempts[0].verification.passed
    assert out[3].attempts[0].verification is not None and out[3].attempts[0].verification.status == "not_run"
    assert python.attempts[0].verification is None  # the input is left as it was


def _verified(answer: str, status: str, parsed: bool | None = True) -> Attempt:
    return Attempt(answer, answer, Verification(parsed, [], status))


def test_dpo_pairs_every_attempt_that_failed_a_check_with_the_first_passing_one() -> None:
    mixed = _candidate("m", "python", PY_TESTS, [GOOD])
    mixed = Candidate(
        **{
            **mixed.__dict__,
            "attempts": [
                _verified("wrong", "failed"),
                _verified("right", "passed"),
                _verified("right too", "passed"),
                _verified("syntax", "not_run", parsed=False),
                _verified("machine broke", "sandbox_error"),
                _verified("slow", "timeout"),
            ],
        }
    )
    all_pass = Candidate(**{**mixed.__dict__, "id": "p", "attempts": [_verified("a", "passed")]})
    all_fail = Candidate(**{**mixed.__dict__, "id": "f", "attempts": [_verified("b", "failed")]})
    contaminated = Outcome(Candidate(**{**mixed.__dict__, "id": "d"}), decontaminated="humaneval/HumanEval/0")
    accepted = [Outcome(c, accepted=True) for c in (mixed, all_pass, all_fail)]
    pairs = dpo_pairs([*accepted, contaminated, Outcome(Candidate(**{**mixed.__dict__, "id": "n"}))])
    # only an answer that failed a check is "rejected": not a syntax error, a timeout or the machine's fault; and
    # only accepted outcomes (audited tests) give pairs: "n" has the same attempts but was not accepted
    assert [(p["chosen"], p["rejected"]) for p in pairs] == [("right", "wrong")]
    assert pairs[0] == {
        "prompt": "Write add(a, b) in python.",
        "chosen": "right",
        "rejected": "wrong",
        "language": "python",
        "candidate_id": "m",
    }
