"""The Qwen2.5-Coder report's instruct-model evaluation, so that codemill's numbers compare with its tables.

Read from QwenLM/Qwen2.5-Coder, ``qwencoder-eval/instruct/`` (the code behind the report's Tables 16-17):

- **HumanEval, MBPP(+)** (``eval_plus/model.py``, class ``ChatML``; ``eval_plus/generate.py``): a ChatML text
  written out by hand: system "You are an intelligent programming assistant to produce Python algorithmic
  solutions", user "Can you complete the following Python function?" with the task's prompt (stripped) in a
  ```` ```python ```` fence, and the answer pre-filled with that fence (:func:`evalplus_chat`). Greedy; stop words
  :data:`EVALPLUS_CHAT_STOP`; at most 1536 tokens of prompt and answer together (vLLM's ``max_model_len``); tabs
  become four spaces; the program is then cut down by ``evalplus.sanitize`` (:func:`sanitize`).
- **MultiPL-E** (``multipl_e/chat/evaluate.py``): one user turn "Please continue to complete the function and
  return all completed code in a codeblock…" through the model's own chat template (Qwen2.5's adds its default
  system prompt), greedy, at most 4096 tokens; the program is the answer's first fenced block made whole by
  ``extract_func``'s per-language rules (:func:`multipl_e_program`), then the problem's tests.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Mapping
from typing import Any

__all__ = [
    "EVALPLUS_ANSWER_PREFIX",
    "EVALPLUS_CHAT_STOP",
    "EVALPLUS_MAX_TOKENS",
    "EVALPLUS_SYSTEM",
    "MULTIPL_E_LANGUAGES",
    "MULTIPL_E_MAX_TOKENS",
    "evalplus_chat",
    "evalplus_user_turn",
    "multipl_e_program",
    "multipl_e_user_turn",
    "sanitize",
]

EVALPLUS_SYSTEM = "You are an intelligent programming assistant to produce Python algorithmic solutions"
EVALPLUS_ANSWER_PREFIX = "```python\n"
# model.py's EOS list (end-of-text tokens and the lines that begin a script's own tests) and ChatML's "\n```".
EVALPLUS_CHAT_STOP = (
    "<|endoftext|>",
    "<|endofmask|>",
    "</s>",
    "<|im_end|>",
    "\nif __name__",
    "\ndef main(",
    "\nprint(",
    "\n#",
    "\n```",
)
EVALPLUS_MAX_TOKENS = 1024
"""The report's budget is 1536 tokens of prompt and answer; the ChatML prompts of HumanEval and MBPP are at most
~500 tokens, so an answer it could finish within its budget fits in 1024 here."""
MULTIPL_E_MAX_TOKENS = 4096
MULTIPL_E_LANGUAGES = ("python", "java", "cpp", "go", "js", "ts", "cs", "php", "sh")
"""The languages ``extract_func`` has rules for (the report's table: Python, Java, C++, C#, TS, JS, PHP, Bash)."""


def evalplus_user_turn(prompt: str) -> str:
    return f"Can you complete the following Python function?\n```python\n{prompt.strip()}\n```\n"


def evalplus_chat(prompt: str) -> str:
    """The whole text the report's ``ChatML.codegen`` sends: the conversation and the pre-filled fence."""
    return (
        f"<|im_start|>system\n{EVALPLUS_SYSTEM}<|im_end|>\n"
        f"<|im_start|>user\n{evalplus_user_turn(prompt)}<|im_end|>\n"
        f"<|im_start|>assistant\n{EVALPLUS_ANSWER_PREFIX}"
    )


def multipl_e_user_turn(prompt: str, language: str) -> str:
    """``get_humaneval_prompt``: the fence is tagged with MultiPL-E's own language name (``cs``, ``sh``, ``ts``…)."""
    return (
        "Please continue to complete the function and return all completed code in a codeblock. "
        f"Here is the given code to do completion:\n```{language.lower()}\n{prompt.strip()}\n```"
    )


# --- evalplus.sanitize (0.3.1), with Python's ast and tokenize in place of tree-sitter ---------------------------


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, MemoryError, ValueError, RecursionError):
        return False
    return True


def _longest_valid_span(text: str) -> str:
    """``code_extract``: the run of lines with the most non-blank lines that parses on its own."""
    lines = text.split("\n")
    best, best_length = (0, 0), 0
    for i in range(len(lines)):
        for j in range(i + 1, len(lines)):
            length = sum(1 for line in lines[i : j + 1] if line.strip())
            if length > best_length and _parses("\n".join(lines[i : j + 1])):
                best, best_length = (i, j), length
    return "\n".join(lines[best[0] : best[1] + 1])


def _identifiers(source: str) -> set[str]:
    """Every name token of a definition's source (what tree-sitter's ``identifier`` nodes give)."""
    names = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.NAME:
                names.add(token.string)
    except (tokenize.TokenError, SyntaxError):
        pass
    return names


def _returns(node: ast.AST) -> bool:
    return any(isinstance(child, ast.Return) for child in ast.walk(node))


def _definitions(tree: ast.Module) -> tuple[list[ast.stmt], list[tuple[str, ast.stmt]]]:
    imports: list[ast.stmt] = []
    definitions: list[tuple[str, ast.stmt]] = []
    seen: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            imports.append(node)
        elif isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            if node.decorator_list:  # tree-sitter calls it a decorated_definition, which evalplus does not keep
                continue
            name = node.name
            if not isinstance(node, ast.ClassDef) and not _returns(node):  # only functions that return something
                continue
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name = node.target.id
        else:
            continue
        if not isinstance(node, ast.Import | ast.ImportFrom) and name not in seen:
            definitions.append((name, node))
            seen.add(name)
    return imports, definitions


def sanitize(code: str, entry_point: str | None = None) -> str:
    """``evalplus.sanitize.sanitize``: the longest parsable span, then its imports and the classes, functions with
    a ``return`` and assignments that the entry point reaches (top-level calls, prints and tests dropped)."""
    code = _longest_valid_span(code)
    lines = code.split("\n")
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return code
    imports, definitions = _definitions(tree)

    def source(node: ast.stmt) -> str:
        return "\n".join(lines[node.lineno - 1 : node.end_lineno])

    reachable: set[str] | None = None
    if entry_point:
        deps = {name: _identifiers(source(node)) for name, node in definitions}
        reachable, queue = {entry_point}, [entry_point]
        while queue:
            for neighbour in deps.get(queue.pop(0), ()):
                if neighbour not in reachable:
                    reachable.add(neighbour)
                    queue.append(neighbour)
    kept = [source(node) for node in imports]
    kept += [source(node) for name, node in definitions if reachable is None or name in reachable]
    sanitized = "\n".join(kept).strip()
    return sanitized or code


# --- multipl_e/chat/evaluate.py: extract_func ----------------------------------------------------------------

IMPORT_HELPER = {
    "python": [
        "import math",
        "import re",
        "import sys",
        "import copy",
        "import datetime",
        "import itertools",
        "import collections",
        "import heapq",
        "import statistics",
        "import functools",
        "import hashlib",
        # The report imports numpy unguarded; the sandbox's Python may have none, and then every program would
        # fail at its first line instead of only those that use numpy.
        "try:\n    import numpy\n    import numpy as np\nexcept ImportError:\n    pass",
        "import string",
        "from typing import *",
        "from collections import *",
    ],
    "cpp": [
        "#include<optional>",
        "#include<cassert>",
        "#include<stdlib.h>",
        "#include<algorithm>",
        "#include<cmath>",
        "#include<math.h>",
        "#include<numeric>",
        "#include<stdio.h>",
        "#include<vector>",
        "#include<set>",
        "#include<map>",
        "#include<queue>",
        "#include<stack>",
        "#include<list>",
        "#include<deque>",
        # The report's machine has Boost; where it is missing, the include alone would fail every program.
        "#if __has_include(<boost/any.hpp>)\n#include<boost/any.hpp>\n#endif",
        "#include<string>",
        "#include<climits>",
        "#include<cstring>",
        "#include<iostream>",
        "#include<sstream>",
        "#include<fstream>",
    ],
    "java": [
        "import java.util.*;",
        "import java.lang.reflect.*;",
        "import org.javatuples.*;",
        "import java.security.*;",
        "import java.math.*;",
        "import java.io.*;",
        "import java.util.stream.*;",
    ],
    "cs": [
        "using System;",
        "using System.Numerics;",
        "using System.Diagnostics;",
        "using System.Collections.Generic;",
        "using System.Linq;",
        "using System.Text;",
        "using System.Security.Cryptography;",
        "using System.Collections.Generic;",
    ],
}
FIRST_BLOCK = re.compile(r"```.*?\n(.*?)```", re.DOTALL)


def _first_block(text: str) -> str:
    """The body of the answer's first closed fence, else the whole answer (every language's ``extract_*_code``)."""
    match = FIRST_BLOCK.search(text)
    return match.group(1) if match else text


def _cut_at_nth_last_line(code: str, n: int, line: str = "}") -> str:
    """``remove_nth_from_last_brace``: everything before the ``n``-th last line that is just ``line``."""
    lines = code.split("\n")
    count, index = 0, 0
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].strip() == line:
            count += 1
            index = i
            if count == n:
                return "\n".join(lines[:i])
    return "\n".join(lines[:index])


def _block_span(lines: list[str], marker: str) -> tuple[int, int] | None:
    """First and last line of the brace-balanced block whose first line contains ``marker`` (the scan of
    ``remove_main`` and ``extract_problem``: a later line with the marker restarts it); None if it never closes."""
    depth, start = 0, -1
    for i, line in enumerate(lines):
        if marker in line:
            start = i
        if start >= 0:
            for char in line:
                if char == "{":
                    depth += 1
                elif char == "}":
                    depth -= 1
                    if depth == 0:
                        return start, i
    return None


def _without_block(code: str, marker: str) -> str | None:
    """``remove_main``: the code without that block; None when it never closes."""
    lines = code.split("\n")
    span = _block_span(lines, marker)
    return None if span is None else "\n".join(lines[: span[0]] + lines[span[1] + 1 :])


def _python(text: str, problem: Mapping[str, Any]) -> str:
    code = _first_block(text).replace("```", "")
    name = "_".join(str(problem["name"]).split("_")[2:])
    if name not in code:
        code = problem["prompt"] + code
    return "\n".join(IMPORT_HELPER["python"]) + "\n" + code


def _java(text: str, problem: Mapping[str, Any]) -> str:
    code = _first_block(text)
    found = re.search(r"assert\((.*?)\(.*?\)\);\n", problem["tests"], flags=re.DOTALL)
    name = found.group(1) if found else ""
    if re.search(rf"public static .*? {re.escape(name)}\(.*?\)", code, flags=re.DOTALL) is None:
        code = problem["prompt"] + "\n" + code
    elif "class Problem" not in code:
        code = "class Problem {\n" + code
    code = code.replace("public class Problem", "class Problem")
    if "public static void main" in code:
        code = _without_block(code, "public static void main") or code
    if code.count("{") - code.count("}") == 0:
        code = _cut_at_nth_last_line(code, 2)
    elif code.count("{") - code.count("}") == 1:
        code = _cut_at_nth_last_line(code, 1)
    return "\n".join(IMPORT_HELPER["java"]) + "\n" + code


def _cpp(text: str, problem: Mapping[str, Any]) -> str:
    code = _first_block(text)
    if "main()" in code:
        code = _without_block(code, "main()") or ""  # the original's remove_main returns None: an empty program
    if int(str(problem["task_id"]).split("_")[1]) not in (147, 159):
        code = code.replace("using namespace std;", "")
    setup = "".join(include + "\n" for include in IMPORT_HELPER["cpp"] if include not in code)
    return _cut_at_nth_last_line(setup + "\n" + code + "\n", 1)


def _go(text: str, problem: Mapping[str, Any]) -> str:
    code = _first_block(text)
    found = re.search(r"candidate := (.*?)\n", problem["tests"], flags=re.DOTALL)
    if found is None or f"func {found.group(1)}" not in code:
        code = problem["prompt"] + code
    return code


def _js(text: str, problem: Mapping[str, Any], keyword: str) -> str:
    code = _first_block(text)
    return code if keyword in code else problem["prompt"] + code


def _cs(text: str, problem: Mapping[str, Any]) -> str:
    code = _first_block(text)
    head = "\n".join(line for line in code.split("\n") if line.startswith("using"))
    found = re.search(r"Debug.Assert\((.*?)\(.*?\)\)", problem["tests"], flags=re.DOTALL)
    name = found.group(1) if found else ""
    if f" {name}(" not in code:
        code = problem["prompt"] + code
    elif "class Problem" not in code:
        code = "class Problem {\n" + code
        if code.count("{") - code.count("}") > 0:
            code = code + "}\n" * (code.count("{") - code.count("}"))
    lines = code.split("\n")
    span = _block_span(lines, "class Problem")  # extract_problem: the class alone
    if span is not None:
        code = "\n".join(lines[span[0] : span[1] + 1])
    if "static void Main" in code:
        without = _without_block(code, "static void Main")
        if without is None:  # the original's code becomes None: it falls back to the bare block
            return _first_block(text)
        code = without
    code = _cut_at_nth_last_line(code, 2)
    return head + "\n" + "\n".join(IMPORT_HELPER["cs"]) + "\n" + code


def _php(text: str, problem: Mapping[str, Any]) -> str:
    code = _first_block(text).replace("?>", "")
    found = re.search(r"function (.*?)\(.*?\)", problem["prompt"], flags=re.DOTALL)
    if found is None or f"function {found.group(1)}" not in code:
        code = problem["prompt"] + code
    return code if "<?php" in code else "<?php\n" + code


def _sh(text: str, problem: Mapping[str, Any]) -> str:
    code = _first_block(text)
    name = "_".join(str(problem["name"]).split("_")[2:])
    if f"{name}()" not in code:
        code = problem["prompt"] + code
    return _cut_at_nth_last_line(code, 1)


def multipl_e_program(text: str, language: str, problem: Mapping[str, Any]) -> str:
    """The program ``extract_func`` makes of a chat answer (tests not yet appended). ``problem`` is MultiPL-E's
    row: ``name``, ``prompt``, ``tests``, ``task_id``. A language it has no rule for raises KeyError."""
    rules = {
        "python": _python,
        "py": _python,
        "java": _java,
        "cpp": _cpp,
        "go": _go,
        "js": lambda t, p: _js(t, p, "function "),
        "ts": lambda t, p: _js(t, p, "function"),
        "cs": _cs,
        "php": _php,
        "sh": _sh,
    }
    return rules[language](text, problem)
