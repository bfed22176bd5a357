"""The report's nine-point checklist, judged by a model and combined with the recipe's weights.

Qwen2.5-Coder scores synthetic instruction data on nine points (consistency, relevance, difficulty, code
exists, correctness, best practice, clarity, comments, educational value). A judge model is asked for one
``point: score`` line per point, 0-10. Small models rarely follow a format exactly, so the parser accepts what
they actually write (``**Code Exists**: 8/10``, ``3. best-practice - Score: 7``, several points on one line,
prose around the scores) and leaves out a point it cannot find rather than guess a number for it: a missing
point then simply does not count in :func:`weighted_score`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from codemill.llm import LLM, Generation, Prompt, Sampling
from codemill.synth.recipe import CHECKLIST_POINTS
from codemill.synth.schema import Turn

__all__ = ["Judgement", "checklist_prompt", "judge", "parse_checklist", "weighted_score"]

SYSTEM = "You are a strict reviewer of programming exercises and their solutions. You answer only with scores."
DESCRIPTIONS = {
    "consistency": "the answer does what the instruction asks, nothing else",
    "relevance": "the instruction is a real programming task in the stated language",
    "difficulty": "the task is neither trivial nor impossible (10: well judged difficulty)",
    "code_exists": "the answer contains code",
    "correctness": "the code is correct and would run",
    "best_practice": "the code follows the language's conventions and good practice",
    "clarity": "instruction and answer are clear and easy to follow",
    "comments": "the code is commented where it helps",
    "educational_value": "a learner would learn something from this pair",
}
MAX_ANSWER_CHARS = 6000  # the judge's context is small; the head of a long answer says enough

# A "0-10" / "0 to 10" / "(0–10)" echoed from the prompt must not be read as a score of 0.
_RANGE = re.compile(r"[(\[]?\b0\s*(?:-|–|—|to)\s*10\b[)\]]?")
_NUMBER = re.compile(r"(-?\d+(?:\.\d+)?)(?:\s*(?:/|out\s+of)\s*(\d+(?:\.\d+)?))?")
_SCORE_WORD = re.compile(r"\b(?:score|rating|rated|grade)\b")


def _point_pattern(point: str) -> re.Pattern[str]:
    """``best_practice`` matches "Best Practice", "best-practices", "best_practice", "BestPractice"."""
    words = point.split("_")
    last = words[-1][:-1] if words[-1].endswith("s") else words[-1]
    body = r"[\s_-]*".join([*map(re.escape, words[:-1]), re.escape(last) + "s?"])
    return re.compile(rf"(?<![a-z]){body}(?![a-z])")


_PATTERNS = {point: _point_pattern(point) for point in CHECKLIST_POINTS}


def _cut(text: str) -> str:
    return text[:MAX_ANSWER_CHARS] + "\n[…cut]" if len(text) > MAX_ANSWER_CHARS else text


def checklist_prompt(instruction: str, answer: str, language: str, tests: str = "", verdict: str = "") -> Prompt:
    """The judge's chat prompt: the pair, the tests and what running them gave (where there are any: a judge that
    sees only the answer scores correctness by its looks), the nine points with what each means, and the exact
    answer format."""
    points = "\n".join(f"- {p}: {DESCRIPTIONS[p]}" for p in CHECKLIST_POINTS)
    example = "\n".join(f"{p}: <score>" for p in CHECKLIST_POINTS)
    checked = f"### Tests\n{_cut(tests).strip()}\n\n" if tests.strip() else ""
    checked += f"### Running the answer with the tests\n{verdict.strip()}\n\n" if verdict.strip() else ""
    user = (
        f"Rate this {language} programming instruction and its answer on each point, from 0 (worst) to 10 (best).\n\n"
        f"### Instruction\n{instruction.strip()}\n\n### Answer\n{_cut(answer).strip()}\n\n{checked}"
        f"### Points\n{points}\n\n"
        f"Reply with exactly these nine lines, one whole number each, and nothing else:\n{example}"
    )
    return Prompt.chat(user, SYSTEM)


def _score(segment: str) -> float | None:
    """The score in the text after a point's name: the number after "score", else the first number."""
    word = _SCORE_WORD.search(segment)
    match = _NUMBER.search(segment, word.end() if word else 0) or (_NUMBER.search(segment) if word else None)
    if match is None:
        return None
    value = float(match.group(1))
    if match.group(2) is not None:
        scale = float(match.group(2))
        value = 10.0 * value / scale if scale > 0 else value
    return min(10.0, max(0.0, value))


def parse_checklist(text: str) -> dict[str, float]:
    """Point -> score (0-10, clipped) for every point the text scores; a point not found is absent.

    Line by line, each point's name is found in any spelling (case, spaces, underscores, hyphens, a plural
    ``s``); its score is read from the text between its name and the next point's name on that line. The first
    line that scores a point wins, so a later summary ("overall, correctness matters most: 10") cannot overwrite
    the score line.
    """
    scores: dict[str, float] = {}
    for raw in text.splitlines():
        line = _RANGE.sub(" ", raw.lower().replace("*", " ").replace("`", " "))
        found = sorted(
            (match.start(), match.end(), point)
            for point, pattern in _PATTERNS.items()
            if (match := pattern.search(line)) is not None
        )
        for i, (_, end, point) in enumerate(found):
            if point in scores:
                continue
            stop = found[i + 1][0] if i + 1 < len(found) else len(line)
            value = _score(line[end:stop])
            if value is not None:
                scores[point] = value
    return scores


def weighted_score(scores: Mapping[str, float], weights: Mapping[str, float]) -> float | None:
    """The weighted mean of the scored points, on the same 0-10 scale.

    Only points that have a score *and* a positive weight count, and the weights are renormalised over them:
    ``sum(w_p * s_p) / sum(w_p)``. So a point the judge forgot neither drags the score down (as a 0 would) nor
    needs a guess, and a weight of 0 switches a point off. None when no point counts (nothing parsed, or every
    parsed point weighted 0): the caller must not mistake "not judged" for a score of 0.
    """
    used = [(weights[p], s) for p, s in scores.items() if weights.get(p, 0.0) > 0]
    total = sum(w for w, _ in used)
    if not used or total <= 0:
        return None
    return sum(w * s for w, s in used) / total


@dataclass(frozen=True)
class Judgement:
    """One judged pair: the parsed scores, their weighted score, and the judge's call as a transcript turn."""

    scores: dict[str, float]
    score: float | None
    turn: Turn
    error: str | None = None


def _turn(agent: str, model: str, prompt: Prompt, generation: Generation) -> Turn:
    user = prompt.messages[-1].content if prompt.messages else prompt.text or ""
    return Turn(
        agent=agent,
        role="judge",
        model=model,
        prompt=user,
        answer=generation.text,
        completion_tokens=generation.completion_tokens,
        seconds=generation.seconds,
        cached=generation.cached,
    )


def judge(
    llm: LLM,
    items: Sequence[tuple[str, str, str]],
    sampling: Sampling,
    weights: Mapping[str, float],
    agent: str = "judge",
    model: str | None = None,
) -> list[Judgement]:
    """Judge many ``(instruction, answer, language)`` pairs in one batch (concurrent, cached), in order.

    ``model`` names the judge in the transcript (default: the backend's identity). A call that failed gives no
    scores and a None score, with the error kept, so one bad request never stops a batch.
    """
    prompts = [checklist_prompt(instruction, answer, language) for instruction, answer, language in items]
    generations = llm.generate_many(prompts, sampling)
    name = model or llm.backend.identity
    out = []
    for prompt, generation in zip(prompts, generations, strict=True):
        scores = parse_checklist(generation.text) if generation.error is None else {}
        out.append(
            Judgement(scores, weighted_score(scores, weights), _turn(agent, name, prompt, generation), generation.error)
        )
    return out
