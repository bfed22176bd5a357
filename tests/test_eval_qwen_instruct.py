"""Instruct mode the Qwen2.5-Coder report's way (qwencoder-eval/instruct/): prompts, pre-filled fence, stop words,
answer budgets, evalplus's sanitizer and MultiPL-E's per-language program assembly, on real answers.

Real answers: Qwen2.5-Coder-0.5B-Instruct's (the shipped model, greedy) to HumanEval/0, and Qwen2-72B-Instruct's
published MultiPL-E answers from the report's repository (``tests/data/qwen2_72b_multipl_e_answers.json``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codemill.evaluate.base import Task
from codemill.evaluate.generate import GenerationPlan, generate_rows
from codemill.evaluate.humaneval import HumanEval
from codemill.evaluate.mbpp import MbppPlus
from codemill.evaluate.multipl_e import MultiplE
from codemill.evaluate.qwen_instruct import EVALPLUS_CHAT_STOP, evalplus_chat, multipl_e_user_turn, sanitize
from codemill.llm import LLM, Backend, Generation, Prompt, Sampling
from codemill.sandbox import run_many

ANSWERS = json.loads((Path(__file__).parent / "data" / "qwen2_72b_multipl_e_answers.json").read_text())["answers"]

# Qwen2.5-Coder-0.5B-Instruct Q4_K_M, greedy, to the report's ChatML HumanEval/0 prompt (what follows the
# pre-filled fence, up to the stop word "\n```").
QWEN_05B_HUMANEVAL_0 = '''from typing import List


def has_close_elements(numbers: List[float], threshold: float) -> bool:
    """ Check if in given list of numbers, are any two numbers closer to each other than
    given threshold.
    >>> has_close_elements([1.0, 2.0, 3.0], 0.5)
    False
    >>> has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3)
    True
    """
    # Sort the list to make it easier to find the closest pair
    sorted_numbers = sorted(numbers)
\x20\x20\x20\x20
    # Iterate through the sorted list and check for any two numbers closer than the threshold
    for i in range(len(sorted_numbers) - 1):
        if abs(sorted_numbers[i] - sorted_numbers[i + 1]) < threshold:
            return True
\x20\x20\x20\x20
    return False'''


def test_the_evalplus_chat_text_is_the_reports_verbatim() -> None:
    assert evalplus_chat("def f():\n    pass\n\n") == (
        "<|im_start|>system\nYou are an intelligent programming assistant to produce Python algorithmic solutions"
        "<|im_end|>\n<|im_start|>user\nCan you complete the following Python function?\n```python\ndef f():\n"
        "    pass\n```\n<|im_end|>\n<|im_start|>assistant\n```python\n"
    )
    assert multipl_e_user_turn("long f() {\n", "cs") == (
        "Please continue to complete the function and return all completed code in a codeblock. "
        "Here is the given code to do completion:\n```cs\nlong f() {\n```"
    )


def test_each_benchmark_asks_with_the_reports_prompt_stops_and_budget() -> None:
    humaneval = HumanEval()
    task = humaneval.tasks()["HumanEval/0"]
    ask = humaneval.generation_prompt(task, "instruct")
    assert ask.prompt.text == evalplus_chat(task.prompt) and ask.kind == "solution"
    assert ask.answer_prefix == "```python\n" and ask.max_tokens == 1024
    assert {"\n```", "\n#", "\nprint(", "\nif __name__", "\ndef main("} <= set(ask.stops)
    mbpp = MbppPlus()
    mbpp_task = mbpp.tasks()["Mbpp/2"]
    assert mbpp.generation_prompt(mbpp_task, "instruct").prompt.text == evalplus_chat(mbpp_task.prompt)
    java = MultiplE("java")
    java_task = java.tasks()["HumanEval_23_strlen"]
    chat = java.generation_prompt(java_task, "instruct")
    assert chat.prompt == Prompt.chat(multipl_e_user_turn(java_task.prompt, "java")) and chat.max_tokens == 4096
    assert humaneval.generation_prompt(task, "base").max_tokens == 512


class Echo(Backend):
    """Answers every prompt with the 0.5B's real answer, recording what it was asked (a unit-test stand-in)."""

    identity = "echo"

    def __init__(self) -> None:
        self.asked: list[tuple[Prompt, Sampling]] = []

    def generate(self, prompt: Prompt, sampling: Sampling) -> Generation:
        self.asked.append((prompt, sampling))
        return Generation(QWEN_05B_HUMANEVAL_0, "stop", 150, 199, 1.0)


def test_generated_rows_hold_the_prefilled_fence_and_their_program_passes() -> None:
    backend, humaneval = Echo(), HumanEval()
    rows = generate_rows([humaneval], LLM(backend), GenerationPlan("instruct", limit=1))
    prompt, sampling = backend.asked[0]
    assert prompt.text is not None and prompt.text.endswith("<|im_start|>assistant\n```python\n")
    assert sampling.max_tokens == 1024 and sampling.stop == EVALPLUS_CHAT_STOP and sampling.temperature == 0
    assert rows[0]["solution"] == "```python\n" + QWEN_05B_HUMANEVAL_0
    task = humaneval.tasks()["HumanEval/0"]
    _, program = humaneval.code(task, rows[0])
    assert program.startswith("from typing import List\ndef has_close_elements(")
    [result] = run_many([humaneval.request(task, program, "he0")])
    assert result.status == "passed", result.stderr
    capped = Echo()
    generate_rows([humaneval], LLM(capped), GenerationPlan("instruct", limit=1, max_tokens=64))
    assert capped.asked[0][1].max_tokens == 64  # a command's --max-tokens overrides the benchmark's budget


def test_sanitize_keeps_what_the_entry_point_uses_and_drops_scripts_and_prose() -> None:
    answer = (
        "Here is the code:\n\nimport math\n\n\ndef helper(x):\n    return math.sqrt(x)\n\n\n"
        "def unused():\n    return 1\n\n\ndef side_effect():\n    print('no return')\n\n\n"
        "LIMIT = 10\n\n\ndef solve(n):\n    return [helper(i) for i in range(min(n, LIMIT))]\n\n\n"
        "print(solve(3))\nassert solve(0) == []\n\nThis computes square roots."
    )
    assert sanitize(answer, "solve") == (
        "import math\ndef helper(x):\n    return math.sqrt(x)\nLIMIT = 10\n"
        "def solve(n):\n    return [helper(i) for i in range(min(n, LIMIT))]"
    )
    assert "unused" in sanitize(answer)  # without an entry point every definition stays


def test_sanitize_drops_decorated_definitions_as_evalplus_does() -> None:
    """What fools it: evalplus's tree-sitter walk never keeps a ``decorated_definition``, so a memoised helper
    is cut and the program fails with NameError, as it did in the report's pipeline."""
    code = "import functools\n\n@functools.cache\ndef fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
    code += "\ndef solve(n):\n    return fib(n)\n"
    assert sanitize(code, "solve") == "import functools\ndef solve(n):\n    return fib(n)"


def multipl_e_program(language: str, name: str) -> tuple[MultiplE, Task, str]:
    benchmark = MultiplE(language)
    task = benchmark.tasks()[name]
    return benchmark, task, benchmark.code(task, {"solution": ANSWERS[language][name]})[1]


def test_multipl_e_programs_are_assembled_by_the_reports_rules() -> None:
    _, _, cpp = multipl_e_program("cpp", "HumanEval_23_strlen")
    assert "int main()" not in cpp and "#include<vector>" in cpp and "#if __has_include(<boost/any.hpp>)" in cpp
    assert cpp.rstrip().endswith("return string.length();")  # its closing brace comes with the tests
    _, _, cs = multipl_e_program("cs", "HumanEval_23_strlen")
    assert cs.startswith("using System;\nusing System;\nusing System.Numerics;") and "class Problem {" in cs
    _, _, php = multipl_e_program("php", "HumanEval_89_encrypt")
    # The report's function-name regex starts at "function" in the prompt's comment, so the prompt is put in front
    # of an answer that already has the function: a parse error there, and here.
    assert php.count("function encrypt($s) {") == 2 and php.startswith("<?php\n// Create a function encrypt")
    _, _, java = multipl_e_program("java", "HumanEval_23_strlen")
    assert java.count("class Problem {") == 2  # the answer renamed strlen: the prompt goes in front of it


@pytest.mark.slow
def test_real_answers_pass_or_fail_as_in_the_reports_harness() -> None:
    expected = {
        ("cpp", "HumanEval_23_strlen"): "passed",
        ("cpp", "HumanEval_95_check_dict_case"): "compile_error",  # binds char& to a const key: a real error
        ("cs", "HumanEval_23_strlen"): "passed",
        ("js", "HumanEval_23_strlen"): "passed",
        ("js", "HumanEval_89_encrypt"): "failed",  # rotates by 4 after a wrong reading: 'oq' for 'lm'
        ("ts", "HumanEval_23_strlen"): "passed",
        ("php", "HumanEval_85_add"): "passed",
        ("sh", "HumanEval_23_strlen"): "passed",
    }
    requests = []
    for language, name in expected:
        benchmark, task, program = multipl_e_program(language, name)
        requests.append(benchmark.request(task, program, f"{language}/{name}"))
    statuses = {key: result.status for key, result in zip(expected, run_many(requests), strict=True)}
    assert statuses == expected


def test_a_bare_program_is_scored_as_given_and_a_chat_answer_is_sanitized() -> None:
    """What fools the sanitizer: it keeps only functions with a ``return``, so Mbpp/630's reference (a generator
    helper) would lose ``adjac``; references and other bare programs are therefore not sanitized."""
    mbpp = MbppPlus()
    task = mbpp.tasks()["Mbpp/630"]
    reference = str(task.data["canonical"])
    assert mbpp.code(task, {"solution": reference})[1] == reference
    assert "def adjac" not in sanitize(reference, "get_coordinates")
    chat = "```python\n" + reference.strip() + "\nprint(get_coordinates((3, 4)))\n```"
    assert "print(" not in mbpp.code(task, {"solution": chat})[1]
