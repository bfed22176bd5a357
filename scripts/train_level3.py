"""Train ladder level 3: the rubric judge's scores on a sample of code, distilled into the signal model.

1. A seeded sample (by id hash) of ``--sample`` code documents of the curated output of ``make run`` (levels 0-2
   passed), leaving out every text of the judge-free validation set (``bench/level3_eval.py``'s
   ``validation_paths``: by text hash), so the set stays held out.
2. The rubric judge (:mod:`codemill.curate.classify.judge`, Qwen2.5-Coder-1.5B-Instruct embedded by default)
   scores each: the expected 0-5 digit after one forward pass. Annotations are cached in
   ``--work/judged.jsonl``: a killed run resumes; files/s is reported.
3. The signal model (:mod:`codemill.curate.classify.level3`) is fitted to score / 5 on 80% (by id hash) and
   checked on the other 20%: Spearman between its P(good) and the judge's score.
4. Both the judge's sample and the model are scored on the validation set by ``bench/level3_eval.py --model
   <the new model> --judge ...``: the number that counts is that AUC, not agreement with the teacher.

    .venv/bin/python scripts/train_level3.py [--input out/curated] [--sample 400] [--judge qwen2.5-coder-1.5b-instruct]

Writes ``src/codemill/curate/filters/models/level3.signals`` and ``bench/results/level3.json``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from collections import Counter
from pathlib import Path
from types import ModuleType

import numpy as np
import xxhash

from codemill.curate.classify.annotate import sample_documents
from codemill.curate.classify.judge import RUBRIC_VERSION, annotate_with_judge
from codemill.curate.classify.level3 import fit_signal_model
from codemill.curate.pack.sources import iter_documents
from codemill.llm.choices import ChoiceScorer

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "src/codemill/curate/filters/models/level3.signals"
RESULTS = ROOT / "bench/results/level3.json"
SEED = 20261207


def _validation() -> ModuleType:
    """``bench/level3_eval.py``, the one place that knows the validation set."""
    sys.path.insert(0, str(ROOT / "bench"))
    return importlib.import_module("level3_eval")


def held_out(doc_id: str) -> bool:
    return xxhash.xxh64_intdigest(doc_id.encode("utf-8"), seed=SEED) % 5 == 0


def spearman(a: list[float], b: list[float]) -> float | None:
    if len(a) < 3:
        return None
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return round(float(np.corrcoef(ra, rb)[0, 1]), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--input", type=Path, default=ROOT / "out/curated", help="curated output (make run's)")
    parser.add_argument("--sample", type=int, default=400)
    parser.add_argument("--judge", default="qwen2.5-coder-1.5b-instruct", help="embedded model (shipped name, GGUF)")
    parser.add_argument("--work", type=Path, default=ROOT / "bench/.work/level3", help="annotations here")
    parser.add_argument("--l2", type=float, default=1.0)
    args = parser.parse_args()
    if not args.input.exists():
        raise SystemExit(f"{args.input}: no such folder; run `make run` first or give --input")

    validation = _validation()
    held = set(validation.validation_paths()["sha1"])
    pool = (d for d in iter_documents([args.input]) if validation.sha1(d.text) not in held)
    documents = sample_documents(pool, args.sample, SEED)
    judge = ChoiceScorer(args.judge)
    started = time.perf_counter()
    try:
        rows = annotate_with_judge(
            documents,
            judge,
            args.work / "judged.jsonl",
            on_done=lambda n, s: print(f"\rjudged {n} new, {s:.1f} s the last", end="", flush=True),
        )
    finally:
        judge.close()
    print()
    seconds = sum(r["seconds"] for r in rows)
    train = [r for r in rows if not held_out(r["id"])]
    test = [r for r in rows if held_out(r["id"])]
    model = fit_signal_model(
        [r["text"] for r in train],
        [r["score"] / 5 for r in train],
        args.l2,
        {"teacher": judge.identity, "rubric": RUBRIC_VERSION, "input": "make run's curated output, code"},
    )
    model.save(MODEL)
    predicted = model.probabilities([r["text"] for r in test])
    result = {
        "model": str(MODEL.relative_to(ROOT)),
        "judge": args.judge,
        "rubric": RUBRIC_VERSION,
        "python": platform.python_version(),
        "sample": len(rows),
        "languages": dict(Counter(r["lang"] for r in rows).most_common()),
        "judge_seconds_total": round(seconds, 1),
        "files_per_second": round(len(rows) / seconds, 4) if seconds else None,
        "wall_seconds_this_run": round(time.perf_counter() - started, 1),
        "score_histogram": dict(sorted(Counter(round(r["score"]) for r in rows).items())),
        "train": len(train),
        "held_out": len(test),
        "held_out_spearman_p_good_vs_judge": spearman(predicted, [r["score"] for r in test]),
        "weights": dict(zip(model.signals, (round(w, 4) for w in model.weights), strict=True)),
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"now: .venv/bin/python bench/level3_eval.py --model lm_quality --model {MODEL.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
