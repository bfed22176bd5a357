"""How surprised a small language model is by a text: the mean negative log-likelihood per token (and perplexity).

The ladder's level 3 uses it as an annotation (CCNet's idea: text a model trained on good data predicts well is
more like that data); a level-2-sized classifier then learns the annotations, so the model never has to read the
whole corpus (the FineWeb-Edu recipe). Scoring needs the logits of every position, so the scorer keeps its own
llama.cpp context (``logits_all``) with a short window; only the first ``window`` tokens of a text are read.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

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
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        if self._model is None:
            from llama_cpp import Llama

            self._model = Llama(
                model_path=str(self.path),
                n_ctx=self.window,
                n_batch=self.window,
                n_threads=self.n_threads,
                logits_all=True,
                verbose=False,
            )
        return self._model

    def score(self, text: str) -> Perplexity:
        """The text's first ``window`` tokens (after the model's begin-of-text token, if it has one)."""
        with self._lock:
            model = self.model
            tokens = model.tokenize(text.encode("utf-8", "replace"), add_bos=True, special=False)[: self.window]
            if len(tokens) < 2:
                return Perplexity(0, 0.0)
            model.reset()
            model.eval(tokens)
            logits = np.asarray(model.scores[: len(tokens) - 1], dtype=np.float64)
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(shifted).sum(axis=1))
        targets = np.asarray(tokens[1:])
        nll = log_norm - shifted[np.arange(len(targets)), targets]
        return Perplexity(len(targets), float(nll.mean()))

    def close(self) -> None:
        with self._lock:
            if self._model is not None:
                self._model.close()
                self._model = None
