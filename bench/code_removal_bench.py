"""Code removal from prose, measured at line level on real documentation with fenced code as ground truth.

Documents: the Markdown READMEs and docs that the packages of this virtual environment and Debian ship
(``*.md`` and wheel ``METADATA`` files with at least one fenced block). Ground truth: the lines inside fences are
code, the others prose (fence lines themselves are left out of the counts). Two runs:

* as written: the fences are there (the common case for documentation);
* unmarked: the fence lines are deleted first, so only the line scorer can find the code.

Usage: ``python bench/code_removal_bench.py``. Results: ``bench/results/code_removal.json``.
"""

from __future__ import annotations

import json
import sysconfig
import time
from pathlib import Path

from codemill.curate.filters.code_removal import FENCE, code_lines

HERE = Path(__file__).parent


def documents() -> list[list[str]]:
    site = Path(sysconfig.get_paths()["purelib"])
    paths = sorted({*site.rglob("*.md"), *site.rglob("METADATA"), *Path("/usr/share/doc").rglob("*.md")})
    docs = []
    for p in paths:
        try:
            lines = p.read_text(errors="replace").splitlines()
        except OSError:
            continue
        if sum(1 for line in lines if FENCE.match(line)) >= 2:
            docs.append(lines)
    return docs


def truth(lines: list[str]) -> tuple[list[str], list[bool]]:
    """Lines without their fence lines, and whether each is code."""
    out, code, inside = [], [], False
    for line in lines:
        if FENCE.match(line):
            inside = not inside
            continue
        out.append(line)
        code.append(inside)
    return out, code


def score(pairs: list[tuple[list[bool], list[bool]]]) -> dict[str, float]:
    flat = [(a, b) for t, p in pairs for a, b in zip(t, p, strict=True)]
    tp = sum(1 for a, b in flat if a and b)
    fp = sum(1 for a, b in flat if b and not a)
    fn = sum(1 for a, b in flat if a and not b)
    return {
        "precision": round(tp / max(1, tp + fp), 4),
        "recall": round(tp / max(1, tp + fn), 4),
        "code_lines": tp + fn,
        "predicted": tp + fp,
    }


def main() -> None:
    docs = documents()
    t0 = time.perf_counter()
    fenced = []
    for lines in docs:
        _, code = truth(lines)
        marks = code_lines(lines)
        fenced.append((code, [m for line, m in zip(lines, marks, strict=True) if not FENCE.match(line)]))
    unmarked = []
    for lines in docs:
        bare, code = truth(lines)
        unmarked.append((code, code_lines(bare)))
    seconds = time.perf_counter() - t0
    lines_total = sum(len(d) for d in docs)
    record = {
        "benchmark": "code_removal",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "documents": len(docs),
        "lines": lines_total,
        "as_written": score(fenced),
        "unmarked": score(unmarked),
        "lines_per_second": round(2 * lines_total / seconds),
    }
    print(json.dumps(record, indent=2))
    (HERE / "results" / "code_removal.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
