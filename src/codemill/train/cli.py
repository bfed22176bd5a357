"""``codemill train --base SPEC --data sft.jsonl --output DIR``: a LoRA fine-tune into a model folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from codemill.clikit import err, fail, out

__all__ = ["train"]


def train(
    data: Annotated[Path, typer.Option("--data", "-d", help="SFT JSONL (rows of ChatML messages), as synth writes.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the merged model (replaced when done).")],
    base: Annotated[
        str, typer.Option("--base", "-b", help="Model to start from: a shipped name, a .gguf or a model folder.")
    ] = "smollm2",
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the data.")] = 1,
    max_steps: Annotated[
        int | None, typer.Option("--max-steps", min=1, help="Stop after this many steps (overrides --epochs).")
    ] = None,
    rank: Annotated[int, typer.Option(min=1, help="LoRA rank (alpha is twice the rank).")] = 8,
    lr: Annotated[float, typer.Option("--lr", help="Learning rate.")] = 2e-4,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Rows per step.")] = 4,
    max_length: Annotated[int, typer.Option("--max-length", min=8, help="Tokens per row (longer rows cut).")] = 512,
    seed: Annotated[int, typer.Option(help="Seed of the adapters' initialisation, data order and dropout.")] = 0,
) -> None:
    """Fine-tune a model on SFT data with LoRA and save the merged model; evaluate it with --model hf:OUTPUT.

    Runs on the GPU when there is one, else on the CPU (minutes for a 135M model on a few hundred rows).
    Needs the train extra of codemill (torch, transformers, peft).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from codemill.llm import LLMError
    from codemill.train.sft import LoraOptions, TrainError, train_lora

    try:
        options = LoraOptions(
            rank=rank,
            alpha=2 * rank,
            learning_rate=lr,
            epochs=epochs,
            max_steps=max_steps,
            batch_size=batch_size,
            max_length=max_length,
            seed=seed,
        )
    except ValueError as error:
        fail(str(error))
    columns = (TextColumn("train"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"))
    try:
        with Progress(*columns, TimeElapsedColumn(), console=err, transient=True) as progress:
            bar = progress.add_task("loading", total=None)
            folder = train_lora(
                base,
                data,
                output,
                options,
                on_step=lambda step, total, loss: progress.update(
                    bar, completed=step, total=total, description=f"loss {loss:.3f}"
                ),
            )
    except (TrainError, LLMError) as error:
        fail(str(error))
    import json

    record = json.loads((folder / "codemill-train.json").read_text())
    out.print(
        f"trained {record['steps']} steps on {record['examples']} rows ({record['trained_tokens']} answer tokens) "
        f"in {record['seconds']:.0f} s on {record['device']}: loss {record['first_loss']:.3f} → "
        f"{record['final_loss']:.3f}",
        soft_wrap=True,
    )
    out.print(f"model: hf:{folder}", soft_wrap=True)
