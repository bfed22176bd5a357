"""Loading a fastText classifier: a shipped model's name or a model file, and its probabilities for texts.

Shipped models live in ``curate/filters/models/`` (the ``classifier`` step's) and are named without their suffix
(``model: code_quality``). A ``.signals`` file is not fastText but level 3's logistic model over objective signals
(:mod:`codemill.curate.classify.level3`); :func:`load_classifier` opens either.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from codemill.curate.classify.features import VIEWS, View

__all__ = [
    "LABEL_PREFIX",
    "MODELS_DIR",
    "Classifier",
    "ClassifierError",
    "TextScorer",
    "load_classifier",
    "resolve_model",
    "shipped_models",
]

MODELS_DIR = Path(__file__).parents[1] / "filters" / "models"
SIGNALS_SUFFIX = ".signals"
MODEL_SUFFIXES = (".ftz", ".bin", SIGNALS_SUFFIX)
LABEL_PREFIX = "__label__"


class ClassifierError(Exception):
    """A model that cannot be found or loaded, or a labelled file that cannot be read."""


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


class TextScorer(Protocol):
    """What the ``classifier`` step needs of a model: its labels and P(label) per text."""

    @property
    def labels(self) -> Sequence[str]: ...

    def probabilities(self, texts: Sequence[str], label: str) -> list[float]: ...


def load_classifier(model: str | os.PathLike[str], view: View = "full") -> TextScorer:
    """A fastText :class:`Classifier`, or level 3's signal model for a ``.signals`` file (which has no view)."""
    path = resolve_model(model)
    if path.suffix == SIGNALS_SUFFIX:
        from codemill.curate.classify.level3 import SignalModel

        try:
            return SignalModel.load(path)
        except (ValueError, KeyError) as exc:
            raise ClassifierError(f"cannot load signal model {path}: {exc}") from exc
    return Classifier(path, view)
