"""Preference training on synthesis's verified pairs: DPO with LoRA, by TRL's ``DPOTrainer``.

The data is the ``dpo.jsonl`` synthesis writes (TRL's conversational preference format: ``prompt``, ``chosen``,
``rejected`` message lists), where the chosen answer passed the verified, audited tests and the rejected one
failed them on a check. The model, its adapters and the export are exactly those of the SFT step
(:func:`~codemill.train.sft.prepare_lora`, :func:`~codemill.train.sft.save_lora`): the reference model is the
same weights with the adapters switched off (TRL's rule for a peft model), so no second copy is held in memory.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from codemill.train.sft import LoraOptions, TrainError, prepare_lora, save_lora

__all__ = ["read_dpo", "train_dpo"]


def read_dpo(path: Path) -> list[dict[str, list[dict[str, str]]]]:
    """The ``prompt``/``chosen``/``rejected`` of every row; a bad row is a :class:`TrainError` naming file:line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise TrainError(f"{path}: cannot read DPO data: {error.strerror or error}") from None
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as error:
            raise TrainError(f"{path}:{number}: not JSON: {error}") from None
        if not isinstance(row, dict) or not all(
            isinstance(row.get(k), list) and row[k] for k in ("prompt", "chosen", "rejected")
        ):
            raise TrainError(f"{path}:{number}: a DPO row needs non-empty 'prompt', 'chosen' and 'rejected' lists")
        if row["chosen"] == row["rejected"]:
            raise TrainError(f"{path}:{number}: chosen and rejected are the same answer: nothing to prefer")
        rows.append(
            {
                k: [{"role": m["role"], "content": m["content"]} for m in row[k]]
                for k in ("prompt", "chosen", "rejected")
            }
        )
    if not rows:
        raise TrainError(f"{path}: no preference pairs to train on (the file is empty)")
    return rows


def train_dpo(
    base: str,
    data: Path,
    output: Path,
    options: LoraOptions | None = None,
    beta: float = 0.1,
    on_step: Callable[[int, int, float], None] | None = None,
) -> Path:
    """DPO-train LoRA adapters of ``base`` on ``data`` and save them as ``options.export`` asks (as SFT does)."""
    options = options or LoraOptions()
    started = time.monotonic()
    rows = read_dpo(data)
    import datasets
    from transformers import PrinterCallback, TrainerCallback
    from trl import DPOConfig, DPOTrainer

    datasets.disable_progress_bars()  # the caller shows progress through on_step

    run = prepare_lora(base, options)
    losses: list[float] = []

    class Steps(TrainerCallback):  # type: ignore[misc]
        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **_: Any) -> None:
            if logs and "loss" in logs:
                losses.append(float(logs["loss"]))
                if on_step is not None:
                    on_step(state.global_step, state.max_steps, losses[-1])

    with tempfile.TemporaryDirectory(prefix="codemill-dpo-") as scratch:
        config = DPOConfig(
            output_dir=scratch,
            beta=beta,
            learning_rate=options.learning_rate,
            per_device_train_batch_size=options.batch_size,
            num_train_epochs=options.epochs,
            max_steps=options.max_steps or -1,
            max_length=options.max_length,
            logging_steps=1,
            save_strategy="no",
            report_to="none",
            seed=options.seed,
            use_cpu=run.model.device.type == "cpu",
            disable_tqdm=True,
            gradient_checkpointing=False,  # a memory saving that costs time; small models fit without it
        )
        trainer = DPOTrainer(
            model=run.model,
            args=config,
            train_dataset=datasets.Dataset.from_list(rows),
            processing_class=run.tokenizer,
            callbacks=[Steps()],
        )
        trainer.remove_callback(PrinterCallback)  # it prints every log line as a dict
        result = trainer.train()
    record = {
        "method": "dpo",
        "beta": beta,
        "base": base,
        "base_fingerprint": run.source.fingerprint,
        "data": str(data),
        "rows": len(rows),
        "options": asdict(options),
        "steps": int(result.global_step),
        "first_loss": losses[0] if losses else None,
        "final_loss": losses[-1] if losses else None,
        "device": str(run.model.device),
        "seconds": round(time.monotonic() - started, 3),
    }
    return save_lora(run, options, output, record)
