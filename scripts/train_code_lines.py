"""Train the line-level code detector (``models/code_lines.ftz``) from real documents on this machine.

Labels come from documents whose code was marked (Markdown fences, reST literal blocks, man pages' examples,
HTML ``<pre>``, POD verbatim paragraphs), from code files read as text (comments and docstrings are prose) and
from text with no code (licences, changelogs, release notes); the marks are taken off before the model sees
them (:mod:`codemill.curate.classify.code_line_data`). Split by group (package, page family, book; ``split``): groups
holding about a quarter of each kind's documents, and every FAQ, are held out for ``bench/code_lines_bench.py``;
groups holding another 15% are a development set on which the span options (bias, switch costs) are tuned, so
the held-out numbers are not tuned on.
One example per non-blank line, balanced per kind (at most ``LINES_PER_KIND`` lines of each).

    .venv/bin/python scripts/train_code_lines.py [--work DIR] [--rebuild]

Writes ``src/codemill/curate/filters/models/code_lines.ftz`` and ``code_lines.json`` (the tuned span options)
and ``bench/results/code_lines_train.json``. The labelled documents are cached in ``--work``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import random
import tempfile
import time
from collections import Counter
from pathlib import Path

from codemill.curate.classify.code_line_data import (
    CODE,
    PROSE,
    LabelledDoc,
    line_scores,
    load_documents,
    part_of,
    split,
)
from codemill.curate.classify.model import _fasttext
from codemill.curate.filters.code_lines import CodeLineDetector, SpanOptions, decide_spans, line_features

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "src/codemill/curate/filters/models"
RESULTS = ROOT / "bench/results/code_lines_train.json"
SEED = 20261203
LINES_PER_KIND = 60_000
TARGET_PRECISION = 0.95
FASTTEXT = {"epoch": 8, "lr": 0.3, "wordNgrams": 2, "dim": 16, "bucket": 200_000, "minCount": 2, "minn": 0,
            "maxn": 0}  # fmt: skip
CUTOFF = 60_000  # features kept by quantisation
GRID = {
    "bias": [-4.0, -3.0, -2.5, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0],
    "switch": [1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 10.0],
    "switch_blank": [0.0, 0.5, 1.0, 2.0, 3.0, 4.0],
}


def examples(docs: list[LabelledDoc], seed: int) -> list[str]:
    """fastText lines ``__label__code <features>``: every counted line, at most ``LINES_PER_KIND`` per kind."""
    per_kind: dict[str, list[str]] = {}
    for doc in docs:
        for feats, label in zip(line_features(doc.lines), doc.labels, strict=True):
            if feats and label in (CODE, PROSE):
                per_kind.setdefault(doc.kind, []).append(f"__label__{label} {feats}")
    rows: list[str] = []
    for kind in sorted(per_kind):
        got = per_kind[kind]
        rows += got if len(got) <= LINES_PER_KIND else random.Random(f"{seed}:{kind}").sample(got, LINES_PER_KIND)
    random.Random(seed).shuffle(rows)
    return rows


def train(rows: list[str], output: Path, seed: int) -> Path:
    """A quantised fastText model from the rows, deterministic (one thread, fixed seed)."""
    ft = _fasttext()
    with tempfile.TemporaryDirectory(prefix="codemill-code-lines-") as tmp:
        data = Path(tmp) / "train.txt"
        data.write_text("\n".join(rows) + "\n", encoding="utf-8")
        model = ft.train_supervised(input=str(data), seed=seed, thread=1, verbose=0, **FASTTEXT)
        model.quantize(input=str(data), retrain=False, cutoff=CUTOFF, qnorm=True, verbose=0)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = output.with_name(output.name + ".tmp")
    model.save_model(str(tmp_out))
    tmp_out.replace(output)
    return output


def tune(docs: list[LabelledDoc], detector: CodeLineDetector) -> tuple[SpanOptions, dict]:
    """The span options with the highest recall at precision >= ``TARGET_PRECISION`` on the development set
    (the most precise when none reaches it), and the precision/recall of every option tried."""
    probs = [detector.probabilities(d.lines) for d in docs]
    tried = []
    for bias, switch, blank in itertools.product(GRID["bias"], GRID["switch"], GRID["switch_blank"]):
        options = SpanOptions(bias=bias, switch=switch, switch_blank=blank)
        predicted = [decide_spans(p, options) for p in probs]
        score = line_scores((d.lines, d.labels, pr) for d, pr in zip(docs, predicted, strict=True))
        tried.append((options, score))
    reaching = [t for t in tried if t[1]["precision"] >= TARGET_PRECISION]
    best = (
        max(reaching, key=lambda t: (t[1]["recall"], t[1]["precision"]))
        if reaching
        else max(tried, key=lambda t: (t[1]["precision"], t[1]["recall"]))
    )
    return best[0], {"chosen": best[1], "tried": len(tried), "reaching_target": len(reaching)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "codemill-code-lines")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the labelled documents' cache")
    args = parser.parse_args()
    start = time.perf_counter()
    docs = load_documents(args.work / "labelled.jsonl.gz", args.rebuild)
    built = time.perf_counter() - start
    parts = split(docs)
    test = [d for d in docs if part_of(d, parts) == "test"]
    dev_docs = [d for d in docs if part_of(d, parts) == "dev"]
    train_docs = [d for d in docs if part_of(d, parts) == "train"]
    rows = examples(train_docs, SEED)
    t0 = time.perf_counter()
    model = train(rows, MODELS / "code_lines.ftz", SEED % 2**31)
    trained = time.perf_counter() - t0
    detector = CodeLineDetector(model, SpanOptions())
    options, tuning = tune([d for d in dev_docs if d.kind != "source"], detector)
    meta = {
        "span_options": {"bias": options.bias, "switch": options.switch, "switch_blank": options.switch_blank},
        "tuned_on": "development groups (not held out), precision target " + str(TARGET_PRECISION),
    }
    (MODELS / "code_lines.json").write_text(json.dumps(meta, indent=2) + "\n")
    record = {
        "fasttext": {**FASTTEXT, "cutoff": CUTOFF, "seed": SEED % 2**31},
        "python": platform.python_version(),
        "model_bytes": model.stat().st_size,
        "documents": {
            name: dict(sorted(Counter(d.kind for d in part).items()))
            for name, part in (("train", train_docs), ("dev", dev_docs), ("held_out", test))
        },
        "train_lines": dict(Counter(r.split(" ", 1)[0].removeprefix("__label__") for r in rows)),
        "span_options": meta["span_options"],
        "dev": tuning,
        "seconds": {"build_documents": round(built, 1), "train": round(trained, 1)},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
