"""``codemill synth``: rounds of steered, discussed, remembered, verified and judged candidates.

Each round: steering picks targets (language × concept × difficulty) → drafts (own seeds, or with probability
``cross_lingual.rate`` an idea from another agent's earlier candidate: lineage) → the discussion protocol → the
agent's memory refuses near-repeats before they cost a solve → solve and test → verification in the sandbox →
checklist judged by a model → decontamination → accepted or not. A round's outcomes are appended to
``outcomes.jsonl`` when the round is complete; every model answer is in the SQLite cache as soon as it arrives.
So a killed run, restarted, replays finished rounds from the file (steering sees the same history, so it picks
the same targets), redoes only the unfinished round, and asks no model twice. The budget (candidates, generated
tokens, seconds) is checked between rounds.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codemill.data.textio import atomic_write_text
from codemill.llm import Cache
from codemill.synth.adequacy import TestAudit, audit_tests, entry_points
from codemill.synth.agents import build_agents
from codemill.synth.checklist import checklist_prompt, parse_checklist, weighted_score
from codemill.synth.crosscheck import CrossCheck, cross_check
from codemill.synth.decontam import contamination_reason, decontaminated
from codemill.synth.outputs import write_outputs
from codemill.synth.protocol import Draft, ask, propose, share, solve, to_candidate, write_tests
from codemill.synth.recipe import SynthRecipe
from codemill.synth.schema import Attempt, Candidate, Outcome, outcome_from_json
from codemill.synth.seeds import load_seeds
from codemill.synth.steering import Steering
from codemill.synth.synergy import synergy_matrix
from codemill.synth.verify import sandbox_name, verify_attempts

__all__ = ["SynthError", "SynthRun", "SynthSummary", "run_synth"]


class SynthError(RuntimeError):
    """A run that cannot start or go on (a different recipe in the output folder, no agents…)."""


@dataclass
class SynthSummary:
    rounds: int = 0
    made: int = 0
    refused: int = 0
    passed: int = 0
    accepted: int = 0
    decontaminated: int = 0
    replayed_rounds: int = 0
    model_calls: int = 0
    """Model calls the outcomes cost when they were made (from their transcripts: a resumed run still counts them)."""
    completion_tokens: int = 0
    model_seconds: float = 0.0
    calls_this_run: int = 0
    """Calls this very run made (0 when everything was replayed or served by the cache)."""
    cache_hits: int = 0
    seconds: float = 0.0
    stopped_by: str = "candidates"
    per_language: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, outcome: Outcome) -> None:
        self.made += 1
        self.refused += outcome.refused is not None
        self.passed += outcome.passed
        self.accepted += outcome.accepted
        self.decontaminated += outcome.decontaminated is not None
        for turn in outcome.candidate.transcript:
            if not turn.cached:
                self.model_calls += 1
                self.completion_tokens += turn.completion_tokens
                self.model_seconds = round(self.model_seconds + turn.seconds, 3)
        cell = self.per_language.setdefault(outcome.candidate.language, {"made": 0, "accepted": 0})
        cell["made"] += 1
        cell["accepted"] += outcome.accepted


@dataclass(frozen=True)
class SynthRun:
    """What a run computed: its summary (``summary.json``) and what the report draws (rendered by the command,
    :func:`codemill.report.synth_html.write_synth_report`)."""

    summary: SynthSummary
    outcomes: list[Outcome]
    synergy: dict[str, Any]
    coverage: dict[str, Any]


def _recipe_key(recipe: SynthRecipe) -> str:
    return json.dumps(recipe.model_dump(mode="json"), sort_keys=True)


def _prepare(output: Path, recipe: SynthRecipe, overwrite: bool) -> None:
    marker = output / "recipe.json"
    if overwrite and output.exists():
        shutil.rmtree(output)
    output.mkdir(parents=True, exist_ok=True)
    if marker.exists() and marker.read_text() != _recipe_key(recipe):
        raise SynthError(
            f"{output} holds a run of another recipe: resume it with that recipe, or start again with --overwrite"
        )
    atomic_write_text(marker, _recipe_key(recipe))


def _finished_rounds(path: Path) -> dict[int, list[Outcome]]:
    """Outcomes per round from ``outcomes.jsonl``; a round counts only with its end line (a torn tail is redone)."""
    rounds: dict[int, list[Outcome]] = {}
    pending: dict[int, list[Outcome]] = {}
    if not path.exists():
        return rounds
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            break
        if "end_of_round" in row:
            rounds[row["end_of_round"]] = pending.pop(row["end_of_round"], [])
        else:
            pending.setdefault(row["round"], []).append(outcome_from_json(row["outcome"]))
    return rounds


class Synth:
    def __init__(self, recipe: SynthRecipe, output: Path, memory_dir: Path | None = None) -> None:
        self.recipe = recipe
        self.output = output
        self.cache = Cache(output / "llm-cache.sqlite")
        languages = [a.language for a in recipe.agents]
        seeds = load_seeds(recipe.seeds, languages, recipe.seed)
        memory = memory_dir or output / "memory"
        self.agents = {a.language: a for a in build_agents(recipe, self.cache, memory, seeds)}
        steering = recipe.steering
        generating = steering.languages or list(self.agents)
        self.steering = Steering(generating, steering.concepts, steering.difficulties, recipe.seed)
        if steering.eval_results is not None:
            self.steering.load_eval_failures(steering.eval_results)
        self.accepted: list[Candidate] = []
        """Accepted candidates: the only ones another agent may adapt (their tests were verified and audited)."""
        self.seed_cursor = dict.fromkeys(self.agents, 0)

    def llms(self) -> list[Any]:
        unique = {id(llm): llm for agent in self.agents.values() for llm in agent.llms.values()}
        return list(unique.values())

    def _draft(self, round_: int, slot: int, target: Any) -> Draft:
        agent = self.agents[target.language]
        rng = random.Random(f"{self.recipe.seed}/{round_}/{slot}")
        others = [c for c in self.accepted if c.language != agent.language]  # verified parents only
        parent = None
        seed = None
        if others and rng.random() < self.recipe.cross_lingual.rate:
            parent = rng.choice(others)
        elif agent.seeds:
            seed = agent.seeds[self.seed_cursor[agent.language] % len(agent.seeds)]
            self.seed_cursor[agent.language] += 1
        key = f"{round_}/{slot}/{target}/{seed.id if seed else ''}/{parent.id if parent else ''}"
        draft_id = hashlib.sha1(key.encode()).hexdigest()[:16]
        parent_agent = self.agents.get(parent.language) if parent else None
        critics = [a for lang, a in sorted(self.agents.items()) if lang != agent.language]
        critic = random.Random(f"{self.recipe.seed}/critic/{draft_id}").choice(critics) if critics else None
        return Draft(draft_id, agent, target, seed, parent, parent_agent, critic)

    def _remembered(self, drafts: list[Draft]) -> dict[str, tuple[str | None, float]]:
        """The memory's verdict per draft, in order: a draft is also checked against earlier drafts of its round."""
        verdicts: dict[str, tuple[str | None, float]] = {}
        ids = [d.id for d in drafts]
        for index, draft in enumerate(drafts):
            memory = draft.agent.memory
            if memory is None:
                verdicts[draft.id] = (None, 0.0)
                continue
            # Entries of this draft and the round's later ones can only be there from a killed run of this round.
            reason, similarity = memory.check(draft.instruction, exclude=set(ids[index:]))
            verdicts[draft.id] = (reason, similarity)
            if reason is None:
                memory.add(draft.id, draft.instruction)
        return verdicts

    def _judge(self, drafts: list[Draft]) -> list[tuple[dict[str, float], float | None]]:
        """The checklist's scores per draft: the judge sees the answer, the tests and the sandbox's verdict. An
        answer with no readable score is asked again (``checklist.retries`` times, each with a new seed); one still
        unread scores None, which is never accepted."""

        def best(d: Draft) -> Attempt | None:
            passing = [a for a in d.attempts if a.verification is not None and a.verification.passed]
            return (passing or d.attempts or [None])[0]

        def verdict(attempt: Attempt | None) -> str:
            v = attempt.verification if attempt is not None else None
            return "not run" if v is None else f"{v.status}{': ' + v.message if v.message else ''}"

        def prompt(d: Draft) -> str:
            attempt = best(d)
            answer = attempt.answer if attempt is not None else ""
            made = checklist_prompt(d.instruction, answer, d.agent.language, d.tests, verdict(attempt))
            return made.messages[-1].content if made.messages else made.text or ""

        results: dict[str, tuple[dict[str, float], float | None]] = {}
        pending = list(drafts)
        for attempt in range(1 + self.recipe.checklist.retries):
            answers = ask(pending, "judge", prompt, step="judge" if attempt == 0 else f"judge-retry-{attempt}")
            for draft, answer in zip(pending, answers, strict=True):
                scores = parse_checklist(answer.text) if answer.error is None else {}
                results[draft.id] = (scores, weighted_score(scores, self.recipe.checklist.weights))
            pending = [d for d in pending if results[d.id][1] is None]
            if not pending:
                break
        return [results[d.id] for d in drafts]

    def _audit(self, drafts: list[Draft]) -> dict[str, TestAudit]:
        """The tests' audit of every draft with a passing attempt (its first passing solution)."""
        if not self.recipe.tests.audit:
            return {}
        items = []
        for draft in drafts:
            passing = next((a for a in draft.attempts if a.verification is not None and a.verification.passed), None)
            if passing is not None:
                items.append((draft.id, sandbox_name(draft.agent.language), passing.code, draft.tests))
        audits = audit_tests(items, max_mutants=self.recipe.tests.max_mutants)
        return {item[0]: audit for item, audit in zip(items, audits, strict=True)}

    def _cross_check(self, drafts: list[Draft]) -> dict[str, CrossCheck]:
        """Every draft's solutions that parsed, against its tests one check at a time (reported, not a gate)."""
        items = []
        for draft in drafts:
            parsed = [a for a in draft.attempts if a.verification is not None and a.verification.parsed is not False]
            codes = [a.code for a in parsed if a.code.strip()]
            items.append((draft.id, sandbox_name(draft.agent.language), codes, draft.tests))
        return {item[0]: found for item, found in zip(items, cross_check(items), strict=True) if found is not None}

    def _rejections(self, outcome: Outcome, audit: TestAudit | None) -> list[str]:
        """Why a judged outcome is not accepted: every gate it fails, in order (empty: accepted)."""
        if not outcome.passed:
            return ["no attempt passed its tests in the sandbox"]
        why = []
        if audit is not None:
            why += audit.failures(self.recipe.tests.min_mutation_score)
        score, least = outcome.checklist_score, self.recipe.checklist.min_score
        if score is None:
            why.append("the judge's answer gave no checklist score")
        elif score < least:
            why.append(f"checklist score {score:.2f} below {least:.2f}")
        if outcome.decontaminated is not None:
            why.append(contamination_reason(outcome.decontaminated))
        return why

    def round(self, round_: int, targets: list[Any]) -> list[Outcome]:
        drafts = [self._draft(round_, slot, target) for slot, target in enumerate(targets)]
        share(drafts)
        propose(drafts, self.recipe.protocol.critique_rounds)
        verdicts = self._remembered(drafts)
        live = [d for d in drafts if verdicts[d.id][0] is None]
        solve(live, self.recipe.protocol.attempts)
        write_tests(live, self.recipe.tests.retries)
        verified = {c.id: c for c in verify_attempts([to_candidate(d) for d in live])}
        for draft in live:
            draft.attempts = list(verified[draft.id].attempts)
        audits = self._audit(live)
        checked = self._cross_check(live)
        judged = dict(zip([d.id for d in live], self._judge(live), strict=True))
        texts = [d.instruction + "\n" + "\n".join(a.answer for a in d.attempts) + "\n" + d.tests for d in live]
        names = None
        if self.recipe.decontaminate_entry_points:
            names = [
                [n for a in d.attempts for n in entry_points(a.code, sandbox_name(d.agent.language))] for d in live
            ]
        hits = decontaminated(texts, self.recipe.decontaminate, names)
        contaminated = dict(zip([d.id for d in live], hits, strict=True))
        outcomes = []
        for draft in drafts:
            reason, similarity = verdicts[draft.id]
            outcome = Outcome(to_candidate(draft), refused=reason, similarity=round(similarity, 4))
            if reason is None:
                outcome.checklist, outcome.checklist_score = judged[draft.id]
                outcome.decontaminated = contaminated[draft.id]
                audit = audits.get(draft.id)
                outcome.tests_audit = audit.to_json() if audit is not None else None
                crossed = checked.get(draft.id)
                outcome.cross_check = crossed.to_json() if crossed is not None else None
                outcome.rejected_because = self._rejections(outcome, audit)
                outcome.accepted = not outcome.rejected_because
            outcomes.append(outcome)
        return outcomes

    def record(self, outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            self.steering.record(outcome)
            if outcome.accepted:
                self.accepted.append(outcome.candidate)


def run_synth(
    recipe: SynthRecipe,
    output: Path,
    overwrite: bool = False,
    on_round: Callable[[int, SynthSummary], None] | None = None,
    memory_dir: Path | None = None,
) -> SynthRun:
    """Run (or resume) a synthesis into ``output``; see the module docstring. ``memory_dir`` keeps the agents'
    memories elsewhere (the loop shares them across its rounds); by default ``output/memory``."""
    if not recipe.agents:
        raise SynthError("the recipe has no agents")
    _prepare(output, recipe, overwrite)
    started = time.monotonic()
    synth = Synth(recipe, output, memory_dir)
    finished = _finished_rounds(output / "outcomes.jsonl")
    summary = SynthSummary()
    outcomes: list[Outcome] = []
    budget = recipe.budget
    round_ = 0
    with (output / "outcomes.jsonl").open("a", encoding="utf-8") as log:
        while summary.made < budget.candidates:
            tokens = sum(llm.usage.completion_tokens for llm in synth.llms())
            if budget.tokens is not None and tokens >= budget.tokens:
                summary.stopped_by = "tokens"
                break
            if budget.seconds is not None and time.monotonic() - started >= budget.seconds:
                summary.stopped_by = "seconds"
                break
            targets = synth.steering.next_targets(min(budget.round_size, budget.candidates - summary.made))
            if round_ in finished:
                made = finished[round_]
                summary.replayed_rounds += 1
            else:
                made = synth.round(round_, targets)
                for outcome in made:
                    log.write(json.dumps({"round": round_, "outcome": outcome.to_json()}, ensure_ascii=False) + "\n")
                log.write(json.dumps({"end_of_round": round_}) + "\n")
                log.flush()
            synth.record(made)
            outcomes.extend(made)
            for outcome in made:
                summary.add(outcome)
            summary.rounds = round_ + 1
            round_ += 1
            if on_round is not None:
                on_round(round_, summary)
    for llm in synth.llms():
        summary.calls_this_run += llm.usage.calls
        summary.cache_hits += llm.usage.cache_hits
        llm.backend.close()
    synth.cache.close()
    matrix = synergy_matrix(outcomes, list(synth.agents))
    write_outputs(outcomes, output)
    summary.seconds = round(time.monotonic() - started, 1)
    atomic_write_text(output / "summary.json", json.dumps(summary.__dict__, indent=2) + "\n")
    return SynthRun(summary, outcomes, matrix.to_json(), synth.steering.coverage())
