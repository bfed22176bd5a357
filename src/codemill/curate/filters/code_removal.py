"""The ``code_removal`` step: take the code segments out of prose documents, so text data holds no code.

Qwen2.5-Coder removed "all code segments" from its general text data to keep text and code independent, without
saying how. Here a text document loses, in this order: fenced blocks (Markdown ``` and ~~~), reST literal
blocks (after a line ending in ``::`` and ``.. code-block::`` directives), Markdown indented blocks (after a
blank line), and runs of two or more unmarked lines that a line scorer judges to be code. What was removed is
counted in ``meta["code_removed"]`` (segments and characters); a document left with almost no prose is
rejected as ``all_code``. Precision and recall at line level are measured by ``bench/code_removal_bench.py``:
on 211 real Markdown documents, 0.98 / 1.00 with their fences, but 0.93 / 0.29 once the fences are deleted —
the line scorer is a conservative heuristic. So by default (``detector: model``) unmarked code is found by the
shipped line classifier of :mod:`codemill.curate.filters.code_lines`, decided in spans (held out, fences deleted:
precision 0.922, recall 0.919 over Markdown, reST, man pages, HTML text, POD and Q&A; ``bench/code_lines_bench.py``);
``detector: rules`` keeps the line score.
"""

from __future__ import annotations

import itertools
import re
from typing import Literal

from pydantic import Field

from codemill.curate.filters.base import Fail, LadderFilter
from codemill.curate.filters.code_lines import CodeLineDetector
from codemill.data.schema import Document
from codemill.pipeline.step import Params

FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
RST_DIRECTIVE = re.compile(r"^\s*\.\.\s+(code-block|code|sourcecode|literalinclude)::")
CODE_START = re.compile(
    r"^\s*(def |class |import |from \S+ import |return\b|if .*:\s*$|for .*:\s*$|while .*:\s*$|elif |else:|"
    r"try:|except\b|function\b|var |let |const |public |private |protected |static |#include|package |"
    r"fn |func |impl |use |"
    r"@\w+|\$ |>>> |\.\.\. |[A-Za-z_][\w.]*\s*=\s*\S|[A-Za-z_][\w.]*\(.*\)\s*;?\s*$|[{}\])]+[;,]?\s*$)"
)
CODE_END = re.compile(r"[;{}\[\](),:]\s*$")


EXAMPLE_CHARS = 300
"""How much of the first removed span (and of the prose line before it) a document keeps in its meta."""


class CodeRemovalParams(Params):
    kinds: list[str] = Field(["text"], description="kinds of document to clean")
    unmarked: bool = Field(True, description="also remove unmarked runs of code-like lines")
    detector: Literal["model", "rules"] = Field(
        "model",
        description="what finds unmarked code: model, the shipped line classifier decided in spans "
        "(code_lines.py: P 0.922 / R 0.919 on held-out unfenced text); rules, the line score below",
    )
    min_run: int = Field(2, ge=1, description="unmarked code-like lines needed in a row")
    threshold: float = Field(0.6, gt=0, le=1, description="line score from which an unmarked line is code-like")
    min_prose_chars: int = Field(50, ge=0, description="fewer characters left: the document is rejected (all_code)")


def code_line_score(line: str) -> float:
    """How much a line looks like code, 0 to 1: statements, assignments, calls, brackets and symbol density."""
    stripped = line.strip()
    if not stripped:
        return 0.0
    score = 0.0
    if CODE_START.match(line):
        score += 0.6
    if CODE_END.search(stripped):
        score += 0.25
    symbols = sum(1 for c in stripped if c in "=(){}[];<>+-*/%&|!:.,\"'_#$@")
    score += min(0.4, symbols / max(1, len(stripped)))
    words = stripped.split()
    if len(words) >= 8 and stripped[-1] in ".?!" and not CODE_START.match(line):
        score -= 0.6  # a sentence
    return max(0.0, min(1.0, score))


def code_lines(lines: list[str], unmarked: bool = True, min_run: int = 2, threshold: float = 0.6) -> list[bool]:
    """Which lines of a prose document are code (marked blocks, and unmarked runs the scorer is sure of)."""
    out = [False] * len(lines)
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = FENCE.match(line)
        if fence:  # fenced block: up to the closing fence of the same kind
            j = i + 1
            while j < len(lines) and not lines[j].lstrip().startswith(fence.group(1)[0] * 3):
                j += 1
            for k in range(i, min(j + 1, len(lines))):
                out[k] = True
            i = j + 1
            continue
        if RST_DIRECTIVE.match(line) or (line.rstrip().endswith("::") and not line.strip().startswith("..")):
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            start = j
            while j < len(lines) and (not lines[j].strip() or lines[j][:1] in " \t"):
                j += 1
            if RST_DIRECTIVE.match(line):
                out[i] = True
            for k in range(start, j):
                out[k] = bool(lines[k].strip())
            i = max(j, i + 1)
            continue
        if line.startswith(("    ", "\t")) and i > 0 and not lines[i - 1].strip() and line.strip():
            j = i
            while j < len(lines) and (lines[j].startswith(("    ", "\t")) or not lines[j].strip()):
                j += 1
            indented = [k for k in range(i, j) if lines[k].strip()]
            if not any(lines[k].lstrip().startswith(("- ", "* ", "+ ")) for k in indented):  # not a nested list
                for k in indented:
                    out[k] = True
                i = j
                continue
        i += 1
    if unmarked:
        scores = [code_line_score(line) if not out[k] else 0.0 for k, line in enumerate(lines)]
        run: list[int] = []
        for k, s in enumerate([*scores, 0.0]):
            if s >= threshold:
                run.append(k)
                continue
            if len(run) >= min_run:
                for r in run:
                    out[r] = True
            run = []
    return out


class CodeRemoval(LadderFilter[CodeRemovalParams]):
    """Removes code segments from text documents (of ``kinds``) and records what it took; not a ladder level."""

    name = "code_removal"

    _detector: CodeLineDetector | None = None

    def _unmarked_by_model(self, lines: list[str]) -> list[bool]:
        if self._detector is None:
            self._detector = CodeLineDetector()  # loaded once per worker process
        return self._detector.code_lines(lines)

    def judge(self, doc: Document) -> Fail | None:
        p = self.params
        lines = doc.text.splitlines(keepends=True)
        bare = [line.rstrip("\n") for line in lines]
        by_rules = p.unmarked and p.detector == "rules"
        marks = code_lines(bare, by_rules, p.min_run, p.threshold)
        if p.unmarked and p.detector == "model":
            marks = [a or b for a, b in zip(marks, self._unmarked_by_model(bare), strict=True)]
        if not any(marks):
            return None
        segments = sum(1 for k, m in enumerate(marks) if m and (k == 0 or not marks[k - 1]))
        kept = "".join(line for line, m in zip(lines, marks, strict=True) if not m)
        removed = len(doc.text) - len(kept)
        first = next(k for k, m in enumerate(marks) if m)
        span = list(itertools.takewhile(lambda k: marks[k], range(first, len(marks))))
        example = "".join(lines[k] for k in span if lines[k].strip())[:EXAMPLE_CHARS]
        before = next((lines[k].strip() for k in range(first - 1, -1, -1) if lines[k].strip()), "")[:EXAMPLE_CHARS]
        doc.meta["code_removed"] = {"segments": segments, "chars": removed, "example": example, "before": before}
        doc.text = kept
        if len(kept.strip()) < p.min_prose_chars:
            return Fail(
                "all_code", f"{removed:,} of {removed + len(kept):,} characters were code ({segments} segments)"
            )
        return None
