"""``codemill classifier train|eval``: level-2 fastText classifiers from labelled JSONL (``{"text", "label"}``)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from codemill.clikit import command_group

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
    labels: Annotated[
        str | None, typer.Option(help="comma list: train on rows of these labels only (e.g. good,bad of annotate)")
    ] = None,
) -> None:
    """Train a supervised fastText model (one thread, fixed seed: reproducible)."""
    from codemill.curate.classify.model import ClassifierError
    from codemill.curate.classify.training import TrainOptions, evaluate, read_labelled, train

    try:
        examples = read_labelled(data)
        if labels:
            wanted = {label.strip() for label in labels.split(",") if label.strip()}
            examples = [ex for ex in examples if ex.label in wanted]
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
    from codemill.curate.classify.model import ClassifierError
    from codemill.curate.classify.training import evaluate, read_labelled

    try:
        result = evaluate(model, read_labelled(data))
    except ClassifierError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        print_report(result)


@app.command("annotate")
def annotate_cmd(
    inputs: Annotated[
        list[Path], typer.Option("--input", "-i", help="codemill output folders, Parquet or JSONL files")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="annotated JSONL: text, nll, tokens, label")],
    model: Annotated[str, typer.Option(help="a shipped model (smollm2, gemma3-270m) or a .gguf file")] = "smollm2",
    sample: Annotated[int, typer.Option(min=1, help="documents the model reads")] = 500,
    window: Annotated[int, typer.Option(min=8, help="tokens read per document")] = 256,
    share: Annotated[float, typer.Option(help="per language: this share lowest NLL is good, highest bad")] = 1 / 3,
    kinds: Annotated[str, typer.Option(help="comma list of document kinds to sample")] = "code",
    seed: int = 0,
    threads: Annotated[int | None, typer.Option(help="llama.cpp threads (default: half the cores)")] = None,
) -> None:
    """Level 3's teacher: a small LM scores a sample by perplexity; labels per language for `classifier train`.

    Then: codemill classifier train ANNOTATED.jsonl MODEL.ftz --labels good,bad, and a recipe step
    `classifier` with `model: MODEL.ftz` and `level: 3` scores the whole corpus at fastText speed.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from codemill.clikit import err, fail
    from codemill.curate.classify.annotate import annotate, label_by_quantile, sample_documents
    from codemill.curate.pack.sources import PackInputError, iter_documents
    from codemill.data.textio import atomic_write_text
    from codemill.llm import LLMError
    from codemill.llm.perplexity import PerplexityScorer

    try:
        documents = sample_documents(iter_documents(inputs), sample, seed, [k.strip() for k in kinds.split(",")])
        scorer = PerplexityScorer(model, window=window, n_threads=threads)
    except (PackInputError, LLMError) as error:
        fail(str(error))
    if not documents:
        fail(f"no documents of kind {kinds} in the inputs")
    columns = (TextColumn(f"annotate ({model})"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    started = time.perf_counter()
    with Progress(*columns, console=err, transient=True) as progress:
        bar = progress.add_task("annotate", total=len(documents))
        rows = label_by_quantile(
            annotate(documents, scorer, lambda done, _: progress.update(bar, completed=done)), share
        )
    scorer.close()
    atomic_write_text(output, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    counts = {label: sum(row["label"] == label for row in rows) for label in ("good", "middle", "bad")}
    typer.echo(
        f"annotated {len(rows)} documents in {time.perf_counter() - started:.1f}s with {scorer.identity}: "
        + ", ".join(f"{n} {label}" for label, n in counts.items())
        + f" -> {output}"
    )
