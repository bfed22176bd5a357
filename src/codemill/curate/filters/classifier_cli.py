"""``codemill classifier train|eval``: level-2 fastText classifiers from labelled JSONL (``{"text", "label"}``)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from codemill.clikit import command_group
from codemill.curate.filters.classifier import ClassifierError, TrainOptions, evaluate, read_labelled, train

app = command_group("Train and evaluate the small fastText classifiers of level 2.", no_args_is_help=True)


def print_report(result: dict[str, Any]) -> None:
    typer.echo(f"{'label':<16} {'precision':>9} {'recall':>7} {'f1':>7} {'support':>8}")
    for label, m in result["labels"].items():
        typer.echo(f"{label:<16} {m['precision']:>9.4f} {m['recall']:>7.4f} {m['f1']:>7.4f} {m['support']:>8}")
    typer.echo(f"accuracy {result['accuracy']:.4f} on {result['examples']} examples")


@app.command("train")
def train_cmd(
    data: Annotated[Path, typer.Argument(help="labelled JSONL for training")],
    output: Annotated[Path, typer.Argument(help="the model file to write (.ftz when quantised)")],
    test: Annotated[Path | None, typer.Option(help="labelled JSONL to evaluate on after training")] = None,
    epoch: int = 10,
    lr: float = 0.3,
    word_ngrams: int = 2,
    dim: int = 32,
    bucket: int = 200_000,
    min_count: int = 2,
    seed: int = 0,
    quantize: Annotated[bool, typer.Option(help="quantise the model (.ftz, small)")] = True,
) -> None:
    """Train a supervised fastText model (one thread, fixed seed: reproducible)."""
    try:
        examples = read_labelled(data)
        start = time.perf_counter()
        opts = TrainOptions(epoch, lr, word_ngrams, dim, bucket, min_count, seed, quantize)
        path = train(examples, output, opts)
        typer.echo(f"trained on {len(examples)} examples in {time.perf_counter() - start:.1f}s: {path} "
                   f"({path.stat().st_size / 1e6:.2f} MB)")  # fmt: skip
        if test is not None:
            print_report(evaluate(path, read_labelled(test)))
    except ClassifierError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command("eval")
def eval_cmd(
    model: Annotated[str, typer.Argument(help="a model file or a shipped model's name (code_quality...)")],
    data: Annotated[Path, typer.Argument(help="labelled JSONL")],
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Precision, recall and F1 per label on labelled JSONL."""
    try:
        result = evaluate(model, read_labelled(data))
    except ClassifierError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        print_report(result)
