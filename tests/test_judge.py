"""Level 3's rubric judge: the choice scorer reads an answer from the next-token distribution (real embedded model),
and annotation is cached per document, text, judge and rubric, so a killed run resumes without asking again."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from codemill.curate.classify.judge import DIGITS, RUBRIC_VERSION, annotate_with_judge, judge_prompt
from codemill.curate.classify.quality_signals import SIGNALS, quality_signals
from codemill.data.schema import Document
from codemill.llm.choices import Choices, ChoiceScorer
from codemill.llm.schema import Message


class CountingJudge:
    """Scores by the text's length, and counts the prompts it was asked."""

    identity = "counting"

    def __init__(self) -> None:
        self.asked: list[str] = []

    def choose(self, messages: Sequence[Message], choices: Sequence[str]) -> Choices:
        self.asked.append(messages[-1].content)
        top = str(min(5, len(messages[-1].content) // 1000))
        return Choices(100, {c: 1.0 if c == top else 0.0 for c in choices}, 0.9)


def test_the_prompt_is_the_rubric_with_the_code_after_its_licence_header() -> None:
    text = "# Copyright 2020 Someone\n# Licensed under X\n\ndef add(a, b):\n    return a + b\n" + "x = 1\n" * 2000
    [message] = judge_prompt(text, "python", max_chars=200)
    assert message.role == "user" and "additive 5-point scale" in message.content
    assert "written in Python" in message.content and "```python\ndef add(a, b):" in message.content
    assert "Copyright" not in message.content and message.content.count("x = 1") < 40
    assert message.content.endswith("one digit from 0 to 5.")


def test_annotation_is_cached_and_resumes_where_a_kill_stopped(tmp_path: Path) -> None:
    cache = tmp_path / "judged.jsonl"
    docs = [Document(id=f"d{i}", text="y = 2\n" * (200 * i + 1), lang="python") for i in range(4)]
    judge = CountingJudge()
    rows = annotate_with_judge(docs[:2], judge, cache)
    assert len(judge.asked) == 2 and [r["id"] for r in rows] == ["d0", "d1"]
    with cache.open("a") as out:
        out.write('{"key": "torn')  # a kill in the middle of a line
    again = CountingJudge()
    rows = annotate_with_judge(docs, again, cache)
    assert len(again.asked) == 2 and [r["id"] for r in rows] == ["d0", "d1", "d2", "d3"]  # only the new ones
    assert all(0 <= r["score"] <= 5 and r["text"] for r in rows)
    changed = [Document(id="d0", text="z = 3\n", lang="python")]
    annotate_with_judge(changed, again, cache)
    assert len(again.asked) == 3  # another text under the same id is judged again
    keys = [json.loads(line)["key"] for line in cache.read_text().splitlines() if line.startswith('{"key": "count')]
    assert all(RUBRIC_VERSION in k for k in keys)


@pytest.mark.slow
def test_the_choice_scorer_reads_a_real_models_digit_answer() -> None:
    """Qwen2.5-Coder-0.5B-Instruct asked a question whose answer is a digit: the digits hold nearly all the
    probability, and the right one is the most likely."""
    scorer = ChoiceScorer("qwen2.5-coder-0.5b-instruct", n_ctx=512)
    try:
        asked = [Message("user", "What is 2 + 2? Reply with one digit only.")]
        choices = scorer.choose(asked, DIGITS)
        assert choices.mass > 0.5 and max(choices.probabilities, key=choices.probabilities.__getitem__) == "4"
        assert abs(sum(choices.probabilities.values()) - 1) < 1e-9 and choices.prompt_tokens > 5
        again = scorer.choose(asked, DIGITS)
        assert again.probabilities == choices.probabilities  # one forward pass, no sampling: the same every time
    finally:
        scorer.close()


def test_quality_signals_see_what_a_careless_rewrite_loses() -> None:
    """The planted rewrite the validation set uses: names renamed to ``a1``…, docstrings and comments dropped."""
    good = (
        "def mean(values: list[float]) -> float:\n"
        '    """The arithmetic mean; an empty list has none."""\n'
        "    if not values:\n"
        "        # the caller must know: a mean of nothing is no number\n"
        '        raise ValueError("no values")\n'
        "    return sum(values) / len(values)\n"
    )
    bad = "def a1(a2):\n    if not a2:\n        raise ValueError('x')\n    return sum(a2) / len(a2)\n"
    g, b = quality_signals(good), quality_signals(bad)
    assert set(g) == set(SIGNALS) and g["doc_per_definition"] == 1.0 and b["doc_per_definition"] == 0.0
    assert g["cryptic_name_share"] < b["cryptic_name_share"] and g["hinted_definition_share"] == 1.0
    assert b["hinted_definition_share"] == 0.0 and g["comment_share"] > 0 == b["comment_share"]
    table = "DATA = [\n" + "    (1, 2, 3, 4, 5, 6, 7, 8),\n" * 50 + "]\n"
    assert quality_signals(table)["digit_share"] > 0.3
    assert quality_signals("def test_it():\n    assert f(1) == 2\n    assert f(2) == 3\n")["assert_share"] > 0.5
    assert quality_signals("") == dict.fromkeys(SIGNALS, 0.0)
