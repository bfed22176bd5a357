"""From a model's text to code: stop words for completions, fenced blocks for whole solutions.

Completions (base models) are cut at the first stop word, the human-eval / MultiPL-E convention. Solutions
(chat models) are whole answers: the code is the fenced block in the answer's language that defines the entry
point (else the longest such block), a block whose closing fence never came (the answer was truncated), or the
whole answer when it has no fence at all. Prose around the code is dropped with the fences. Which fence tags count
as a language is the language table's (:func:`codemill.data.language_rules.fence_aliases`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from codemill.data.language_rules import fence_aliases
from codemill.llm.client import cut_at_stop as find_stop

__all__ = ["FENCE", "cut_at_stop", "extract_code", "fenced_blocks"]

FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w#+.-]*)[^\n]*\n(.*?)(?:^[ \t]*\1[ \t]*$|\Z)", re.M | re.S)


def cut_at_stop(text: str, stop_words: Iterable[str]) -> str:
    """``text`` up to the first occurrence of any stop word."""
    return find_stop(text, tuple(stop_words))[0]


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """``(info, body)`` of each fenced block; an unclosed last block runs to the end of the text."""
    return [(m.group(2).lower(), m.group(3)) for m in FENCE.finditer(text)]


def extract_code(text: str, language: str = "python", entry_point: str = "") -> str:
    """The code of a chat model's answer (see the module's docstring)."""
    blocks = fenced_blocks(text)
    if not blocks:
        return text
    names = fence_aliases(language)
    same = [body for info, body in blocks if info in names]
    untagged = [body for info, body in blocks if not info]
    candidates = same or untagged or [body for _, body in blocks]
    if entry_point:
        defining = [body for body in candidates if re.search(rf"\b{re.escape(entry_point)}\b", body)]
        if defining:
            candidates = defining
    return max(candidates, key=len)
