"""The nine-point checklist: the judge's prompt, parsing of what small models really write, the weighting."""

from __future__ import annotations

import pytest

from codemill.llm import LLM, Backend, Generation, LLMError, Prompt, Sampling
from codemill.synth.checklist import checklist_prompt, judge, parse_checklist, weighted_score
from codemill.synth.recipe import CHECKLIST_POINTS

ALL_ONE = dict.fromkeys(CHECKLIST_POINTS, 1.0)


def test_prompt_names_every_point_in_the_answer_format() -> None:
    prompt = checklist_prompt("Reverse a string.", "```python\ndef r(s): return s[::-1]\n```", "python")
    user = prompt.messages[-1].content  # type: ignore[index]
    for point in CHECKLIST_POINTS:
        assert f"\n{point}: <score>" in user
    assert "Reverse a string." in user and "def r(s)" in user and "python" in user


def test_parses_the_requested_format() -> None:
    text = "\n".join(f"{p}: {i}" for i, p in enumerate(CHECKLIST_POINTS, start=1))
    assert parse_checklist(text) == {p: float(i) for i, p in enumerate(CHECKLIST_POINTS, start=1)}


def test_parses_markdown_fractions_score_words_and_prose() -> None:
    text = """Sure! Here is my evaluation of the instruction and answer.

1. **Consistency**: 8/10 - the answer matches the task.
2. **Relevance** (0-10): 9
- Difficulty - Score: 6 (medium)
* Code-Exists = 10 out of 10
**CORRECTNESS:** the code has 2 small issues. Score: 4
Best Practices: 3.5/5
clarity 7, comments: 2
Overall, correctness matters most: 10.
"""
    assert parse_checklist(text) == {
        "consistency": 8.0,
        "relevance": 9.0,
        "difficulty": 6.0,
        "code_exists": 10.0,
        "correctness": 4.0,
        "best_practice": 7.0,
        "clarity": 7.0,
        "comments": 2.0,
    }


def test_parses_one_line_with_every_point() -> None:
    text = "; ".join(f"{p}={i}" for i, p in enumerate(CHECKLIST_POINTS))
    assert parse_checklist(text) == {p: float(i) for i, p in enumerate(CHECKLIST_POINTS)}


def test_scores_are_clipped_and_points_without_a_number_are_absent() -> None:
    text = "consistency: 12\nrelevance: -3\ndifficulty: hard to say\neducational_value: 15/10\n"
    scores = parse_checklist(text)
    assert scores == {"consistency": 10.0, "relevance": 0.0, "educational_value": 10.0}
    assert parse_checklist("I cannot rate this.") == {}


def test_weighted_score_by_hand() -> None:
    scores = {"consistency": 8.0, "correctness": 4.0, "comments": 10.0}
    weights = {**ALL_ONE, "correctness": 3.0, "comments": 0.5}
    # (1*8 + 3*4 + 0.5*10) / (1 + 3 + 0.5) = 25 / 4.5
    assert weighted_score(scores, weights) == pytest.approx(25 / 4.5)
    assert weighted_score(scores, ALL_ONE) == pytest.approx(22 / 3)


def test_a_missing_point_is_left_out_not_counted_as_zero() -> None:
    full = dict.fromkeys(CHECKLIST_POINTS, 6.0)
    missing = {p: s for p, s in full.items() if p != "comments"}
    assert weighted_score(missing, ALL_ONE) == pytest.approx(6.0)


def test_zero_weights_switch_points_off() -> None:
    scores = {"consistency": 2.0, "correctness": 9.0}
    weights = {**dict.fromkeys(CHECKLIST_POINTS, 0.0), "correctness": 1.0}
    assert weighted_score(scores, weights) == pytest.approx(9.0)
    assert weighted_score({"consistency": 2.0}, weights) is None
    assert weighted_score({}, ALL_ONE) is None


class Judge(Backend):
    """A judge that scores every point 7 except correctness, which it leaves out; fails on 'broken'."""

    identity = "fake-judge"

    def generate(self, prompt: Prompt, sampling: Sampling) -> Generation:
        text = prompt.messages[-1].content  # type: ignore[index]
        if "broken" in text:
            raise LLMError("judge unreachable")
        lines = [f"{p.replace('_', ' ').title()}: 7/10" for p in CHECKLIST_POINTS if p != "correctness"]
        return Generation("\n".join(lines), "stop", 10, 20)


def test_judge_batches_and_records_the_turn() -> None:
    items = [("Add two numbers.", "def add(a, b): return a + b", "python"), ("broken", "x", "python")]
    weights = {**ALL_ONE, "clarity": 2.0}
    first, second = judge(LLM(Judge()), items, Sampling(), weights)
    assert first.scores == {p: 7.0 for p in CHECKLIST_POINTS if p != "correctness"}
    assert first.score == pytest.approx(7.0)
    assert first.turn.role == "judge" and first.turn.model == "fake-judge" and first.turn.completion_tokens == 20
    assert "Add two numbers." in first.turn.prompt and first.error is None
    assert second.scores == {} and second.score is None and second.error == "judge unreachable"
