"""A Hugging Face causal LM run by ``transformers`` in this process: the backend for models that codemill trains.

llama.cpp cannot run a freshly fine-tuned Hugging Face folder without a conversion step, and the training step
(:mod:`codemill.train`) needs the same tokenizer and chat template that answers later, so both go through here.

A model is named by a Hugging Face folder (``config.json`` + weights + tokenizer, as ``save_pretrained`` writes
it), a GGUF file, or a shipped model name (``smollm2``). A GGUF is dequantised by ``transformers`` (through the
``gguf`` package) into float weights; that conversion takes most of a minute on a small machine (the ``gguf``
reader walks the whole vocabulary in Python), so its result is kept once as a Hugging Face folder in codemill's
cache and every later load takes about a second.

Nothing is fetched from a model hub: ``HF_HUB_OFFLINE`` is set before ``transformers`` is imported and every load
is ``local_files_only``. ``torch`` and ``transformers`` are imported only when a model is loaded, so the rest of
codemill works without the ``train`` extra.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from codemill.llm.backend import Backend
from codemill.llm.llamacpp import default_threads, file_fingerprint
from codemill.llm.models import SHIPPED, cache_dir, shipped_model_path
from codemill.llm.schema import Generation, LLMError, Prompt, Sampling

__all__ = [
    "CHATML_TEMPLATE",
    "INSTALL_HINT",
    "HFModel",
    "Transformers",
    "default_device",
    "ensure_converted",
    "folder_fingerprint",
    "import_torch",
    "load_model",
    "load_tokenizer",
    "resolve_hf_model",
    "strip_quantizer",
    "use_cpu_threads",
]

INSTALL_HINT = "pip install 'codemill[train]' (torch, transformers, peft, accelerate, gguf)"

# SmolLM2's own template (ChatML with its default system turn): set when a GGUF's template does not come through,
# so that chat prompts and training rows are rendered exactly as the model was tuned on them.
CHATML_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt")
# Beyond this, a folder's weights are fingerprinted by samples instead of read whole (a 7B model is ~15 GB).
_FULL_HASH_LIMIT = 4 << 30
_CONVERT_LOCK = threading.Lock()


def import_torch() -> tuple[Any, Any]:
    """``(torch, transformers)``, imported offline, or an :class:`LLMError` naming the extra to install."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        import torch
        import transformers
    except ImportError as error:
        raise LLMError(f"the transformers backend needs {error.name}: {INSTALL_HINT}") from None
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    return torch, transformers


def folder_fingerprint(folder: Path) -> str:
    """SHA-256 of ``config.json`` and every weights file (name, size, content).

    Whole files, not their first MiB: a LoRA merge changes attention and MLP weights but not the embeddings that
    open a safetensors file, so a head-only hash would give two fine-tunes of one base the same identity and the
    cache would serve one model's answers for the other. Past 4 GiB the weights are sampled (64 MiB-long reads
    spread over each file), which still lands in every layer of a real model.
    """
    digest = hashlib.sha256()
    config = folder / "config.json"
    if config.is_file():
        digest.update(config.read_bytes())
    weights = sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(_WEIGHT_SUFFIXES))
    total = sum(p.stat().st_size for p in weights)
    for path in weights:
        size = path.stat().st_size
        digest.update(f"{path.name}:{size}".encode())
        with path.open("rb") as handle:
            if total <= _FULL_HASH_LIMIT:
                while chunk := handle.read(1 << 22):
                    digest.update(chunk)
            else:
                for i in range(64):
                    handle.seek(size * i // 64)
                    digest.update(handle.read(1 << 20))
    return f"{folder.name}:{digest.hexdigest()[:16]}"


class HFModel:
    """Where a model spec's Hugging Face folder is, and the fingerprint of the weights it came from."""

    def __init__(self, folder: Path, fingerprint: str, gguf: Path | None = None) -> None:
        self.folder = folder
        self.fingerprint = fingerprint
        self.gguf = gguf

    def __repr__(self) -> str:
        return f"HFModel({self.folder}, {self.fingerprint!r})"


def resolve_hf_model(spec: str) -> HFModel:
    """A shipped name, a ``.gguf`` file or a Hugging Face folder → :class:`HFModel`.

    A GGUF is converted (once, into the cache; see the module docstring) lazily by :func:`ensure_converted`; here
    only its fingerprint is read, so constructing a backend stays cheap.
    """
    spec = spec.strip()
    spec = spec.removeprefix("hf:")
    if spec in SHIPPED:
        gguf = shipped_model_path(spec)
    else:
        path = Path(spec).expanduser()
        if path.is_dir():
            if not (path / "config.json").is_file():
                raise LLMError(f"{path}: not a Hugging Face model folder (no config.json)")
            return HFModel(path.resolve(), folder_fingerprint(path))
        if not path.is_file():
            raise LLMError(f"{spec}: no such model folder, GGUF file or shipped model ({', '.join(SHIPPED)})")
        gguf = path
    if not gguf.is_file():
        raise LLMError(f"{gguf}: no such GGUF file")
    fingerprint = file_fingerprint(gguf)
    key = hashlib.sha256(fingerprint.encode()).hexdigest()[:16]
    return HFModel(cache_dir() / "hf" / f"{gguf.stem}-{key}", fingerprint, gguf.resolve())


def ensure_converted(model: HFModel) -> Path:
    """The model's Hugging Face folder, dequantising its GGUF into the cache first when that has not been done.

    Written to a temporary folder and renamed, so a killed conversion never leaves a half folder that looks done.
    """
    if model.gguf is None or (model.folder / "config.json").is_file():
        return model.folder
    torch, transformers = import_torch()
    with _CONVERT_LOCK:
        if (model.folder / "config.json").is_file():
            return model.folder
        source, name = str(model.gguf.parent), model.gguf.name
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(source, gguf_file=name, local_files_only=True)
            loaded = transformers.AutoModelForCausalLM.from_pretrained(
                source, gguf_file=name, dtype=torch.float32, local_files_only=True
            )
        except (ValueError, KeyError, OSError) as error:
            raise LLMError(f"{model.gguf.name}: transformers cannot load this GGUF: {error}") from None
        if not tokenizer.chat_template and "<|im_start|>" in tokenizer.get_vocab():
            tokenizer.chat_template = CHATML_TEMPLATE
        strip_quantizer(loaded)
        model.folder.parent.mkdir(parents=True, exist_ok=True)
        partial = model.folder.with_name(f".{model.folder.name}.{os.getpid()}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        loaded.save_pretrained(partial)
        tokenizer.save_pretrained(partial)
        (partial / "codemill-source.json").write_text(
            json.dumps({"gguf": str(model.gguf), "fingerprint": model.fingerprint}, indent=2) + "\n"
        )
        try:
            partial.rename(model.folder)
        except OSError:
            # Another process converted the same GGUF meanwhile: its folder is just as good.
            shutil.rmtree(partial, ignore_errors=True)
            if not (model.folder / "config.json").is_file():
                raise
    return model.folder


def strip_quantizer(model: Any) -> None:
    """Forget that the weights came from a GGUF: they are plain float tensors after loading, but ``transformers``
    refuses to ``save_pretrained`` a model it still believes to be GGUF-quantised."""
    model.hf_quantizer = None
    if hasattr(model, "is_quantized"):
        model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config


def use_cpu_threads(threads: int | None = None) -> None:
    """Half the cores by default (``CODEMILL_LLM_THREADS`` overrides), as for llama.cpp: on a shared machine a
    thread per core makes every torch operation wait on the busiest core (a training step here took 30 s on two
    threads against a third of that on one)."""
    torch, _ = import_torch()
    torch.set_num_threads(threads or default_threads())


def default_device() -> str:
    torch, _ = import_torch()
    return "cuda" if torch.cuda.is_available() else "cpu"


def load_tokenizer(folder: Path) -> Any:
    _, transformers = import_torch()
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    if not tokenizer.chat_template and "<|im_start|>" in tokenizer.get_vocab():
        tokenizer.chat_template = CHATML_TEMPLATE
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(folder: Path, device: str | None = None) -> Any:
    """The causal LM in ``folder``: float32 on CPU (bfloat16 halves the memory but is slow and lossy there),
    bfloat16 on a GPU that supports it."""
    torch, transformers = import_torch()
    device = device or default_device()
    dtype = torch.float32
    if device.startswith("cuda") and torch.cuda.is_bf16_supported():
        dtype = torch.bfloat16
    try:
        model = transformers.AutoModelForCausalLM.from_pretrained(str(folder), dtype=dtype, local_files_only=True)
    except (ValueError, OSError) as error:
        raise LLMError(f"{folder}: transformers cannot load this model: {error}") from None
    return model.to(device)


class Transformers(Backend):
    """``hf:PATH_OR_SHIPPED_NAME``: a causal LM through ``transformers``, on the GPU when there is one.

    One model answers one prompt at a time (``generate`` on one model is not safe to run concurrently), so
    ``concurrency`` is 1 and a lock guards the model. Greedy when the temperature is 0; otherwise sampled with
    ``torch.manual_seed(sampling.seed)`` before every call, so one prompt and seed give one answer.
    """

    def __init__(
        self, model: str | Path, n_ctx: int | None = None, threads: int | None = None, device: str | None = None
    ) -> None:
        self.spec = str(model)
        self.source = resolve_hf_model(self.spec)
        self.n_ctx = n_ctx
        self.threads = threads
        self.device = device
        self.identity = f"transformers:{self.source.fingerprint}"
        self._model: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def _load(self) -> None:
        if self._model is not None:
            return
        if self.device is None:
            self.device = default_device()
        if self.device == "cpu":
            use_cpu_threads(self.threads)
        folder = ensure_converted(self.source)
        self._tokenizer = load_tokenizer(folder)
        self._model = load_model(folder, self.device).eval()
        limit = getattr(self._model.config, "max_position_embeddings", None) or 2048
        self.n_ctx = min(self.n_ctx or limit, limit)

    @property
    def tokenizer(self) -> Any:
        with self._lock:
            self._load()
        return self._tokenizer

    @property
    def supports_chat(self) -> bool:  # type: ignore[override]
        return bool(self.tokenizer.chat_template)

    def _prompt_ids(self, prompt: Prompt) -> list[int]:
        tokenizer = self._tokenizer
        if prompt.text is not None:
            return list(tokenizer(prompt.text)["input_ids"])
        if not tokenizer.chat_template:
            raise LLMError(f"{self.spec} has no chat template: use it for completion only")
        messages = [{"role": m.role, "content": m.content} for m in prompt.messages or ()]
        text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return list(tokenizer(text, add_special_tokens=False)["input_ids"])

    def generate(self, prompt: Prompt, sampling: Sampling) -> Generation:
        started = time.monotonic()
        with self._lock:
            self._load()
            torch, transformers = import_torch()
            ids = self._prompt_ids(prompt)
            assert self.n_ctx is not None
            room = self.n_ctx - len(ids)
            if room <= 0:
                raise LLMError(
                    f"{self.spec}: prompt of {len(ids)} tokens exceeds the context window of {self.n_ctx} tokens"
                )
            max_new = max(1, min(sampling.max_tokens, room))
            tokenizer = self._tokenizer
            config = transformers.GenerationConfig(
                max_new_tokens=max_new,
                do_sample=sampling.temperature > 0,
                eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id,
                bos_token_id=tokenizer.bos_token_id,
                repetition_penalty=1.0,
            )
            if sampling.temperature > 0:
                config.temperature = sampling.temperature
                config.top_p = sampling.top_p
                config.top_k = 0  # OpenAI semantics: temperature and top_p only, no hidden top-k cut
                torch.manual_seed(sampling.seed)
            if sampling.stop:
                config.stop_strings = list(sampling.stop)
            inputs = torch.tensor([ids], device=self._model.device)
            with torch.inference_mode():
                output = self._model.generate(
                    input_ids=inputs,
                    attention_mask=torch.ones_like(inputs),
                    generation_config=config,
                    tokenizer=tokenizer,
                )
            new = output[0, len(ids) :].tolist()
        ended_by_eos = bool(new) and new[-1] == tokenizer.eos_token_id
        text = tokenizer.decode(new, skip_special_tokens=True)
        cut = min((i for i in (text.find(s) for s in sampling.stop) if i >= 0), default=-1)
        if cut >= 0:
            text = text[:cut]
        finish = "stop" if ended_by_eos or cut >= 0 or len(new) < max_new else "length"
        return Generation(
            text=text,
            finish_reason=finish,
            prompt_tokens=len(ids),
            completion_tokens=len(new),
            seconds=time.monotonic() - started,
            meta={"device": self.device},
        )

    def close(self) -> None:
        with self._lock:
            self._model = None
            self._tokenizer = None
