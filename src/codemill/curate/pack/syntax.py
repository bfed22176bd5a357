"""Syntax-node FIM cuts: the middle is one whole node of the file's tree-sitter parse tree.

The Qwen2.5-Coder report cuts its FIM instruction samples at AST nodes; here the same can be asked of
file-level FIM (``FimOptions.split = "syntax"``). A node is picked by a random walk down the tree: from
the root, step into a random named child; below the root, stop with probability ``STOP`` or at a leaf. So
whole functions, statements, expressions and names are all middles, the big ones at about the rate the
small ones are.

Grammars come from the per-language PyPI wheels (``tree-sitter-python``...), compiled, loaded offline.
Whatever cannot be cut at a node - a language without a grammar here, a file with a syntax error, a tree
without a named node - keeps its character cut, and the reason is returned so packing can count it.
"""

from __future__ import annotations

import importlib
import random
from functools import cache
from typing import Any

from codemill.data.language_rules import grammars

#: codemill language name -> (grammar module, function returning the language pointer), from the language table
GRAMMARS: dict[str, tuple[str, str]] = grammars()
STOP = 0.35
MAX_DEPTH = 64


@cache
def parser_for(lang: str) -> Any | None:
    """A tree-sitter parser for a codemill language name, or None when no grammar is installed for it."""
    if lang not in GRAMMARS:
        return None
    try:
        import tree_sitter

        module, function = GRAMMARS[lang]
        language = tree_sitter.Language(getattr(importlib.import_module(module), function)())
    except (ImportError, AttributeError):
        return None
    return tree_sitter.Parser(language)


def syntax_span(text: str, lang: str, rng: random.Random) -> tuple[int, int] | str:
    """Character span ``(start, end)`` of a random named node of ``text``'s parse, or why there is none.

    Reasons: ``no_grammar`` (language unknown or its grammar not installed), ``parse_error`` (the tree has
    an error or missing node), ``no_node`` (nothing below the root spans any text).
    """
    parser = parser_for(lang)
    if parser is None:
        return "no_grammar"
    data = text.encode("utf-8")
    root = parser.parse(data).root_node
    if root.has_error:
        return "parse_error"
    node, depth = root, 0
    while depth < MAX_DEPTH:
        children = [c for c in node.named_children if c.end_byte > c.start_byte]
        if not children or (node is not root and rng.random() < STOP):
            break
        node = rng.choice(children)
        depth += 1
    if node is root:
        return "no_node"
    start, end = node.start_byte, node.end_byte
    if text.isascii():
        return start, end
    return len(data[:start].decode("utf-8", "ignore")), len(data[:end].decode("utf-8", "ignore"))
