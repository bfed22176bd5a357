"""``run_ablation``: split, arms, vocabulary, then one training run per arm and seed, and the summary.

Every phase writes its result file last, so a killed ablation resumes where it stopped: the split
(``split/split.json``), each arm (``arms/NAME/arm.json``), the vocabulary (``vocab.json``) and each run
(``runs/NAME/seed-S.json``) are reused when present. ``recipe.json`` pins the recipe: a folder made by another
recipe is refused, so results of two recipes never mix. ``ablation.json`` is rebuilt from the run files each time.
An arm whose mix is an earlier arm's (code at every level and ``10:0:0``) shares its data and its runs, marked
``same_as``: trained again it gives the same numbers to the last digit (measured), so it is not trained again.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from codemill.ablate.arms import arm_mix_options, arm_tokens, build_arm
from codemill.ablate.heldout import HELDOUT_KINDS, heldout_documents, split_corpus
from codemill.ablate.recipe import AblationRecipe, ArmSpec
from codemill.ablate.training import eval_set, train_run
from codemill.ablate.vocab import TrimmedVocab, count_tokens
from codemill.data.textio import atomic_write_text, open_binary_read

__all__ = ["PUBLISHED", "AblationError", "heldout_in_arms", "run_ablation", "summarise", "verdicts"]

#: The report's own numbers for the two experiments (Qwen2.5-Coder technical report, Figure 1 and Table 3).
PUBLISHED = {
    "levels": "Figure 1: Qwen2.5-Coder-1.5B trained on each of 4 filtering stages; the HumanEval/MBPP average rose "
    "from 41.6 (stage 1) to 46.8 (stage 4), ~41.5, 42.5, 43.0, 47.5 read from the chart",
    "ratios": "Table 3 (7B): average over coding, math and general benchmarks 31.3 at 100:0:0, 48.9 at 85:10:5, "
    "55.0 at 7:2:1; on the common coding benchmarks alone 100:0:0 scored highest (49.8 vs 48.3 at 7:2:1)",
}

# two-sided 95% Student t quantiles by degrees of freedom (1-10); beyond, the normal value is close enough
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228}


class AblationError(RuntimeError):
    """An ablation that cannot run: a folder of another recipe, an arm with no documents, a broken curated run."""


def _spread(values: list[float]) -> dict[str, float]:
    n = len(values)
    mean = float(np.mean(values))
    sd = float(np.std(values, ddof=1)) if n > 1 else 0.0
    half = _T95.get(n - 1, 1.96) * sd / math.sqrt(n) if n > 1 else float("nan")
    return {"mean": round(mean, 5), "sd": round(sd, 5), "ci95": round(half, 5), "n": n}


def _pin_recipe(recipe: AblationRecipe, folder: Path) -> None:
    pinned = folder / "recipe.json"
    mine = recipe.model_dump(mode="json")
    if pinned.exists():
        theirs = json.loads(pinned.read_text(encoding="utf-8"))
        if theirs != mine:
            changed = sorted(k for k in mine if mine.get(k) != theirs.get(k))
            raise AblationError(
                f"{folder} holds an ablation of another recipe (differs in: {', '.join(changed)}); "
                "give another --output, or delete the folder to start again"
            )
        return
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(pinned, json.dumps(mine, indent=2))


def _vocabulary(recipe: AblationRecipe, folder: Path, arm_folders: list[Path]) -> TrimmedVocab:
    path = folder / "vocab.json"
    if not path.exists():
        counts = None
        for arm_folder in arm_folders:
            counts = count_tokens(counts, arm_tokens(arm_folder))
        assert counts is not None  # the recipe has at least one arm
        TrimmedVocab.fit(counts, recipe.model.vocab).save(path)
    return TrimmedVocab.load(path)


def _same_mixes(recipe: AblationRecipe) -> dict[str, str]:
    """Arms whose mix is the same as an earlier arm's (``10:0:0`` and level 0 of the code, say): name -> that arm."""
    first: dict[str, str] = {}
    same: dict[str, str] = {}
    for arm in recipe.arms:
        options = arm_mix_options(arm, recipe).model_dump(mode="json")
        total = sum(options["ratio"].values())
        options["ratio"] = {k: v / total for k, v in options["ratio"].items() if v > 0}  # 10:0:0 is code alone
        key = json.dumps(options, sort_keys=True)
        if key in first:
            same[arm.name] = first[key]
        else:
            first[key] = arm.name
    return same


def heldout_in_arms(folder: Path, arm_folders: list[Path]) -> list[int]:
    """Per arm folder, how many held-out documents its mix holds (by id, repeats included): the proof that is 0."""
    held: set[str] = set()
    for kind in HELDOUT_KINDS:
        with open_binary_read(folder / "split" / "heldout" / f"{kind}.jsonl") as f:
            held.update(json.loads(line)["id"] for line in f if line.strip())
    found = []
    for arm_folder in arm_folders:
        ids = set()
        for part in sorted((arm_folder / "mix" / "data").glob("*.parquet")):
            ids.update(i.split("#rep")[0] for i in pq.read_table(part, columns=["id"]).column("id").to_pylist())
        found.append(len(ids & held))
    return found


def run_ablation(recipe: AblationRecipe, folder: Path, say: Callable[[str], None] = lambda _m: None) -> dict[str, Any]:
    """Run (or resume) every arm and seed of ``recipe`` in ``folder``; write and return ``ablation.json``."""
    if not recipe.curated.is_dir():
        raise AblationError(
            f"{recipe.curated}: no curated run there; `make run` writes one to out/curated, or pass --curated DIR "
            "(a `codemill curate` output folder)"
        )
    _pin_recipe(recipe, folder)
    say(f"split: held-out sets and the pool from {recipe.curated}")
    split = split_corpus(recipe.curated, folder / "split", recipe.heldout)
    same_as = _same_mixes(recipe)
    arm_folders = [folder / "arms" / same_as.get(arm.name, arm.name) for arm in recipe.arms]
    arms: dict[str, dict[str, Any]] = {}
    for arm, arm_folder in zip(recipe.arms, arm_folders, strict=True):
        if arm.name in same_as:
            arms[arm.name] = {**arms[same_as[arm.name]], "same_as": same_as[arm.name]}
            continue
        say(f"arm {arm.name}: mix and pack {recipe.budget:,} tokens")
        try:
            arms[arm.name] = build_arm(arm, recipe, folder / "split" / "pool", arm_folder)
        except Exception as error:  # a mix or pack error names the arm it belongs to
            raise AblationError(f"arm {arm.name}: {error}") from error
    vocab = _vocabulary(recipe, folder, arm_folders)
    training = recipe.training
    sets = []
    for kind in HELDOUT_KINDS:
        docs = heldout_documents(folder / "split", kind, recipe.heldout)
        if docs:
            sets.append(eval_set(kind, docs, vocab, training.seq_length, recipe.heldout.max_tokens_per_document))
    if not sets:
        raise AblationError(f"{recipe.curated}: no held-out document of any kind; raise the held-out shares")
    for arm, arm_folder in zip(recipe.arms, arm_folders, strict=True):
        stream = None
        for seed in training.seeds:
            path = folder / "runs" / arm.name / f"seed-{seed}.json"
            if path.exists():
                continue
            if arm.name in same_as:  # the same data, seed and model: the same run, so its result, not a rerun
                original = json.loads((folder / "runs" / same_as[arm.name] / path.name).read_text(encoding="utf-8"))
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_text(path, json.dumps({**original, "arm": arm.name, "same_as": same_as[arm.name]}))
                continue
            if stream is None:
                stream = vocab.map(arm_tokens(arm_folder))
            say(f"train {arm.name} seed {seed}: {recipe.steps} steps")
            result = train_run(stream, vocab.size, recipe, seed, sets)
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, json.dumps({"arm": arm.name, **result}, indent=2))
    leaks = dict(zip([a.name for a in recipe.arms], heldout_in_arms(folder, arm_folders), strict=True))
    summary = summarise(recipe, folder, split, arms, vocab, leaks)
    atomic_write_text(folder / "ablation.json", json.dumps(summary, indent=2))
    return summary


def _kind_of_arm(arm: ArmSpec) -> str:
    return "levels" if arm.min_level is not None else "ratios"


def summarise(
    recipe: AblationRecipe,
    folder: Path,
    split: dict[str, Any],
    arms: dict[str, dict[str, Any]],
    vocab: TrimmedVocab,
    leaks: dict[str, int],
) -> dict[str, Any]:
    """Each arm's scores over its seeds (mean, sd, 95% t-interval), by experiment, with the published trend."""
    rows: dict[str, list[dict[str, Any]]] = {"levels": [], "ratios": []}
    seconds = 0.0
    for arm in recipe.arms:
        runs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((folder / "runs" / arm.name).glob("*.json"))]
        seconds += sum(r["train_seconds"] + r["eval_seconds"] for r in runs)
        sets = sorted({k for r in runs for k in r["heldout"]})
        scores = {
            name: {
                "bpb": _spread([r["heldout"][name]["bpb"] for r in runs]),
                "loss": _spread([r["heldout"][name]["loss"] for r in runs]),
            }
            for name in sets
        }
        per_seed = {name: [r["heldout"][name]["bpb"] for r in runs] for name in sets}
        if sets:
            per_seed["mean"] = [float(np.mean([r["heldout"][n]["bpb"] for n in sets])) for r in runs]
            scores["mean"] = {"bpb": _spread(per_seed["mean"])}
        rows[_kind_of_arm(arm)].append(
            {
                "arm": arm.name,
                "spec": arm.model_dump(exclude_none=True),
                "data": arms[arm.name],
                "seeds": [r["seed"] for r in runs],
                "train_loss": _spread([r["final_train_loss"] for r in runs]) if runs else None,
                "epochs": runs[0]["epochs"] if runs else None,
                "heldout": scores,
                "bpb_per_seed": per_seed,
                "heldout_in_arm": leaks.get(arm.name, 0),
            }
        )
    first = next((json.loads(p.read_text(encoding="utf-8")) for p in sorted((folder / "runs").rglob("*.json"))), {})
    return {
        "name": recipe.name,
        "recipe": recipe.model_dump(mode="json"),
        "model": {**recipe.model.model_dump(), "parameters": first.get("parameters"), "vocab_size": vocab.size},
        "steps": recipe.steps,
        "tokens_trained_per_run": recipe.steps * recipe.training.batch_size * recipe.training.seq_length,
        "split": split,
        "experiments": {k: v for k, v in rows.items() if v},
        "verdicts": verdicts(rows),
        "published": PUBLISHED,
        "seconds": round(seconds, 1),
    }


def _paired(a: dict[str, Any], b: dict[str, Any], name: str) -> dict[str, float] | None:
    """``a - b`` in bits per byte on set ``name``, seed by seed (the seeds both arms ran)."""
    pa = dict(zip(a["seeds"], a["bpb_per_seed"].get(name, []), strict=False))
    pb = dict(zip(b["seeds"], b["bpb_per_seed"].get(name, []), strict=False))
    common = sorted(set(pa) & set(pb))
    return _spread([pa[s] - pb[s] for s in common]) if common else None


def _differs(d: dict[str, float]) -> str:
    if d["n"] < 2 or math.isnan(d["ci95"]):
        return "one seed: no interval"
    return "outside the interval of no difference" if abs(d["mean"]) > d["ci95"] else "within seed noise"


def verdicts(rows: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Plain sentences: where the miniature agrees with the report's trend and where it does not."""
    out: list[str] = []
    levels = sorted(rows.get("levels", []), key=lambda r: r["spec"]["min_level"])
    if len(levels) > 1:
        widest, deepest = levels[0], levels[-1]
        for name in deepest["bpb_per_seed"]:
            means = [r["heldout"][name]["bpb"]["mean"] for r in levels if name in r["heldout"]]
            falls = all(b < a for a, b in pairwise(means))
            d = _paired(deepest, widest, name)
            trend = "falls at every level, as the report's scores rise" if falls else "does not fall at every level"
            text = f"levels, held-out {name}: bpb {' → '.join(f'{m:.4f}' for m in means)} {trend}"
            if d:
                text += f"; deepest minus widest arm {d['mean']:+.4f} ± {d['ci95']:.4f} ({_differs(d)})"
            out.append(text)
    ratios = rows.get("ratios", [])
    if len(ratios) > 1:
        for name in ratios[0]["bpb_per_seed"]:
            best = min(ratios, key=lambda r: r["heldout"].get(name, {}).get("bpb", {}).get("mean", math.inf))
            out.append(f"ratios, held-out {name}: lowest bpb with {best['arm']}")
        chosen = next((r for r in ratios if r["spec"].get("ratio") == {"code": 7.0, "text": 2.0, "math": 1.0}), None)
        code_only = next((r for r in ratios if not sum(v for k, v in r["spec"]["ratio"].items() if k != "code")), None)
        if chosen and code_only and "mean" in chosen["bpb_per_seed"]:
            d = _paired(chosen, code_only, "mean")
            if d:
                out.append(
                    f"ratios: {chosen['arm']} minus {code_only['arm']} on the mean of the held-out sets "
                    f"{d['mean']:+.4f} ± {d['ci95']:.4f} bpb ({_differs(d)}; the report found 7:2:1 best on average)"
                )
    return out
