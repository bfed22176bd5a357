"""``codemill loop``: evaluate → find gaps → synthesise for them → verify → train → evaluate again, N rounds.

Layout of the output folder: ``round-0/eval`` (the starting model), then per round r ≥ 1: ``gaps.json`` (from
round r-1's evaluation; with ``eval.split``, from round r-1's ``gap-eval`` of the other half of the tasks, so
the held-out half that ``eval/`` measures never steers synthesis), ``synth/`` (a ``codemill synth`` run steered
by those failures; only sandbox-verified, decontaminated samples are accepted), ``train.json`` + ``model/`` (LoRA
on the accepted data, or an external trainer), ``eval/`` (the new model, compared task by task with the round
before: McNemar's exact test, :mod:`codemill.evaluate.paired`). ``train.json`` also holds the decontamination
proof of the rows trained on (:mod:`codemill.loop.proof`). A llama.cpp student (a shipped name or a GGUF) is
trained as a LoRA adapter on its own GGUF and evaluated as ``BASE+lora:ADAPTER`` (:mod:`codemill.train.gguf_lora`).
Every phase leaves its result file last, so a killed loop resumes at the first missing one; evaluation answers and
synthesis calls are cached, so nothing is asked twice. The agents' memories live in ``memory/`` across rounds: a
later round cannot re-make an earlier round's instructions.

With ``train.accumulate`` (the default) round r's model is the starting model trained on every round's accepted
data so far, so rounds do not compound LoRA on LoRA; without it, the previous model trained on this round's data.
A round with no accepted data keeps the model and says so.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib.resources import files
from pathlib import Path
from typing import Any

from codemill.data.textio import atomic_write_text
from codemill.evaluate.generate import GenerationPlan, generate_with_model
from codemill.evaluate.paired import paired_comparison
from codemill.evaluate.score import resolve, score, write
from codemill.loop.gaps import find_gaps
from codemill.loop.proof import decontamination_proof
from codemill.loop.recipe import LoopRecipe
from codemill.sandbox.languages import UnknownLanguageError, get_language
from codemill.synth.engine import run_synth
from codemill.synth.recipe import SynthRecipe, load_synth_recipe

__all__ = ["LoopResult", "run_loop"]


@dataclass
class LoopResult:
    rounds: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"rounds": self.rounds, "seconds": round(self.seconds, 1)}


def _read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


class Loop:
    def __init__(self, recipe: LoopRecipe, output: Path, say: Callable[[str], None]) -> None:
        self.recipe = recipe
        self.output = output
        self.say = say
        default = Path(str(files("codemill") / "configs" / "synth.yaml"))
        self.synth_recipe = load_synth_recipe(recipe.synth or default)

    def evaluate(self, spec: str, folder: Path, split: str | None = None) -> dict[str, Any]:
        """The model's scores (``summary.json``) and generation account; ``report.html`` is written last."""
        if not (folder / "report.html").exists():
            from codemill.report.eval_html import write_eval_report

            e = self.recipe.eval
            benchmarks = resolve(e.benchmarks)
            plan = GenerationPlan("base", e.samples, e.temperature, 0.95, e.max_tokens, 0, e.limit, split)
            half = f" ({split} half)" if split else ""
            self.say(f"evaluate {spec} on {', '.join(e.benchmarks)}{half}")
            rows, info = generate_with_model(
                benchmarks, spec, e.mode, plan, self.output / "llm-cache.sqlite", e.threads
            )
            scored = score(benchmarks, rows)
            write(scored, folder, info)  # report.html last: it marks the evaluation done
            write_eval_report(folder / "report.html", scored.summary, scored.records, dict(info or {}))
        return {"summary": _read(folder / "summary.json"), "generation": _read(folder / "generation.json")}

    def measured(self, spec: str, round_: int) -> dict[str, Any]:
        """Round ``round_``'s evaluation of ``spec``: the held-out half when the recipe splits, else every task."""
        split = "held-out" if self.recipe.eval.split else None
        return self.evaluate(spec, self.output / f"round-{round_}" / "eval", split)

    def gap_signal(self, spec: str, round_: int) -> Path:
        """The ``samples.jsonl`` the next round's gaps come from: the 'gap' half of the benchmarks (evaluated
        here, only when a next round needs it) when the recipe splits, else round ``round_``'s own evaluation."""
        folder = self.output / f"round-{round_}"
        if not self.recipe.eval.split:
            return folder / "eval" / "samples.jsonl"
        self.evaluate(spec, folder / "gap-eval", "gap")
        return folder / "gap-eval" / "samples.jsonl"

    def focus(self, gaps: dict[str, Any]) -> str | None:
        """The one language synthesis generates in this round, or None for all (``focus`` of the recipe)."""
        wanted = self.recipe.focus
        if wanted is None:
            return None
        if wanted != "weakest":
            return get_language(wanted).name
        rates = []
        for language, gap in gaps["languages"].items():
            try:
                rates.append((-gap["rate"], -gap["failed"], get_language(language).name))
            except UnknownLanguageError:
                continue
        return min(rates)[2] if rates else None

    def synth_recipe_for(self, round_: int, gaps: dict[str, Any], samples: Path) -> SynthRecipe:
        """The synth recipe steered at the gaps: eval failures weight languages, failing concepts first, an agent
        for every failing language the sandbox runs, the round's own seed; benchmark entry points refused by name
        (``decontaminate_entry_points``) unless the loop recipe turns that off."""
        data = self.synth_recipe.model_dump(mode="json")
        data["seed"] = self.synth_recipe.seed + round_
        data["steering"]["eval_results"] = str(samples)
        failing = [c for c in gaps["worst_concepts"] if gaps["concepts"][c]["failed"] > 0]
        if failing:
            data["steering"]["concepts"] = failing + [c for c in data["steering"]["concepts"] if c not in failing]
        have = {a["language"] for a in data["agents"]}
        for language, gap in gaps["languages"].items():
            try:
                name = get_language(language).name
            except UnknownLanguageError:
                continue
            if gap["failed"] and name not in have:
                data["agents"].append({"language": name})
                have.add(name)
        focus = self.focus(gaps)
        if focus is not None:
            if focus not in have:
                data["agents"].append({"language": focus})
            data["steering"]["languages"] = [focus]
        if self.recipe.teacher:
            for model in data["models"].values():
                model["model"] = self.recipe.teacher
        if self.recipe.synth_candidates:
            data["budget"]["candidates"] = self.recipe.synth_candidates
        if self.recipe.synth_seconds:
            data["budget"]["seconds"] = self.recipe.synth_seconds
        data["decontaminate_entry_points"] |= self.recipe.decontaminate_entry_points
        return SynthRecipe.model_validate(data)

    def train(self, round_: int, current: str, folder: Path) -> dict[str, Any]:
        marker = folder / "train.json"
        if marker.exists():
            return _read(marker)
        spec = self.recipe.train
        rounds = range(1, round_ + 1) if spec.accumulate else [round_]
        rows = []
        for r in rounds:
            made = self.output / f"round-{r}" / "synth" / f"{spec.method}.jsonl"
            if made.exists():
                rows += [line for line in made.read_text(encoding="utf-8").splitlines() if line.strip()]
        data = folder / "train-data.jsonl"
        atomic_write_text(data, "".join(row + "\n" for row in rows))
        base = self.recipe.model if self.recipe.train.accumulate else current
        started = time.monotonic()
        info: dict[str, Any] = {"rows": len(rows), "method": spec.method, "base": base}
        info["decontamination"] = decontamination_proof(data, self.recipe.eval.benchmarks)
        if not rows:
            info |= {"model": current, "skipped": "no accepted samples yet: the model is unchanged"}
        elif self.recipe.train.command:
            from codemill.train import run_external

            self.say(f"train with {self.recipe.train.command!r} on {len(rows)} samples")
            info |= {"model": run_external(self.recipe.train.command, data, folder / "model", base)}
        else:
            from codemill.train import LoraOptions, train_lora

            self.say(f"train LoRA ({spec.method}) on {len(rows)} rows from {base}")
            options = LoraOptions(**spec.lora)
            if self.recipe.gguf_student:  # the adapter on the student's own GGUF: evaluated as the base was
                options = replace(options, export="gguf-lora")
            if spec.method == "dpo":
                from codemill.train.dpo import train_dpo

                path = train_dpo(base.removeprefix("hf:"), data, folder / "model", options, spec.beta)
            else:
                path = train_lora(base.removeprefix("hf:"), data, folder / "model", options)
            spec = f"{base}+lora:{path / 'adapter.gguf'}" if self.recipe.gguf_student else f"hf:{path}"
            info |= {"model": spec, "train": _read(path / "codemill-train.json")}
        info["seconds"] = round(time.monotonic() - started, 1)
        atomic_write_text(marker, json.dumps(info, indent=2) + "\n")
        return info


def _accepted_by_gap(metadata: Path) -> list[dict[str, Any]]:
    """Accepted samples of a synthesis per (language, concept): the data each gap got."""
    import pyarrow.parquet as pq

    if not metadata.exists():
        return []
    counts: dict[tuple[str, str], int] = {}
    for row in pq.read_table(metadata, columns=["language", "concept", "accepted"]).to_pylist():
        if row["accepted"]:
            key = (row["language"], row["concept"])
            counts[key] = counts.get(key, 0) + 1
    return [{"language": lang, "concept": concept, "accepted": n} for (lang, concept), n in sorted(counts.items())]


def run_loop(recipe: LoopRecipe, rounds: int, output: Path, say: Callable[[str], None] = lambda _: None) -> LoopResult:
    """Run or resume ``rounds`` rounds into ``output``; writes ``loop.json`` and ``report.html`` at the end."""
    from codemill.report.loop_html import write_loop_report
    from codemill.report.synth_html import write_synth_report

    started = time.monotonic()
    output.mkdir(parents=True, exist_ok=True)
    loop = Loop(recipe, output, say)
    result = LoopResult()
    model = recipe.model
    evaluation = loop.measured(model, 0)
    result.rounds.append({"round": 0, "model": model, "eval": evaluation})
    for round_ in range(1, rounds + 1):
        folder = output / f"round-{round_}"
        previous = loop.gap_signal(model, round_ - 1)
        gaps = find_gaps(previous)
        atomic_write_text(folder / "gaps.json", json.dumps(gaps, indent=2) + "\n")
        synth_recipe = loop.synth_recipe_for(round_, gaps, previous)
        say(f"round {round_}: synthesise for {gaps['failed']} failed of {gaps['tasks']} tasks")
        synth = run_synth(synth_recipe, folder / "synth", memory_dir=output / "memory")
        write_synth_report(folder / "synth" / "report.html", synth.outcomes, synth.synergy, synth.coverage)
        trained = loop.train(round_, model, folder)
        model = trained["model"]
        evaluation = loop.measured(model, round_)
        before = output / f"round-{round_ - 1}" / "eval" / "samples.jsonl"
        result.rounds.append(
            {
                "round": round_,
                "model": model,
                "focus": synth_recipe.steering.languages,
                "paired": paired_comparison(before, folder / "eval" / "samples.jsonl"),
                "gaps_before": gaps,
                "data_added": _accepted_by_gap(folder / "synth" / "metadata.parquet"),
                "synth": synth.summary.__dict__,
                "train": trained,
                "eval": evaluation,
            }
        )
    for entry in result.rounds[1:]:  # gaps after a round are the next evaluation's
        after = output / f"round-{entry['round']}" / "eval" / "samples.jsonl"
        entry["gaps_after"] = find_gaps(after)
    result.seconds = time.monotonic() - started
    atomic_write_text(output / "loop.json", json.dumps(result.to_json(), indent=2) + "\n")
    write_loop_report(output / "report.html", result.to_json(), recipe.name, recipe.eval.split)
    return result
