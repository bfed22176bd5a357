"""Unmarked code in prose: the trained line detector against the ``code_removal`` step's rule, per kind of text.

Documents: the held-out groups of ``scripts/train_code_lines.py`` (never trained or tuned on): Markdown docs,
reST, man pages, HTML documentation, Perl POD, question-and-answer text (every FAQ, whatever its format) and
text without code (licences, Debian changelogs, Git's release notes as sent to its mailing list). The code marks
are taken off first (fence lines deleted, ``::`` and directives removed, code blocks dedented), so only the
content tells code from prose. Counted: non-blank lines whose label is code or prose (output-only blocks,
command synopses and indented Markdown blocks are left out). Reported per kind and pooled: line precision and
recall of code, prose lines lost per 1,000 lines; the precision/recall curve over the detector's bias; the
lines alone (no span decision) as an ablation; and speed, text documents per second on one core for both.

    .venv/bin/python bench/code_lines_bench.py [--work /tmp/codemill-code-lines]

Results: ``bench/results/code_lines.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from codemill.curate.classify.code_line_data import CODE, LabelledDoc, line_scores, load_documents, part_of, split
from codemill.curate.filters.code_lines import CodeLineDetector, SpanOptions, decide_spans
from codemill.curate.filters.code_removal import code_lines as rule_code_lines

HERE = Path(__file__).parent
TEXT_KINDS = ("markdown", "rest", "man", "html", "pod", "qa", "prose")
CURVE_BIAS = [-4.0, -3.0, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0]


def kind_of(doc: LabelledDoc) -> str:
    return "qa" if doc.qa else doc.kind


def per_kind(docs: list[LabelledDoc], predicted: list[list[bool]]) -> dict[str, dict]:
    """Scores for each kind, for the text kinds pooled, and for code files read as text."""
    out = {}
    for kind in (*TEXT_KINDS, "source"):
        out[kind] = line_scores(
            (d.lines, d.labels, p) for d, p in zip(docs, predicted, strict=True) if kind_of(d) == kind
        )
    out["all_text"] = line_scores(
        (d.lines, d.labels, p) for d, p in zip(docs, predicted, strict=True) if kind_of(d) != "source"
    )
    return out


def docs_per_second(texts: Sequence[str], mark: Callable[[list[str]], list[bool]], repeats: int = 3) -> float:
    """Documents per second through ``mark`` (split into lines, as the step does), on this one process."""
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        for text in texts:
            mark(text.splitlines())
        times.append(time.process_time() - t0)
    return round(len(texts) / statistics.median(times), 1)


def examples(docs: list[LabelledDoc], predicted: list[list[bool]], n: int = 6) -> list[dict]:
    """A few removed spans and the prose kept around them, from different kinds."""
    out, seen = [], set()
    for doc, marks in zip(docs, predicted, strict=True):
        kind = kind_of(doc)
        if kind in seen or not any(marks):
            continue
        start = marks.index(True)
        end = start
        while end < len(marks) and marks[end]:
            end += 1
        before = [x for x in doc.lines[max(0, start - 3) : start] if x.strip()]
        out.append({"kind": kind, "document": doc.name, "kept_before": before[-2:],
                    "removed": doc.lines[start:min(end, start + 8)], "removed_lines": end - start,
                    "kept_after": [x for x in doc.lines[end:end + 3] if x.strip()][:2]})  # fmt: skip
        seen.add(kind)
        if len(out) >= n:
            break
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "codemill-code-lines")
    args = parser.parse_args()
    everything = load_documents(args.work / "labelled.jsonl.gz")
    parts = split(everything)
    docs = [d for d in everything if part_of(d, parts) == "test"]
    detector = CodeLineDetector()
    probs = [detector.probabilities(d.lines) for d in docs]
    detected = [decide_spans(p, detector.options) for p in probs]
    lines_only = [[p is not None and p >= 0.5 for p in ps] for ps in probs]
    rule = [rule_code_lines(d.lines) for d in docs]
    curve = []
    for bias in CURVE_BIAS:
        options = SpanOptions(bias=bias, switch=detector.options.switch, switch_blank=detector.options.switch_blank)
        score = line_scores((d.lines, d.labels, decide_spans(p, options)) for d, p in zip(docs, probs, strict=True)
                            if kind_of(d) != "source")  # fmt: skip
        curve.append({"bias": bias, **score})
    texts = ["\n".join(d.lines) for d in docs if kind_of(d) != "source"]
    speed_detector = docs_per_second(texts, detector.code_lines)
    speed_rule = docs_per_second(texts, rule_code_lines)
    record = {
        "benchmark": "code_lines",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": "2 cores shared with other developers' jobs; speed is CPU time of one process (one core)",
        "held_out_documents": {k: sum(1 for d in docs if kind_of(d) == k) for k in (*TEXT_KINDS, "source")},
        "code_lines_truth": sum(
            1 for d in docs for x, lab in zip(d.lines, d.labels, strict=True) if x.strip() and lab == CODE
        ),
        "span_options": detector.options.__dict__,
        "detector": per_kind(docs, detected),
        "detector_lines_only": per_kind(docs, lines_only),
        "rule (code_removal today)": per_kind(docs, rule),
        "curve_all_text": curve,
        "speed_text_docs_per_second_one_core": {
            "detector": speed_detector,
            "rule (code_removal today)": speed_rule,
            "ratio_detector_to_rule": round(speed_detector / speed_rule, 3),
            "mean_lines_per_document": round(statistics.mean(len(t.splitlines()) for t in texts), 1),
        },
        "examples": examples(docs, detected),
    }
    print(json.dumps({k: v for k, v in record.items() if k != "examples"}, indent=2))
    (HERE / "results" / "code_lines.json").write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
