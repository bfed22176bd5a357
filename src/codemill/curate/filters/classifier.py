"""Level 2 (and 3) of the filtering ladder: a small fastText classifier scores each document.

The ``classifier`` step writes ``scores[<score name>]`` = the probability of the positive label; a document passes
when that probability reaches the threshold (its quality rises to ``level``, 2 by default; level 3 is the same
step with the ``level3`` signal model). ``mode: soft`` only scores. The model, its views of a text and its training
are :mod:`codemill.curate.classify`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from codemill.curate.classify.features import View
from codemill.curate.classify.model import ClassifierError, TextScorer, load_classifier
from codemill.curate.filters.base import Fail, LadderFilter, Mode
from codemill.data.schema import Document
from codemill.pipeline.step import Params


class ClassifierParams(Params):
    model: str = Field("code_quality", description="a shipped model's name (code_quality...) or a model file path")
    positive: str = Field("good", description="the label whose probability is the score")
    threshold: float = Field(0.5, ge=0, le=1, description="documents with P(positive) >= threshold pass")
    mode: Mode = Field("hard", description="hard: reject below the threshold; soft: only score")
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


class ClassifierFilter(LadderFilter[ClassifierParams]):
    """Level 2: a small fastText classifier scores each document; hard mode drops those below the threshold."""

    name = "classifier"

    def __init__(self, params: ClassifierParams | None = None) -> None:
        super().__init__(params)
        self._clf: TextScorer | None = None

    def default_score_name(self) -> str:
        return Path(self.params.model).name.split(".")[0]

    def setup(self) -> None:
        if self._clf is None:
            p = self.params
            clf = load_classifier(p.model, p.view)
            if p.positive not in clf.labels:
                raise ClassifierError(
                    f"label {p.positive!r} is not one of the model's labels {list(clf.labels)} ({p.model})"
                )
            self._clf = clf

    def __getstate__(self) -> dict[str, Any]:  # the fastText model does not pickle; workers load it in setup()
        return {**self.__dict__, "_clf": None}

    @property
    def classifier(self) -> TextScorer:
        if self._clf is None:
            self.setup()
        assert self._clf is not None
        return self._clf

    def judge_batch(self, docs: list[Document]) -> list[Fail | None]:
        p = self.params
        probs = self.classifier.probabilities([doc.text for doc in docs], p.positive)
        fails: list[Fail | None] = []
        for doc, prob in zip(docs, probs, strict=True):
            self.record(doc, prob)
            below = prob < p.threshold
            detail = f"P({p.positive}) {prob:.3f} < {p.threshold} ({self.score_name})"
            fails.append(Fail(f"low_{self.score_name}", detail) if below else None)
        return fails
