"""Code extraction on realistic model outputs: fenced, unfenced, with prose, truncated; stop words; answers."""

from __future__ import annotations

from codemill.evaluate.cruxeval import answer
from codemill.evaluate.extract import cut_at_stop, extract_code
from codemill.evaluate.humaneval import HumanEval
from codemill.evaluate.humaneval_fim import edit_similarity, first_line
from codemill.evaluate.mbpp import MbppPlus

CHAT = """Sure! Here is an implementation that checks every pair:

```python
from typing import List


def has_close_elements(numbers: List[float], threshold: float) -> bool:
    for i, a in enumerate(numbers):
        for b in numbers[i + 1 :]:
            if abs(a - b) < threshold:
                return True
    return False
```

You can test it like this:

```python
print(has_close_elements([1.0, 2.0], 0.5))
```

The complexity is O(n^2)."""

TRUNCATED = """Here's the solution:
```python
def add(x: int, y: int):
    return x + y
"""

MULTI_LANGUAGE = """```text
add(1, 2) -> 3
```
```cpp
long add(long x, long y) {
    return x + y;
}
```"""


def test_fenced_answer_with_prose_keeps_the_block_defining_the_entry_point() -> None:
    code = extract_code(CHAT, "python", "has_close_elements")
    assert code.startswith("from typing import List")
    assert "def has_close_elements" in code and "print(" not in code and "Sure" not in code


def test_truncated_fence_runs_to_the_end() -> None:
    assert extract_code(TRUNCATED, "python", "add") == "def add(x: int, y: int):\n    return x + y\n"


def test_unfenced_answer_is_taken_whole() -> None:
    text = "def add(x, y):\n    return x + y\n"
    assert extract_code(text, "python", "add") == text


def test_language_tag_picks_the_block() -> None:
    assert extract_code(MULTI_LANGUAGE, "cpp").startswith("long add(long x, long y)")
    assert extract_code("```c++\nint f();\n```", "cpp") == "int f();\n"


def test_completion_is_cut_at_the_first_stop_word_and_appended_to_the_prompt() -> None:
    completion = "    return x + y\n\n\ndef test():\n    assert add(1, 2) == 3\n"
    assert cut_at_stop(completion, ("\ndef ", "\nassert ")) == "    return x + y\n\n"
    benchmark = HumanEval()
    task = benchmark.tasks()["HumanEval/53"]
    text, code = benchmark.code(task, {"task_id": "HumanEval/53", "completion": completion})
    assert text == completion
    assert code == task.prompt + "    return x + y\n\n"
    _, code = benchmark.code(task, {"task_id": "HumanEval/53", "completion": "    return x + y\n<|endoftext|>junk"})
    assert code.endswith("return x + y\n")


def test_mbpp_base_prompt_and_stop_words() -> None:
    benchmark = MbppPlus()
    task = benchmark.tasks()["Mbpp/2"]
    completion = (
        'def similar_elements(a, b):\n    return tuple(set(a) & set(b))\nassert similar_elements((1,), (1,))\n"""'
    )
    _, code = benchmark.code(task, {"task_id": "Mbpp/2", "completion": completion})
    assert code == task.prompt.strip() + "\ndef similar_elements(a, b):\n    return tuple(set(a) & set(b))"


def test_cruxeval_answers() -> None:
    raw = "assert f([1, 2]) == [(1, 2)]\n[/ANSWER]\n\n[PYTHON]\nmore"
    assert answer(raw, "output") == "[(1, 2)]"
    assert answer(raw, "input") == "f([1, 2])"
    assert answer("[THOUGHT] f doubles [/THOUGHT]\n[ANSWER]\nf(4) == 8\n[/ANSWER]", "input") == "f(4)"
    assert answer("  'abc'  ", "output") == "'abc'"


def test_fim_first_line_and_edit_similarity() -> None:
    assert first_line("\n        return x\n    return y") == "return x"
    assert edit_similarity("abc", "abc") == 100.0
    assert edit_similarity("abcd", "abce") == 75.0  # LCS 3: 2*3/8
    assert edit_similarity("", "x") == 0.0


def test_extraction_on_real_small_model_answers() -> None:
    """Answers SmolLM2-135M-Instruct really gave (fenced code then prose; one cut off mid-fence at max_tokens)."""
    import json
    from pathlib import Path

    rows = [json.loads(line) for line in (Path(__file__).parent / "data" / "smollm2_humaneval_answers.jsonl").open()]
    assert {row["finish_reason"] for row in rows} == {"stop", "length"}
    for row in rows:
        code = extract_code(row["solution"], "python")
        assert code.startswith("def ") and "```" not in code
        assert "This function" not in code  # the prose after the fence is gone
        if row["finish_reason"] == "length":  # no closing fence: the block runs to the end of the answer
            assert row["solution"].rstrip().endswith(code.rstrip()[-20:])
