"""Level 3's student: a logistic model over a file's objective quality signals, fitted to a teacher's scores.

Why not fastText alone, as levels 2 and the old level 3: a few hundred judge annotations are too few for a bag of
words to learn quality rather than topic (the perplexity-distilled model learned to prefer predictable code and
ranks library modules below test files: ``bench/level3_eval.py``). Ten signals
(:mod:`codemill.curate.classify.quality_signals`) learn from few labels, cost a pass over the lines, and read the
same in every language. The targets are the teacher's scores scaled to 0-1 (the rubric judge's expected 0-5 score
over 5: soft labels, no threshold to choose); the fit is L2-regularised logistic regression by Newton's method on
standardised signals. The model is a small JSON file: signals, their mean and scale, weights, bias, and what it
was fitted to.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from codemill.curate.classify.quality_signals import SIGNALS, quality_signals

__all__ = ["SignalModel", "fit_signal_model"]


@dataclass(frozen=True)
class SignalModel:
    signals: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    fitted: dict[str, Any] = field(default_factory=dict)
    """What it was fitted to (teacher, rows, regularisation): provenance, not used to score."""

    labels = ("good", "bad")

    def _standardised(self, texts: Sequence[str]) -> np.ndarray:
        rows = [quality_signals(t) for t in texts]
        x = np.array([[r[s] for s in self.signals] for r in rows], dtype=np.float64).reshape(len(rows), -1)
        return (x - np.asarray(self.mean)) / np.asarray(self.scale)

    def probabilities(self, texts: Sequence[str], label: str = "good") -> list[float]:
        """P(good) per text (P(bad) = 1 - P(good)), the interface of :class:`~.model.Classifier`."""
        if label not in self.labels:
            raise ValueError(f"label {label!r} is not one of the model's labels {list(self.labels)}")
        if not texts:
            return []
        z = self._standardised(texts) @ np.asarray(self.weights) + self.bias
        good = 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))
        return [float(p) for p in (good if label == "good" else 1.0 - good)]

    def save(self, path: str | os.PathLike[str]) -> Path:
        out = Path(path)
        out.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        return out

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SignalModel:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        unknown = set(data.get("signals", ())) - set(SIGNALS)
        if unknown:
            raise ValueError(f"{path}: signals this codemill does not measure: {sorted(unknown)}")
        return cls(
            tuple(data["signals"]),
            tuple(data["mean"]),
            tuple(data["scale"]),
            tuple(data["weights"]),
            float(data["bias"]),
            data.get("fitted", {}),
        )


def fit_signal_model(
    texts: Sequence[str], targets: Sequence[float], l2: float = 1.0, fitted: dict[str, Any] | None = None
) -> SignalModel:
    """Fit to ``targets`` in [0, 1] (soft labels allowed). ``l2`` is the ridge on the weights (not the bias), in
    units of rows: 1.0 is a light touch for a few hundred rows."""
    y = np.asarray(targets, dtype=np.float64)
    if len(texts) != len(y) or len(y) < 2:
        raise ValueError("need at least two texts, one target each")
    if ((y < 0) | (y > 1)).any():
        raise ValueError("targets must be in [0, 1]")
    raw = np.array([[quality_signals(t)[s] for s in SIGNALS] for t in texts], dtype=np.float64)
    mean, scale = raw.mean(axis=0), raw.std(axis=0)
    scale[scale == 0] = 1.0
    x = np.hstack([(raw - mean) / scale, np.ones((len(y), 1))])
    w = np.zeros(x.shape[1])
    ridge = np.full(x.shape[1], l2)
    ridge[-1] = 0.0
    for _ in range(50):  # Newton's method: a few steps from zero
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -40, 40)))
        gradient = x.T @ (p - y) + ridge * w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + np.diag(ridge) + 1e-9 * np.eye(x.shape[1])
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return SignalModel(
        SIGNALS,
        tuple(float(v) for v in mean),
        tuple(float(v) for v in scale),
        tuple(float(v) for v in w[:-1]),
        float(w[-1]),
        {**(fitted or {}), "rows": len(y), "l2": l2},
    )
