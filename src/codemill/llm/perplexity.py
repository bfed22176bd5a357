"""How surprised a small language model is by a text: the mean negative log-likelihood per token (and perplexity).

The ladder's level 3 uses it as an annotation (CCNet's idea: text a model trained on good data predicts well is
more like that data); a level-2-sized classifier then learns the annotations, so the model never has to read the
whole corpus (the FineWeb-Edu recipe). Scoring needs the logits of every position, so the scorer keeps its own
llama.cpp context (``logits_all``) with a short window; only the first ``window`` tokens of a text are read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from codemill.llm.llama_process import LlamaProcess
from codemill.llm.llamacpp import default_threads, file_fingerprint
from codemill.llm.models import gguf_path

__all__ = ["Perplexity", "PerplexityScorer"]


@dataclass(frozen=True)
class Perplexity:
    tokens: int
    """Tokens predicted (the text's tokens in the window, minus the first)."""
    mean_nll: float
    """Mean negative log-likelihood per predicted token, in nats."""

    @property
    def perplexity(self) -> float:
        return math.exp(self.mean_nll)


class PerplexityScorer:
    def __init__(self, model: str = "smollm2", window: int = 512, n_threads: int | None = None) -> None:
        self.path = path = gguf_path(model)
        self.window = window
        self.n_threads = n_threads or default_threads()
        self.identity = f"llama.cpp:{file_fingerprint(path)}:window={window}"
        self.process = LlamaProcess(
            {
                "model_path": str(path),
                "n_ctx": window,
                "n_batch": window,
                "n_threads": self.n_threads,
                "logits_all": True,
                "verbose": False,
            },
            purpose="perplexity",
        )

    def score(self, text: str) -> Perplexity:
        """The text's first ``window`` tokens (after the model's begin-of-text token, if it has one)."""
        tokens, mean_nll = self.process.call("token_nll", text, self.window)
        return Perplexity(tokens, mean_nll)

    def close(self) -> None:
        self.process.close()
