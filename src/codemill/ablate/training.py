"""One run of the ablation: a small Qwen2-architecture model trained from scratch on one arm with one seed, then
scored on the held-out sets.

Every run of an ablation trains the same model, from the same initialisation for a seed, for the same number of
steps on the same number of tokens: ``steps x batch_size`` windows of ``seq_length`` trimmed tokens, drawn in a
seeded order from the arm's token stream (an arm whose stream is shorter than that repeats windows, and the result
says how often). Learning rate: linear warm-up, then cosine to a tenth. A plain torch loop, no ``Trainer``, so
nothing is hidden and a seed gives the same numbers again on the same machine and thread count.

Held-out scoring: each document's first ``max_tokens_per_document`` Qwen2.5 tokens and its end-of-text, in the
trimmed vocabulary, preceded by an end-of-text as the start of context, cut into windows of ``seq_length``;
``loss`` is the mean negative log-likelihood per trimmed token (nats) and ``bpb`` the total in bits over the UTF-8
bytes of the scored text: the number that does not depend on the vocabulary.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from codemill.ablate.recipe import AblationRecipe, ModelSpec
from codemill.ablate.vocab import BYTES, TrimmedVocab
from codemill.curate.pack.tokenizer import load_tokenizer
from codemill.data.schema import Document
from codemill.llm.transformers_backend import default_device, import_torch, use_cpu_threads

__all__ = ["EvalSet", "build_model", "eval_set", "score", "train_run"]

EOS = BYTES  # the trimmed id of <|endoftext|>: always the first one after the bytes
IGNORE = -100
LOG_EVERY = 10


@dataclass
class EvalSet:
    """A held-out set ready to score: input and target windows, and the bytes they spell."""

    name: str
    inputs: np.ndarray  # (n, seq_length) trimmed ids, padded with EOS
    targets: np.ndarray  # (n, seq_length), IGNORE where padded
    documents: int
    nbytes: int

    @property
    def tokens(self) -> int:
        return int(np.count_nonzero(self.targets != IGNORE))


def eval_set(name: str, docs: list[Document], vocab: TrimmedVocab, seq_length: int, max_tokens: int) -> EvalSet:
    tokenizer = load_tokenizer("qwen2.5")
    inputs: list[np.ndarray] = []
    targets: list[np.ndarray] = []
    nbytes = 0
    for ids in tokenizer.encode_arrays([d.text for d in docs]):
        ids = np.asarray(ids[:max_tokens], np.int64)
        nbytes += vocab.byte_count(ids)
        seq = np.concatenate([[EOS], vocab.map(ids), [EOS]])
        for start in range(0, len(seq) - 1, seq_length):
            x = seq[start : start + seq_length]
            y = seq[start + 1 : start + seq_length + 1]
            pad = seq_length - len(y)
            inputs.append(np.pad(x[: len(y)], (0, pad), constant_values=EOS))
            targets.append(np.pad(y, (0, pad), constant_values=IGNORE))
    shape = (0, seq_length)
    return EvalSet(
        name=name,
        inputs=np.stack(inputs) if inputs else np.zeros(shape, np.int64),
        targets=np.stack(targets) if targets else np.zeros(shape, np.int64),
        documents=len(docs),
        nbytes=nbytes,
    )


def build_model(spec: ModelSpec, vocab_size: int, seq_length: int, seed: int) -> Any:
    """A Qwen2ForCausalLM with random weights drawn from ``seed``; tied embeddings, as Qwen2.5's small models."""
    torch, transformers = import_torch()
    config = transformers.Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=spec.hidden,
        intermediate_size=spec.intermediate,
        num_hidden_layers=spec.layers,
        num_attention_heads=spec.heads,
        num_key_value_heads=spec.kv_heads,
        max_position_embeddings=seq_length,
        tie_word_embeddings=True,
        bos_token_id=EOS,
        eos_token_id=EOS,
        pad_token_id=EOS,
        use_cache=False,
    )
    torch.manual_seed(seed)
    return transformers.Qwen2ForCausalLM(config)


def _device(name: str) -> str:
    return default_device() if name == "auto" else name


def score(model: Any, data: EvalSet, device: str, batch_size: int = 32) -> dict[str, Any]:
    """Loss per trimmed token and bits per byte of ``model`` on a held-out set."""
    torch, _ = import_torch()
    model.eval()
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(data.inputs), batch_size):
            x = torch.from_numpy(data.inputs[start : start + batch_size]).to(device)
            y = torch.from_numpy(data.targets[start : start + batch_size]).to(device)
            logits = model(input_ids=x).logits.float()
            total += float(
                torch.nn.functional.cross_entropy(
                    logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=IGNORE, reduction="sum"
                )
            )
    tokens = data.tokens
    return {
        "loss": total / tokens if tokens else float("nan"),
        "bpb": total / math.log(2) / data.nbytes if data.nbytes else float("nan"),
        "documents": data.documents,
        "tokens": tokens,
        "bytes": data.nbytes,
    }


def _lr(step: int, recipe: AblationRecipe) -> float:
    peak, warm, total = recipe.training.learning_rate, recipe.training.warmup_steps, recipe.steps
    if step < warm:
        return peak * (step + 1) / warm
    progress = (step - warm) / max(1, total - warm)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def train_run(
    stream: np.ndarray,
    vocab_size: int,
    recipe: AblationRecipe,
    seed: int,
    sets: list[EvalSet],
    progress: Callable[[int, int, float], None] | None = None,
) -> dict[str, Any]:
    """Train on ``stream`` (trimmed ids) with ``seed``; return the curve, the held-out scores and the cost."""
    torch, _ = import_torch()
    training = recipe.training
    device = _device(training.device)
    if device == "cpu":
        use_cpu_threads(training.threads)
    started = time.perf_counter()
    seq, batch, steps = training.seq_length, training.batch_size, recipe.steps
    windows = stream[: len(stream) // seq * seq].reshape(-1, seq)
    if not len(windows):
        raise ValueError(f"the arm holds {len(stream)} tokens, fewer than one window of {seq}")
    needed = steps * batch
    rng = np.random.default_rng(seed)
    rounds = -(-needed // len(windows))
    order = np.concatenate([rng.permutation(len(windows)) for _ in range(rounds)])[:needed]
    model = build_model(recipe.model, vocab_size, seq, seed).to(device)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": training.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=training.learning_rate,
        betas=(0.9, 0.95),
    )
    curve: list[list[float]] = []
    model.train()
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = _lr(step, recipe)
        x = torch.from_numpy(windows[order[step * batch : (step + 1) * batch]]).to(device)
        loss = model(input_ids=x, labels=x).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step % LOG_EVERY == 0 or step == steps - 1:
            curve.append([step, round(loss.item(), 5)])
            if progress:
                progress(step + 1, steps, curve[-1][1])
    trained = time.perf_counter() - started
    scores = {data.name: score(model, data, device) for data in sets}
    return {
        "seed": seed,
        "steps": steps,
        "tokens_trained": needed * seq,
        "stream_tokens": len(stream),
        "epochs": round(needed * seq / max(1, len(windows) * seq), 4),
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "device": device,
        "train_seconds": round(trained, 2),
        "eval_seconds": round(time.perf_counter() - started - trained, 2),
        "final_train_loss": curve[-1][1],
        "curve": curve,
        "heldout": scores,
    }
