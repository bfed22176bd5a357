"""Cheap, objective signals of a code file's quality, for level 3 beside the judge's distilled classifier.

Why: a small judge reads names and comments but is easily fooled by length and topic; what careful code looks
like can also be counted. Each signal is one number from one pass over the lines, for any language (the
conventions of the common ones, with no parser): how much of the file is comment, how many definitions carry
a docstring or doc comment, how long definitions are, how short and cryptic the names are (``a1``, ``x2``), how
much is long lines, digits (tables) or assertions (test scaffolds), and how many definitions have type hints.
A file that is not code gives zeros; nothing here raises.
"""

from __future__ import annotations

import math
import re

__all__ = ["SIGNALS", "quality_signals"]

_DEF = re.compile(
    r"^\s*(?:(?:export|public|private|protected|static|async|pub(?:\([^)]*\))?|inline|virtual|final|override)\s+)*"
    r"(?:def|class|function|fn|func|sub|fun|interface|struct|impl|trait|module)\b"
)
_C_LIKE_DEF = re.compile(r"^[A-Za-z_][\w:<>,*&\s]*\s[*&]?[A-Za-z_]\w*\s*\([^;]*\)\s*(?:const\s*)?\{?\s*$")
_COMMENT = re.compile(r"^\s*(?:#(?!include|define|if|endif|else|elif|pragma|undef|import|!)|//|/\*|\*|--|;;|%)")
_DOC_OPEN = re.compile(r'^\s*(?:[rRbBuU]?(?:"""|\'\'\')|/\*\*|///|//!|#\')')
_IDENT = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")
_CRYPTIC = re.compile(r"^(?:[A-Za-z_]{1,2}|[A-Za-z]{1,2}\d+|_+\d*)$")
_ASSERT = re.compile(r"\b(?:assert\w*|expect|should|require)\b\s*[.(!]?|\bself\.assert")
_HINTED = re.compile(r"->|[(,]\s*\w+\s*:\s*[A-Za-z_]|\)\s*:\s*[A-Za-z_]")  # def f(x: int) -> str; f(a: number): T
_STRING = re.compile(r"\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'")
_NO_DIGITS = str.maketrans("", "", "0123456789")

#: the signals in order, as the level-3 model reads them
SIGNALS = (
    "log_lines",
    "comment_share",
    "doc_per_definition",
    "log_lines_per_definition",
    "cryptic_name_share",
    "mean_name_length",
    "long_line_share",
    "digit_share",
    "assert_share",
    "hinted_definition_share",
)


def quality_signals(text: str, max_lines: int = 4000) -> dict[str, float]:
    """The :data:`SIGNALS` of ``text`` (its first ``max_lines`` lines)."""
    lines = [line for line in text.splitlines()[:max_lines] if line.strip()]
    if not lines:
        return dict.fromkeys(SIGNALS, 0.0)
    definitions = [i for i, line in enumerate(lines) if _DEF.match(line) or _C_LIKE_DEF.match(line)]
    documented = sum(
        1
        for i in definitions
        if any(_DOC_OPEN.match(lines[j]) for j in range(i + 1, min(i + 3, len(lines))))
        or (i > 0 and (_DOC_OPEN.match(lines[i - 1]) or _COMMENT.match(lines[i - 1])))
    )
    names = {name for line in lines for name in _IDENT.findall(_STRING.sub("", line))}
    chars = sum(len(line) - line.count(" ") for line in lines)
    n_defs = len(definitions)
    return {
        "log_lines": math.log1p(len(lines)),
        "comment_share": sum(1 for line in lines if _COMMENT.match(line)) / len(lines),
        "doc_per_definition": documented / n_defs if n_defs else 0.0,
        "log_lines_per_definition": math.log1p(len(lines) / n_defs) if n_defs else math.log1p(len(lines)),
        "cryptic_name_share": sum(1 for n in names if _CRYPTIC.match(n)) / len(names) if names else 0.0,
        "mean_name_length": sum(map(len, names)) / len(names) if names else 0.0,
        "long_line_share": sum(1 for line in lines if len(line) > 120) / len(lines),
        "digit_share": _digits(lines) / chars if chars else 0.0,
        "assert_share": sum(1 for line in lines if _ASSERT.search(line)) / len(lines),
        "hinted_definition_share": (
            sum(1 for i in definitions if _HINTED.search(lines[i])) / n_defs if n_defs else 0.0
        ),
    }


def _digits(lines: list[str]) -> int:
    """The characters of ``lines`` for which ``str.isdigit`` holds: deleted in C for ASCII text (where they are
    0-9), counted one by one only where other scripts' digits could be among them."""
    text = "".join(lines)
    if text.isascii():
        return len(text) - len(text.translate(_NO_DIGITS))
    return sum(map(str.isdigit, text))
