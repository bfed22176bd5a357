"""Level 2 of the filtering ladder: small fastText classifiers (quality of code, code-relatedness of text).

A model is a supervised fastText file (``.ftz``, quantised) trained from labelled JSONL (``{"text", "label"}``)
with :func:`train`; :func:`evaluate` gives precision, recall and F1 per label. Texts are turned into one line of
tokens by :func:`features`: words and punctuation as written, plus a token per line for its length (log2
bucket) and indentation, so layout (minified, data-like, generated tables) is visible to a bag of n-grams.
Two other views (``VIEWS``) serve the text-code grounding cascade: ``words`` (lower-cased words only: topic
without layout) and ``code`` (line shapes with ordinary words hidden: layout without topic). A model is read with
the view it was trained on (``view`` in :class:`TrainOptions`, the step and :class:`Classifier`).

The ``classifier`` step writes ``scores[<score name>]`` = the probability of the positive label and raises
``quality`` to its level (2 by default) when that probability reaches the threshold; ``mode: soft`` only scores.
Shipped models live in ``models/`` and are named without their suffix (``model: code_quality``).
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from codemill.curate.filters.ladder import fail_level, pass_level
from codemill.data.schema import Document, Rejection
from codemill.pipeline.step import Filter, Params

MODELS_DIR = Path(__file__).parent / "models"
MODEL_SUFFIXES = (".ftz", ".bin")
LABEL_PREFIX = "__label__"
MAX_CHARS = 20_000  # of each text, for training and prediction alike
MAX_LINE_TOKENS = 64  # tokens taken from one line (a minified line is mostly its length token)
_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)


class ClassifierError(Exception):
    """A model that cannot be found or loaded, or a labelled file that cannot be read."""


def features(text: str, max_chars: int = MAX_CHARS) -> str:
    """One line of space-separated tokens for fastText: per line, its length and indentation tokens, then words."""
    out: list[str] = []
    for line in text[:max_chars].split("\n"):
        stripped = _layout(line, out)
        if stripped:
            out.extend(_TOKEN.findall(stripped)[:MAX_LINE_TOKENS])
            out.append("<nl>")
    return " ".join(out)


def _layout(line: str, out: list[str]) -> str:
    """Append a line's layout tokens (``<blank>``, or its length and indentation) to ``out``; return the line
    without its indentation ("" for a blank line)."""
    stripped = line.lstrip()
    if not stripped:
        out.append("<blank>")
        return ""
    out.append(f"<len{int(math.log2(len(line)))}>")
    indent = len(line) - len(stripped)
    if indent:
        out.append(f"<ind{min(indent, 16)}>")
    return stripped


_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)
_IDENT = re.compile(r"^(?:[A-Za-z]+_\w*|_\w+|[a-z]+[A-Z]\w*|\w*\d\w*)$")


def word_features(text: str, max_chars: int = MAX_CHARS) -> str:
    """Lower-cased words only (no digits, punctuation or layout): what a document is about, not how it looks.

    The text-code cascade's first, coarse stage reads this view, so that it recalls technical prose whatever
    its layout (a man page rendered to text, a README without code blocks)."""
    return " ".join(w.lower() for w in _WORD.findall(text[:max_chars]))


def code_features(text: str, max_chars: int = MAX_CHARS) -> str:
    """Each line's shape, with ordinary words hidden: where code sits in a document, not what it is about.

    Per line: its length and indentation tokens, its first word as written (keywords: ``def``, ``import``,
    ``return``...), punctuation as written, identifier-like words (snake_case, camelCase, with digits) as
    ``<id>``, and each run of ordinary words as one ``<w>``. The cascade's third stage reads this view, so a
    document must look like text interleaved with code, not only use code's vocabulary."""
    out: list[str] = []
    for line in text[:max_chars].split("\n"):
        stripped = _layout(line, out)
        if not stripped:
            continue
        tokens = _TOKEN.findall(stripped)[:MAX_LINE_TOKENS]
        for i, tok in enumerate(tokens):
            if i == 0 or (not tok[0].isalnum() and tok[0] != "_"):
                out.append(tok)
            elif _IDENT.match(tok):
                out.append("<id>")
            elif out[-1] != "<w>":
                out.append("<w>")
        out.append("<nl>")
    return " ".join(out)


#: the views of a text a model can be trained on and read with (``view`` in :class:`TrainOptions` and the step)
VIEWS: dict[str, Callable[[str], str]] = {"full": features, "words": word_features, "code": code_features}
View = Literal["full", "words", "code"]


def _fasttext() -> Any:
    try:
        import fasttext
    except ImportError as exc:  # pragma: no cover - a dependency of codemill
        raise ClassifierError("the fasttext package is missing: pip install 'fasttext-community>=0.11.9'") from exc
    fasttext.FastText.eprint = lambda *args, **kwargs: None  # quiet its load-time warning
    return fasttext


def shipped_models() -> dict[str, Path]:
    """The models shipped with codemill, by name."""
    if not MODELS_DIR.is_dir():
        return {}
    return {p.stem: p for p in sorted(MODELS_DIR.iterdir()) if p.suffix in MODEL_SUFFIXES}


def resolve_model(model: str | os.PathLike[str]) -> Path:
    """A shipped model's name or a path to a model file; a clear error when it is neither."""
    text = str(model)
    shipped = shipped_models()
    if text in shipped:
        return shipped[text]
    path = Path(text).expanduser()
    if path.is_file():
        return path
    names = ", ".join(shipped) or "none"
    raise ClassifierError(f"classifier model {text!r} is neither a file nor a shipped model (shipped: {names})")


class Classifier:
    """A loaded fastText model: probabilities of one label for many texts."""

    def __init__(self, model: str | os.PathLike[str], view: View = "full") -> None:
        if view not in VIEWS:
            raise ClassifierError(f"unknown view {view!r}: one of {sorted(VIEWS)}")
        self.path = resolve_model(model)
        self.view = view
        try:
            self.model = _fasttext().load_model(str(self.path))
        except ValueError as exc:
            raise ClassifierError(f"cannot load classifier model {self.path}: {exc}") from exc
        self.labels = [label.removeprefix(LABEL_PREFIX) for label in self.model.labels]

    def probabilities(self, texts: Sequence[str], label: str) -> list[float]:
        """P(``label``) for each text."""
        if label not in self.labels:
            raise ClassifierError(f"label {label!r} is not one of the model's labels {self.labels} ({self.path})")
        if not texts:
            return []
        names, probs = self.model.predict([VIEWS[self.view](t) for t in texts], k=-1, threshold=0.0)
        want = LABEL_PREFIX + label
        return [
            next((float(p) for n, p in zip(ns, ps, strict=True) if n == want), 0.0)
            for ns, ps in zip(names, probs, strict=True)
        ]

    def predict(self, texts: Sequence[str]) -> list[str]:
        """The most likely label of each text."""
        if not texts:
            return []
        names, _ = self.model.predict([VIEWS[self.view](t) for t in texts], k=1)
        return [ns[0].removeprefix(LABEL_PREFIX) for ns in names]


# ------------------------------------------------------------------------------------ training and evaluation


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


# ------------------------------------------------------------------------------------------------- the step


class ClassifierParams(Params):
    model: str = Field("code_quality", description="a shipped model's name (code_quality...) or a model file path")
    positive: str = Field("good", description="the label whose probability is the score")
    threshold: float = Field(0.5, ge=0, le=1, description="documents with P(positive) >= threshold pass")
    mode: Literal["hard", "soft"] = Field("hard", description="hard: reject below the threshold; soft: only score")
    level: int = Field(2, ge=0, description="the quality level a passing document reaches")
    view: View = Field("full", description="the view of the text the model was trained on: full, words or code")
    score_name: str | None = Field(None, description="key in scores; default: the model's name")
    kinds: list[str] | None = Field(
        default_factory=lambda: ["code"], description="document kinds judged; others pass untouched; null: all"
    )

    @field_validator("score_name")
    @classmethod
    def _word(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_.-]+", value):
            raise ValueError("score_name must be a word (letters, digits, _ . -)")
        return value


class ClassifierFilter(Filter):
    """Level 2: a small fastText classifier scores each document; hard mode drops those below the threshold."""

    name = "classifier"
    Params: ClassVar[type[ClassifierParams]] = ClassifierParams

    def __init__(self, params: ClassifierParams | None = None) -> None:
        super().__init__(params)
        p: ClassifierParams = self.params  # type: ignore[assignment]
        self.p = p
        self.score_name = p.score_name or Path(p.model).name.split(".")[0]
        self._clf: Classifier | None = None

    def setup(self) -> None:
        if self._clf is None:
            clf = Classifier(self.p.model, self.p.view)
            if self.p.positive not in clf.labels:
                raise ClassifierError(
                    f"label {self.p.positive!r} is not one of the model's labels {clf.labels} ({clf.path})"
                )
            self._clf = clf

    def __getstate__(self) -> dict[str, Any]:  # the fastText model does not pickle; workers load it in setup()
        return {**self.__dict__, "_clf": None}

    @property
    def classifier(self) -> Classifier:
        if self._clf is None:
            self.setup()
        assert self._clf is not None
        return self._clf

    def _judged(self, doc: Document) -> bool:
        return self.p.kinds is None or doc.kind in self.p.kinds

    def _decide(self, doc: Document, prob: float) -> tuple[str, str] | None:
        doc.scores[self.score_name] = prob
        if prob >= self.p.threshold:
            pass_level(doc, self.p.level)
            return None
        if self.p.mode == "soft":
            fail_level(doc, self.p.level)
            return None
        return f"low_{self.score_name}", f"P({self.p.positive}) {prob:.3f} < {self.p.threshold} ({self.score_name})"

    def check(self, doc: Document) -> tuple[str, str] | None:
        if not self._judged(doc):
            return None
        return self._decide(doc, self.classifier.probabilities([doc.text], self.p.positive)[0])

    def process(self, batch: list[Document]) -> tuple[list[Document], list[Rejection]]:
        judged = [doc for doc in batch if self._judged(doc)]
        probs = dict(zip(map(id, judged), self.classifier.probabilities([d.text for d in judged], self.p.positive),
                         strict=True))  # fmt: skip
        kept: list[Document] = []
        rejected: list[Rejection] = []
        for doc in batch:
            verdict = self._decide(doc, probs[id(doc)]) if id(doc) in probs else None
            if verdict is None:
                kept.append(doc)
            else:
                rejected.append(Rejection(doc, *verdict))
        return kept, rejected
