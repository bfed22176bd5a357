"""The embedded backend: llama.cpp in this process (``llama-cpp-python``), so nothing needs to be running.

One model instance answers one prompt at a time (llama.cpp contexts are not thread-safe), so
``concurrency`` is 1 and a lock guards the model. ``n_threads`` defaults to half the cores: on a small machine a
second busy core makes a two-thread llama.cpp ten times slower (measured here: 58 tok/s on one thread, 6 on
two under contention). Greedy decoding (temperature 0) is deterministic, so the same prompt gives the same text
as llama.cpp's own OpenAI-compatible server with the same model.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path
from typing import Any

from codemill.llm.backend import Backend
from codemill.llm.schema import Generation, LLMError, Prompt, Sampling

__all__ = ["LlamaCpp", "default_threads", "file_fingerprint"]


def default_threads() -> int:
    if os.environ.get("CODEMILL_LLM_THREADS"):
        return int(os.environ["CODEMILL_LLM_THREADS"])
    return max(1, (os.cpu_count() or 2) // 2)


def file_fingerprint(path: Path) -> str:
    """Name, size and the SHA-256 of the first MiB: cheap, and different for different model files."""
    with path.open("rb") as handle:
        head = hashlib.sha256(handle.read(1 << 20)).hexdigest()[:16]
    return f"{path.name}:{path.stat().st_size}:{head}"


class LlamaCpp(Backend):
    def __init__(self, model_path: Path, n_ctx: int = 4096, n_threads: int | None = None, n_batch: int = 512) -> None:
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise LLMError(f"{self.model_path}: no such GGUF file")
        self.n_ctx = n_ctx
        self.n_threads = n_threads or default_threads()
        self.n_batch = n_batch
        self.identity = f"llama.cpp:{file_fingerprint(self.model_path)}"
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        """The loaded ``llama_cpp.Llama``, loaded on first use."""
        if self._model is None:
            try:
                from llama_cpp import Llama
            except ImportError:
                raise LLMError(
                    "the embedded backend needs llama-cpp-python: pip install llama-cpp-python==0.3.36 "
                    "(make venv builds it once, ~15 min on 2 cores, then pip's wheel cache reuses it)"
                ) from None
            self._model = Llama(
                model_path=str(self.model_path),
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                n_batch=self.n_batch,
                seed=0,
                verbose=False,
            )
        return self._model

    @property
    def supports_chat(self) -> bool:  # type: ignore[override]
        return "tokenizer.chat_template" in self.model.metadata

    def generate(self, prompt: Prompt, sampling: Sampling) -> Generation:
        options = {
            "max_tokens": sampling.max_tokens,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "stop": list(sampling.stop) or None,
            "seed": sampling.seed,
            "repeat_penalty": 1.0,
        }
        started = time.monotonic()
        with self._lock:
            # No reuse of the previous prompt's cached prefix: its logits come from a differently sized batch and
            # can tip a greedy near-tie, so the same prompt would answer differently after different predecessors.
            self.model.reset()
            try:
                if prompt.text is not None:
                    answer = self.model.create_completion(prompt=prompt.text, **options)
                    text = answer["choices"][0]["text"]
                else:
                    if not self.supports_chat:
                        raise LLMError(f"{self.model_path.name} has no chat template: use it for completion only")
                    messages = [{"role": m.role, "content": m.content} for m in prompt.messages or ()]
                    answer = self.model.create_chat_completion(messages=messages, **options)
                    text = answer["choices"][0]["message"]["content"] or ""
            except ValueError as error:  # llama-cpp-python's "Requested tokens exceed context window"
                raise LLMError(f"{self.model_path.name}: {error}") from None
        usage = answer.get("usage") or {}
        return Generation(
            text=text,
            finish_reason="length" if answer["choices"][0].get("finish_reason") == "length" else "stop",
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            seconds=time.monotonic() - started,
        )

    def close(self) -> None:
        with self._lock:
            if self._model is not None:
                self._model.close()
                self._model = None
