"""The synthesis recipe (``codemill synth RECIPE.yaml``): seeds, models per agent and role, protocol, memory,
checklist weights, steering grid, budget. Validated with pydantic; errors name file:line:column and the path."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["CHECKLIST_POINTS", "ROLES", "SynthRecipe", "load_synth_recipe"]

ROLES = ("propose", "critique", "revise", "solve", "test", "judge", "share")
CHECKLIST_POINTS = (
    "consistency",
    "relevance",
    "difficulty",
    "code_exists",
    "correctness",
    "best_practice",
    "clarity",
    "comments",
    "educational_value",
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelSpec(Strict):
    model: str = Field("smollm2", description="a --model SPEC: shipped model, .gguf file or http://server[#model]")
    temperature: float = Field(0.7, ge=0.0)
    top_p: float = Field(0.95, gt=0.0, le=1.0)
    max_tokens: int = Field(384, ge=1)
    concurrency: int | None = Field(None, ge=1, description="requests in flight to a server")


class AgentSpec(Strict):
    language: str
    model: str = Field("default", description="a key of models: for every role of this agent")
    roles: dict[str, str] = Field(default_factory=dict, description="role -> a key of models, overriding model")
    system: str = Field("", description="extra system prompt for this agent")


class SeedSpec(Strict):
    inputs: list[Path] = Field(default_factory=list, description="curated output folders, Parquet or JSONL")
    builtin: bool = Field(
        True,
        description="the shipped snippet set seeds every agent whose language it has, sampled with inputs by the "
        "same rule (so an agent with no snippets in inputs still gets some); false: only inputs",
    )
    per_language: int = Field(8, ge=0)
    max_tokens: int = Field(1024, ge=16, description="longer snippets are cut at a line boundary")
    min_quality: int = Field(0, ge=0)
    instructions: Path | None = Field(None, description='open instruction JSONL: {"instruction", "language"?}')


class ProtocolSpec(Strict):
    critique_rounds: int = Field(1, ge=0, description="critique + revise rounds before solving")
    attempts: int = Field(2, ge=1, description="independent solves per instruction (failing beside passing: DPO)")


class MemorySpec(Strict):
    enabled: bool = True
    # Defaults from bench/memory_bench.py on 162 labelled pairs (bench/results/memory.json): the highest recall of
    # near-repeats with at most 5% of distinct same-topic tasks refused is MinHash alone at 0.35 (renamed copies
    # 43% caught, paraphrases 0%, distinct tasks 3.7% refused). SmolLM2's mean-pooled embeddings do not separate
    # paraphrases from distinct tasks (AUC 0.60): at 0.95 they refused 43% of distinct tasks, so they are off.
    minhash_threshold: float = Field(0.35, gt=0.0, le=1.0, description="Jaccard of word 3-grams")
    embedding_threshold: float = Field(0.99, gt=0.0, le=1.0, description="cosine of embeddings")
    embedder: str | None = Field(None, description="a GGUF model for embeddings; null (default): MinHash only")


class CrossLingualSpec(Strict):
    rate: float = Field(0.25, ge=0.0, le=1.0, description="share of candidates adapted from another agent's idea")


class ChecklistSpec(Strict):
    model: str = "default"
    weights: dict[str, float] = Field(default_factory=lambda: dict.fromkeys(CHECKLIST_POINTS, 1.0))
    min_score: float = Field(
        5.0, ge=0.0, le=10.0, description="weighted score (0-10) below which a sample is dropped; unscored: dropped"
    )
    retries: int = Field(1, ge=0, description="asks again (another seed) when no score can be read from the answer")

    @model_validator(mode="after")
    def _known_points(self) -> ChecklistSpec:
        unknown = set(self.weights) - set(CHECKLIST_POINTS)
        if unknown:
            raise ValueError(f"unknown checklist points {sorted(unknown)}; the nine: {', '.join(CHECKLIST_POINTS)}")
        if not any(w > 0 for w in self.weights.values()):
            raise ValueError("at least one checklist weight must be positive")
        return self


class TestsSpec(Strict):
    """The audit of a passing sample's tests (:mod:`codemill.synth.adequacy`): read, run against a stub, mutants."""

    audit: bool = Field(True, description="false: a passing run is enough (tests that check nothing pass too)")
    min_mutation_score: float = Field(
        0.5, ge=0.0, le=1.0, description="share of the solution's mutants the tests must fail (where any ran)"
    )
    max_mutants: int = Field(4, ge=0, description="one-token mutants of the solution run against its tests")
    retries: int = Field(
        1, ge=0, description="tests that read as no tests (no call, no check, a copy of the solution) are asked again"
    )


class SteeringSpec(Strict):
    concepts: list[str] = Field(
        default_factory=lambda: ["strings", "lists", "math", "recursion", "sorting", "hash maps", "parsing"]
    )
    difficulties: list[str] = Field(default_factory=lambda: ["easy", "medium", "hard"])
    eval_results: Path | None = Field(None, description="samples.jsonl of codemill eval: failures steer generation")
    languages: list[str] | None = Field(
        None,
        description="the agents' languages that generate (default: every agent's); the others still critique drafts "
        "and hand over verified parents: how a run is aimed at one weak language",
    )


class BudgetSpec(Strict):
    candidates: int = Field(12, ge=1, description="candidates to make (refused ones count)")
    round_size: int = Field(8, ge=1, description="candidates made together: one batched call per model and step")
    tokens: int | None = Field(None, ge=1, description="stop when the models have generated this many tokens")
    seconds: float | None = Field(None, gt=0, description="stop after this long")


class SynthRecipe(Strict):
    name: str = "synth"
    seed: int = 0
    models: dict[str, ModelSpec] = Field(default_factory=lambda: {"default": ModelSpec()})
    agents: list[AgentSpec] = Field(default_factory=lambda: [AgentSpec(language="python")])
    seeds: SeedSpec = Field(default_factory=SeedSpec)
    protocol: ProtocolSpec = Field(default_factory=ProtocolSpec)
    memory: MemorySpec = Field(default_factory=MemorySpec)
    cross_lingual: CrossLingualSpec = Field(default_factory=CrossLingualSpec)
    checklist: ChecklistSpec = Field(default_factory=ChecklistSpec)
    tests: TestsSpec = Field(default_factory=TestsSpec)
    steering: SteeringSpec = Field(default_factory=SteeringSpec)
    budget: BudgetSpec = Field(default_factory=BudgetSpec)
    decontaminate: list[Literal["humaneval", "mbpp", "multipl-e", "cruxeval"]] = Field(
        default_factory=lambda: ["humaneval", "mbpp", "multipl-e"]
    )
    decontaminate_entry_points: bool = Field(
        False,
        description="also refuse a sample whose solution defines a function named as one of those benchmarks' entry "
        "points (strict: `add` is HumanEval/53's); for data trained on and then evaluated on those benchmarks",
    )

    @model_validator(mode="after")
    def _references(self) -> SynthRecipe:
        problems = []
        languages = [a.language for a in self.agents]
        if len(set(languages)) != len(languages):
            problems.append(
                f"one agent per language; repeated: {sorted({x for x in languages if languages.count(x) > 1})}"
            )
        for agent in self.agents:
            for role, key in {"*": agent.model, **agent.roles}.items():
                if role != "*" and role not in ROLES:
                    problems.append(f"agent {agent.language}: unknown role {role!r}; roles: {', '.join(ROLES)}")
                if key not in self.models:
                    problems.append(f"agent {agent.language}: model {key!r} is not a key of models")
        unknown = sorted(set(self.steering.languages or ()) - set(languages))
        if unknown:
            problems.append(f"steering.languages {unknown} have no agent; agents: {languages}")
        if self.steering.languages == []:
            problems.append("steering.languages is empty: name at least one agent's language, or leave it out")
        if self.checklist.model not in self.models:
            problems.append(f"checklist.model {self.checklist.model!r} is not a key of models")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def model_for(self, language: str, role: str) -> str:
        """The models key an agent uses for a role."""
        agent = next(a for a in self.agents if a.language == language)
        return agent.roles.get(role, agent.model)


def load_synth_recipe(path: Path) -> SynthRecipe:
    from codemill.pipeline.recipe import load_yaml_model

    return load_yaml_model(path, SynthRecipe)
