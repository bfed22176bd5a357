"""Training and evaluating fastText classifiers from labelled JSONL (``{"text", "label"}``).

:func:`train` is deterministic for the same examples and options; :func:`evaluate` gives precision, recall and F1
per label, and accuracy.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codemill.curate.classify.features import VIEWS, View
from codemill.curate.classify.model import LABEL_PREFIX, Classifier, ClassifierError, _fasttext

__all__ = ["Example", "TrainOptions", "evaluate", "read_labelled", "train", "write_labelled"]


@dataclass(frozen=True)
class Example:
    text: str
    label: str


def read_labelled(path: str | os.PathLike[str]) -> list[Example]:
    """Labelled JSONL: one ``{"text": ..., "label": ...}`` object a line."""
    examples: list[Example] = []
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    text, label = row["text"], row["label"]
                except (json.JSONDecodeError, KeyError, TypeError) as exc:
                    raise ClassifierError(f"{path}:{n}: expected {{'text', 'label'}} JSON: {exc}") from None
                if not isinstance(text, str) or not isinstance(label, str) or not label or " " in label:
                    raise ClassifierError(f"{path}:{n}: text must be a string and label a word without spaces")
                examples.append(Example(text, label))
    except OSError as exc:
        raise ClassifierError(f"cannot read labelled data {path}: {exc}") from exc
    return examples


def write_labelled(path: str | os.PathLike[str], examples: Iterable[Example]) -> int:
    """Write labelled JSONL; returns the number of rows."""
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for ex in examples:
            f.write(json.dumps({"text": ex.text, "label": ex.label}, ensure_ascii=False) + "\n")
            n += 1
    return n


@dataclass(frozen=True)
class TrainOptions:
    epoch: int = 10
    lr: float = 0.3
    word_ngrams: int = 2
    dim: int = 32
    bucket: int = 200_000
    min_count: int = 2
    seed: int = 0
    quantize: bool = True
    cutoff: int = 50_000  # features kept by quantisation
    view: View = "full"  # which view of a text the model reads (VIEWS); the step must be given the same one


def train(examples: Sequence[Example], output: str | os.PathLike[str], options: TrainOptions = TrainOptions()) -> Path:
    """Train a supervised fastText model and save it (quantised ``.ftz`` unless ``quantize=False``).

    Deterministic for the same examples and options: one thread, a fixed seed, examples shuffled by the seed.
    """
    if len({ex.label for ex in examples}) < 2:
        raise ClassifierError("training needs examples of at least two labels")
    order = list(range(len(examples)))
    random.Random(options.seed).shuffle(order)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    ft = _fasttext()
    with tempfile.TemporaryDirectory(prefix="codemill-ft-") as tmp:
        data = Path(tmp) / "train.txt"
        with data.open("w", encoding="utf-8") as f:
            for i in order:
                f.write(f"{LABEL_PREFIX}{examples[i].label} {VIEWS[options.view](examples[i].text)}\n")
        model = ft.train_supervised(
            input=str(data),
            epoch=options.epoch,
            lr=options.lr,
            wordNgrams=options.word_ngrams,
            dim=options.dim,
            bucket=options.bucket,
            minCount=options.min_count,
            seed=options.seed,
            thread=1,
            verbose=0,
        )
        if options.quantize:
            model.quantize(input=str(data), retrain=False, cutoff=options.cutoff, qnorm=True, verbose=0)
    tmp_out = output.with_name(output.name + ".tmp")
    model.save_model(str(tmp_out))
    tmp_out.replace(output)
    return output


def evaluate(
    model: Classifier | str | os.PathLike[str], examples: Sequence[Example], view: View = "full"
) -> dict[str, Any]:
    """Precision, recall, F1 and support per label (the predicted label is the most likely one), and accuracy."""
    clf = model if isinstance(model, Classifier) else Classifier(model, view)
    predicted = clf.predict([ex.text for ex in examples])
    labels = sorted({ex.label for ex in examples} | set(predicted))
    per_label: dict[str, dict[str, float]] = {}
    for label in labels:
        tp = sum(1 for ex, p in zip(examples, predicted, strict=True) if p == label and ex.label == label)
        fp = sum(1 for ex, p in zip(examples, predicted, strict=True) if p == label and ex.label != label)
        fn = sum(1 for ex, p in zip(examples, predicted, strict=True) if p != label and ex.label == label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": tp + fn,
        }
    correct = sum(1 for ex, p in zip(examples, predicted, strict=True) if p == ex.label)
    return {"examples": len(examples), "accuracy": round(correct / len(examples), 4) if examples else 0.0,
            "labels": per_label}  # fmt: skip
