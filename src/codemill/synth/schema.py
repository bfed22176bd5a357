"""The records of instruction synthesis: what every synth module reads and writes.

A :class:`Candidate` is one instruction with its answer and tests, made by one language agent (possibly from an
idea another agent handed over: ``lineage``), with the whole discussion that made it (``transcript``). An
:class:`Outcome` is what became of it: refused by the agent's memory, or judged (checklist), verified (parsed and
run in the sandbox), and accepted or not. Outcomes are the raw material of the synergy metric, the steering and
the report; they are written one JSON line each, so a run can be resumed and audited.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Attempt", "Candidate", "Outcome", "Seed", "Target", "Turn", "Verification", "outcome_from_json"]


@dataclass(frozen=True)
class Seed:
    """A code snippet (at most 1,024 tokens) from curated data, or an instruction from open instruction data."""

    id: str
    language: str
    code: str
    quality: int = 0
    source: str = ""
    instruction: str = ""


@dataclass(frozen=True)
class Target:
    """A cell of the coverage grid that steering asks the next candidate to fill."""

    language: str
    concept: str
    difficulty: str


@dataclass(frozen=True)
class Turn:
    """One model call of the discussion: who asked what, in which role, and the answer."""

    agent: str
    role: str
    model: str
    prompt: str
    answer: str
    completion_tokens: int = 0
    seconds: float = 0.0
    cached: bool = False


@dataclass(frozen=True)
class Verification:
    """A solution's checks: tree-sitter parse of every code block, then the sandbox run of code with its tests."""

    parsed: bool | None
    """True when every block parsed, False on a syntax error, None when no grammar exists for the language."""
    parse_errors: list[str] = field(default_factory=list)
    status: str = "not_run"
    """The sandbox status (``passed``, ``failed``, ``compile_error``…) or ``not_run``."""
    message: str = ""
    stderr: str = ""

    @property
    def passed(self) -> bool:
        return self.parsed is not False and self.status == "passed"


@dataclass(frozen=True)
class Attempt:
    """One solve of an instruction: the answer, its extracted code, and (after verification) its verdict."""

    answer: str
    code: str
    verification: Verification | None = None


@dataclass(frozen=True)
class Candidate:
    id: str
    agent: str
    language: str
    target: Target
    seed_id: str | None
    instruction: str
    tests: str
    attempts: list[Attempt]
    transcript: list[Turn]
    lineage: list[str] = field(default_factory=list)
    """Ids of the candidates this one was adapted from (cross-lingual), oldest first; empty for an own idea."""
    origin_language: str = ""
    """The language of the idea's first agent (the candidate's own language when the idea is its own)."""


@dataclass
class Outcome:
    candidate: Candidate
    refused: str | None = None
    """Why the agent's memory refused it before it cost a solve (a near-repeat), else None."""
    similarity: float = 0.0
    """Highest similarity to the agent's memory when checked (novelty = 1 - similarity)."""
    checklist: dict[str, float] = field(default_factory=dict)
    checklist_score: float | None = None
    accepted: bool = False
    decontaminated: str | None = None
    """The benchmark item an output shared a 10-gram with (then it is not accepted), else None."""
    tests_audit: dict[str, Any] | None = None
    """What :mod:`codemill.synth.adequacy` found of the tests of a passing sample (None: not audited)."""
    rejected_because: list[str] = field(default_factory=list)
    """Why a judged outcome is not accepted (empty when it is, or when memory refused it)."""
    cross_check: dict[str, Any] | None = None
    """Solutions against the tests one check at a time (:mod:`codemill.synth.crosscheck`; None: not done)."""

    @property
    def novelty(self) -> float:
        return 1.0 - self.similarity

    @property
    def passed(self) -> bool:
        return any(a.verification is not None and a.verification.passed for a in self.candidate.attempts)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def outcome_from_json(data: dict[str, Any]) -> Outcome:
    """An :class:`Outcome` back from :meth:`Outcome.to_json` (resuming reads what a run wrote)."""
    c = dict(data["candidate"])
    attempts = [
        Attempt(a["answer"], a["code"], Verification(**a["verification"]) if a.get("verification") else None)
        for a in c.pop("attempts")
    ]
    candidate = Candidate(
        **{
            **c,
            "target": Target(**c["target"]),
            "attempts": attempts,
            "transcript": [Turn(**t) for t in c["transcript"]],
        }
    )
    return Outcome(candidate, **{k: v for k, v in data.items() if k != "candidate"})
