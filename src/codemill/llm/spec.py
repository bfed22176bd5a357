"""From a model SPEC string (the ``--model`` of every command) to a backend.

- ``qwen2.5-coder-0.5b-instruct`` (:data:`DEFAULT_MODEL`), ``qwen2.5-coder-1.5b-instruct`` (the default teacher
  and judge of the shipped synth and loop recipes), ``smollm2``, ``gemma3-270m``: a small model shipped in PyPI
  packages, run embedded by llama.cpp (:mod:`codemill.llm.models`);
- ``PATH.gguf``: any GGUF file, run embedded by llama.cpp;
- ``BASE+lora:ADAPTER.gguf``: a shipped model or GGUF file with a llama.cpp LoRA adapter applied (what
  ``codemill train --export gguf-lora`` and the loop write for a GGUF student);
- ``hf:PATH_OR_SHIPPED_NAME``: a Hugging Face model folder (what ``codemill train`` writes), a GGUF file or a shipped
  model, run by ``transformers`` (the ``train`` extra): how a model trained by codemill is evaluated;
- ``http://HOST:PORT[/v1][?FIELD=VALUE&...][#MODEL]`` (or ``https://``): an OpenAI-compatible server; without
  ``#MODEL`` the server's first listed model. Query fields are added to every request body, for a server's own
  sampling settings: ``?repeat_penalty=1.0`` makes llama-cpp-python's server (default 1.1) decode greedily exactly
  like the embedded backend; ``?top_k=20`` for vLLM.
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

from codemill.llm.backend import Backend
from codemill.llm.models import SHIPPED, gguf_path
from codemill.llm.schema import LLMError

__all__ = ["DEFAULT_MODEL", "SPEC_HELP", "backend_from_spec"]

DEFAULT_MODEL = "qwen2.5-coder-0.5b-instruct"
"""The model a command asks when none is named: the report's own smallest instruct model (HumanEval 61.6)."""
SPEC_HELP = (
    f"A shipped model ({', '.join(SHIPPED)}; embedded llama.cpp), a .gguf file, "
    "hf:PATH_OR_SHIPPED_NAME (a Hugging Face model folder, e.g. one codemill train wrote, a .gguf or a shipped model, "
    "run by transformers: pip install 'codemill[train]'), "
    "BASE+lora:ADAPTER.gguf (a llama.cpp LoRA adapter on a shipped model or .gguf), "
    "or an OpenAI-compatible server http://HOST:PORT[?FIELD=VALUE][#MODEL] (vLLM, SGLang, llama.cpp server, Ollama; "
    "query fields go into every request)."
)


def _value(text: str) -> object:
    """``1.0`` → 1.0, ``true`` → True, anything else stays a string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def backend_from_spec(
    spec: str, *, concurrency: int | None = None, n_ctx: int = 4096, threads: int | None = None
) -> Backend:
    spec = spec.strip()
    if spec.startswith(("http://", "https://")):
        from codemill.llm.openai_http import OpenAICompatible

        url, _, model = spec.partition("#")
        url, _, query = url.partition("?")
        extra = {key: _value(value) for key, value in urllib.parse.parse_qsl(query, keep_blank_values=True)}
        return OpenAICompatible(url, model or None, concurrency=concurrency or 8, extra_body=extra)
    if spec.startswith("hf:"):
        from codemill.llm.transformers_backend import Transformers

        return Transformers(spec.removeprefix("hf:"), n_ctx=n_ctx, threads=threads)
    spec, _, adapter = spec.partition("+lora:")
    if spec not in SHIPPED and not spec.endswith(".gguf"):
        raise LLMError(f"model {spec!r}: not understood. {SPEC_HELP}")
    from codemill.llm.llamacpp import LlamaCpp

    lora = Path(adapter).expanduser() if adapter else None
    return LlamaCpp(gguf_path(spec), n_ctx=n_ctx, n_threads=threads, lora=lora)
