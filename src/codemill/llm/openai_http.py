"""Any OpenAI-compatible server (vLLM, SGLang, llama.cpp's server, Ollama, a hosted API) over HTTP.

Completion prompts go to ``/v1/completions``, chat prompts to ``/v1/chat/completions``. Transient failures
(connection errors, timeouts, 429 and 5xx answers) are retried with exponential backoff and jitter, honouring
``Retry-After``; any other error answer fails that one prompt with the server's own message. ``concurrency``
requests are in flight at once (the server batches them: that is where vLLM's throughput comes from).
"""

from __future__ import annotations

import os
import random
import time
from typing import Any

import httpx

from codemill.llm.backend import Backend
from codemill.llm.schema import Generation, LLMError, Prompt, Sampling

__all__ = ["OpenAICompatible", "base_url_of"]

RETRY_STATUSES = {408, 409, 429, 500, 502, 503, 504}


def base_url_of(url: str) -> str:
    """``http://host:8000``, ``http://host:8000/`` and ``http://host:8000/v1`` all mean the same server."""
    url = url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


class OpenAICompatible(Backend):
    def __init__(
        self,
        url: str,
        model: str | None = None,
        api_key: str | None = None,
        concurrency: int = 8,
        timeout: float = 600.0,
        retries: int = 5,
        backoff: float = 0.5,
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        self.base_url = base_url_of(url)
        self.concurrency = concurrency
        self.retries = retries
        self.backoff = backoff
        self.extra_body = dict(extra_body or {})
        key = api_key or os.environ.get("CODEMILL_API_KEY") or os.environ.get("OPENAI_API_KEY")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout, limits=limits)
        self.model = model or self._first_model()
        self.identity = f"openai:{self.base_url}#{self.model}"

    def _first_model(self) -> str:
        """The server's only (or first) model, so ``http://host:port`` alone is a usable spec."""
        listing = self._request("GET", "/v1/models")
        models = [entry.get("id") for entry in listing.get("data", []) if entry.get("id")]
        if not models:
            raise LLMError(f"{self.base_url}/v1/models lists no model; name one: {self.base_url}#MODEL")
        return str(models[0])

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        problem, retry_after = "", None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self._delay(attempt, retry_after))
            try:
                response = self._client.request(method, path, json=body)
            except httpx.TransportError as error:
                problem, retry_after = f"{type(error).__name__}: {error}", None
                continue
            if response.status_code in RETRY_STATUSES:
                problem = f"HTTP {response.status_code}: {response.text[:300]}"
                retry_after = response.headers.get("retry-after")
                continue
            if response.status_code >= 400:
                raise LLMError(f"{self.base_url}{path}: HTTP {response.status_code}: {response.text[:500]}")
            try:
                return response.json()
            except ValueError:
                raise LLMError(f"{self.base_url}{path}: the answer is not JSON: {response.text[:200]!r}") from None
        raise LLMError(f"{self.base_url}{path}: gave up after {self.retries + 1} tries; last: {problem}")

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        """The server's ``Retry-After`` (seconds, at most 60) if it sent one, else exponential backoff."""
        if retry_after:
            try:
                return min(float(retry_after), 60.0)
            except ValueError:
                pass
        return min(self.backoff * 2 ** (attempt - 1), 20.0) * (0.5 + random.random() / 2)

    def generate(self, prompt: Prompt, sampling: Sampling) -> Generation:
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": sampling.max_tokens,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "seed": sampling.seed,
            **self.extra_body,
        }
        if sampling.stop:
            body["stop"] = list(sampling.stop)
        started = time.monotonic()
        if prompt.text is not None:
            answer = self._request("POST", "/v1/completions", {**body, "prompt": prompt.text})
            choice = answer["choices"][0]
            text = choice.get("text") or ""
        else:
            messages = [{"role": m.role, "content": m.content} for m in prompt.messages or ()]
            answer = self._request("POST", "/v1/chat/completions", {**body, "messages": messages})
            choice = answer["choices"][0]
            text = (choice.get("message") or {}).get("content") or ""
        usage = answer.get("usage") or {}
        return Generation(
            text=text,
            finish_reason="length" if choice.get("finish_reason") == "length" else "stop",
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            seconds=time.monotonic() - started,
        )

    def close(self) -> None:
        self._client.close()
