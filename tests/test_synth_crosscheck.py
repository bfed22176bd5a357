"""CodeT-style cross-check: each check of the tests alone against each solution, in the real sandbox."""

from __future__ import annotations

from codemill.synth.crosscheck import cross_check, split_checks

ADD = "def add(a, b):\n    return a + b\n"
SUB = "def add(a, b):\n    return a - b\n"
TESTS = "import math\n\nassert add(2, 3) == 5\nassert add(\n    0, 0\n) == 0\nassert math.isclose(add(1.5, 1.5), 3.0)\n"


def test_each_check_alone_keeps_the_rest_of_the_tests() -> None:
    bodies = split_checks(TESTS, "python")
    assert bodies is not None and len(bodies) == 3
    assert all(b.startswith("import math\n") for b in bodies)  # the prelude stays in every copy
    assert "add(\n    0, 0\n) == 0" in bodies[1] and "add(2, 3)" not in bodies[1]  # a multi-line assert is one check
    sh = 'source_helper() { :; }\n[ "$(add 2 3)" = "5" ] || exit 1\n[ "$(add 0 0)" = "0" ] || exit 1\n'
    assert [b.count("|| exit") for b in split_checks(sh, "bash") or []] == [1, 1]
    js = 'const assert = require("node:assert");\nassert.deepStrictEqual(add(2, 3), 5);\nassert.ok(add(1, 1) === 2);\n'
    assert [b.startswith("const assert") for b in split_checks(js, "javascript") or []] == [True, True]
    assert split_checks("assert add(", "python") is None and split_checks("x", "ruby") is None


def test_the_consensus_and_the_checks_every_solution_fails() -> None:
    """Two right solutions and one wrong: the right ones agree (2 of 3); ``add(1, 1) == 3`` is a wrong
    expectation that every solution fails; the wrong solution passes only the check at a point where - and +
    agree (0, 0)."""
    tests = "assert add(2, 3) == 5\nassert add(0, 0) == 0\nassert add(1, 1) == 3\n"
    [found] = cross_check([("c", "python", [ADD, SUB, ADD], tests)])
    assert found is not None and found.checks == 3
    assert found.passed == [[True, True, False], [False, True, False], [True, True, False]]
    assert found.chosen == 0 and abs(found.agreement - 2 / 3) < 1e-9 and found.failed_by_all == 1


def test_too_few_solutions_or_checks_are_not_cross_checked() -> None:
    assert cross_check([("a", "python", [ADD], TESTS), ("b", "python", [ADD, SUB], "assert add(2, 3) == 5\n")]) == [
        None,
        None,
    ]
