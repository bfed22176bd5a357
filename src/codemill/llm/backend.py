"""The one interface every model backend implements: answer a prompt with given sampling settings."""

from __future__ import annotations

from abc import ABC, abstractmethod

from codemill.llm.schema import Generation, Prompt, Sampling

__all__ = ["Backend"]


class Backend(ABC):
    """A model behind some runtime.

    ``identity`` names the model and runtime exactly enough that two backends with the same identity give the
    same answers; it is part of the cache key, so changing the model never serves another model's answers.
    ``concurrency`` is how many prompts the backend may be given at once (1 for an in-process model).
    """

    identity: str = ""
    concurrency: int = 1
    supports_chat: bool = True

    @abstractmethod
    def generate(self, prompt: Prompt, sampling: Sampling) -> Generation:
        """Answer one prompt; raise :class:`~codemill.llm.schema.LLMError` only when this prompt cannot be done."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Free what the backend holds (model memory, connections)."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
