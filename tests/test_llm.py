"""codemill.llm without a model: the cache, the batching client, and the HTTP backend against a local server.

The fake backend and the fake OpenAI server live only here; the real backends are tested with the shipped model
in tests/test_llm_models.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from helpers import free_port

from codemill.llm import LLM, Backend, Cache, Generation, LLMError, Prompt, Sampling, backend_from_spec, cache_key
from codemill.llm.openai_http import OpenAICompatible, base_url_of


class Echo(Backend):
    """Answers with the prompt reversed plus a tail, counting calls; fails on prompts that say so."""

    identity = "echo"

    def __init__(self, concurrency: int = 1) -> None:
        self.concurrency = concurrency
        self.calls = 0
        self.lock = threading.Lock()

    def generate(self, prompt: Prompt, sampling: Sampling) -> Generation:
        with self.lock:
            self.calls += 1
        text = prompt.text if prompt.text is not None else prompt.messages[-1].content  # type: ignore[index]
        if "fail" in text:
            raise LLMError("asked to fail")
        time.sleep(0.01 * (len(text) % 3))  # answers finish out of order under concurrency
        return Generation(text[::-1] + f"|seed={sampling.seed}\nSTOP after", "length", 3, 5)


def test_cache_key_covers_everything_that_changes_the_answer() -> None:
    base = cache_key("m", Prompt(text="x"), Sampling())
    assert base == cache_key("m", Prompt(text="x"), Sampling())
    assert base != cache_key("other", Prompt(text="x"), Sampling())
    assert base != cache_key("m", Prompt(text="y"), Sampling())
    assert base != cache_key("m", Prompt.chat("x"), Sampling())
    assert base != cache_key("m", Prompt(text="x"), Sampling(seed=1))
    assert base != cache_key("m", Prompt(text="x"), Sampling(temperature=0.2))
    assert base != cache_key("m", Prompt(text="x"), Sampling(stop=("\n",)))


def test_prompt_is_text_or_messages() -> None:
    with pytest.raises(ValueError, match="either text or messages"):
        Prompt()
    assert Prompt.chat("hi", system="be brief").messages[0].role == "system"  # type: ignore[index]


@pytest.mark.parametrize("concurrency", [1, 4])
def test_client_keeps_order_cuts_at_stop_and_resumes_from_cache(tmp_path: Path, concurrency: int) -> None:
    prompts = [Prompt(text=f"p{i}" * (i + 1)) for i in range(12)]
    sampling = Sampling(stop=("\nSTOP",))
    backend = Echo(concurrency)
    seen: list[int] = []
    llm = LLM(backend, Cache(tmp_path / "cache.sqlite"))
    answers = llm.generate_many(prompts, sampling, on_done=lambda index, _: seen.append(index))
    assert [a.text for a in answers] == [p.text[::-1] + "|seed=0" for p in prompts]  # type: ignore[index]
    assert all(a.finish_reason == "stop" for a in answers)  # the stop string was found here, not by the backend
    assert sorted(seen) == list(range(12))
    assert llm.usage.calls == 12 and llm.usage.cache_hits == 0 and llm.usage.completion_tokens == 60
    llm.close()

    again = LLM(Echo(concurrency), Cache(tmp_path / "cache.sqlite"))  # a new process would see the same
    answers2 = again.generate_many([*prompts, Prompt(text="new")], sampling)
    assert [a.text for a in answers2[:12]] == [a.text for a in answers]
    assert all(a.cached for a in answers2[:12]) and not answers2[12].cached
    assert again.backend.calls == 1 and again.usage.cache_hits == 12  # type: ignore[attr-defined]


def test_one_failing_prompt_does_not_stop_the_batch_and_is_not_cached(tmp_path: Path) -> None:
    llm = LLM(Echo(), Cache(tmp_path / "c.sqlite"))
    answers = llm.generate_many([Prompt(text="ok"), Prompt(text="please fail"), Prompt.chat("chat ok")], Sampling())
    assert answers[0].error is None and answers[2].text.startswith("ko tahc")
    assert answers[1].error == "asked to fail" and answers[1].finish_reason == "error" and answers[1].text == ""
    assert llm.usage.errors == 1
    assert len(llm.cache) == 2  # type: ignore[arg-type]


def test_samples_differ_by_seed() -> None:
    llm = LLM(Echo())
    answers = llm.generate_many([Prompt(text="a")] * 3, [Sampling(seed=s) for s in range(3)])
    assert [a.text for a in answers] == ["a|seed=0\nSTOP after", "a|seed=1\nSTOP after", "a|seed=2\nSTOP after"]
    with pytest.raises(ValueError, match="3 prompts but 2"):
        llm.generate_many([Prompt(text="a")] * 3, [Sampling()] * 2)


def test_spec_errors_name_the_fix() -> None:
    with pytest.raises(LLMError, match="not understood"):
        backend_from_spec("gpt-9")
    with pytest.raises(LLMError, match="no such GGUF"):
        backend_from_spec("missing/model.gguf")
    assert base_url_of("http://h:1/v1/") == base_url_of("http://h:1") == "http://h:1"


# --- the HTTP backend against a real local server that misbehaves on purpose ----------------------------------


class FakeServer:
    """An OpenAI-compatible server in a thread: fails ``flaky`` times with 503 (Retry-After 0) before answering."""

    def __init__(self, flaky: int = 0) -> None:
        self.flaky = flaky
        self.bodies: list[dict[str, Any]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        app = FastAPI()

        @app.get("/v1/models")
        def models() -> dict[str, Any]:
            return {"object": "list", "data": [{"id": "fake-coder", "object": "model"}]}

        @app.post("/v1/completions")
        async def completions(request: Request) -> Any:
            return await self._answer(request, chat=False)

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> Any:
            return await self._answer(request, chat=True)

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))

    async def _answer(self, request: Request, chat: bool) -> Any:
        import asyncio

        body = await request.json()
        self.bodies.append(body)
        if self.flaky > 0:
            self.flaky -= 1
            return JSONResponse({"error": "busy"}, status_code=503, headers={"Retry-After": "0"})
        if body.get("max_tokens", 1) > 4096:
            return JSONResponse({"error": {"message": "max_tokens too large"}}, status_code=400)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(0.05)
        self.in_flight -= 1
        text = body["messages"][-1]["content"].upper() if chat else body["prompt"].upper()
        choice = {"message": {"role": "assistant", "content": text}} if chat else {"text": text}
        usage = {"prompt_tokens": 2, "completion_tokens": 1}
        return {"choices": [{**choice, "index": 0, "finish_reason": "stop"}], "usage": usage}

    def __enter__(self) -> str:
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}/v1"

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def flaky_server() -> Iterator[tuple[FakeServer, str]]:
    fake = FakeServer(flaky=2)
    with fake as url:
        yield fake, url


def test_http_backend_retries_discovers_the_model_and_bounds_concurrency(flaky_server) -> None:
    fake, url = flaky_server
    backend = backend_from_spec(url + "?top_k=20&min_p=0.0&note=x", concurrency=3)
    assert isinstance(backend, OpenAICompatible) and backend.model == "fake-coder"
    assert backend.extra_body == {"top_k": 20, "min_p": 0.0, "note": "x"}
    llm = LLM(backend)
    prompts = [Prompt(text=f"def f{i}():") for i in range(10)] + [Prompt.chat("hello")]
    answers = llm.generate_many(prompts, Sampling(max_tokens=16, stop=("\n", "a", "b", "c", "d")))
    assert [a.text for a in answers] == [f"DEF F{i}():" for i in range(10)] + ["HELLO"]
    assert len(fake.bodies) == 11 + 2  # two 503s were retried
    assert fake.bodies[-1]["stop"] == ["\n", "a", "b", "c", "d"] and fake.bodies[-1]["model"] == "fake-coder"
    assert fake.bodies[-1]["top_k"] == 20
    assert 1 < fake.most_in_flight <= 3
    llm.close()


def test_http_backend_gives_up_with_the_servers_message() -> None:
    fake = FakeServer(flaky=100)
    with fake as url:
        backend = OpenAICompatible(url, "fake-coder", retries=2, backoff=0.01)
        with pytest.raises(LLMError, match=r"gave up after 3 tries; last: HTTP 503"):
            backend.generate(Prompt(text="x"), Sampling())
        fake.flaky = 0
        answer = LLM(backend).generate_many([Prompt(text="x")], Sampling(max_tokens=10_000))[0]
        assert answer.error is not None and "HTTP 400" in answer.error and "max_tokens too large" in answer.error
        backend.close()


def test_http_backend_unreachable_server_is_a_clear_error() -> None:
    backend = OpenAICompatible(f"http://127.0.0.1:{free_port()}", "m", retries=1, backoff=0.01)
    with pytest.raises(LLMError, match="ConnectError"):
        backend.generate(Prompt(text="x"), Sampling())
