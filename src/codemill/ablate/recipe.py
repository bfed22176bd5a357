"""The ablation recipe (``codemill ablate RECIPE.yaml``): which arms, what budget, which model, how to train it and
what to hold out. Validated like every codemill recipe (file:line:column errors)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from codemill.curate.mix.options import parse_ratio

__all__ = ["AblationRecipe", "ArmSpec", "HeldoutSpec", "ModelSpec", "TrainingSpec", "load_ablation_recipe"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ArmSpec(Strict):
    """One dataset to train on: the documents of quality level ``min_level`` or more, or a code:text:math ``ratio``."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$", description="a folder name")
    min_level: int | None = Field(None, ge=0, description="level arm: only documents of this level or more")
    kinds: list[str] = Field(default_factory=lambda: ["code"], description="level arm: the kinds it draws from")
    ratio: dict[str, float] | None = Field(None, description="ratio arm: code:text:math shares, e.g. '7:2:1'")

    @field_validator("ratio", mode="before")
    @classmethod
    def _ratio(cls, value: object) -> object:
        return parse_ratio(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_kind_of_arm(self) -> ArmSpec:
        if (self.min_level is None) == (self.ratio is None):
            raise ValueError(f"arm {self.name!r}: give either min_level (a level arm) or ratio (a ratio arm)")
        return self


class HeldoutSpec(Strict):
    """What the corpus is (``level0_from``), and the evaluation sets no arm sees, cut from it before any arm is
    drawn."""

    code_repositories: float = Field(
        0.05, gt=0, lt=1, description="share of code repositories held out whole (every file, every level)"
    )
    text_documents: float = Field(0.05, gt=0, lt=1, description="share of text documents held out")
    math_documents: float = Field(0.05, gt=0, lt=1, description="share of math documents held out")
    max_documents: int = Field(200, ge=1, description="most documents per held-out set that are evaluated")
    max_tokens_per_document: int = Field(2048, ge=16, description="tokens of a held-out document that are scored")
    ngram: int = Field(10, ge=3, description="a training document sharing a word n-gram of this size with held-out…")
    stoplist_min_docs: int = Field(10, ge=2, description="…goes, unless the n-gram is in this many documents (idioms)")
    level0_from: list[str] = Field(
        default_factory=lambda: ["code_rules"],
        description="steps whose rejected documents join the corpus at level 0 (the ladder's level-1 rules)",
    )
    seed: int = 0


class ModelSpec(Strict):
    """A small model of the Qwen2 architecture (transformers' ``Qwen2Config``), trained from scratch."""

    layers: int = Field(2, ge=1)
    hidden: int = Field(128, ge=8)
    heads: int = Field(4, ge=1)
    kv_heads: int = Field(2, ge=1)
    intermediate: int = Field(384, ge=8)
    vocab: int = Field(
        8192, ge=0, description="Qwen2.5 tokens kept as they are (the most frequent); the rest are spelt in bytes"
    )

    @model_validator(mode="after")
    def _heads(self) -> ModelSpec:
        if self.hidden % self.heads or self.heads % self.kv_heads:
            raise ValueError("hidden must be a multiple of heads, and heads a multiple of kv_heads")
        return self


class TrainingSpec(Strict):
    seq_length: int = Field(256, ge=16)
    batch_size: int = Field(16, ge=1)
    learning_rate: float = Field(3e-3, gt=0)
    warmup_steps: int = Field(20, ge=0)
    weight_decay: float = Field(0.1, ge=0)
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    threads: int | None = Field(None, ge=1, description="torch threads on CPU (default: half the cores)")
    device: str = Field("auto", description="auto (cuda when there is one), cpu or cuda")


class AblationRecipe(Strict):
    name: str = "ablation"
    curated: Path = Field(Path("out/curated"), description="a codemill curate output folder (its data/)")
    budget: int = Field(2_000_000, ge=1_000, description="Qwen2.5 tokens in every arm")
    max_repeats: int = Field(8, ge=1, description="most copies of one document where an arm is short of the budget")
    arms: list[ArmSpec] = Field(min_length=1)
    heldout: HeldoutSpec = Field(default_factory=HeldoutSpec)
    model: ModelSpec = Field(default_factory=ModelSpec)
    training: TrainingSpec = Field(default_factory=TrainingSpec)

    @model_validator(mode="after")
    def _distinct_names(self) -> AblationRecipe:
        names = [a.name for a in self.arms]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"arm names must differ: {', '.join(repeated)} given twice")
        return self

    @property
    def steps(self) -> int:
        """Optimiser steps per run: the budget once through, in batches of sequences."""
        return max(1, self.budget // (self.training.batch_size * self.training.seq_length))


def load_ablation_recipe(path: Path) -> AblationRecipe:
    from codemill.pipeline.recipe import load_yaml_model

    recipe = load_yaml_model(path, AblationRecipe)
    if not recipe.curated.is_absolute() and not recipe.curated.exists():
        beside = (path.parent / recipe.curated).resolve()
        if beside.exists():
            recipe.curated = beside  # relative to the recipe when it is not relative to the working folder
    return recipe
