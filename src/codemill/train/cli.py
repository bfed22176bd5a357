"""``codemill train --base SPEC --data sft.jsonl --output DIR``: a LoRA fine-tune into a model folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from codemill.clikit import err, fail, out

__all__ = ["train"]


def train(
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            "-d",
            help="SFT JSONL (rows of ChatML messages) or, with --method dpo, DPO JSONL, as synth writes.",
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the result (replaced when done).")],
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
    method: Annotated[
        str,
        typer.Option(
            help="sft: learn the answers; dpo: prefer each chosen answer over its rejected one (TRL's DPOTrainer)."
        ),
    ] = "sft",
    beta: Annotated[float, typer.Option(min=0.0, help="DPO's beta: how far the model may move from the base.")] = 0.1,
    export: Annotated[
        str,
        typer.Option(
            help="merged: a Hugging Face folder (--model hf:OUTPUT); gguf-lora (GGUF base only): OUTPUT/adapter.gguf, "
            "which llama.cpp applies on the very GGUF it was trained on (--model BASE+lora:OUTPUT/adapter.gguf)."
        ),
    ] = "merged",
) -> None:
    """Fine-tune a model on SFT data with LoRA and save the merged model or the adapter; the last line printed is
    the --model spec of the result.

    Runs on the GPU when there is one, else on the CPU (minutes for a 135M model on a few hundred rows).
    Needs the train extra of codemill (torch, transformers, peft).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from codemill.llm import LLMError
    from codemill.train.sft import LoraOptions, TrainError, train_lora

    if method not in ("sft", "dpo"):
        fail(f"--method is sft or dpo, not {method!r}")

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
            export=export,
        )
    except ValueError as error:
        fail(str(error))
    columns = (TextColumn("train"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"))
    try:
        with Progress(*columns, TimeElapsedColumn(), console=err, transient=True) as progress:
            bar = progress.add_task("loading", total=None)

            def on_step(step: int, total: int, loss: float) -> None:
                progress.update(bar, completed=step, total=total, description=f"loss {loss:.3f}")

            if method == "dpo":
                from codemill.train.dpo import train_dpo

                folder = train_dpo(base, data, output, options, beta, on_step)
            else:
                folder = train_lora(base, data, output, options, on_step)
    except (TrainError, LLMError) as error:
        fail(str(error))
    import json

    record = json.loads((folder / "codemill-train.json").read_text())
    what = f"{record['rows']} pairs" if method == "dpo" else f"{record['examples']} rows"
    if method == "sft":
        what += f" ({record['trained_tokens']} answer tokens)"
    out.print(
        f"trained {record['steps']} steps on {what} in {record['seconds']:.0f} s on {record['device']}: "
        f"loss {record['first_loss']:.3f} → {record['final_loss']:.3f}",
        soft_wrap=True,
    )
    spec = f"{base}+lora:{folder / 'adapter.gguf'}" if export == "gguf-lora" else f"hf:{folder}"
    out.print(f"model: {spec}", soft_wrap=True)
