"""How a text is read by a fastText classifier: one line of tokens, in one of three views (:data:`VIEWS`).

``full`` (:func:`features`): words and punctuation as written, plus a token per line for its length (log2 bucket)
and indentation, so layout (minified, data-like, generated tables) is visible to a bag of n-grams. Two other views
serve the text-code grounding cascade: ``words`` (lower-cased words only: topic without layout) and ``code`` (line
shapes with ordinary words hidden: layout without topic). A model is read with the view it was trained on.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Literal

__all__ = ["MAX_CHARS", "VIEWS", "View", "code_features", "features", "word_features"]

MAX_CHARS = 20_000  # of each text, for training and prediction alike
MAX_LINE_TOKENS = 64  # tokens taken from one line (a minified line is mostly its length token)
_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)


class ClassifierError(Exception):
    """A model that cannot be found or loaded, or a labelled file that cannot be read."""


def features(text: str, max_chars: int = MAX_CHARS) -> str:
    """One line of space-separated tokens for fastText: per line, its length and indentation tokens, then words."""
    out: list[str] = []
    for line in text[:max_chars].split("\n"):
        stripped = _layout(line, out)
        if stripped:
            out.extend(_TOKEN.findall(stripped)[:MAX_LINE_TOKENS])
            out.append("<nl>")
    return " ".join(out)


def _layout(line: str, out: list[str]) -> str:
    """Append a line's layout tokens (``<blank>``, or its length and indentation) to ``out``; return the line
    without its indentation ("" for a blank line)."""
    stripped = line.lstrip()
    if not stripped:
        out.append("<blank>")
        return ""
    out.append(f"<len{int(math.log2(len(line)))}>")
    indent = len(line) - len(stripped)
    if indent:
        out.append(f"<ind{min(indent, 16)}>")
    return stripped


_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)
_IDENT = re.compile(r"^(?:[A-Za-z]+_\w*|_\w+|[a-z]+[A-Z]\w*|\w*\d\w*)$")


def word_features(text: str, max_chars: int = MAX_CHARS) -> str:
    """Lower-cased words only (no digits, punctuation or layout): what a document is about, not how it looks.

    The text-code cascade's first, coarse stage reads this view, so that it recalls technical prose whatever
    its layout (a man page rendered to text, a README without code blocks)."""
    return " ".join(w.lower() for w in _WORD.findall(text[:max_chars]))


def code_features(text: str, max_chars: int = MAX_CHARS) -> str:
    """Each line's shape, with ordinary words hidden: where code sits in a document, not what it is about.

    Per line: its length and indentation tokens, its first word as written (keywords: ``def``, ``import``,
    ``return``...), punctuation as written, identifier-like words (snake_case, camelCase, with digits) as
    ``<id>``, and each run of ordinary words as one ``<w>``. The cascade's third stage reads this view, so a
    document must look like text interleaved with code, not only use code's vocabulary."""
    out: list[str] = []
    for line in text[:max_chars].split("\n"):
        stripped = _layout(line, out)
        if not stripped:
            continue
        tokens = _TOKEN.findall(stripped)[:MAX_LINE_TOKENS]
        for i, tok in enumerate(tokens):
            if i == 0 or (not tok[0].isalnum() and tok[0] != "_"):
                out.append(tok)
            elif _IDENT.match(tok):
                out.append("<id>")
            elif out[-1] != "<w>":
                out.append("<w>")
        out.append("<nl>")
    return " ".join(out)


#: the views of a text a model can be trained on and read with (``view`` in :class:`TrainOptions` and the step)
VIEWS: dict[str, Callable[[str], str]] = {"full": features, "words": word_features, "code": code_features}
View = Literal["full", "words", "code"]
