"""Generation speed of codemill's embedded backend against llama-cpp-python bare, in the same run.

Same GGUF, same prompt (the report's ChatML HumanEval/0 text), same threads, greedy, the same number of new
tokens (no stop words, so both write exactly ``--tokens``), and a fresh context per call on both sides (codemill
resets the model before every prompt: reusing a cached prefix can tip greedy near-ties). codemill's side is
``LLM.generate_many`` through the backend of ``--model`` (llama.cpp in a child process, answers over a pipe, no
answer cache); the peer is ``llama_cpp.Llama.create_completion`` in this process. Rounds alternate the two, so
load from other jobs on a shared machine falls on both; the ratio is codemill's tokens/s over the peer's.

    nice -n 10 .venv/bin/python bench/llm_speed_bench.py --model qwen2.5-coder-0.5b-instruct --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

from codemill.evaluate.humaneval import HumanEval
from codemill.evaluate.qwen_instruct import evalplus_chat
from codemill.llm import LLM, Prompt, Sampling, backend_from_spec
from codemill.llm.models import gguf_path

RESULTS = Path(__file__).resolve().parent / "results" / "llm_speed.json"
N_CTX = 4096


def bare_llama(model: Path, threads: int) -> Any:
    """The peer: a ``llama_cpp.Llama`` in this process, with codemill's context settings."""
    from llama_cpp import Llama

    return Llama(model_path=str(model), n_ctx=N_CTX, n_threads=threads, n_batch=512, seed=0, verbose=False)


def time_bare(llama: Any, prompt: str, tokens: int) -> tuple[float, int, str]:
    llama.reset()
    started = time.perf_counter()
    answer = llama.create_completion(prompt=prompt, max_tokens=tokens, temperature=0.0, repeat_penalty=1.0)
    seconds = time.perf_counter() - started
    return seconds, int(answer["usage"]["completion_tokens"]), answer["choices"][0]["text"]


def time_codemill(llm: LLM, prompt: str, tokens: int) -> tuple[float, int, str]:
    started = time.perf_counter()
    [answer] = llm.generate_many([Prompt(text=prompt)], Sampling(max_tokens=tokens))
    seconds = time.perf_counter() - started
    if answer.error:
        raise RuntimeError(answer.error)
    return seconds, answer.completion_tokens, answer.text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b-instruct")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tokens", type=int, default=64, help="new tokens per call")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    prompt = evalplus_chat(HumanEval().tasks()["HumanEval/0"].prompt)
    model = gguf_path(args.model)
    backend = backend_from_spec(args.model, n_ctx=N_CTX, threads=args.threads)
    llm = LLM(backend)  # no answer cache: every call runs the model
    bare = bare_llama(model, args.threads)
    time_codemill(llm, prompt, 4)  # load both models before timing
    time_bare(bare, prompt, 4)
    runs: dict[str, list[dict[str, float]]] = {"codemill": [], "llama-cpp-python": []}
    texts: dict[str, set[str]] = {"codemill": set(), "llama-cpp-python": set()}
    try:
        for _ in range(args.rounds):
            for name, timed in (("codemill", lambda: time_codemill(llm, prompt, args.tokens)),
                                ("llama-cpp-python", lambda: time_bare(bare, prompt, args.tokens))):  # fmt: skip
                seconds, tokens, text = timed()
                runs[name].append({"seconds": round(seconds, 3), "tokens": tokens})
                texts[name].add(text)
    finally:
        llm.close()
        bare.close()
    speed = {name: statistics.median(r["tokens"] / r["seconds"] for r in entries) for name, entries in runs.items()}
    result = {
        "model": args.model,
        "gguf": model.name,
        "prompt": "the report's ChatML HumanEval/0 text (159 tokens for Qwen2.5)",
        "new_tokens": args.tokens,
        "threads": args.threads,
        "rounds": args.rounds,
        "machine": f"{os.cpu_count()} cores shared with other developers' jobs ({platform.machine()})",
        "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "tokens_per_second_median": {name: round(value, 2) for name, value in speed.items()},
        "ratio_codemill_over_bare": round(speed["codemill"] / speed["llama-cpp-python"], 3),
        "same_greedy_text": texts["codemill"] == texts["llama-cpp-python"] and len(texts["codemill"]) == 1,
        "runs": runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
