"""A model's answer to a multiple-choice question, read from its next-token distribution instead of sampled.

Why: a judge that writes its verdict costs a generation per document and gives one integer; reading the
probability of each allowed answer (``"0"`` … ``"5"``) after one forward pass of the prompt costs only the prompt
and gives a calibrated, continuous score (the expected value), the same every run. This is how rubric judges
such as FineWeb-Edu's annotator are distilled cheaply.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from codemill.llm.llama_process import LlamaProcess
from codemill.llm.llamacpp import default_threads, file_fingerprint
from codemill.llm.models import gguf_path
from codemill.llm.schema import Message

__all__ = ["ChoiceScorer", "Choices"]


@dataclass(frozen=True)
class Choices:
    """The model's probabilities of each choice, renormalised over the choices."""

    prompt_tokens: int
    probabilities: dict[str, float]
    mass: float
    """The share of the next-token probability the choices held before renormalising (low: the model meant to
    answer something else, e.g. prose)."""

    def expected(self, values: dict[str, float]) -> float:
        return sum(p * values[c] for c, p in self.probabilities.items())


class ChoiceScorer:
    """One embedded model (a shipped name or a GGUF path) kept loaded in a child process; one prompt at a time."""

    def __init__(self, model: str, n_ctx: int = 2048, n_threads: int | None = None) -> None:
        path = gguf_path(model)
        self.n_ctx = n_ctx
        self.identity = f"llama.cpp:{file_fingerprint(path)}:choices:n_ctx={n_ctx}"
        self.process = LlamaProcess(
            {
                "model_path": str(path),
                "n_ctx": n_ctx,
                "n_batch": 512,
                "n_threads": n_threads or default_threads(),
                "verbose": False,
            },
            purpose="choice scoring",
        )

    def choose(self, messages: Sequence[Message], choices: Sequence[str]) -> Choices:
        wire = [{"role": m.role, "content": m.content} for m in messages]
        tokens, logprobs = self.process.call("choice_logprobs", wire, list(choices))
        raw = [math.exp(lp) for lp in logprobs]
        mass = sum(raw)
        return Choices(tokens, {c: p / mass for c, p in zip(choices, raw, strict=True)}, mass)

    def close(self) -> None:
        self.process.close()
