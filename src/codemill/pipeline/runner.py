"""The runner: plan shards, run every step over each shard, write outputs atomically, add up the counts.

A recipe's steps fall into stages: a new stage starts at each global step (one that must see every
document before it decides, such as dedup). Stage 0 reads the input; stage k reads stage k-1's shards,
first running the global step's phases over all of them. Shard ``i`` of every stage holds what came from
shard ``i`` of the input, so the shard count never changes. Final steps (mix, pack) close a recipe: each
runs once after the last stage, on ``data/`` or the documents of the final step before it, into its own
sub-folder.

Layout of an output folder::

    data/shard-00000.parquet             kept documents (the last stage's output)
    rejected/shard-00000.parquet         documents rejected in stage 0, with rejected_by, reason and detail
    rejected/stage1-shard-00000.parquet  ... in stage 1, and so on
    stats.json, report.html              counts per step and reason; the same for a person
    _run/plan.json                       the plan (written last: its presence means planning finished)
    _run/shards/00000.json               the units of input of shard 0
    _run/done/s0-00000.json              shard 0's counts in stage 0 (written last: the shard is finished)
    _run/stage-1/data/, work/, done/     stage 1's input shards (if not last), its global step's files
    mix/, packed/                        the final steps' outputs (mix.json, pack.json, their shards)
    _run/done/final-0.json               final step 0's summary (written last: the step is finished)

Every file is written under a temporary name and renamed; completion markers are written last. A run
killed at any moment and started again redoes only unmarked work and ends byte-identical.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from codemill import __version__
from codemill.data.progress import ProgressFile, counting_reads
from codemill.data.readers import READ_STEP, read_unit
from codemill.data.schema import (
    Document,
    Rejection,
    document_schema,
    documents_to_table,
    rejected_schema,
    rejections_to_table,
)
from codemill.data.sources import Unit, iter_units, plan_shards
from codemill.data.textio import atomic_path, atomic_write_text
from codemill.pipeline.explain import explain_empty
from codemill.pipeline.recipe import Recipe, parse_recipe
from codemill.pipeline.stats import InvariantError, Profile, StepStats, check_chain
from codemill.pipeline.step import FinalStep, GlobalStep, StageContext, Step, step_class

#: zstd, and dictionaries only for the low-cardinality columns (a dictionary of source files is wasted work).
PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "write_statistics": False,
    "use_dictionary": ["kind", "lang", "repo", "rejected_by", "reason"],
}
#: A stage's output that only the next stage reads (``_run/stage-K/data/``) is written with lz4: it is read once
#: and deleted with the run, and zstd's extra ratio costs more time than the disk it saves.
INTERMEDIATE_PARQUET_OPTIONS: dict[str, Any] = {**PARQUET_OPTIONS, "compression": "lz4"}
_FLUSH_BYTES = 64 << 20


class RunError(RuntimeError):
    """The run cannot start or finish (wrong output folder, a different run already there)."""


class RunFailed(RunError):
    """The run ended without its products (it kept nothing, or a final step failed on its input), after writing
    ``stats.json``: ``stats`` holds the counts, the reasons and the failure, for the summary and the report."""

    def __init__(self, message: str, stats: dict[str, Any]) -> None:
        super().__init__(message)
        self.stats = stats


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

    def done(self, stage: int, i: int) -> Path:
        return self.work / "done" / f"s{stage}-{i:05d}.json"

    def stage_dir(self, stage: int) -> Path:
        return self.work / f"stage-{stage}"

    def stage_data(self, stage: int, i: int, last: bool) -> Path:
        folder = self.data if last else self.stage_dir(stage) / "data"
        return folder / f"shard-{i:05d}.parquet"

    def rejected_shard(self, stage: int, i: int) -> Path:
        prefix = "" if stage == 0 else f"stage{stage}-"
        return self.rejected / f"{prefix}shard-{i:05d}.parquet"

    def final_done(self, k: int) -> Path:
        return self.work / "done" / f"final-{k}.json"

    def final_progress(self, k: int) -> Path:
        return self.work / f"progress-final-{k}.json"

    def phase_done(self, stage: int, phase: str, task: int) -> Path:
        return self.stage_dir(stage) / "done" / f"{phase}-{task:05d}"

    def context(self, stage: int, shards: int, stages: int) -> StageContext:
        """What the global step of ``stage`` reads and where it works."""
        inputs = tuple(self.stage_data(stage - 1, i, last=stage - 1 == stages - 1) for i in range(shards))
        return StageContext(self.root, stage, inputs, self.stage_dir(stage) / "work")


# ---------------------------------------------------------------------------------------------- planning


def prepare(recipe: Recipe, inputs: list[Path], output: Path, overwrite: bool = False) -> tuple[RunLayout, int]:
    """Plan the run into ``output`` (or reuse the plan of an interrupted identical run); return the shard count."""
    _check_output(output)
    layout = RunLayout(output)
    identity = {
        "recipe": recipe.fingerprint(),
        "inputs": [str(p.resolve()) for p in inputs],
    }
    plan_file = layout.work / "plan.json"
    if plan_file.exists():
        plan = json.loads(plan_file.read_text())
        if plan["identity"] == identity and not overwrite:
            for leftover in layout.root.rglob(".tmp-*"):  # half-written files of the interrupted run
                shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink(missing_ok=True)
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
            for sub in (layout.data, layout.rejected, *_final_folders(layout), layout.work):
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


def _check_output(output: Path) -> None:
    """An output that is a file, or lies under one, is refused in one line before anything is written."""
    for folder in (output, *output.parents):
        if folder.exists():
            if not folder.is_dir():
                raise RunError(f"--output {output}: {folder} is a file, not a folder; give a folder (made if missing)")
            return


def _final_folders(layout: RunLayout) -> list[Path]:
    """The folders that the final steps of the run already in ``layout`` write (to clear them with the run)."""
    try:
        recipe = parse_recipe(json.loads((layout.work / "recipe.json").read_text()), source="recipe.json")
    except (OSError, ValueError):
        return []
    return [
        layout.root / step_class(s.step).folder_for(s.params.model_dump())  # type: ignore[attr-defined]
        for s in recipe.steps
        if _is_final(s.step)
    ]


# ---------------------------------------------------------------------------------------- the recipe

_CACHE: dict[str, tuple[Recipe, list[list[Step]], list[FinalStep]]] = {}


def _is_final(name: str) -> bool:
    return issubclass(step_class(name), FinalStep)


def split_stages(recipe: Recipe) -> list[list[int]]:
    """Indices of the recipe's document steps per stage: a new stage starts at each global step.

    Final steps are not in any stage (see :func:`final_indices`).
    """
    stages: list[list[int]] = [[]]
    for i, spec in enumerate(recipe.steps):
        if _is_final(spec.step):
            continue
        if issubclass(step_class(spec.step), GlobalStep):
            stages.append([])
        stages[-1].append(i)
    return stages


def final_indices(recipe: Recipe) -> list[int]:
    """Indices of the recipe's final steps (mix, pack), in order; the recipe puts them last."""
    return [i for i, spec in enumerate(recipe.steps) if _is_final(spec.step)]


def _load(layout: RunLayout) -> tuple[Recipe, list[list[Step]], list[FinalStep]]:
    """The run's recipe, its steps per stage and its final steps, built and set up once per worker and recipe."""
    text = (layout.work / "recipe.json").read_text()
    key = f"{layout.root.resolve()}\x00{text}"
    if key not in _CACHE:
        recipe = parse_recipe(json.loads(text), source="recipe.json")
        steps = [spec.build() for spec in recipe.steps]
        for step in steps:
            step.setup()
        _CACHE.clear()  # a worker serves one run at a time; let the previous run's models go
        stages = [[steps[j] for j in stage] for stage in split_stages(recipe)]
        finals = [steps[j] for j in final_indices(recipe)]
        _CACHE[key] = (recipe, stages, finals)  # type: ignore[assignment]
    return _CACHE[key]


def score_names(steps: Iterable[Step]) -> tuple[str, ...]:
    """The score columns of every shard of a run: each step's ``score_name`` (the score a ladder filter records),
    in recipe order. Known before the first document is read, so every shard, kept or rejected, of every stage
    has one schema, and a reader can load them all as one table."""
    return tuple(dict.fromkeys(n for n in (getattr(step, "score_name", None) for step in steps) if n))


def _check_scores(step: Step, kept: list[Document], rejected: list[Rejection], names: tuple[str, ...]) -> None:
    """A step that writes a score under a name no step of the run declares is a bug: there is no column for it."""
    written = {k for d in kept for k in d.scores} | {k for r in rejected for k in r.document.scores}
    if not written.issubset(names):
        raise InvariantError(
            f"step {step.name!r} wrote scores {sorted(written.difference(names))}, which no step of the recipe "
            f"names in its score_name (the run's score columns: {', '.join(names) or 'none'})"
        )


def load_run(layout: RunLayout) -> tuple[Recipe, list[list[Step]]]:
    """The run's recipe and its document steps per stage."""
    recipe, stages, _ = _load(layout)
    return recipe, stages


def load_final_steps(layout: RunLayout) -> list[FinalStep]:
    """The run's final steps, in recipe order."""
    return _load(layout)[2]


# ---------------------------------------------------------------------------------------- global steps


def run_phase_task(root: str, stage: int, shards: int, phase: str, task: int) -> None:
    """Run one task of a phase of the global step that opens ``stage``; skipped if already done."""
    layout = RunLayout(Path(root))
    marker = layout.phase_done(stage, phase, task)
    if marker.exists():
        return
    _, stages = load_run(layout)
    step = stages[stage][0]
    assert isinstance(step, GlobalStep)
    ctx = layout.context(stage, shards, len(stages))
    ctx.work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    step.run_task(ctx, phase, task)
    atomic_write_text(marker, json.dumps({"seconds": round(time.perf_counter() - started, 4)}))


def phase_seconds(layout: RunLayout, stage: int, step: GlobalStep, shards: int, stages: int) -> dict[str, float]:
    """Seconds each phase of the global step that opens ``stage`` took, summed over its tasks (work done, not
    wall time: parallel tasks add up), from the phase markers."""
    out: dict[str, float] = {}
    for phase, count in step.phases(layout.context(stage, shards, stages)):
        total = 0.0
        for task in range(count):
            text = layout.phase_done(stage, phase, task).read_text()
            total += json.loads(text)["seconds"] if text else 0.0  # markers of older runs hold no time
        out[phase] = round(total, 4)
    return out


# ------------------------------------------------------------------------------------------- one shard


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

    def __init__(
        self, path: Path, schema: Any, to_table: Callable[[list], Any], rows: int, options: dict[str, Any]
    ) -> None:
        self.writer = pq.ParquetWriter(path, schema, **options)
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


def _input_batches(
    layout: RunLayout,
    recipe: Recipe,
    stage: int,
    index: int,
    shards: int,
    stages: int,
    read_stats: StepStats,
    names: tuple[str, ...],
) -> Iterator[tuple[list[Document], list[Rejection]]]:
    """Batches of a shard's documents: read from the input (stage 0) or from the previous stage's shard.

    Scores that came with the input under names no step of the run writes move to ``meta["scores"]``."""
    rows = recipe.shards.batch_size
    if stage > 0:
        source = layout.context(stage, shards, stages).inputs[index]
        for batch in pq.ParquetFile(source).iter_batches(batch_size=rows):
            yield [Document.from_row(r) for r in batch.to_pylist()], []
        return
    for unit in (Unit.from_json(u) for u in json.loads(layout.shard_spec(index).read_text())):
        t0 = time.perf_counter()
        for items in read_unit(unit, recipe.read, rows):
            docs = [d for d in items if isinstance(d, Document)]
            failed = [r for r in items if isinstance(r, Rejection)]
            for doc in (*docs, *(r.document for r in failed)):
                doc.set_aside_scores(names)
            read_stats.seconds += time.perf_counter() - t0
            _count(read_stats, docs, failed)
            yield docs, failed
            t0 = time.perf_counter()


def run_shard(root: str, stage: int, index: int, shards: int) -> dict[str, Any]:
    """Run stage ``stage`` on shard ``index``; return its counts. Safe to call again after a kill."""
    layout = RunLayout(Path(root))
    if layout.done(stage, index).exists():
        return json.loads(layout.done(stage, index).read_text())
    recipe, stages = load_run(layout)
    steps = stages[stage]
    names = score_names(s for stage_steps in stages for s in stage_steps)
    if stage > 0:
        step = steps[0]
        assert isinstance(step, GlobalStep)
        step.begin_shard(layout.context(stage, shards, len(stages)), index)
    read_stats = StepStats(READ_STEP)
    step_stats = [StepStats(s.name) for s in steps]
    profile = Profile()
    rows = recipe.shards.batch_size
    started = time.perf_counter()
    last = stage == len(stages) - 1
    data_path, rejected_path = layout.stage_data(stage, index, last), layout.rejected_shard(stage, index)
    data_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(data_path) as data_tmp, atomic_path(rejected_path) as rej_tmp:
        kept_out = _BufferedParquet(
            data_tmp,
            document_schema(names),
            lambda docs: documents_to_table(docs, names),
            rows,
            PARQUET_OPTIONS if last else INTERMEDIATE_PARQUET_OPTIONS,
        )
        rejected_out = _BufferedParquet(
            rej_tmp,
            rejected_schema(names),
            lambda rejections: rejections_to_table(rejections, names),
            rows,
            PARQUET_OPTIONS,
        )
        batches = _input_batches(layout, recipe, stage, index, shards, len(stages), read_stats, names)
        for batch, failed in batches:
            rejected_out.add(failed, sum(r.document.nbytes for r in failed))
            for step, stats in zip(steps, step_stats, strict=True):
                if not batch:
                    break
                t1 = time.perf_counter()
                batch, failed = _apply(step, batch)
                stats.seconds += time.perf_counter() - t1
                _check_scores(step, batch, failed, names)
                _count(stats, batch, failed)
                rejected_out.add(failed, sum(r.document.nbytes for r in failed))
            sizes = [d.nbytes for d in batch]
            for doc, size in zip(batch, sizes, strict=True):
                profile.count(doc.lang, doc.kind, size, doc.quality, doc.scores)
                if "code_removed" in doc.meta:
                    profile.count_code_removed(doc.id, doc.meta["code_removed"])
            kept_out.add(batch, sum(sizes))
        kept_out.close()
        rejected_out.close()
    all_steps = [read_stats, *step_stats] if stage == 0 else step_stats
    check_chain(all_steps, f"stage {stage} shard {index}")
    result = {
        "stage": stage,
        "shard": index,
        "steps": [s.to_json() for s in all_steps],
        "profile": profile.to_json(),
        "seconds": round(time.perf_counter() - started, 4),
    }
    atomic_write_text(layout.done(stage, index), json.dumps(result))
    return result


# ------------------------------------------------------------------------------------------ final steps


def step_label(step: Step) -> str:
    """How the report names a step: its name, and for a step that runs a model the score it records (``classifier
    (code_quality)``, ``classifier (lm_quality)``: two steps of one name told apart by their models)."""
    if getattr(step.params, "model", None) is None:
        return step.name
    return f"{step.name} ({getattr(step, 'score_name', None) or step.params.model})"  # type: ignore[attr-defined]


def final_key(finals: list[FinalStep], k: int) -> str:
    """Final step ``k``'s key in ``stats.json``: its name, or ``name:folder`` for a later step of the same name
    (``pack`` and ``pack:packed-repo`` when a recipe packs at both levels)."""
    step = finals[k]
    return step.name if all(f.name != step.name for f in finals[:k]) else f"{step.name}:{step.folder}"


def final_input(layout: RunLayout, finals: list[FinalStep], k: int) -> Path:
    """What final step ``k`` reads: the folder of the nearest final step before it that writes documents, or data/
    (always data/ for a step that ``reads_data``)."""
    if finals[k].reads_data:
        return layout.data
    for step in reversed(finals[:k]):
        if step.writes_documents:
            return layout.root / step.folder
    return layout.data


def run_final(root: str, k: int) -> dict[str, Any]:
    """Run final step ``k`` (after every stage); return its record. Skipped if done; redone whole after a kill."""
    layout = RunLayout(Path(root))
    marker = layout.final_done(k)
    if marker.exists():
        return json.loads(marker.read_text())
    finals = load_final_steps(layout)
    step = finals[k]
    started = time.perf_counter()
    try:
        reads = ProgressFile(layout.final_progress(k))
        with counting_reads(reads):
            summary = step.run(final_input(layout, finals, k), layout.root / step.folder)
        reads.write()  # the last count, whatever the interval
    except step.errors as exc:
        raise RunError(f"step {step.name!r} ({step.folder}/): {exc}") from exc
    record = {
        "step": step.name,
        "folder": step.folder,
        "seconds": round(time.perf_counter() - started, 3),
        "summary": summary,
        "section": step.section(summary),
    }
    atomic_write_text(marker, json.dumps(record))
    return record


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


def kept_rows(layout: RunLayout, shards: int, stages: int) -> int:
    """The documents in ``data/`` (from the Parquet footers)."""
    return sum(pq.ParquetFile(layout.stage_data(stages - 1, i, True)).metadata.num_rows for i in range(shards))


def summarise(layout: RunLayout, shards: int, seconds: float, failure: str | None = None) -> dict[str, Any]:
    """Add up every shard's counts, check the invariants against the files on disk, write ``stats.json``.

    Final steps appear when they finished; ``failure`` (why the run ended without its products) is recorded, and
    a run that kept nothing says why (:func:`codemill.pipeline.explain.explain_empty`)."""
    recipe, stages, finals = _load(layout)
    chain: list[StepStats] = []
    phases: dict[str, dict[str, float]] = {}
    profile = Profile()
    rejected_rows = 0
    for stage, steps in enumerate(stages):
        names = ([READ_STEP] if stage == 0 else []) + [s.name for s in steps]
        totals = [StepStats(name) for name in names]
        for i in range(shards):
            shard = json.loads(layout.done(stage, i).read_text())
            for total, s in zip(totals, shard["steps"], strict=True):
                total.add(StepStats.from_json(s))
            if stage == len(stages) - 1:
                profile.add(Profile.from_json(shard["profile"]))
            rejected_rows += pq.ParquetFile(layout.rejected_shard(stage, i)).metadata.num_rows
        if stage > 0:  # a global step's time is mostly its phases, before the pass that applies its decisions
            phases[steps[0].name] = phase_seconds(layout, stage, steps[0], shards, len(stages))  # type: ignore[arg-type]
            totals[0].seconds += sum(phases[steps[0].name].values())
        chain += totals
    kept = kept_rows(layout, shards, len(stages))
    check_chain(chain, "run")
    documents_in, documents_kept = chain[0].docs_in, chain[-1].kept
    documents_rejected = sum(s.rejected for s in chain)
    if (kept, rejected_rows) != (documents_kept, documents_rejected) or (
        documents_in != documents_kept + documents_rejected
    ):
        raise InvariantError(
            f"files hold {kept} kept and {rejected_rows} rejected rows; counts say {documents_kept} kept, "
            f"{documents_rejected} rejected of {documents_in} in"
        )
    examples = _rejection_examples([layout.rejected_shard(k, i) for k in range(len(stages)) for i in range(shards)])
    stats = {
        "codemill": __version__,
        "recipe": recipe.name,
        "documents_in": documents_in,
        "documents_kept": documents_kept,
        "documents_rejected": documents_rejected,
        "bytes_in": chain[0].bytes_in,
        "bytes_kept": chain[-1].bytes_kept,
        "shards": shards,
        "seconds": round(seconds, 3),
        "steps": [s.to_json() for s in chain],
        "step_labels": [READ_STEP, *(step_label(step) for steps in stages for step in steps)],
        "score_thresholds": {
            name: float(threshold)
            for steps in stages
            for step in steps
            if (name := getattr(step, "score_name", None))
            and (threshold := getattr(step.params, "threshold", None)) is not None
        },
        "rejection_examples": examples,
        "global_steps": {
            steps[0].name: steps[0].summary(layout.context(k, shards, len(stages)))  # type: ignore[attr-defined]
            for k, steps in enumerate(stages)
            if k > 0
        },
        "timings": {  # where a global step's time went (not part of its result: differs from run to run)
            steps[0].name: {
                "phases": phases[steps[0].name],
                "parts": steps[0].profile(layout.context(k, shards, len(stages))),  # type: ignore[attr-defined]
            }
            for k, steps in enumerate(stages)
            if k > 0
        },
        "final_steps": {
            final_key(finals, k): json.loads(layout.final_done(k).read_text())
            for k in range(len(finals))
            if layout.final_done(k).exists()
        },
        **profile.to_json(),
    }
    if documents_kept == 0:
        stats["nothing_kept"] = explain_empty(stats["steps"], examples)
    if failure is not None:
        stats["failed"] = failure
    atomic_write_text(layout.root / "stats.json", json.dumps(stats, indent=2))
    return stats


def _rejection_examples(files: list[Path], per_reason: int = 3) -> dict[str, dict[str, list[dict[str, str]]]]:
    """A few rejected documents per step and reason (where from, and the detail), for the report."""
    out: dict[str, dict[str, list[dict[str, str]]]] = {}
    for f in files:
        table = pq.read_table(f, columns=["rejected_by", "reason", "repo", "path", "detail"])
        for row in table.to_pylist():
            bucket = out.setdefault(row["rejected_by"], {}).setdefault(row["reason"], [])
            if len(bucket) < per_reason:
                where = "/".join(x for x in (row["repo"], row["path"]) if x)
                bucket.append({"where": where, "detail": row["detail"][:300]})
    return out


def iter_outputs(folder: Path, which: str = "data") -> Iterator[Path]:
    """The Parquet shards of an output folder (``which`` is ``data`` or ``rejected``), in order."""
    yield from sorted(p for p in (folder / which).glob("*.parquet") if not p.name.startswith("."))
