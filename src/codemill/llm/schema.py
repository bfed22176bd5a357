"""What a model is asked and what it answers, independent of the backend that answers.

A :class:`Prompt` is either raw text (completion, for base models and fill-in-the-middle) or chat messages
(for instruct models, through the model's own chat template). :class:`Sampling` holds every setting that changes
the answer, so it is part of the cache key; ``seed`` tells samples of one prompt apart (pass@k with temperature).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["FinishReason", "Generation", "LLMError", "Message", "ModelUnavailable", "Prompt", "Sampling"]

FinishReason = Literal["stop", "length", "error"]


class LLMError(RuntimeError):
    """A backend could not answer (server unreachable after retries, model missing, prompt too long)."""


class ModelUnavailable(LLMError):
    """The model cannot answer any prompt (it failed to load, or its process died).

    A plain :class:`LLMError` fails one prompt and the run goes on; this one stops the run with its message, since
    every later prompt would fail the same way.
    """


@dataclass(frozen=True)
class Message:
    role: str
    content: str


@dataclass(frozen=True)
class Prompt:
    """Raw text, or chat messages; exactly one of the two."""

    text: str | None = None
    messages: tuple[Message, ...] | None = None

    def __post_init__(self) -> None:
        if (self.text is None) == (self.messages is None):
            raise ValueError("a Prompt has either text or messages, not both or neither")

    @classmethod
    def chat(cls, user: str, system: str | None = None) -> Prompt:
        turns = ((Message("system", system),) if system else ()) + (Message("user", user),)
        return cls(messages=turns)

    @property
    def is_chat(self) -> bool:
        return self.messages is not None

    def as_key(self) -> Any:
        if self.text is not None:
            return {"text": self.text}
        return {"messages": [[m.role, m.content] for m in self.messages or ()]}


@dataclass(frozen=True)
class Sampling:
    max_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int = 0

    def as_key(self) -> dict[str, Any]:
        return {**asdict(self), "stop": list(self.stop)}


@dataclass(frozen=True)
class Generation:
    """One answer. ``error`` is set (and ``text`` empty) when this one prompt failed; the batch goes on."""

    text: str
    finish_reason: FinishReason
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    cached: bool = False
    error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("cached")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], cached: bool = False) -> Generation:
        return cls(**{**data, "cached": cached})
