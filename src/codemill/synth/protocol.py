"""The collaborative discussion protocol: structured rounds between an agent's roles, the transcript kept.

A draft goes through: (share: another agent distils a parent candidate's idea, for cross-lingual drafts) →
propose (a task from a seed snippet, an instruction seed, a shared idea, or the target alone) → critique and revise,
``critique_rounds`` times → [the engine's memory check: a near-repeat stops here, before it costs a solve] →
solve, ``attempts`` times with different seeds → write tests. Every step is one batched call per model
(:meth:`codemill.llm.LLM.generate_many`), so a server sees all drafts of a step at once; every call is a
:class:`~codemill.synth.schema.Turn` of the draft's transcript. Each call's seed derives from the draft id and
the step, so a rerun asks the same questions and the answer cache serves them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import xxhash

from codemill.data.language_rules import whole_program
from codemill.evaluate.extract import extract_code
from codemill.llm import Generation, Prompt
from codemill.synth.adequacy import entry_points, read_tests, signatures, without_definitions
from codemill.synth.agents import Agent, fence_of, title_of
from codemill.synth.schema import Attempt, Candidate, Seed, Target, Turn
from codemill.synth.verify import sandbox_name

__all__ = ["Draft", "ask", "propose", "share", "solve", "to_candidate", "write_tests"]

MAX_INSTRUCTION = 2000
TASK = re.compile(r"^\s*(?:\*\*)?task(?:\*\*)?\s*:\s*(?:\*\*)?\s*", re.I | re.M)


@dataclass
class Draft:
    """A candidate in the making."""

    id: str
    agent: Agent
    target: Target
    seed: Seed | None = None
    parent: Candidate | None = None
    parent_agent: Agent | None = None
    critic: Agent | None = None
    """The agent (of another language, where the recipe has one) that critiques this draft's task."""
    idea: str = ""
    instruction: str = ""
    critique: str = ""
    tests: str = ""
    attempts: list[Attempt] = field(default_factory=list)
    transcript: list[Turn] = field(default_factory=list)


def call_seed(draft_id: str, step: str) -> int:
    return xxhash.xxh32_intdigest(f"{draft_id}/{step}".encode()) & 0x7FFFFFFF


def ask(
    drafts: list[Draft],
    role: str,
    make_prompt: Callable[[Draft], str],
    step: str | None = None,
    speaker: Callable[[Draft], Agent] = lambda d: d.agent,
) -> list[Generation]:
    """One batched call per model for ``role``; appends a Turn to each draft; answers in draft order."""
    answers: list[Generation | None] = [None] * len(drafts)
    by_llm: dict[int, list[int]] = defaultdict(list)
    for index, draft in enumerate(drafts):
        by_llm[id(speaker(draft).llms[role])].append(index)
    for indices in by_llm.values():
        agents = [speaker(drafts[i]) for i in indices]
        prompts = [Prompt.chat(make_prompt(drafts[i]), system=a.system) for i, a in zip(indices, agents, strict=True)]
        settings = [
            replace(a.sampling[role], seed=call_seed(drafts[i].id, step or role))
            for i, a in zip(indices, agents, strict=True)
        ]
        generations = agents[0].llms[role].generate_many(prompts, settings)
        for i, agent, prompt, generation in zip(indices, agents, prompts, generations, strict=True):
            answers[i] = generation
            drafts[i].transcript.append(
                Turn(
                    agent.name,
                    step or role,
                    agent.models[role],
                    prompt.messages[-1].content if prompt.messages else "",
                    generation.text if generation.error is None else f"[error] {generation.error}",
                    generation.completion_tokens,
                    round(generation.seconds, 3),
                    generation.cached,
                )
            )
    return [a for a in answers if a is not None]


def parse_task(text: str) -> str:
    """The task of a propose/revise answer: after its last "Task:" label if any, trimmed."""
    parts = TASK.split(text)
    task = parts[-1] if len(parts) > 1 else text
    return task.strip()[:MAX_INSTRUCTION]


def _fenced(language: str, code: str) -> str:
    return f"```{fence_of(language)}\n{code.rstrip()}\n```"


def _passing_code(candidate: Candidate) -> str:
    return next((a.code for a in candidate.attempts if a.verification is not None and a.verification.passed), "")


def share(drafts: list[Draft]) -> None:
    """Cross-lingual drafts: the parent's agent hands over its accepted sample as it was verified (task, solution,
    tests and the sandbox's verdict), not a restatement; the child adapts it and is verified in its own language.
    The handover is data, so it is a transcript turn of the parent's agent with no model call."""
    for draft in drafts:
        parent = draft.parent
        if parent is None:
            continue
        lang = parent.language
        draft.idea = (
            f"### Task\n{parent.instruction.strip()}\n\n### Solution\n{_fenced(lang, _passing_code(parent))}\n\n"
            f"### Tests\n{_fenced(lang, parent.tests)}\n\n### Verdict\npassed in the sandbox"
        )
        speaker = draft.parent_agent.name if draft.parent_agent is not None else f"{lang}-agent"
        draft.transcript.append(Turn(speaker, "share", "", f"hand over {parent.id}", draft.idea))


def _propose_prompt(d: Draft) -> str:
    lang = title_of(d.agent.language)
    ask_for = (
        f"Topic: {d.target.concept}. Difficulty: {d.target.difficulty}. The task asks for a single function with a "
        'clear name, inputs and output. Reply with the task only, starting with "Task:".'
    )
    if d.idea:
        origin = title_of(d.parent.language) if d.parent else "another"
        return (
            f"A {origin} programmer shared this problem, with a solution and tests that passed:\n\n{d.idea}\n\n"
            f"Adapt the same problem into one self-contained {lang} programming task. {ask_for}"
        )
    if d.seed is not None and d.seed.code:
        return (
            f"Here is a {lang} code snippet:\n{_fenced(d.agent.language, d.seed.code)}\n\n"
            f"Write one new, self-contained {lang} programming task inspired by it. {ask_for}"
        )
    if d.seed is not None and d.seed.instruction:
        return (
            f"Here is an instruction:\n{d.seed.instruction}\n\n"
            f"Rewrite it as one self-contained {lang} programming task. {ask_for}"
        )
    return f"Write one new, self-contained {lang} programming task. {ask_for}"


def propose(drafts: list[Draft], critique_rounds: int) -> None:
    """Propose, then critique and revise ``critique_rounds`` times."""
    if not drafts:
        return
    for draft, answer in zip(drafts, ask(drafts, "propose", _propose_prompt), strict=True):
        draft.instruction = parse_task(answer.text)
    for round_ in range(critique_rounds):
        critiques = ask(
            drafts,
            "critique",
            lambda d: (
                f"Task:\n{d.instruction}\n\nCritique this {title_of(d.agent.language)} programming task in at most "
                f"three short points: is it clear, self-contained, testable, and of {d.target.difficulty} difficulty?"
            ),
            step=f"critique-{round_}",
            speaker=lambda d: d.critic or d.agent,  # another language's agent, with its own model
        )
        for draft, critique in zip(drafts, critiques, strict=True):
            draft.critique = critique.text.strip()
        revised = ask(
            drafts,
            "revise",
            lambda d: (
                f"Task:\n{d.instruction}\n\nCritique:\n{d.critique}\n\nRewrite the task fixing these problems. "
                'Reply with the task only, starting with "Task:".'
            ),
            step=f"revise-{round_}",
        )
        for draft, answer in zip(drafts, revised, strict=True):
            task = parse_task(answer.text)
            if task and not leaks_critique(task, draft.critique, draft.instruction):
                draft.instruction = task


_CRITIQUE_WORDS = re.compile(r"\bcritiques?\b|\bis (?:it|the task) (?:clear|self-contained|testable)\b", re.I)


def leaks_critique(revised: str, critique: str, before: str) -> bool:
    """Whether a revision copied the critique into the task (small models answer "…with the following critique
    points: 1. **Is the task clear?**"): the critique's words or questions, or a whole line of it (20 characters or
    more), that the task before the revision did not have. The instruction becomes the SFT prompt, so such a
    revision is dropped. Taking up a critique's suggestion in its own words is what a revision is for: not a leak."""
    if _CRITIQUE_WORDS.search(revised) and not _CRITIQUE_WORDS.search(before):
        return True
    lines = {" ".join(line.split()) for line in critique.splitlines()}
    flat = " ".join(revised.split())
    return any(len(line) >= 20 and line in flat and line not in " ".join(before.split()) for line in lines)


#: A whole-program language's tests bring ``main``; a solution with its own would not compile beside them.
_NO_MAIN = " (the function and the includes or imports it needs, no main function: the tests bring it)"


def solve(drafts: list[Draft], attempts: int) -> None:
    """``attempts`` independent solutions per draft (different seeds)."""
    for attempt in range(attempts):
        answers = ask(
            drafts,
            "solve",
            lambda d: (
                f"Solve this task in {title_of(d.agent.language)}. Reply with the complete code in one "
                f"```{fence_of(d.agent.language)} block{_NO_MAIN if whole_program(_sandbox(d)) else ''}, then at "
                f"most two sentences.\n\nTask: {d.instruction}"
            ),
            step=f"solve-{attempt}",
        )
        for draft, answer in zip(drafts, answers, strict=True):
            code = extract_code(answer.text, fence_of(draft.agent.language)) if answer.error is None else ""
            draft.attempts.append(Attempt(answer.text, code))


#: The shape of one check per language, with the function's own name: what the tests' harness sees fail
#: (``console.assert`` never fails a Node run; a Bash check must end the script). A shape, not an example: the
#: 0.5B copied a worked example's lines verbatim into the tests of other tasks (3 of 6 in a probe).
_CHECK_SHAPES = {
    "python": "assert {name}(<arguments>) == <expected result>",
    "javascript": "assert.deepStrictEqual({name}(<arguments>), <expected result>);",
    "typescript": "assert.deepStrictEqual({name}(<arguments>), <expected result>);",
    "bash": '[ "$({name} <arguments>)" = "<expected output>" ] || exit 1',
    "cpp": "assert({name}(<arguments>) == <expected result>);",
}
_MAINS = {"cpp": "int main() { ... return 0; }"}
_DECLARES_ASSERT = re.compile(
    r"^[ \t]*(?:(?:const|let|var)\s+assert\s*=\s*require\([^)]*\)|import\s+(?:\*\s+as\s+)?assert\s+from\s+\S+)"
    r";?[ \t]*$",
    re.M,
)
_USES_ASSERT = re.compile(r"(?<![.\w$])assert\s*[.(]")
_CHECK_PREAMBLES = {
    "javascript": 'const assert = require("node:assert");',
    "typescript": 'import assert from "node:assert";',
    "cpp": "#include <cassert>",
}


def _test_prompt(d: Draft) -> str:
    """Tests written from the task and the solution's signatures, not its body: a model shown the body copies it
    into the tests (every test block of a measured 0.5B run did), and expected values taken from the task are a
    check of the solution, not a restatement of it. A whole-program language's tests are its ``main`` (and the
    includes it needs): :func:`~codemill.synth.verify.program` puts the solution in front."""
    lang, fence = title_of(d.agent.language), fence_of(d.agent.language)
    language = _sandbox(d)
    code = d.attempts[0].code if d.attempts else ""
    heads, names = signatures(code, language), entry_points(code, language)
    functions = ", ".join(f"`{h}`" for h in heads) or "(see the task)"
    whole = whole_program(language)
    shape = _CHECK_SHAPES.get(language)
    if shape is None or not names:
        form = "checks that end the program with a non-zero status when a result is wrong"
        form = f"a main function with {form}" if whole else form
    else:
        preamble = _CHECK_PREAMBLES.get(language)
        first = f"`{preamble}` first, then " if preamble else ""
        inside = f"`{_MAINS[language]}` with " if language in _MAINS else ""
        form = f"{first}{inside}one line per check, each of the form `{shape.format(name=names[-1])}`"
    return (
        f"Write tests for this {lang} function: 4 to 6 checks, each calls it on one input and compares the result "
        "with the value the task asks for, so that a wrong result fails the program. Do not write the function "
        "again (it is defined above the tests); no test framework, no printing.\n\n"
        f"Task: {d.instruction}\n\nThe function: {functions}\n\n"
        f"Write {form}. Reply with the tests only, in one ```{fence} block."
    )


def write_tests(drafts: list[Draft], retries: int = 0) -> None:
    """The tests of each draft. A definition of the solution's own functions in them is cut
    (:func:`~codemill.synth.adequacy.without_definitions`; the transcript says so); tests that then read as no
    tests (:func:`~codemill.synth.adequacy.read_tests`) are asked again, ``retries`` times, each with a new seed."""
    pending = list(drafts)
    for attempt in range(1 + retries):
        step = "test" if attempt == 0 else f"test-retry-{attempt}"
        for draft, answer in zip(pending, ask(pending, "test", _test_prompt, step=step), strict=True):
            draft.tests = _tests_of(draft, answer)
        pending = [d for d in pending if d.attempts and read_tests(d.attempts[0].code, d.tests, _sandbox(d))]
        if not pending:
            break


def _sandbox(draft: Draft) -> str:
    return sandbox_name(draft.agent.language)


def _tests_of(draft: Draft, answer: Generation) -> str:
    tests = extract_code(answer.text, fence_of(draft.agent.language)) if answer.error is None else ""
    language = _sandbox(draft)
    code = draft.attempts[0].code if draft.attempts else ""
    tests, cut = without_definitions(tests, entry_points(code, language), language)
    if language in {"javascript", "typescript"}:
        if _DECLARES_ASSERT.search(code):
            tests = _DECLARES_ASSERT.sub("", tests)  # asked for, but the solution has it: a second is a SyntaxError
        elif _USES_ASSERT.search(tests) and not _DECLARES_ASSERT.search(tests):
            tests = f"{_CHECK_PREAMBLES[language]}\n{tests}"  # asked for and left out: "assert is not defined"
    if cut:
        draft.transcript.append(
            Turn("codemill", "tests-cut", "", "", f"cut the tests' own definition of {', '.join(cut)}")
        )
    return tests


def to_candidate(draft: Draft) -> Candidate:
    lineage = [*draft.parent.lineage, draft.parent.id] if draft.parent else []
    origin = draft.parent.origin_language if draft.parent else draft.agent.language
    return Candidate(
        id=draft.id,
        agent=draft.agent.name,
        language=draft.agent.language,
        target=draft.target,
        seed_id=draft.seed.id if draft.seed else None,
        instruction=draft.instruction,
        tests=draft.tests,
        attempts=list(draft.attempts),
        transcript=list(draft.transcript),
        lineage=lineage,
        origin_language=origin,
    )
