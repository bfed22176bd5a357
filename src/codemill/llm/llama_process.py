"""llama.cpp in a child process, so a native crash inside the model is an error that names it, not a dead run.

A SIGSEGV, SIGILL or SIGABRT in llama.cpp's C++ (a CPU kernel the machine cannot run, a broken GGUF) kills the
process it happens in, and no Python handler can recover from that: before this module, ``codemill synth`` exited
139 after 3 s with an empty output and no word. So every embedded use of llama.cpp (generation, perplexity,
embeddings) loads its model in a process of its own, started with ``spawn`` (no threads or locks inherited), and
talks to it over a pipe. When that process dies, :class:`LlamaProcess` raises :class:`ModelCrashed` saying which
model, which backend and which signal, and what to do; the answers given before the crash are in the answer
cache, so the same command run again resumes where it stopped.

Each request is one named operation (:data:`OPERATIONS`) on the loaded ``llama_cpp.Llama``; requests and answers
are small (a prompt and its options, a text and its numbers), so the pipe costs microseconds against
milliseconds per token. The child reads requests until the pipe closes, so it never outlives its parent.
"""

from __future__ import annotations

import importlib.util
import json
import multiprocessing
import signal
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from codemill.llm.schema import LLMError, ModelUnavailable

__all__ = ["OPERATIONS", "LlamaProcess", "ModelCrashed", "installed_build"]


class ModelCrashed(ModelUnavailable):
    """The process running the model died (a native crash or a kill): the run stops with this message."""


def installed_build() -> str:
    """Which llama.cpp build this venv runs, as ``scripts/install_llama_cpp.sh`` recorded it."""
    record = Path(sys.prefix) / "llama-cpp-build.json"
    try:
        build = json.loads(record.read_text())
    except (OSError, ValueError):
        return "a llama-cpp-python build not installed by `make venv` (its CPU flags are unknown)"
    return f"llama-cpp-python {build.get('version')} built with {build.get('cmake_args')} (key {build.get('key')})"


# --- what the child can be asked to do ------------------------------------------------------------------------


def _metadata(model: Any) -> dict[str, str]:
    return dict(model.metadata)


def _complete(model: Any, text: str, options: dict[str, Any]) -> dict[str, Any]:
    # No reuse of the previous prompt's cached prefix: its logits come from a differently sized batch and can tip
    # a greedy near-tie, so the same prompt would answer differently after different predecessors.
    model.reset()
    return dict(model.create_completion(prompt=text, **options))


def _chat(model: Any, messages: list[dict[str, str]], options: dict[str, Any]) -> dict[str, Any]:
    model.reset()
    return dict(model.create_chat_completion(messages=messages, **options))


def _token_nll(model: Any, text: str, window: int) -> tuple[int, float]:
    """Tokens predicted and their mean negative log-likelihood (nats) over the text's first ``window`` tokens."""
    import numpy as np

    tokens = model.tokenize(text.encode("utf-8", "replace"), add_bos=True, special=False)[:window]
    if len(tokens) < 2:
        return 0, 0.0
    model.reset()
    model.eval(tokens)
    logits = np.asarray(model.scores[: len(tokens) - 1], dtype=np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1))
    targets = np.asarray(tokens[1:])
    nll = log_norm - shifted[np.arange(len(targets)), targets]
    return len(targets), float(nll.mean())


def _choice_logprobs(model: Any, messages: list[dict[str, str]], choices: list[str]) -> tuple[int, list[float]]:
    """The prompt's tokens and the log-probability of each choice as the answer's first token.

    The messages are put in the model's own chat template (the GGUF's ``tokenizer.chat_template``, with the
    assistant's turn opened); one forward pass, then a softmax over the last position. A choice is its first token
    (a single digit is one token in Qwen's and SmolLM2's vocabularies)."""
    import numpy as np
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    meta = model.metadata
    eos = model.detokenize([model.token_eos()]).decode("utf-8", "replace")
    bos = model.detokenize([model.token_bos()]).decode("utf-8", "replace") if model.token_bos() >= 0 else ""
    formatter = Jinja2ChatFormatter(meta["tokenizer.chat_template"], eos_token=eos, bos_token=bos)
    text = formatter(messages=messages).prompt
    tokens = model.tokenize(text.encode("utf-8"), add_bos=False, special=True)[: model.n_ctx()]
    model.reset()
    model.eval(tokens)
    logits = np.ctypeslib.as_array(model._ctx.get_logits_ith(-1), shape=(model.n_vocab(),)).astype(np.float64)
    shifted = logits - logits.max()
    log_norm = np.log(np.exp(shifted).sum())
    ids = [model.tokenize(c.encode("utf-8"), add_bos=False, special=False)[0] for c in choices]
    return len(tokens), [float(shifted[i] - log_norm) for i in ids]


def _embed(model: Any, texts: list[str]) -> list[list[float]]:
    # Each text in its own decode: a batched decode gives slightly different vectors depending on batch companions.
    return [model.embed(text, truncate=True) for text in texts]


OPERATIONS: dict[str, Callable[..., Any]] = {
    "metadata": _metadata,
    "complete": _complete,
    "chat": _chat,
    "token_nll": _token_nll,
    "choice_logprobs": _choice_logprobs,
    "embed": _embed,
}


def _serve(connection: Connection, load: dict[str, Any]) -> None:
    """The child: load the model on the first request, then answer requests until the pipe closes."""
    model = None
    while True:
        try:
            name, args = connection.recv()
        except (EOFError, OSError):
            return
        try:
            if model is None:
                import llama_cpp

                if "pooling_type" in load:  # sent by name: the parent need not import llama_cpp
                    load = {**load, "pooling_type": getattr(llama_cpp, load["pooling_type"])}
                model = llama_cpp.Llama(**load)
            reply: tuple[Any, ...] = ("ok", OPERATIONS[name](model, *args))
        except Exception as error:  # reported to the parent, which decides what it means
            reply = ("error", type(error).__name__, str(error), model is None)
        connection.send(reply)


# --- the parent's side ----------------------------------------------------------------------------------------


def _signal_name(exitcode: int | None) -> str:
    if exitcode is None:
        return "an unknown cause"
    if exitcode < 0:
        try:
            return f"signal {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit status {exitcode}"


class LlamaProcess:
    """One ``llama_cpp.Llama`` in a child process, started on the first :meth:`call`; one call at a time.

    ``load`` holds ``llama_cpp.Llama``'s keyword arguments (``pooling_type`` by its constant's name).
    ``purpose`` ("generation", "perplexity", "embeddings") goes into the crash message.
    """

    def __init__(self, load: dict[str, Any], purpose: str) -> None:
        self.load = dict(load)
        self.model_path = Path(self.load["model_path"])
        self.purpose = purpose
        self._process: multiprocessing.process.BaseProcess | None = None
        self._connection: Connection | None = None
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs (tests kill it to prove a crash is reported)."""
        return self._process.pid if self._process is not None and self._process.is_alive() else None

    def _start(self) -> Connection:
        if importlib.util.find_spec("llama_cpp") is None:
            raise ModelUnavailable(
                "the embedded backend needs llama-cpp-python 0.3.36: `make venv` builds it portably "
                "(scripts/install_llama_cpp.sh, ~12 min once on 2 cores)"
            )
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child, self.load), name=f"codemill-llama-{self.purpose}", daemon=True
        )
        self._process.start()
        child.close()
        self._connection = parent
        return parent

    def call(self, operation: str, *args: Any) -> Any:
        """Run ``operation`` in the child; :class:`ModelCrashed` if it dies, :class:`LLMError` if it refuses."""
        with self._lock:
            connection = self._connection or self._start()
            try:
                connection.send((operation, args))
                reply = connection.recv()
            except (EOFError, OSError):
                raise self._crashed() from None
        if reply[0] == "ok":
            return reply[1]
        _, kind, message, not_loaded = reply
        if not_loaded:
            raise ModelUnavailable(f"{self.model_path.name}: llama.cpp could not load it ({kind}: {message})")
        raise LLMError(f"{self.model_path.name}: {message}")

    def _crashed(self) -> ModelCrashed:
        process = self._process
        if process is not None:
            process.join(timeout=5)
        cause = _signal_name(process.exitcode if process is not None else None)
        self._forget()
        return ModelCrashed(
            f"the embedded model {self.model_path.name} died ({cause}) in llama.cpp while serving {self.purpose}; "
            f"this venv runs {installed_build()}. The answers given before the crash are cached: run the same "
            "command again to resume. If it crashes again: `make venv` reinstalls codemill's portable llama.cpp "
            "build (scripts/install_llama_cpp.sh), CODEMILL_LLM_THREADS=1 runs the model on one thread, or "
            "`--model http://HOST:PORT` uses an OpenAI-compatible server (llama.cpp's, vLLM) instead of llama.cpp "
            "in this process."
        )

    def _forget(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._connection = None
        self._process = None

    def close(self) -> None:
        """Stop the child (closing the pipe ends its loop) and wait for it."""
        with self._lock:
            process = self._process
            if self._connection is not None:
                self._connection.close()
            if process is not None:
                process.join(timeout=10)
                if process.is_alive():
                    process.kill()
                    process.join()
            self._connection = None
            self._process = None
