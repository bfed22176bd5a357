"""The step contract: a small class that takes a batch of documents and returns what it keeps and rejects.

A step declares its name (the key recipes use) and a pydantic ``Params`` model (its typed, validated
parameters). Everything else - batching, counting, timing, the rejected sink, resuming - is the runner's.
Most steps are filters: they implement :meth:`Filter.check` for one document and the base does the rest.
Two kinds of step see more than a batch: a :class:`GlobalStep` (dedup) sees every document before deciding
on any, and a :class:`FinalStep` (mix, pack) turns the finished corpus into another product.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar, cast, get_args

from pydantic import BaseModel, ConfigDict

from codemill.data.schema import Document, Rejection
from codemill.registry import load_builtin_steps

#: why a document is rejected, ``(reason, detail)``; None keeps it
Verdict = tuple[str, str] | None


class Params(BaseModel):
    """Base of every step's parameters: unknown keys are errors, never silently ignored."""

    model_config = ConfigDict(extra="forbid")


ParamsT = TypeVar("ParamsT", bound=Params)


class Step(ABC, Generic[ParamsT]):
    """One stage of a pipeline. Subclasses set ``name`` and, if they take parameters, name their ``Params``
    model as the type argument (``class Dedup(DecidedStep[DedupParams])``): ``self.params`` is then typed and
    ``Params`` is set from it, so a step never casts its own parameters."""

    name: ClassVar[str]
    Params: ClassVar[type[Params]] = Params
    registry: ClassVar[dict[str, type[Step]]] = {}

    def __init__(self, params: ParamsT | None = None) -> None:
        self.params: ParamsT = params if params is not None else cast(ParamsT, self.Params())

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "Params" not in cls.__dict__:
            for base in cls.__dict__.get("__orig_bases__", ()):
                typed = [a for a in get_args(base) if isinstance(a, type) and issubclass(a, Params)]
                if typed:
                    cls.Params = typed[0]
        name = cls.__dict__.get("name")
        if name:
            if name in Step.registry and Step.registry[name] is not cls:
                raise TypeError(f"step name {name!r} is used by {Step.registry[name].__qualname__} already")
            Step.registry[name] = cls

    def setup(self) -> None:
        """Load what the step needs (a model, a table) once per worker, before the first batch."""

    @abstractmethod
    def process(self, batch: list[Document]) -> tuple[list[Document], list[Rejection]]:
        """Split a batch into the documents kept (possibly annotated) and the rejections."""


def partition(batch: list[Document], verdicts: Iterable[Verdict]) -> tuple[list[Document], list[Rejection]]:
    """The one kept/rejected loop: each document of ``batch`` with its verdict, in order."""
    kept: list[Document] = []
    rejected: list[Rejection] = []
    for doc, verdict in zip(batch, verdicts, strict=True):
        if verdict is None:
            kept.append(doc)
        else:
            rejected.append(Rejection(doc, verdict[0], verdict[1]))
    return kept, rejected


class Filter(Step[ParamsT]):
    """A step that judges documents one at a time; returns a reason to reject, or None to keep."""

    @abstractmethod
    def check(self, doc: Document) -> Verdict:
        """``(reason, detail)`` to reject ``doc``, or None to keep it. May record ``doc.scores``."""

    def process(self, batch: list[Document]) -> tuple[list[Document], list[Rejection]]:
        return partition(batch, map(self.check, batch))


@dataclass(frozen=True)
class StageContext:
    """Where a global step finds its input and keeps its work files."""

    root: Path  # the run's output folder
    stage: int  # this step's stage (1 for the first global step of a recipe)
    inputs: tuple[Path, ...]  # the previous stage's Parquet shards, one per shard index
    work: Path  # a folder of the step's own, kept until the run is finished

    @property
    def shards(self) -> int:
        return len(self.inputs)


class GlobalStep(Step[ParamsT]):
    """A step that must see every document before it can decide on any one (dedup, decontamination).

    The runner stops the pipeline before it, runs its :meth:`phases` over the previous stage's shards (each
    phase a list of independent tasks, parallel under any executor, each finished task marked so a killed run
    resumes), then runs :meth:`process` on each shard after :meth:`begin_shard` has loaded that shard's
    decisions. Tasks must write their files atomically and be deterministic.
    """

    def profile(self, ctx: StageContext) -> dict[str, dict[str, float]]:
        """Seconds per part of each phase, summed over its tasks, where the step records them (else empty)."""
        return {}

    @abstractmethod
    def phases(self, ctx: StageContext) -> list[tuple[str, int]]:
        """The phases in order, each ``(name, number of tasks)``."""

    @abstractmethod
    def run_task(self, ctx: StageContext, phase: str, task: int) -> None:
        """Do task ``task`` of ``phase``: read inputs or earlier phases' files, write files under ``ctx.work``."""

    @abstractmethod
    def begin_shard(self, ctx: StageContext, shard: int) -> None:
        """Load the decisions for shard ``shard`` before its batches reach :meth:`process`."""

    def summary(self, ctx: StageContext) -> dict[str, Any]:
        """What the step wants in ``stats.json`` (parameters it derived, cluster counts...)."""
        return {}


class FinalStep(Step[ParamsT]):
    """A step that runs once, after every stage, and turns the finished corpus into another product.

    ``mix`` and ``pack`` are not judgements on documents but whole-corpus transformations with outputs of
    their own (a mix, packed token shards), so they close a recipe instead of running per batch: the recipe
    refuses a document step after one. A final step reads ``data/``, or the output of the nearest final
    step before it that ``writes_documents`` (so ``mix`` then ``pack`` packs the mix), and writes into the
    sub-folder ``folder`` of the run. The runner marks it done when :meth:`run` returns; after a kill it
    runs it again from scratch, so :meth:`run` must replace what it finds and be deterministic.
    """

    folder: str  # the sub-folder of the run it writes (the class's default; see folder_for)
    writes_documents: ClassVar[bool] = False  # its folder holds documents that a later final step reads
    passes: ClassVar[int] = 1  # times it reads its input (the progress bar's total)

    def __init__(self, params: ParamsT | None = None) -> None:
        super().__init__(params)
        self.folder = self.folder_for(self.params.model_dump())

    @property
    def reads_data(self) -> bool:
        """True: it reads the curated ``data/`` even after a final step that writes documents."""
        return False

    @classmethod
    def folder_for(cls, params: Mapping[str, Any]) -> str:
        """The sub-folder a step with these parameters writes: the class's ``folder``, unless a step of the same
        kind may stand twice in a recipe with other parameters (``pack`` at file and at repository level)."""
        return cls.folder

    #: Exceptions that mean bad input or options, not a bug: the runner turns them into a one-line RunError.
    errors: ClassVar[tuple[type[Exception], ...]] = ()

    def process(self, batch: list[Document]) -> tuple[list[Document], list[Rejection]]:
        raise TypeError(f"{self.name} is a final step: the runner calls run() once, never process() per batch")

    @abstractmethod
    def run(self, inputs: Path, out_dir: Path) -> dict[str, Any]:
        """Build the product from the documents under ``inputs`` into ``out_dir``; return its ``stats.json`` summary."""

    def section(self, summary: dict[str, Any]) -> dict[str, Any] | None:
        """The summary as a report section (``title``, ``summary``, ``warnings``, ``tables``), or None."""
        return None


def step_class(name: str) -> type[Step]:
    """The step class for a recipe's ``step:`` value: a built-in name or ``package.module:ClassName``."""
    if name not in Step.registry and ":" not in name:
        load_builtin_steps()
    if name in Step.registry:
        return Step.registry[name]
    if ":" in name:
        module_name, _, attr = name.partition(":")
        try:
            cls = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise KeyError(f"cannot import step {name!r}: {exc}") from exc
        if not (isinstance(cls, type) and issubclass(cls, Step)):
            raise KeyError(f"{name!r} is not a codemill Step subclass")
        return cls
    known = ", ".join(sorted(Step.registry))
    raise KeyError(f"unknown step {name!r}; built-in steps: {known}; or give 'package.module:ClassName'")
