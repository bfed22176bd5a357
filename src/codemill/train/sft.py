"""The built-in training step: supervised fine-tuning of a small causal LM with LoRA adapters, on CPU or GPU.

The data is the ``sft.jsonl`` that synthesis writes (rows of ChatML ``messages``). Every row is rendered with the
model's own chat template, the same one :class:`~codemill.llm.transformers_backend.Transformers` answers with,
and only the assistant turns carry loss: the model learns to answer, not to repeat questions. A plain torch loop
(no ``Trainer``) keeps it small, deterministic for a seed and free of hidden defaults. The adapters are merged
into the base weights at the end, so the output is an ordinary Hugging Face folder that ``hf:DIR`` loads (or any
other runtime that reads Hugging Face models: vLLM, llama.cpp's converter).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from codemill.llm.schema import LLMError
from codemill.llm.transformers_backend import (
    INSTALL_HINT,
    ensure_converted,
    import_torch,
    load_model,
    load_tokenizer,
    resolve_hf_model,
    strip_quantizer,
    use_cpu_threads,
)

__all__ = [
    "IGNORE_INDEX",
    "Example",
    "LoraOptions",
    "LoraRun",
    "TrainError",
    "evaluate_loss",
    "prepare_lora",
    "read_sft",
    "render_example",
    "save_lora",
    "train_lora",
]

EXPORTS = ("merged", "gguf-lora")
IGNORE_INDEX = -100  # the label torch's cross-entropy (and every transformers model) skips


class TrainError(RuntimeError):
    """Training could not run: bad data, a model that cannot be loaded, a trainer command that failed."""


@dataclass(frozen=True)
class LoraOptions:
    """Settings of one LoRA fine-tune; all of them go into ``codemill-train.json`` next to the model.

    The defaults suit a ~100M–1B model on a few thousand rows: rank 8 adapters on the attention and MLP
    projections of a llama-architecture model (SmolLM2, Qwen2.5-Coder, Llama), a constant learning rate (a round
    of the loop is a few hundred steps at most, too few for a schedule to matter).
    """

    rank: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    learning_rate: float = 2e-4
    epochs: int = 1
    max_steps: int | None = None
    batch_size: int = 4
    max_length: int = 512
    seed: int = 0
    export: str = "merged"
    """``merged``: the adapters merged into the base weights, saved as a Hugging Face folder (``hf:DIR``);
    ``gguf-lora``: for a GGUF base, only the adapter, as ``DIR/adapter.gguf`` for llama.cpp to apply on top of the
    very GGUF it was trained against (``BASE+lora:DIR/adapter.gguf``; :mod:`codemill.train.gguf_lora` says why)."""

    def __post_init__(self) -> None:
        if self.export not in EXPORTS:
            raise ValueError(f"export must be one of {', '.join(EXPORTS)}, not {self.export!r}")
        if self.rank < 1 or self.batch_size < 1 or self.max_length < 8 or self.epochs < 1:
            raise ValueError(f"LoraOptions out of range: {self}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError("max_steps must be at least 1 (or None for whole epochs)")


@dataclass(frozen=True)
class Example:
    """One tokenised row: ``labels`` equal ``input_ids`` on assistant tokens and :data:`IGNORE_INDEX` elsewhere."""

    input_ids: list[int]
    labels: list[int]
    source: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def trained_tokens(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE_INDEX)


def read_sft(path: Path) -> list[list[dict[str, str]]]:
    """The ``messages`` of every row of an SFT JSONL file; a bad row is a :class:`TrainError` naming file:line."""
    conversations: list[list[dict[str, str]]] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise TrainError(f"{path}: cannot read SFT data: {error.strerror or error}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except ValueError as error:
            raise TrainError(f"{where}: not JSON: {error}") from None
        messages = row.get("messages") if isinstance(row, dict) else None
        if not isinstance(messages, list) or not messages:
            raise TrainError(f"{where}: a row needs a non-empty 'messages' list")
        for message in messages:
            if not (
                isinstance(message, dict)
                and isinstance(message.get("role"), str)
                and isinstance(message.get("content"), str)
            ):
                raise TrainError(f"{where}: every message needs a string 'role' and 'content'")
        if not any(m["role"] == "assistant" for m in messages):
            raise TrainError(f"{where}: no assistant message to learn from")
        conversations.append([{"role": m["role"], "content": m["content"]} for m in messages])
    if not conversations:
        raise TrainError(f"{path}: no SFT rows to train on (the file is empty)")
    return conversations


def render_example(tokenizer: Any, messages: Sequence[dict[str, str]], max_length: int) -> Example:
    """Tokens of one conversation through the chat template, with loss on the assistant turns only.

    The conversation is cut at the boundaries the template itself draws: the text before each assistant turn is
    the template applied to the earlier messages with ``add_generation_prompt`` (exactly what the model sees at
    inference), the assistant turn is what the template adds for that message (its content and end-of-turn
    token, so the model learns to stop). Each piece is tokenised apart, so no token straddles a boundary.
    """
    pieces: list[tuple[str, bool]] = []
    done = ""
    for index, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        before = tokenizer.apply_chat_template(list(messages[:index]), add_generation_prompt=True, tokenize=False)
        through = tokenizer.apply_chat_template(list(messages[: index + 1]), tokenize=False)
        if not (before.startswith(done) and through.startswith(before)):
            raise TrainError("the chat template does not render a conversation as a growing prefix; cannot mask it")
        pieces += [(before[len(done) :], False), (through[len(before) :], True)]
        done = through
    input_ids: list[int] = []
    labels: list[int] = []
    for text, trained in pieces:
        ids = list(tokenizer(text, add_special_tokens=False)["input_ids"]) if text else []
        input_ids += ids
        labels += ids if trained else [IGNORE_INDEX] * len(ids)
    return Example(input_ids[:max_length], labels[:max_length])


def _examples(tokenizer: Any, conversations: list[list[dict[str, str]]], max_length: int) -> list[Example]:
    examples = [render_example(tokenizer, messages, max_length) for messages in conversations]
    kept = [example for example in examples if example.trained_tokens]
    if not kept:
        raise TrainError(f"every row's prompt is longer than max_length={max_length}: nothing left to learn from")
    return kept


def _batch(torch: Any, examples: Sequence[Example], pad_id: int, device: Any) -> dict[str, Any]:
    """Right-padded tensors; padding is masked out of attention and loss."""
    width = max(len(e.input_ids) for e in examples)
    ids = [e.input_ids + [pad_id] * (width - len(e.input_ids)) for e in examples]
    labels = [e.labels + [IGNORE_INDEX] * (width - len(e.labels)) for e in examples]
    mask = [[1] * len(e.input_ids) + [0] * (width - len(e.input_ids)) for e in examples]
    return {
        "input_ids": torch.tensor(ids, device=device),
        "labels": torch.tensor(labels, device=device),
        "attention_mask": torch.tensor(mask, device=device),
    }


def _token_loss(torch: Any, model: Any, batch: dict[str, Any]) -> tuple[Any, int]:
    """Summed cross-entropy over the trained tokens of a batch, and how many there are.

    Summed, not the model's own mean, so a mean over several batches weighs every token alike.
    """
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    shifted = logits[:, :-1, :].float()
    targets = batch["labels"][:, 1:]
    loss = torch.nn.functional.cross_entropy(
        shifted.reshape(-1, shifted.shape[-1]), targets.reshape(-1), ignore_index=IGNORE_INDEX, reduction="sum"
    )
    return loss, int((targets != IGNORE_INDEX).sum())


def evaluate_loss(model: str | Path, data: Path, max_length: int = 512, batch_size: int = 4) -> float:
    """Mean cross-entropy per assistant token of ``model`` (a spec as for :func:`train_lora`) on SFT rows.

    The measure that training lowers: compare it before and after on the same rows, or on held-out rows.
    """
    torch, _ = import_torch()
    conversations = read_sft(data)
    folder = ensure_converted(resolve_hf_model(str(model)))
    tokenizer = load_tokenizer(folder)
    loaded = load_model(folder).eval()
    if loaded.device.type == "cpu":
        use_cpu_threads()
    examples = _examples(tokenizer, conversations, max_length)
    total, count = 0.0, 0
    with torch.inference_mode():
        for start in range(0, len(examples), batch_size):
            batch = _batch(torch, examples[start : start + batch_size], tokenizer.pad_token_id, loaded.device)
            loss, tokens = _token_loss(torch, loaded, batch)
            total += float(loss)
            count += tokens
    return total / count


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _install(partial: Path, output: Path) -> None:
    """Put the finished folder at ``output``; an older folder there is replaced only once the new one is whole."""
    if output.exists():
        old = output.with_name(f".{output.name}.{os.getpid()}.old")
        shutil.rmtree(old, ignore_errors=True)
        output.rename(old)
        partial.rename(output)
        shutil.rmtree(old, ignore_errors=True)
    else:
        partial.rename(output)


@dataclass
class LoraRun:
    """A base model with fresh LoRA adapters, ready to train: what SFT and DPO share."""

    source: Any
    tokenizer: Any
    model: Any


def prepare_lora(base: str, options: LoraOptions) -> LoraRun:
    """Resolve ``base`` (converting a GGUF once), load it, and wrap it in peft adapters on the target modules."""
    torch, _ = import_torch()
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError:
        raise LLMError(f"training needs peft: {INSTALL_HINT}") from None
    source = resolve_hf_model(base)
    if options.export == "gguf-lora" and source.gguf is None:
        raise TrainError(f"{base}: export 'gguf-lora' needs a GGUF base model (a shipped name or a .gguf file)")
    folder = ensure_converted(source)
    tokenizer = load_tokenizer(folder)
    if not tokenizer.chat_template:
        raise TrainError(f"{base}: the model has no chat template, so chat rows cannot be rendered for it")
    torch.manual_seed(options.seed)
    model = load_model(folder)
    if model.device.type == "cpu":
        use_cpu_threads()
    strip_quantizer(model)
    missing = [name for name in options.target_modules if not any(n.endswith(name) for n, _ in model.named_modules())]
    if len(missing) == len(options.target_modules):
        raise TrainError(f"{base}: none of the LoRA target modules {list(options.target_modules)} is in the model")
    lora = LoraConfig(
        r=options.rank,
        lora_alpha=options.alpha,
        lora_dropout=options.dropout,
        target_modules=[name for name in options.target_modules if name not in missing],
        task_type="CAUSAL_LM",
        bias="none",
    )
    with warnings.catch_warnings():  # peft asks a deprecated transformers property; nothing for a user to fix
        warnings.simplefilter("ignore", FutureWarning)
        model = get_peft_model(model, lora)
    model.train()
    return LoraRun(source, tokenizer, model)


def save_lora(run: LoraRun, options: LoraOptions, output: Path, record: dict[str, Any]) -> Path:
    """Save the trained adapters as ``options.export`` asks, with ``codemill-train.json`` (``record`` plus the
    export's own facts), beside ``output`` first and then renamed into place."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.{os.getpid()}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    extra: dict[str, Any] = {}
    if options.export == "gguf-lora":
        extra = _save_gguf_adapter(run.model, run.source.gguf, options, partial)
    else:
        merged = run.model.merge_and_unload()
        merged.eval()
        merged.save_pretrained(partial)
        run.tokenizer.save_pretrained(partial)
    (partial / "codemill-train.json").write_text(json.dumps(record | extra, indent=2) + "\n")
    _install(partial, output)
    return output


def _save_gguf_adapter(model: Any, base_gguf: Path | None, options: LoraOptions, folder: Path) -> dict[str, Any]:
    """``folder/adapter.gguf`` (llama.cpp) and ``folder/adapter/`` (peft's own files, for any other runtime)."""
    from codemill.train.gguf_lora import write_gguf_lora

    assert base_gguf is not None  # train_lora refused other bases before loading anything
    model.save_pretrained(folder / "adapter")
    try:
        adapted = write_gguf_lora(model.state_dict(), base_gguf, options.alpha, folder / "adapter.gguf")
    except ValueError as error:
        raise TrainError(str(error)) from None
    return {"adapter": "adapter.gguf", "adapted_weights": adapted, "base_gguf": base_gguf.name}  # no machine path


def train_lora(
    base: str,
    data: Path,
    output: Path,
    options: LoraOptions | None = None,
    on_step: Callable[[int, int, float], None] | None = None,
) -> Path:
    """Fine-tune ``base`` on ``data`` with LoRA and save at ``output`` the merged model or, with
    ``options.export == "gguf-lora"``, the adapter for llama.cpp (:class:`LoraOptions`).

    ``base`` is a shipped model name, a GGUF file or a Hugging Face folder (``hf:`` optional), resolved as the
    ``hf:`` backend resolves it. ``on_step(step, total_steps, loss)`` is called after every optimiser step.
    The folder holds the model, the tokenizer with its chat template, and ``codemill-train.json`` (base, data
    SHA-256, options, steps, first and final loss, seconds). It is written beside ``output`` and renamed into
    place, so ``output`` is either absent, the old model, or the whole new one.
    """
    options = options or LoraOptions()
    started = time.monotonic()
    conversations = read_sft(data)  # before any model load: bad data fails in a second, not a minute
    torch, _ = import_torch()
    run = prepare_lora(base, options)
    tokenizer, model, source = run.tokenizer, run.model, run.source
    examples = _examples(tokenizer, conversations, options.max_length)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=options.learning_rate, weight_decay=0.0)

    per_epoch = math.ceil(len(examples) / options.batch_size)
    total = options.max_steps or per_epoch * options.epochs
    order = torch.Generator().manual_seed(options.seed)
    step, losses = 0, []
    while step < total:
        permutation = torch.randperm(len(examples), generator=order).tolist()
        for start in range(0, len(permutation), options.batch_size):
            if step >= total:
                break
            chosen = [examples[i] for i in permutation[start : start + options.batch_size]]
            batch = _batch(torch, chosen, tokenizer.pad_token_id, model.device)
            loss_sum, tokens = _token_loss(torch, model, batch)
            loss = loss_sum / max(tokens, 1)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, 1.0)
            optimizer.step()
            step += 1
            losses.append(float(loss.detach()))
            if on_step is not None:
                on_step(step, total, losses[-1])

    record = {
        "base": base,
        "base_fingerprint": source.fingerprint,
        "data": str(data),
        "data_sha256": _sha256(data),
        "rows": len(conversations),
        "examples": len(examples),
        "trained_tokens": sum(e.trained_tokens for e in examples),
        "options": asdict(options),
        "steps": step,
        "first_loss": losses[0] if losses else None,
        "final_loss": losses[-1] if losses else None,
        "device": str(model.device),
        "seconds": round(time.monotonic() - started, 3),
    }
    return save_lora(run, options, output, record)
