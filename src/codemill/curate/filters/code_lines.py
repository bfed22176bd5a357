"""Which lines of a prose document are code when nothing marks them: a line classifier, then a span decision.

Qwen2.5-Coder took "all code segments" out of its general text data. Fenced and indented blocks are easy
(``code_removal``); text extracted from web pages, forums and PDFs has its code unmarked, and a rule of thumb
finds little of it. This module finds it in two steps:

1. **Each line is scored** by a small fastText model (``models/code_lines.ftz``, trained by
   ``scripts/train_code_lines.py`` on real documents whose code was marked, with the marks taken off). It reads
   the line's own tokens (words, identifiers, every punctuation mark, numbers folded), the line's shape
   (indent, first and last character, word count, share of letters) and the shapes of the neighbouring lines
   (the previous and next non-blank lines, and whether a blank line separates them).
2. **Lines are decided in spans** by a two-state Viterbi pass over the non-blank lines: a switch between prose
   and code costs ``switch`` (less, ``switch_blank``, across a blank line), and a line is code when
   ``log P(code) - log P(prose) + bias`` pays for it. So one sentence that mentions ``foo()`` stays prose,
   while a function of a dozen lines goes as a whole; blank lines inside a code span go with it.

Precision and recall per kind of text are measured by ``bench/code_lines_bench.py``.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["MODEL", "CodeLineDetector", "SpanOptions", "decide_spans", "line_features"]

MODEL = Path(__file__).parent / "models" / "code_lines.ftz"
TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+|[^\sA-Za-z0-9_]")
CAMEL = re.compile(r"[a-z][A-Z]")
MAX_TOKENS = 40  # a line's first tokens (and its last few) are enough to tell


def _bucket(n: int, edges: Sequence[int]) -> int:
    return next((i for i, edge in enumerate(edges) if n <= edge), len(edges))


def _char_class(c: str) -> str:
    if c.isalpha():
        return "A" if c.isupper() else "a"
    return "9" if c.isdigit() else c


def _shape(line: str) -> list[str]:
    """A line's layout as a few tokens: indent, first and last character class, words, share of letters."""
    s = line.strip()
    indent = len(line) - len(line.lstrip())
    words = s.split()
    letters = sum(1 for c in s if c.isalpha() or c == " ") / len(s)
    sentence = len(words) >= 6 and s[-1] in ".?!:" and s[0].isupper()
    return [
        f"I{_bucket(indent, (0, 3, 7))}",
        f"S{_char_class(s[0])}",
        f"E{_char_class(s[-1])}",
        f"W{_bucket(len(words), (1, 2, 3, 6, 12))}",
        f"L{min(9, int(letters * 10))}",
        *(["Tsent"] if sentence else []),
    ]


def _tokens(line: str) -> list[str]:
    """The line's own tokens: identifiers lower-cased with their form (snake, camel, upper), numbers folded."""
    found = TOKEN.findall(line)
    if len(found) > MAX_TOKENS:
        found = found[: MAX_TOKENS - 4] + found[-4:]
    out = []
    for t in found:
        if t[0].isdigit():
            out.append("0")
            continue
        out.append(t.lower())
        if t[0].isalpha() or t[0] == "_":
            if "_" in t.strip("_"):
                out.append("Fsnake")
            elif CAMEL.search(t):
                out.append("Fcamel")
            elif len(t) > 1 and t.isupper():
                out.append("Fupper")
    return out


def line_features(lines: Sequence[str]) -> list[str]:
    """The model's input for each line (empty for blank lines): own tokens, own shape, neighbours' shapes."""
    nonblank = [k for k, line in enumerate(lines) if line.strip()]
    shapes = {k: _shape(lines[k]) for k in nonblank}
    out = [""] * len(lines)
    for pos, k in enumerate(nonblank):
        parts = [*_tokens(lines[k]), *shapes[k]]
        for name, at in (("p", pos - 1), ("n", pos + 1)):
            if 0 <= at < len(nonblank):
                j = nonblank[at]
                parts += [name + x for x in shapes[j]]
                first = TOKEN.match(lines[j].lstrip())
                parts.append(f"{name}T{first.group(0).lower() if first else '?'}")
                if abs(j - k) > 1:
                    parts.append(f"{name}blank")
            else:
                parts.append(f"{name}none")
        for name, at in (("pp", pos - 2), ("nn", pos + 2)):
            if 0 <= at < len(nonblank):
                parts += [name + x for x in shapes[nonblank[at]][:3]]
        out[k] = " ".join(parts)
    return out


@dataclass(frozen=True)
class SpanOptions:
    """The span decision: log-odds ``bias`` toward code, and the cost of switching between prose and code."""

    bias: float = 0.0
    switch: float = 2.0
    switch_blank: float = 1.0
    floor: float = 1e-4  # probabilities are clipped to [floor, 1 - floor]


def decide_spans(probs: Sequence[float | None], options: SpanOptions = SpanOptions()) -> list[bool]:
    """Code or not for each line, given P(code) for the non-blank lines (None for blank lines).

    Viterbi over the non-blank lines with two states; blank lines between two code lines are code too."""
    idx = [k for k, p in enumerate(probs) if p is not None]
    out = [False] * len(probs)
    if not idx:
        return out
    lo, hi = options.floor, 1 - options.floor

    def emit(p: float) -> tuple[float, float]:
        p = min(hi, max(lo, p))
        return math.log(1 - p), math.log(p) + options.bias

    prose, code = emit(probs[idx[0]])  # type: ignore[arg-type]
    back: list[tuple[int, int]] = []
    for prev, k in itertools.pairwise(idx):
        cost = options.switch_blank if k - prev > 1 else options.switch
        e_prose, e_code = emit(probs[k])  # type: ignore[arg-type]
        from_prose = (prose, 0) if prose >= code - cost else (code - cost, 1)
        from_code = (code, 1) if code >= prose - cost else (prose - cost, 0)
        back.append((from_prose[1], from_code[1]))
        prose, code = from_prose[0] + e_prose, from_code[0] + e_code
    state = 1 if code > prose else 0
    states = [state]
    for pointers in reversed(back):
        state = pointers[state]
        states.append(state)
    states.reverse()
    for k, s in zip(idx, states, strict=True):
        out[k] = bool(s)
    for a, b in itertools.pairwise(idx):
        if out[a] and out[b]:
            for k in range(a + 1, b):
                out[k] = True
    return out


class CodeLineDetector:
    """The shipped (or a given) line model with its span options: :meth:`code_lines` marks a document's code."""

    def __init__(self, model: str | Path = MODEL, options: SpanOptions | None = None) -> None:
        from codemill.curate.classify.model import Classifier, ClassifierError, resolve_model

        self.path = resolve_model(model)
        try:
            self.model: Any = Classifier(self.path).model
        except ClassifierError:
            raise
        self.options = options or SpanOptions(**_shipped_options(self.path))

    def probabilities(self, lines: Sequence[str]) -> list[float | None]:
        """P(code) of each non-blank line (None for blank lines)."""
        features = line_features(lines)
        asked = [f for f in features if f]
        if not asked:
            return [None] * len(lines)
        names, probs = self.model.predict(asked, k=2, threshold=0.0)
        scores = iter(
            next((float(p) for n, p in zip(ns, ps, strict=True) if n == "__label__code"), 0.0)
            for ns, ps in zip(names, probs, strict=True)
        )
        return [next(scores) if f else None for f in features]

    def code_lines(self, lines: Sequence[str]) -> list[bool]:
        """Which lines are code (decided in spans)."""
        return decide_spans(self.probabilities(lines), self.options)

    def __getstate__(self) -> dict[str, Any]:  # the fastText model does not pickle: reloaded after unpickling
        return {"path": self.path, "options": self.options}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], state["options"])  # type: ignore[misc]


def _shipped_options(model: Path) -> dict[str, float]:
    """The span options tuned with a model (``<model>.json`` beside it, written by the training script)."""
    import json

    meta = model.with_suffix(".json")
    if not meta.is_file():
        return {}
    return {k: float(v) for k, v in json.loads(meta.read_text())["span_options"].items()}
