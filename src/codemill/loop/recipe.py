"""The loop recipe (``codemill loop RECIPE.yaml``): the model to improve, how to evaluate it, how to synthesise
data for its gaps, and how to train it. Validated like every codemill recipe (file:line:column errors)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["EvalSpec", "LoopRecipe", "TrainSpec", "load_loop_recipe"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EvalSpec(Strict):
    benchmarks: list[str] = Field(default_factory=lambda: ["humaneval"], description="codemill eval names")
    limit: int | None = Field(20, ge=1, description="first N tasks of each benchmark; null: all")
    mode: str = Field("auto", description="auto, base or instruct")
    max_tokens: int | None = Field(384, ge=1, description="null: each benchmark's own budget (the report's)")
    samples: int = Field(1, ge=1)
    temperature: float = Field(0.0, ge=0.0)
    threads: int | None = Field(None, ge=1, description="llama.cpp threads for embedded models")
    split: bool = Field(
        False,
        description="halve every benchmark by a hash of the task id: gaps come from the 'gap' half, before/after "
        "is measured on the 'held-out' half, so nothing that steers synthesis is a task that judges the round",
    )


class TrainSpec(Strict):
    method: Literal["sft", "dpo"] = Field(
        "sft", description="sft: the accepted samples (sft.jsonl); dpo: the verified preference pairs (dpo.jsonl)"
    )
    beta: float = Field(0.1, gt=0.0, description="DPO's beta")
    lora: dict[str, Any] = Field(default_factory=dict, description="LoRA options of codemill train (rank, lr…)")
    command: str | None = Field(
        None,
        description="an external trainer instead: a shell command given CODEMILL_SFT_DATA, CODEMILL_OUTPUT_DIR and "
        "CODEMILL_BASE_MODEL, which prints (or writes to OUTPUT_DIR/model.txt) the new model's --model spec",
    )
    accumulate: bool = Field(True, description="train on every round's accepted data so far, not only this round's")

    @model_validator(mode="after")
    def _lora_options(self) -> TrainSpec:
        if self.command is None:
            from codemill.train import LoraOptions

            try:  # unknown or bad options fail at load, not after an evaluation
                LoraOptions(**self.lora)
            except TypeError as error:
                fields = ", ".join(LoraOptions.__dataclass_fields__)
                raise ValueError(f"lora: {error}; options: {fields}") from None
        return self


class LoopRecipe(Strict):
    name: str = "loop"
    model: str = Field("hf:smollm2", description="the model to improve, a --model SPEC")
    teacher: str | None = Field(None, description="the synthesis models' SPEC (default: the synth recipe's own)")
    synth: Path | None = Field(None, description="a synth recipe; default: the shipped configs/synth.yaml")
    synth_candidates: int | None = Field(None, ge=1, description="candidates per round (default: the synth recipe's)")
    synth_seconds: float | None = Field(
        None, gt=0, description="stop a round's synthesis after this long (with synth_candidates: whichever first)"
    )
    decontaminate_entry_points: bool = Field(
        True,
        description="refuse synthesised samples whose solution defines a benchmark entry point's name: the loop "
        "evaluates on those benchmarks, so their functions must not be trained on (off only for scripted tests)",
    )
    focus: str | None = Field(
        None,
        description="'weakest': synthesis generates only in the language the gaps show weakest (other agents still "
        "critique); a language name: only that one; null: every agent, weighted by the gaps",
    )
    eval: EvalSpec = Field(default_factory=EvalSpec)
    train: TrainSpec = Field(default_factory=TrainSpec)

    @property
    def gguf_student(self) -> bool:
        """A student run by llama.cpp: trained as a LoRA adapter applied on its own GGUF (``gguf-lora``)."""
        return not self.model.startswith(("hf:", "http://", "https://"))

    @model_validator(mode="after")
    def _known_focus(self) -> LoopRecipe:
        if self.focus not in (None, "weakest"):
            from codemill.sandbox.languages import UnknownLanguageError, get_language

            try:  # a typo fails at load, not after the round's first evaluation
                get_language(self.focus)
            except UnknownLanguageError as error:
                raise ValueError(f"focus: {error}") from None
        return self

    @model_validator(mode="after")
    def _trainable(self) -> LoopRecipe:
        if self.gguf_student and self.train.command is None and not self.train.accumulate:
            raise ValueError(
                "a GGUF student is trained as one LoRA adapter on its own GGUF: train.accumulate must stay true "
                "(adapters are not stacked round on round)"
            )
        if self.train.command is None and self.model.startswith(("http://", "https://")):
            raise ValueError(
                "a model behind a server cannot be trained in-process: give train.command (an external trainer "
                "that serves or saves the new model), or a local model (hf:PATH, a .gguf, a shipped name)"
            )
        return self


def load_loop_recipe(path: Path) -> LoopRecipe:
    from codemill.pipeline.recipe import load_yaml_model

    recipe = load_yaml_model(path, LoopRecipe)
    if recipe.synth is not None and not recipe.synth.is_absolute():
        recipe.synth = (path.parent / recipe.synth).resolve()  # relative to the loop recipe, like an include
    return recipe
