"""The tests step of the protocol: the prompt shows the solution's signature (not its body) and the shape of a check
with the function's own name; a copy of the solution in the answer is cut; tests that still read as no tests are
asked again. Each case is what Qwen2.5-Coder-0.5B-Instruct did in a measured run."""

from __future__ import annotations

from collections.abc import Iterator

from codemill.llm import LLM, Generation, Prompt, Sampling
from codemill.llm.backend import Backend
from codemill.synth.adequacy import audit_tests, read_tests, signatures, without_definitions
from codemill.synth.agents import Agent
from codemill.synth.protocol import Draft, write_tests
from codemill.synth.schema import Attempt, Target

ROMAN = "def roman_to_int(s: str) -> int:  # the map first\n    values = {'I': 1, 'V': 5}\n    return values[s]\n"


class Answers(Backend):
    """Gives the scripted answers in turn, and keeps the prompts."""

    identity = "answers"

    def __init__(self, answers: list[str]) -> None:
        self.answers: Iterator[str] = iter(answers)
        self.prompts: list[str] = []

    def generate(self, prompt: Prompt, sampling: Sampling) -> Generation:
        self.prompts.append(prompt.messages[-1].content)  # type: ignore[index]
        return Generation(next(self.answers), "stop", 10, 20)


def _draft(language: str, code: str, backend: Backend) -> Draft:
    agent = Agent(language, {"test": LLM(backend)}, {"test": "default"}, {"test": Sampling()}, "You write tests.")
    return Draft("d1", agent, Target(language, "strings", "easy"), instruction="Convert a Roman numeral.",
                 attempts=[Attempt(f"```\n{code}```", code)])  # fmt: skip


def test_signatures_are_headers_without_bodies_or_comments() -> None:
    assert signatures(ROMAN, "python") == ["def roman_to_int(s: str) -> int:"]
    js = "function add(a, b) { // sum\n  return a + b;\n}\nconst mul = (a, b) => a * b;\n"
    assert signatures(js, "javascript") == ["function add(a, b)", "const mul = (a, b) =>"]
    assert signatures("f() { # x\n  echo 1\n}\n", "bash") == ["f()"]


def test_a_copy_of_the_solution_in_the_tests_is_cut_and_what_remains_is_judged() -> None:
    copied = ROMAN + "\nassert roman_to_int('V') == 5\n"
    tests, cut = without_definitions(copied, ["roman_to_int"], "python")
    assert cut == ["roman_to_int"] and tests == "assert roman_to_int('V') == 5\n"
    assert read_tests(ROMAN, tests, "python") == []
    only_a_copy, _ = without_definitions(ROMAN + "\nprint(roman_to_int('V'))\n", ["roman_to_int"], "python")
    assert "the tests hold no check" in " ".join(read_tests(ROMAN, only_a_copy, "python"))
    sh = "add() {\n  echo 0\n}\n"
    tests, cut = without_definitions(sh + '[ "$(add 2 3)" = "5" ] || exit 1\n', ["add"], "bash")
    assert cut == ["add"] and tests == '[ "$(add 2 3)" = "5" ] || exit 1\n'
    arrow = "const add = (a, b) => a + b;\nassert.deepStrictEqual(add(2, 3), 5);\n"
    assert without_definitions(arrow, ["add"], "javascript") == ("assert.deepStrictEqual(add(2, 3), 5);\n", ["add"])


def test_a_copy_nested_out_of_reach_of_the_cut_is_still_caught_by_the_stub() -> None:
    """The case that fools the cut: the copy inside a test function is not top-level, so it stays and shadows
    the solution there; the audit's stub run still finds that the tests check nothing the solution computes."""

    tests = "def test_it():\n    def add(a, b):\n        return a + b\n    assert add(2, 3) == 5\n\ntest_it()\n"
    assert without_definitions(tests, ["add"], "python") == (tests, [])
    [audit] = audit_tests([("c", "python", "def add(a, b):\n    return a + b\n", tests)])
    assert audit.stub == "passed" and not audit.adequate(0.5)


def test_the_prompt_shows_the_signature_and_the_shape_of_a_check_not_the_body() -> None:
    backend = Answers(["```python\nassert roman_to_int('V') == 5\n```"])
    draft = _draft("python", ROMAN, backend)
    write_tests([draft])
    [prompt] = backend.prompts
    assert "`def roman_to_int(s: str) -> int:`" in prompt and "values =" not in prompt and "the map" not in prompt
    assert "assert roman_to_int(<arguments>) == <expected result>" in prompt
    js = _draft("javascript", "function add(a, b) {\n  return a + b;\n}\n", Answers(["x"]))
    write_tests([js])
    asked = js.agent.llms["test"].backend.prompts[0]  # type: ignore[attr-defined]
    assert 'const assert = require("node:assert");' in asked and "assert.deepStrictEqual(add(<arguments>)" in asked


def test_tests_that_read_as_none_are_asked_again_and_a_copy_is_cut_and_said() -> None:
    copy = f"```python\n{ROMAN}\nprint(roman_to_int('V'))\n```"
    good = f"```python\n{ROMAN}\nassert roman_to_int('V') == 5\nassert roman_to_int('I') == 1\n```"
    draft = _draft("python", ROMAN, Answers([copy, good]))
    write_tests([draft], retries=1)
    assert draft.tests == "assert roman_to_int('V') == 5\nassert roman_to_int('I') == 1\n"
    roles = [t.role for t in draft.transcript]
    assert roles == ["test", "tests-cut", "test-retry-1", "tests-cut"]
    assert "cut the tests' own definition of roman_to_int" in draft.transcript[1].answer
    never = _draft("python", ROMAN, Answers([copy, copy]))
    write_tests([never], retries=1)
    assert read_tests(ROMAN, never.tests, "python")  # still no tests: the audit rejects the sample


def test_a_second_assert_import_is_dropped_where_the_solution_has_one() -> None:
    code = "const assert = require('assert');\nfunction add(a, b) {\n  return a + b;\n}\n"
    draft = _draft(
        "javascript",
        code,
        Answers(['```js\nconst assert = require("node:assert");\nassert.deepStrictEqual(add(2, 3), 5);\n```']),
    )
    write_tests([draft])
    assert draft.tests.strip() == "assert.deepStrictEqual(add(2, 3), 5);"


def test_a_whole_program_languages_tests_are_its_main_and_the_solution_is_not_shown() -> None:
    code = "#include <string>\nint count_digits(long long n) {\n    return std::to_string(n).size();\n}\n"
    backend = Answers(["```cpp\n#include <cassert>\nint main() {\n    assert(count_digits(42) == 2);\n}\n```"])
    draft = _draft("cpp", code, backend)
    write_tests([draft])
    [prompt] = backend.prompts
    assert "`int count_digits(long long n)`" in prompt and "to_string" not in prompt
    assert "`#include <cassert>` first, then `int main() { ... return 0; }`" in prompt
    assert "assert(count_digits(<arguments>) == <expected result>);" in prompt
    assert draft.tests.startswith("#include <cassert>\nint main()")


def test_tests_that_leave_out_the_assert_import_get_it() -> None:
    """Seen with the 0.5B: ``assert.deepStrictEqual(...)`` lines without the require asked for: "assert is not
    defined", so a right solution failed."""
    draft = _draft(
        "javascript",
        "function add(a, b) {\n  return a + b;\n}\n",
        Answers(["```js\nassert.deepStrictEqual(add(2, 3), 5);\n```"]),
    )
    write_tests([draft])
    assert draft.tests == 'const assert = require("node:assert");\nassert.deepStrictEqual(add(2, 3), 5);\n'


def test_tests_that_do_not_parse_are_asked_again() -> None:
    """Seen with the 1.5B teacher: a check cut off at ``==``: a SyntaxError for every solution."""
    cut = "```python\nassert roman_to_int('I') ==\n```"
    good = "```python\nassert roman_to_int('V') == 5\n```"
    draft = _draft("python", ROMAN, Answers([cut, good]))
    write_tests([draft], retries=1)
    assert draft.tests == "assert roman_to_int('V') == 5\n"
    assert "do not parse" in read_tests(ROMAN, "assert roman_to_int('I') ==\n", "python")[-1]
