"""Tests that test: the audit of a passing sample's tests (read, then run against a stub and mutants), in the real
sandbox. The degenerate cases are the ones an audit of ``codemill synth`` found accepted; each must be refused."""

from __future__ import annotations

import pytest

from codemill.synth.adequacy import TestAudit, audit_tests, entry_points, mutants, read_tests, stub
from codemill.synth.runner_tail import runner_tail
from codemill.synth.schema import Attempt, Candidate, Target
from codemill.synth.verify import verify_attempts

MIN = 0.5
ADD = "def add(a, b):\n    return a + b\n"
WRONG_ADD = "def add(a, b):\n    return 0\n"
GOOD_TESTS = "assert add(2, 3) == 5\nassert add(-1, 1) == 0\n"
JS_ADD = "function add(a, b) {\n  return a + b;\n}\n"
SH_ADD = "add() {\n  echo $(( $1 + $2 ))\n}\n"


def _gate(language: str, code: str, tests: str) -> tuple[str, TestAudit]:
    """The sandbox verdict of ``code`` with ``tests`` and, where it passed, the tests' audit."""
    candidate = Candidate("c", language, language, Target(language, "math", "easy"), None, "Write add.", tests,
                          [Attempt(f"```\n{code}```", code)], [])  # fmt: skip
    [verified] = verify_attempts([candidate])
    status = verified.attempts[0].verification.status
    [audit] = audit_tests([("c", language, code, tests)])
    return status, audit


def _accepted(language: str, code: str, tests: str) -> bool:
    status, audit = _gate(language, code, tests)
    return status == "passed" and audit.adequate(MIN)


DEGENERATE = {
    "assert True": ("python", WRONG_ADD, "assert True\n"),
    "tests that redefine add and assert on their copy": (
        "python", WRONG_ADD, "def add(a, b):\n    return a + b\n\nassert add(2, 3) == 5\n"),
    "print with no assertion": ("python", WRONG_ADD, "print(add(2, 3))\n"),
    "a comment-only test block": ("python", WRONG_ADD, "# add(2, 3) should be 5\n"),
    "a solution ending in os._exit(0)": ("python", WRONG_ADD + "import os\nos._exit(0)\n", GOOD_TESTS),
    "JavaScript console.assert": ("javascript", "function add(a, b) { return 0; }\n",
                                  "console.assert(add(2, 3) === 5);\n"),
    "a Bash check that is not the last line": ("bash", "add() { echo 0; }\n",
                                               '[ "$(add 2 3)" = "5" ]\necho "tests done"\n'),
    "an assertion inside try/except": (
        "python", WRONG_ADD, "try:\n    assert add(2, 3) == 5\nexcept AssertionError:\n    print('oops')\n"),
    "Bash tests that only echo": ("bash", "add() { echo 0; }\n", 'echo "add 2 3 gives $(add 2 3)"\n'),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(DEGENERATE))
def test_degenerate_tests_of_a_wrong_solution_are_not_accepted(case: str) -> None:
    language, code, tests = DEGENERATE[case]
    assert not _accepted(language, code, tests), case


@pytest.mark.parametrize(
    ("language", "code", "tests"),
    [
        ("python", ADD, GOOD_TESTS),
        ("javascript", JS_ADD, "const assert = require('assert');\nassert.strictEqual(add(2, 3), 5);\n"
                               "assert.strictEqual(add(-1, 1), 0);\n"),
        ("bash", SH_ADD, '[ "$(add 2 3)" = "5" ] || exit 1\n[ "$(add -1 1)" = "0" ] || exit 1\n'),
        ("cpp", "int add(int a, int b) { return a + b; }\n",
         "#include <cassert>\nint main() { assert(add(2, 3) == 5); assert(add(-1, 1) == 0); return 0; }\n"),
    ],
)  # fmt: skip
def test_real_tests_of_a_right_solution_are_accepted_and_kill_every_mutant(
    language: str, code: str, tests: str
) -> None:
    status, audit = _gate(language, code, tests)
    assert status == "passed"
    assert audit.problems == [] and audit.stub not in (None, "passed"), audit
    assert audit.mutants >= 1 and audit.mutation_score == 1.0, audit
    assert audit.adequate(MIN)


def test_tests_that_fool_the_stub_are_caught_by_the_mutants() -> None:
    """``add(0, 0) == 0`` fails the stub (it returns None) but passes ``a - b`` and ``a * b``: a point where the
    operators agree. The stub alone would accept it; the mutation score does not."""
    status, audit = _gate("python", ADD, "assert add(0, 0) == 0\n")
    assert status == "passed" and audit.problems == [] and audit.stub == "failed"
    assert audit.mutation_score == 0.0 and not audit.adequate(MIN)
    assert "mutants" in audit.failures(MIN)[0]


def test_a_typed_stub_returns_the_zero_of_its_type_so_tests_at_zero_are_caught() -> None:
    """With ``-> int`` the stub returns 0, so tests whose only expectation is 0 pass it: refused."""
    code = "def add(a: int, b: int) -> int:\n    return a + b\n"
    assert "return 0" in (stub(code, "python") or "")
    status, audit = _gate("python", code, "assert add(0, 0) == 0\nassert add(3, -3) == 0\n")
    assert status == "passed" and audit.stub == "passed" and not audit.adequate(MIN)


def test_reading_names_entry_points_and_problems_per_language() -> None:
    assert entry_points(ADD + "\ndef main():\n    pass\n", "python") == ["add"]
    assert entry_points("const sub = (a, b) => a - b;\n" + JS_ADD, "javascript") == ["sub", "add"]
    assert entry_points(SH_ADD, "bash") == ["add"]
    assert entry_points("#include <vector>\nstd::vector<int> f(int n) { return {}; }\n", "cpp") == ["f"]
    assert read_tests(ADD, GOOD_TESTS, "python") == []
    assert read_tests(ADD, "assert True\n", "python") == ["the tests never call add"]
    js_try = "try { assert.strictEqual(add(2, 3), 5); } catch (e) { console.log(e); }\n"
    assert any("catch their own" in p for p in read_tests(JS_ADD, js_try, "javascript"))
    rethrown = "try { assert.strictEqual(add(2, 3), 5); } catch (e) { console.log(e); throw e; }\n"
    assert read_tests(JS_ADD, rethrown, "javascript") == []
    reraised = "try:\n    assert add(2, 3) == 5\nexcept AssertionError:\n    print('x')\n    raise\n"
    assert read_tests(ADD, reraised, "python") == []


def test_mutants_change_one_operator_or_number_and_are_the_same_every_time() -> None:
    code = (
        "def f(xs):\n    total = 0\n    for x in xs:\n        if x > 1 and x % 2 == 0:\n"
        "            total += x\n    return total\n"
    )
    made = mutants(code, "python", limit=4)
    assert len(made) == 4 and made == mutants(code, "python", limit=4)
    assert all(m != code and len(m.splitlines()) == len(code.splitlines()) for m in made)
    assert mutants('s = "a + b"\n', "python") == []  # nothing inside a string
    assert mutants(SH_ADD, "bash") == ["add() {\n  echo $(( $1 - $2 ))\n}\n"]


def test_a_stub_that_does_not_compile_is_stillborn_not_a_verdict() -> None:
    """A C++ function returning a reference cannot return ``{}``: the stub fails to compile, which proves nothing
    about the tests (and must not count as the tests failing it)."""
    code = "int g = 1;\nint& ref() { return g; }\n"
    tests = "#include <cassert>\nint main() { assert(ref() == 1); return 0; }\n"
    status, audit = _gate("cpp", code, tests)
    assert status == "passed" and audit.stub is None and audit.stillborn >= 1
    assert audit.mutants == 1 and audit.adequate(MIN)  # ``g = 2`` ran and the tests caught it
    # with nothing to mutate, every variant is stillborn: nothing shows the tests can fail, so no acceptance
    status, audit = _gate("cpp", "int g;\nint& ref() { return g; }\n", tests.replace("== 1", "== 0"))
    assert status == "passed" and audit.mutants == 0 and not audit.adequate(MIN)
    assert "stillborn" in audit.failures(MIN)[0]


def test_a_whole_program_that_holds_the_solution_is_audited_with_the_variant_in_its_place() -> None:
    """The hole: C++ tests that hold the solution verbatim (as the whole-program prompt once asked) made every
    stub and mutant a duplicate definition, so all were stillborn and the audit accepted a check that cannot fail."""
    code = "int add(int a, int b) {\n    return a + b;\n}\n"
    vacuous = f"#include <cassert>\n{code}\nint main() {{\n    assert(add(2, 3) == add(2, 3));\n    return 0;\n}}\n"
    status, audit = _gate("cpp", code, vacuous)
    assert status == "passed" and audit.stub == "passed" and audit.stillborn == 0 and not audit.adequate(MIN)
    real = f"#include <cassert>\n{code}\nint main() {{\n    assert(add(2, 3) == 5);\n    return 0;\n}}\n"
    status, audit = _gate("cpp", code, real)
    assert status == "passed" and audit.stub == "failed" and audit.mutation_score == 1.0 and audit.adequate(MIN)


def test_test_functions_the_tests_only_define_are_run_as_a_runner_would() -> None:
    """Seen with Qwen2.5-Coder-0.5B: real asserts inside ``def test_add():`` that nobody calls, so nothing ran and
    the stub passed. A runner would call it; the program does: the right add is accepted, the wrong one fails,
    and so does the stub (and a ``TestCase`` with no ``unittest.main()`` is run the same way)."""
    tests = "def test_add():\n    assert add(2, 3) == 5\n    assert add(-1, 1) == 0\n"
    status, audit = _gate("python", ADD, tests)
    assert status == "passed" and audit.problems == [] and audit.stub == "failed" and audit.adequate(MIN)
    assert _gate("python", WRONG_ADD, tests)[0] == "failed"
    case = (
        "import unittest\n\nclass T(unittest.TestCase):\n    def test_add(self):\n"
        "        self.assertEqual(add(2, 3), 5)\n"
    )
    assert _accepted("python", ADD, case) and _gate("python", WRONG_ADD, case)[0] == "failed"


@pytest.mark.parametrize(
    "tests",
    [
        "def test_add(numbers):\n    assert add(*numbers) == 5\n",  # a pytest fixture: no runner here to give it
        "async def test_add():\n    assert add(2, 3) == 5\n",  # never awaited
        "def test_add():\n    import os\n    os._exit(0)\n    assert add(2, 3) == 5\n",  # ends before its asserts
    ],
    ids=["fixture", "async", "exits-early"],
)
def test_test_functions_that_cannot_run_or_end_early_are_not_accepted(tests: str) -> None:
    assert not _accepted("python", WRONG_ADD, tests)


def test_the_runner_tail_calls_only_what_the_tests_leave_uncalled() -> None:
    tests = "def test_a():\n    pass\n\ndef test_b(x=1):\n    pass\n\ndef helper():\n    pass\n\ntest_a()\n"
    assert runner_tail(tests, "python") == "test_b()"
    assert runner_tail("import unittest\nclass T(unittest.TestCase):\n    pass\nunittest.main()\n", "python") == ""
    assert runner_tail("def test_a(:\n", "python") == "" and runner_tail("function test_a() {}", "javascript") == ""


def test_jest_style_tests_without_a_framework_run_as_jest_would() -> None:
    """Seen with the 0.5B: ``describe``/``test`` blocks and ``expect(...).toEqual`` with no framework: a
    ReferenceError for any solution. With the runner's globals the right solution passes and a wrong one fails."""
    tests = (
        'describe("add", () => {\n  test("sums", () => {\n    expect(add(2, 3)).toBe(5);\n'
        "    expect([add(1, 1)]).toEqual([2]);\n  });\n});\n"
    )
    assert _accepted("javascript", JS_ADD, tests)
    assert not _accepted("javascript", "function add(a, b) {\n  return a - b;\n}\n", tests)
    assert "function it" not in runner_tail(tests, "javascript")  # only what the tests call
    assert runner_tail(tests, "javascript", code="const test = 1;\n").count("function test") == 0
