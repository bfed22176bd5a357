"""The one base of the ladder's filters: everything a filter does besides its rule.

A filter says which documents fail its rule (:meth:`LadderFilter.judge`, or :meth:`LadderFilter.judge_batch`
for a model that scores a batch at once) and records its measurement under :attr:`score_name`. The base owns
the rest, once for every filter (datatrove's ``BaseFilter`` keeps it in the base too):

* ``kinds``: only documents of these kinds are judged; the others pass untouched (None: every kind);
* ``mode``: ``hard`` rejects a failing document, ``soft`` keeps it, records the rule's ``kept_meta`` and marks
  the level failed (:func:`~codemill.curate.filters.ladder.fail_level`), so it stops climbing the ladder;
* ``level``: a passing document's quality rises to it (:func:`~codemill.curate.filters.ladder.pass_level`);
  None for a filter that is not a rung of the ladder (``languages``, ``code_removal``);
* the kept/rejected loop (:func:`codemill.pipeline.step.partition`).

Each of these is a class default that the filter's ``Params`` may override with a field of the same name
(``mode``, ``level``, ``kinds``, ``score_name``), so a recipe can set them where the filter offers them. A new
filter is one module in this package (the registry scans it): a ``Params`` model, a ``name``, and ``judge``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from codemill.curate.filters.ladder import fail_level, pass_level
from codemill.data.schema import Document, Rejection
from codemill.pipeline.step import ParamsT, Step, Verdict, partition

__all__ = ["Fail", "LadderFilter", "Mode"]

Mode = Literal["hard", "soft"]


@dataclass(frozen=True)
class Fail:
    """Why a document fails a filter's rule: the rejection's ``reason`` and ``detail``, and what to record in its
    ``meta`` when ``mode: soft`` keeps it anyway."""

    reason: str
    detail: str
    kept_meta: Mapping[str, Any] = field(default_factory=dict)


class LadderFilter(Step[ParamsT]):
    """A filter of the ladder; subclasses set ``name``, their defaults below, and implement :meth:`judge`."""

    mode: Mode = "hard"
    level: int | None = None
    kinds: frozenset[str] | None = None
    score_name: str | None = None

    def __init__(self, params: ParamsT | None = None) -> None:
        super().__init__(params)
        given = self.params.model_dump(include={"mode", "level", "kinds", "score_name"})
        self.mode = given.get("mode", self.mode)
        self.level = given.get("level", self.level)
        if "kinds" in given:
            self.kinds = frozenset(given["kinds"]) if given["kinds"] is not None else None
        self.score_name = given.get("score_name") or self.default_score_name()

    def default_score_name(self) -> str | None:
        """The key of ``scores`` when the recipe names none (the class's ``score_name``)."""
        return type(self).score_name

    def judge(self, doc: Document) -> Fail | None:
        """How ``doc`` fails this filter's rule, or None when it passes. May change the document (its text,
        ``meta``) and should record its measurement with :meth:`record`."""
        raise NotImplementedError(f"{type(self).__name__} implements neither judge() nor judge_batch()")

    def judge_batch(self, docs: list[Document]) -> list[Fail | None]:
        """:meth:`judge` for each document; override it to score a batch at once (a model)."""
        return [self.judge(doc) for doc in docs]

    def record(self, doc: Document, value: float) -> None:
        """Keep the filter's measurement beside the document, under its score's name."""
        if self.score_name is not None:
            doc.scores[self.score_name] = value

    def judged(self, doc: Document) -> bool:
        """Whether the filter judges ``doc`` at all (its kind is one of ``kinds``)."""
        return self.kinds is None or doc.kind in self.kinds

    def settle(self, doc: Document, fail: Fail | None) -> Verdict:
        """Apply the mode and the level to a judgement: the rejection in hard mode, None when the document stays."""
        if fail is None:
            if self.level is not None:
                pass_level(doc, self.level)
            return None
        if self.mode == "soft":
            doc.meta.update(fail.kept_meta)
            if self.level is not None:
                fail_level(doc, self.level)
            return None
        return fail.reason, fail.detail

    def check(self, doc: Document) -> Verdict:
        """The verdict on one document, as :meth:`process` gives it."""
        return self.settle(doc, self.judge_batch([doc])[0]) if self.judged(doc) else None

    def process(self, batch: list[Document]) -> tuple[list[Document], list[Rejection]]:
        judged = [doc for doc in batch if self.judged(doc)]
        verdicts = {id(doc): self.settle(doc, fail) for doc, fail in zip(judged, self.judge_batch(judged), strict=True)}
        return partition(batch, (verdicts.get(id(doc)) for doc in batch))
