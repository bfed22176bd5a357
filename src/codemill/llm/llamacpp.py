"""The embedded backend: llama.cpp (``llama-cpp-python``) on this machine, so nothing needs to be running.

The model runs in a child process (:mod:`~codemill.llm.llama_process`), so a native crash in llama.cpp is an error
naming the model and the signal instead of the end of the run. One model instance answers one prompt at a time
(llama.cpp contexts are not thread-safe), so ``concurrency`` is 1. ``n_threads`` defaults to half the cores: on a
small machine a second busy core makes a two-thread llama.cpp ten times slower (measured here: 58 tok/s on one
thread, 6 on two under contention). Greedy decoding (temperature 0) is deterministic, so the same prompt gives
the same text as llama.cpp's own OpenAI-compatible server with the same model.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from codemill.llm.backend import Backend
from codemill.llm.llama_process import LlamaProcess
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
    """``lora``: a llama.cpp LoRA adapter GGUF applied on top of the model (``codemill train``'s ``gguf-lora``
    export); it is part of the identity, so answers of the adapted model never share cache entries with the base's."""

    def __init__(
        self,
        model_path: Path,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        n_batch: int = 512,
        lora: Path | None = None,
    ) -> None:
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise LLMError(f"{self.model_path}: no such GGUF file")
        if lora is not None and not Path(lora).is_file():
            raise LLMError(f"{lora}: no such LoRA adapter file (codemill train writes DIR/adapter.gguf)")
        self.n_ctx = n_ctx
        self.n_threads = n_threads or default_threads()
        self.n_batch = n_batch
        self.identity = f"llama.cpp:{file_fingerprint(self.model_path)}"
        load = {
            "model_path": str(self.model_path),
            "n_ctx": n_ctx,
            "n_threads": self.n_threads,
            "n_batch": n_batch,
            "seed": 0,
            "verbose": False,
        }
        if lora is not None:
            self.identity += f"+lora:{file_fingerprint(Path(lora))}"
            load["lora_path"] = str(lora)
        self.process = LlamaProcess(load, purpose="generation")
        self._metadata: dict[str, str] | None = None

    @property
    def metadata(self) -> dict[str, str]:
        """The GGUF's key/value metadata, read once from the loaded model."""
        if self._metadata is None:
            self._metadata = self.process.call("metadata")
        return self._metadata

    @property
    def supports_chat(self) -> bool:  # type: ignore[override]
        return "tokenizer.chat_template" in self.metadata

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
        if prompt.text is not None:
            answer = self.process.call("complete", prompt.text, options)
            text = answer["choices"][0]["text"]
        else:
            if not self.supports_chat:
                raise LLMError(f"{self.model_path.name} has no chat template: use it for completion only")
            messages = [{"role": m.role, "content": m.content} for m in prompt.messages or ()]
            answer = self.process.call("chat", messages, options)
            text = answer["choices"][0]["message"]["content"] or ""
        usage = answer.get("usage") or {}
        return Generation(
            text=text,
            finish_reason="length" if answer["choices"][0].get("finish_reason") == "length" else "stop",
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            seconds=time.monotonic() - started,
        )

    def close(self) -> None:
        self.process.close()
