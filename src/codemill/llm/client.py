"""Many prompts through one backend: cache first, then bounded concurrency, answers stored as they come.

Every backend's answer is cut at the first stop string here too, because servers differ in how many stop strings
they honour (OpenAI's API takes four); so the same greedy prompt gives the same text from every backend.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace

from codemill.llm.backend import Backend
from codemill.llm.cache import Cache, cache_key
from codemill.llm.schema import Generation, LLMError, ModelUnavailable, Prompt, Sampling

__all__ = ["LLM", "Usage", "cut_at_stop"]


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """``text`` up to the first stop string, and whether one was found."""
    cut = min((at for word in stop if word and (at := text.find(word)) >= 0), default=None)
    return (text, False) if cut is None else (text[:cut], True)


@dataclass
class Usage:
    """What a batch cost: model calls made (cache hits excluded), tokens, seconds, failures."""

    prompts: int = 0
    cache_hits: int = 0
    calls: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0

    def add(self, generation: Generation) -> None:
        self.prompts += 1
        if generation.cached:
            self.cache_hits += 1
            return
        self.calls += 1
        self.errors += generation.error is not None
        self.prompt_tokens += generation.prompt_tokens
        self.completion_tokens += generation.completion_tokens

    @property
    def tokens_per_second(self) -> float:
        return self.completion_tokens / self.seconds if self.seconds else 0.0


class LLM:
    """A backend with a cache. ``generate_many`` is the workhorse; ``complete`` and ``chat`` are one-offs."""

    def __init__(self, backend: Backend, cache: Cache | None = None) -> None:
        self.backend = backend
        self.cache = cache
        self.usage = Usage()

    def complete(self, text: str, **sampling: object) -> Generation:
        return self.generate_many([Prompt(text=text)], Sampling(**sampling))[0]  # type: ignore[arg-type]

    def chat(self, user: str, system: str | None = None, **sampling: object) -> Generation:
        return self.generate_many([Prompt.chat(user, system)], Sampling(**sampling))[0]  # type: ignore[arg-type]

    def generate_many(
        self,
        prompts: Sequence[Prompt],
        sampling: Sampling | Sequence[Sampling],
        on_done: Callable[[int, Generation], None] | None = None,
    ) -> list[Generation]:
        """Answers in prompt order; ``on_done(index, generation)`` is called as each one is ready."""
        settings = [sampling] * len(prompts) if isinstance(sampling, Sampling) else list(sampling)
        if len(settings) != len(prompts):
            raise ValueError(f"{len(prompts)} prompts but {len(settings)} sampling settings")
        started = time.monotonic()
        answers: list[Generation | None] = [None] * len(prompts)
        keys = [cache_key(self.backend.identity, p, s) for p, s in zip(prompts, settings, strict=True)]
        pending = []
        for index, key in enumerate(keys):
            hit = self.cache.get(key) if self.cache else None
            if hit is None:
                pending.append(index)
            else:
                self._finish(answers, index, hit, on_done)

        def ask(index: int) -> Generation:
            return self._ask(prompts[index], settings[index])

        if self.backend.concurrency <= 1:
            for index in pending:
                self._store(answers, keys, index, ask(index), on_done)
        else:
            with ThreadPoolExecutor(self.backend.concurrency, thread_name_prefix="llm") as pool:
                futures = {pool.submit(ask, index): index for index in pending}
                for future in as_completed(futures):
                    self._store(answers, keys, futures[future], future.result(), on_done)
        self.usage.seconds += time.monotonic() - started
        return [a for a in answers if a is not None]

    def _ask(self, prompt: Prompt, sampling: Sampling) -> Generation:
        started = time.monotonic()
        try:
            generation = self.backend.generate(prompt, sampling)
        except ModelUnavailable:
            raise  # no later prompt can succeed: stop the run (answers so far are cached)
        except LLMError as error:
            return Generation("", "error", seconds=time.monotonic() - started, error=str(error))
        text, stopped = cut_at_stop(generation.text, sampling.stop)
        if stopped:
            generation = replace(generation, text=text, finish_reason="stop")
        return generation

    def _store(self, answers, keys, index, generation, on_done) -> None:  # type: ignore[no-untyped-def]
        if self.cache is not None:
            self.cache.put(keys[index], generation)
        self._finish(answers, index, generation, on_done)

    def _finish(self, answers, index, generation, on_done) -> None:  # type: ignore[no-untyped-def]
        answers[index] = generation
        self.usage.add(generation)
        if on_done is not None:
            on_done(index, generation)

    def close(self) -> None:
        self.backend.close()
        if self.cache is not None:
            self.cache.close()
