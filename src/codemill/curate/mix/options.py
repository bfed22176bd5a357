"""What a mix is asked for: :class:`MixOptions` (``codemill mix``'s options and the step's parameters), and
the command line's ratio and weight syntax."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, field_validator

from codemill.pipeline.step import Params

DEFAULT_RATIO = {"code": 7.0, "text": 2.0, "math": 1.0}
DEFAULT_LEVEL_WEIGHTS = {0: 1.0, 1: 1.5, 2: 2.0, 3: 3.0}


class MixOptions(Params):
    """What ``codemill mix`` and the recipe step ``mix`` are asked for; every field has a default."""

    budget: int | None = Field(None, ge=1, description="total tokens (or bytes); None: the largest the ratio allows")
    ratio: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_RATIO), description="kind -> share")
    level_weights: dict[int, float] = Field(
        default_factory=lambda: dict(DEFAULT_LEVEL_WEIGHTS),
        description="quality level -> sampling weight; an unlisted level takes the nearest lower listed one",
    )
    max_repeats: int = Field(4, ge=1, description="most copies of one document in the mix")
    seed: int = 0
    unit: Literal["tokens", "bytes"] = Field("tokens", description="what the budget counts")
    tokenizer: str = Field("qwen2.5", description="tokenizer that counts tokens (unit tokens)")
    shard_rows: int = Field(50_000, ge=1, description="documents per output shard")

    @field_validator("ratio")
    @classmethod
    def _ratio(cls, v: dict[str, float]) -> dict[str, float]:
        if not v or any(x < 0 for x in v.values()) or sum(v.values()) <= 0:
            raise ValueError("ratio needs at least one kind with a positive share, and no negative share")
        return v

    @field_validator("level_weights")
    @classmethod
    def _weights(cls, v: dict[int, float]) -> dict[int, float]:
        if not v or any(x < 0 for x in v.values()):
            raise ValueError("level weights must be non-negative, and at least one given")
        return v

    def weight(self, level: int) -> float:
        listed = sorted(self.level_weights)
        lower = [k for k in listed if k <= level]
        return self.level_weights[lower[-1] if lower else listed[0]]


class MixError(RuntimeError):
    """An output folder that cannot be written, or inputs with nothing to mix."""


def parse_ratio(text: str) -> dict[str, float]:
    """``code=7,text=2,math=1`` or ``7:2:1`` (code:text:math) -> a ratio."""
    text = text.strip()
    if "=" not in text:
        values = [float(x) for x in text.split(":")]
        names = list(DEFAULT_RATIO)
        if len(values) != len(names):
            raise ValueError(f"{text!r}: give code:text:math (three numbers) or kind=share pairs")
        return dict(zip(names, values, strict=True))
    out = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        out[name.strip()] = float(value)
    return out


def parse_weights(text: str) -> dict[int, float]:
    """``0=1,1=1.5,2=2`` -> level weights."""
    out = {}
    for part in text.split(","):
        level, _, value = part.partition("=")
        out[int(level)] = float(value)
    if any(math.isnan(v) for v in out.values()):
        raise ValueError("a weight is not a number")
    return out
