"""The runner: plan shards, run every step over each shard, write outputs atomically, add up the counts.

Layout of an output folder::

    data/shard-00000.parquet       kept documents
    rejected/shard-00000.parquet   rejected documents, with rejected_by, reason and detail
    stats.json                     counts per step and reason, seconds, languages, sizes
    report.html                    the same for a person
    _run/plan.json                 the plan (written last: its presence means planning finished)
    _run/shards/00000.json         the units of input of shard 0
    _run/done/00000.json           shard 0's counts (written last: its presence means shard 0 is finished)

A shard writes its Parquet files under temporary names, renames them, then writes its ``done`` file, so a
run killed at any moment and started again redoes only unfinished shards and ends byte-identical.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from codemill import __version__
from codemill.data.readers import READ_STEP, read_unit
from codemill.data.schema import (
    DOCUMENT_SCHEMA,
    REJECTED_SCHEMA,
    Document,
    Rejection,
    documents_to_table,
    rejections_to_table,
)
from codemill.data.sources import Unit, iter_units, plan_shards
from codemill.data.textio import atomic_path, atomic_write_text
from codemill.pipeline.recipe import Recipe, parse_recipe
from codemill.pipeline.stats import InvariantError, Profile, StepStats, check_chain
from codemill.pipeline.step import Step

#: zstd, and dictionaries only for the low-cardinality columns (a dictionary of source files is wasted work).
PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "write_statistics": False,
    "use_dictionary": ["kind", "lang", "repo", "rejected_by", "reason"],
}
_FLUSH_BYTES = 64 << 20


class RunError(RuntimeError):
    """The run cannot start or finish (wrong output folder, a different run already there)."""


@dataclass(frozen=True)
class RunLayout:
    """Where each file of a run lives."""

    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def rejected(self) -> Path:
        return self.root / "rejected"

    @property
    def work(self) -> Path:
        return self.root / "_run"

    def shard_spec(self, i: int) -> Path:
        return self.work / "shards" / f"{i:05d}.json"

    def done(self, i: int) -> Path:
        return self.work / "done" / f"{i:05d}.json"

    def data_shard(self, i: int) -> Path:
        return self.data / f"shard-{i:05d}.parquet"

    def rejected_shard(self, i: int) -> Path:
        return self.rejected / f"shard-{i:05d}.parquet"


# ---------------------------------------------------------------------------------------------- planning


def prepare(recipe: Recipe, inputs: list[Path], output: Path, overwrite: bool = False) -> tuple[RunLayout, int]:
    """Plan the run into ``output`` (or reuse the plan of an interrupted identical run); return the shard count."""
    layout = RunLayout(output)
    identity = {
        "recipe": recipe.fingerprint(),
        "inputs": [str(p.resolve()) for p in inputs],
    }
    plan_file = layout.work / "plan.json"
    if plan_file.exists():
        plan = json.loads(plan_file.read_text())
        if plan["identity"] == identity and not overwrite:
            for leftover in [*layout.data.glob(".tmp-*"), *layout.rejected.glob(".tmp-*")]:
                leftover.unlink(missing_ok=True)  # half-written files of the interrupted run
            return layout, plan["shards"]
        if not overwrite:
            raise RunError(
                f"{output} holds a run of another recipe or input ({plan['identity']}); "
                "choose another --output, or pass --overwrite to replace it"
            )
    if output.exists() and any(output.iterdir()):
        if not layout.work.exists():
            raise RunError(f"{output} is not empty and is not a codemill output folder; choose another --output")
        if overwrite or not plan_file.exists():
            for sub in (layout.data, layout.rejected, layout.work):
                shutil.rmtree(sub, ignore_errors=True)
    layout.work.mkdir(parents=True, exist_ok=True)
    atomic_write_text(layout.work / "recipe.json", json.dumps(recipe.to_json(), indent=2))
    units = iter_units(inputs, recipe.read)
    n = 0
    for n, shard in enumerate(plan_shards(units, recipe.shards.target_bytes, recipe.shards.max_units), 1):
        spec = [u.to_json() for u in shard]
        atomic_write_text(layout.shard_spec(n - 1), json.dumps(spec, separators=(",", ":")))
    plan = {"identity": identity, "shards": n, "codemill": __version__}
    atomic_write_text(plan_file, json.dumps(plan, indent=2))
    return layout, n


# ------------------------------------------------------------------------------------------- one shard

_STEP_CACHE: dict[str, tuple[Recipe, list[Step]]] = {}


def _load_steps(layout: RunLayout) -> tuple[Recipe, list[Step]]:
    """The run's recipe and its steps, built and set up once per worker process and recipe."""
    text = (layout.work / "recipe.json").read_text()
    key = f"{layout.root.resolve()}\x00{text}"
    if key not in _STEP_CACHE:
        recipe = parse_recipe(json.loads(text), source="recipe.json")
        steps = [spec.build() for spec in recipe.steps]
        for step in steps:
            step.setup()
        _STEP_CACHE.clear()  # a worker serves one run at a time; let the previous run's models go
        _STEP_CACHE[key] = (recipe, steps)
    return _STEP_CACHE[key]


def _apply(step: Step, batch: list[Document]) -> tuple[list[Document], list[Rejection]]:
    """Run a step on a batch; if it fails, retry document by document so one bad document cannot stop a run."""
    try:
        kept, rejected = step.process(batch)
    except Exception:
        kept, rejected = [], []
        for doc in batch:
            try:
                k, r = step.process([doc])
            except Exception as exc:
                k, r = [], [Rejection(doc, "step_error", f"{type(exc).__name__}: {exc}")]
            kept += k
            rejected += r
    if len(kept) + len(rejected) != len(batch):
        raise InvariantError(
            f"step {step.name!r} returned {len(kept)} kept + {len(rejected)} rejected for {len(batch)} documents"
        )
    for r in rejected:
        r.rejected_by = step.name
    return kept, rejected


class _BufferedParquet:
    """A Parquet file written in row groups of about ``rows`` rows, under a temporary name."""

    def __init__(self, path: Path, schema: Any, to_table: Callable[[list], Any], rows: int) -> None:
        self.writer = pq.ParquetWriter(path, schema, **PARQUET_OPTIONS)
        self.to_table, self.rows = to_table, rows
        self.buffer: list = []
        self.nbytes = 0

    def add(self, items: list, nbytes: int) -> None:
        self.buffer += items
        self.nbytes += nbytes
        if len(self.buffer) >= self.rows or self.nbytes >= _FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            self.writer.write_table(self.to_table(self.buffer))
            self.buffer, self.nbytes = [], 0

    def close(self) -> None:
        self.flush()
        self.writer.close()


def run_shard(root: str, index: int) -> dict[str, Any]:
    """Process shard ``index`` of the run in ``root``; return its counts. Safe to call again after a kill."""
    layout = RunLayout(Path(root))
    if layout.done(index).exists():
        return json.loads(layout.done(index).read_text())
    recipe, steps = _load_steps(layout)
    units = [Unit.from_json(u) for u in json.loads(layout.shard_spec(index).read_text())]
    read_stats = StepStats(READ_STEP)
    step_stats = [StepStats(s.name) for s in steps]
    profile = Profile()
    rows = recipe.shards.batch_size
    started = time.perf_counter()
    with (
        atomic_path(layout.data_shard(index)) as data_tmp,
        atomic_path(layout.rejected_shard(index)) as rej_tmp,
    ):
        kept_out = _BufferedParquet(data_tmp, DOCUMENT_SCHEMA, documents_to_table, rows)
        rejected_out = _BufferedParquet(rej_tmp, REJECTED_SCHEMA, rejections_to_table, rows)
        for unit in units:
            t0 = time.perf_counter()
            for items in read_unit(unit, recipe.read, rows):
                batch = [d for d in items if isinstance(d, Document)]
                failed = [r for r in items if isinstance(r, Rejection)]
                read_stats.seconds += time.perf_counter() - t0
                _count(read_stats, batch, failed)
                rejected_out.add(failed, sum(r.document.nbytes for r in failed))
                for step, stats in zip(steps, step_stats, strict=True):
                    if not batch:
                        break
                    t1 = time.perf_counter()
                    batch, failed = _apply(step, batch)
                    stats.seconds += time.perf_counter() - t1
                    _count(stats, batch, failed)
                    rejected_out.add(failed, sum(r.document.nbytes for r in failed))
                sizes = [d.nbytes for d in batch]
                for doc, size in zip(batch, sizes, strict=True):
                    profile.count(doc.lang, doc.kind, size)
                kept_out.add(batch, sum(sizes))
                t0 = time.perf_counter()
        kept_out.close()
        rejected_out.close()
    all_steps = [read_stats, *step_stats]
    check_chain(all_steps, f"shard {index}")
    result = {
        "shard": index,
        "steps": [s.to_json() for s in all_steps],
        "profile": profile.to_json(),
        "seconds": round(time.perf_counter() - started, 4),
    }
    atomic_write_text(layout.done(index), json.dumps(result))
    return result


def _count(stats: StepStats, kept: list[Document], rejected: list[Rejection]) -> None:
    kept_bytes = sum(d.nbytes for d in kept)
    rejected_bytes = sum(r.document.nbytes for r in rejected)
    stats.docs_in += len(kept) + len(rejected)
    stats.kept += len(kept)
    stats.rejected += len(rejected)
    stats.reasons.update(r.reason for r in rejected)
    stats.bytes_in += kept_bytes + rejected_bytes
    stats.bytes_kept += kept_bytes


# -------------------------------------------------------------------------------------- the whole run


def pending_shards(layout: RunLayout, n: int) -> list[int]:
    """The shards that have no ``done`` file yet."""
    return [i for i in range(n) if not layout.done(i).exists()]


def summarise(layout: RunLayout, n: int, seconds: float) -> dict[str, Any]:
    """Add up every shard's counts, check the invariants against the files on disk, write ``stats.json``."""
    recipe = json.loads((layout.work / "recipe.json").read_text())
    totals: list[StepStats] | None = None
    profile = Profile()
    kept_rows = rejected_rows = 0
    for i in range(n):
        shard = json.loads(layout.done(i).read_text())
        steps = [StepStats.from_json(s) for s in shard["steps"]]
        if totals is None:
            totals = [StepStats(s.name) for s in steps]
        for total, s in zip(totals, steps, strict=True):
            total.add(s)
        profile.add(Profile.from_json(shard["profile"]))
        kept_rows += pq.ParquetFile(layout.data_shard(i)).metadata.num_rows
        rejected_rows += pq.ParquetFile(layout.rejected_shard(i)).metadata.num_rows
    totals = totals or [StepStats(READ_STEP), *(StepStats(s["step"]) for s in recipe["steps"])]
    check_chain(totals, "run")
    documents_in = totals[0].docs_in
    documents_kept = totals[-1].kept
    documents_rejected = sum(s.rejected for s in totals)
    if (kept_rows, rejected_rows) != (documents_kept, documents_rejected) or (
        documents_in != documents_kept + documents_rejected
    ):
        raise InvariantError(
            f"files hold {kept_rows} kept and {rejected_rows} rejected rows; counts say {documents_kept} kept, "
            f"{documents_rejected} rejected of {documents_in} in"
        )
    stats = {
        "codemill": __version__,
        "recipe": recipe["name"],
        "documents_in": documents_in,
        "documents_kept": documents_kept,
        "documents_rejected": documents_rejected,
        "bytes_in": totals[0].bytes_in,
        "bytes_kept": totals[-1].bytes_kept,
        "shards": n,
        "seconds": round(seconds, 3),
        "steps": [s.to_json() for s in totals],
        **profile.to_json(),
    }
    atomic_write_text(layout.root / "stats.json", json.dumps(stats, indent=2))
    return stats


def iter_outputs(folder: Path, which: str = "data") -> Iterator[Path]:
    """The Parquet shards of an output folder (``which`` is ``data`` or ``rejected``), in order."""
    yield from sorted((folder / which).glob("shard-*.parquet"))
