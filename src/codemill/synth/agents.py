"""Language agents: one per programming language, each with its own models per role, system prompt, seed examples
and memory. Agents share backends (one per model key of the recipe) and one answer cache, so two agents on the
same model do not load it twice and a resumed run asks no model twice."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from codemill.data.language_rules import rules_for
from codemill.llm import LLM, Cache, Sampling, backend_from_spec
from codemill.sandbox.languages import get_language
from codemill.synth.memory import MemoryBank
from codemill.synth.recipe import ROLES, SynthRecipe
from codemill.synth.schema import Seed

__all__ = ["Agent", "build_agents", "fence_of", "title_of"]


def fence_of(language: str) -> str:
    """The code-fence tag (and :func:`codemill.evaluate.extract.extract_code` language) of a sandbox language."""
    rules = rules_for(language)
    return rules.fence if rules is not None else language


def title_of(language: str) -> str:
    """How a prompt names a language (``C++``)."""
    rules = rules_for(language)
    return rules.title if rules is not None else language.capitalize()


@dataclass
class Agent:
    language: str
    llms: dict[str, LLM]
    models: dict[str, str]
    """Role → the recipe's model key (recorded in the transcript)."""
    sampling: dict[str, Sampling]
    system: str
    seeds: list[Seed] = field(default_factory=list)
    memory: MemoryBank | None = None

    @property
    def name(self) -> str:
        return f"{self.language}-agent"


def build_agents(recipe: SynthRecipe, cache: Cache, memory_dir: Path, seeds: dict[str, list[Seed]]) -> list[Agent]:
    """The recipe's agents with their LLMs (one backend per model key) and memories (one file per agent)."""
    llms: dict[str, LLM] = {}
    for key, spec in recipe.models.items():
        llms[key] = LLM(backend_from_spec(spec.model, concurrency=spec.concurrency), cache)
    embedder = None
    if recipe.memory.enabled and recipe.memory.embedder:
        from codemill.synth.embed import LlamaEmbedder

        embedder = LlamaEmbedder(recipe.memory.embedder)
    agents = []
    for spec in recipe.agents:
        language = get_language(spec.language).name
        keys = {role: recipe.model_for(spec.language, role) for role in ROLES}
        sampling = {
            role: Sampling(
                max_tokens=recipe.models[key].max_tokens,
                temperature=recipe.models[key].temperature,
                top_p=recipe.models[key].top_p,
            )
            for role, key in keys.items()
        }
        system = (
            f"You are an expert {title_of(language)} programmer who writes clear, correct, self-contained "
            f"programming exercises and solutions. {spec.system}"
        ).strip()
        memory = None
        if recipe.memory.enabled:
            memory = MemoryBank(
                memory_dir / f"{language}.jsonl",
                recipe.memory.minhash_threshold,
                recipe.memory.embedding_threshold,
                embedder,
            )
        agents.append(
            Agent(
                language, {r: llms[k] for r, k in keys.items()}, keys, sampling, system, seeds.get(language, []), memory
            )
        )
    return agents
