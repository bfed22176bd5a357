"""One interface to language models for evaluation, synthesis and scoring: completion and chat, batched and
concurrent, with a content-addressed cache so an interrupted run resumes without asking the model again.

Backends: embedded llama.cpp (:mod:`~codemill.llm.llamacpp`, the default, with small models shipped in PyPI
packages: :mod:`~codemill.llm.models`) and any OpenAI-compatible server (:mod:`~codemill.llm.openai_http`).
``backend_from_spec`` turns a ``--model`` string into a backend.
"""

from codemill.llm.backend import Backend
from codemill.llm.cache import Cache, cache_key
from codemill.llm.client import LLM, Usage
from codemill.llm.schema import Generation, LLMError, Message, ModelUnavailable, Prompt, Sampling
from codemill.llm.spec import DEFAULT_MODEL, SPEC_HELP, backend_from_spec

__all__ = [
    "DEFAULT_MODEL",
    "LLM",
    "SPEC_HELP",
    "Backend",
    "Cache",
    "Generation",
    "LLMError",
    "Message",
    "ModelUnavailable",
    "Prompt",
    "Sampling",
    "Usage",
    "backend_from_spec",
    "cache_key",
]
