"""Ranking AUC of level-3 quality scores on a set of real code labelled by where each file comes from.

Level 3 is the top rung of the filtering ladder: it should keep the best code. Its teacher (an LM's perplexity,
``scripts/train_lm_quality.py``) and any rule would make a circular yardstick, so this set is labelled **by
source only**: a file's folder, name or its own "generated" header says what it is, and no rule or model reads
its quality. The sources (each sampled sorted and seeded to at most ``--per-source`` files of 300 B-100 KB, texts
deduplicated by hash, a cap per package until the others run out, so no project dominates a source):

* ``library`` (label 1): hand-written, reviewed library modules: the Python standard library (not ``test/``,
  ``idlelib``, ``lib2to3``, ``turtledemo``, ``__phello__``, ``ensurepip``, ``pydoc_data``), the library modules of
  the well-kept packages in :data:`LIBRARY_PACKAGES` in ``.venv``, and Debian's Go libraries (``/usr/share/gocode``).
* ``generated`` (0): protobuf ``_pb2.py``, gencodec codecs, lexer/unicode/parser tables (:data:`GENERATED_NAMES`,
  :data:`GENERATED_PLACES`) and files whose first lines say they are generated (``DO NOT EDIT``, Go's ``Code
  generated``).
* ``vendored`` (0): copies of other projects kept in ``_vendor``/``vendor``/``vendored``/``extern``/``third_party``.
* ``test_scaffold`` (0): ``test_*.py``, ``*_test.py``/``*_test.go``, ``conftest.py``, ``tests``/``test``/``testdata``.
* ``example_script`` (0): ``examples``/``example``/``demo*`` folders, ``turtledemo``, ``/usr/share/doc/*/examples``.
* ``planted_undocumented`` / ``planted_renamed_undocumented`` / ``planted_flattened`` (0): ``ast`` rewrites of a
  second, disjoint sample of ``library`` Python files: docstrings and comments removed; plus identifiers renamed to
  ``a1``, ``a2``...; plus type hints removed and small functions joined onto one line with ``;`` (a rewrite equal to
  an earlier kind's, e.g. a file with nothing to rename, is dropped as a duplicate). All three go through
  ``ast.unparse``, so they also lose the original layout: the control below measures that part alone.

A file matches the first of generated, vendored, test, example, library. The AUC is the probability that a
random ``library`` file scores higher than a random negative (ties count half): 1.0 ranks every library file
first, 0.5 is chance. Reported per scorer: the overall AUC (all rows; and without the planted rows), the AUC of
``library`` against each negative source of the same language, the share of each source with score >=
``--threshold`` ("reaches level 3"), and a control: planted originals against their plain ``ast.unparse`` round
trip (no quality change; far from 0.5 means the scorer reads layout). ``code_quality`` trained on part of the
stdlib and Go files and on site-packages ``_pb2.py``; ``lm_quality`` on 400 files of the same stdlib and
site-packages: their numbers here are optimistic. A new model must leave :func:`validation_paths` out of training.

    .venv/bin/python bench/level3_eval.py [--per-source 60] [--model lm_quality] [--model PATH] [--threshold 0.5]
        [--judge qwen2.5-coder-1.5b-instruct --judge-per-source 5]

``--judge`` also scores a sample (``--judge-per-source`` rows of each source, by text hash) with the rubric judge
(:mod:`codemill.curate.classify.judge`; score / 5), beside the other scorers on the same sample: the judge
reads a file in about half a minute on 2 cores, so it does not read the whole set. Its answers are cached in
``bench/.work/level3-judge.jsonl``.

Writes ``bench/results/level3_eval.json`` and prints one table, a column pair per scorer.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import fnmatch
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import random
import re
import sys
import sysconfig
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from functools import cache, lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from codemill.curate.classify.model import load_classifier

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench/results/level3_eval.json"
SEED = 20261128
MIN_BYTES = 300
MAX_BYTES = 100_000


def _load_ladder_eval() -> ModuleType:
    """``bench/ladder_eval.py`` as a module (it loads ``scripts/train_classifiers.py``): its path helpers."""
    if "ladder_eval" in sys.modules:
        return sys.modules["ladder_eval"]
    spec = importlib.util.spec_from_file_location("ladder_eval", ROOT / "bench/ladder_eval.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["ladder_eval"] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


le = _load_ladder_eval()
tc = le.tc

STDLIB = Path(sysconfig.get_paths()["stdlib"])
SITE = Path(sysconfig.get_paths()["purelib"])
GOCODE = Path("/usr/share/gocode/src")
DOC = Path("/usr/share/doc")
#: language -> (root, suffix) searched for every source
ROOTS: dict[str, list[tuple[Path, str]]] = {
    "python": [(STDLIB, ".py"), (SITE, ".py"), (DOC, ".py")],
    "go": [(GOCODE, ".go")],
}
#: well-kept, documented packages of the venv whose library modules are ``library``
LIBRARY_PACKAGES = (
    "attr",
    "attrs",
    "click",
    "httpx",
    "jinja2",
    "markdown_it",
    "networkx",
    "numpy",
    "packaging",
    "pluggy",
    "pyarrow",
    "pydantic",
    "requests",
    "rich",
    "starlette",
    "typer",
    "urllib3",
)
#: stdlib folders that are tests, fixtures, demos, bundles or generated data rather than library modules
STDLIB_NOT_LIBRARY = ("test", "idlelib", "lib2to3", "turtledemo", "__phello__", "ensurepip", "pydoc_data")
#: base names of generated files (tables, parser tables, version stamps), beyond ladder_eval's conventions
GENERATED_NAMES = ("*_pb2.py", "*_pb2_grpc.py", "*_tables.py", "*tab.py", "_*_builtins.py", "_emoji_codes.py")
GENERATED_FILES = (
    "pygments/lexers/_mapping.py",
    "pygments/styles/_mapping.py",
    "pygments/formatters/_mapping.py",
    "idna/idnadata.py",
    "idna/uts46data.py",
    "rich/_cell_widths.py",
)
#: folders that hold only generated files
GENERATED_PLACES = ("_generated", "_unicode_data", "_antlr")
#: a comment that opens with the generator's words ("# Generated by the protocol buffer compiler", "# This file
#: is auto-generated", Go's "// Code generated"), or says DO NOT EDIT anywhere
GENERATED_OPENING = re.compile(
    r"^\s*(#|//)\W*(note:\s*)?(this (is an? )?)?(file |module |code |table )?((is|was|has been) )?"
    r"(auto-?\s?generated|automatically generated|generated (by|from|with|content))",
    re.IGNORECASE,
)
DO_NOT_EDIT = re.compile(r"^\s*(#|//).*\b(do not|don'?t) edit\b", re.IGNORECASE)
COMMENT = re.compile(r"^\s*(#|//)\s*(?P<text>.*?)\s*$")
HEADER_LINES = 12
VENDOR_PARTS = ("_vendor", "vendor", "vendored", "extern", "third_party")
TEST_PARTS = ("test", "tests", "testdata", "idle_test", "__tests__", "unittests")
EXAMPLE_PARTS = ("examples", "example", "_examples", "turtledemo")
NATURAL_SOURCES = ("library", "generated", "vendored", "test_scaffold", "example_script")
PLANTED_KINDS = ("planted_undocumented", "planted_renamed_undocumented", "planted_flattened")
SOURCES = (*NATURAL_SOURCES, *PLANTED_KINDS)
#: share of a source one package may take before the others are exhausted
GROUP_SHARE = 6

Row = dict[str, Any]
Scorer = Callable[[list[str]], list[float]]


# ------------------------------------------------------------------------------------------------ sources


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


def shown_path(path: Path) -> str:
    """``<stdlib>/json/decoder.py``, ``<site-packages>/rich/console.py``, Debian's /usr paths as they are."""
    return le.shown_path(path)


_NAMED_ROOTS = (("site", f"{SITE}{os.sep}"), ("stdlib", f"{STDLIB}{os.sep}"), ("go", f"{GOCODE}{os.sep}"))
_NAMED_ROOTS += (("doc", f"{DOC}{os.sep}"),)


def _rel(path: Path) -> tuple[str, tuple[str, ...]]:
    """(root name, parts relative to it) for the roots of :data:`ROOTS` (string work: 20,000 files a run)."""
    text = str(path)
    for name, prefix in _NAMED_ROOTS:
        if text.startswith(prefix):
            return name, tuple(text[len(prefix) :].split(os.sep))
    return "other", path.parts


def generated(path: Path, head: str) -> bool:
    """Generated by its name, its folder or its own header (the generator's words, not a reading of the code)."""
    root, parts = _rel(path)
    rel = "/".join(parts)
    if le.generated_by_name(path) or any(fnmatch.fnmatch(path.name, p) for p in GENERATED_NAMES):
        return True
    if rel in GENERATED_FILES or any(part in GENERATED_PLACES for part in parts[:-1]):
        return True
    if root == "stdlib" and parts[0].startswith("_sysconfigdata"):
        return True
    return generated_header(head)


def generated_header(head: str) -> bool:
    """The first lines say a tool wrote the file: DO NOT EDIT, or a comment sentence opening with "generated".

    Only the leading comments count: the scan stops at the first line of code (``package``, ``import``, an
    assignment), so a generator script's template string does not make the script itself generated."""
    previous = ""
    for line in head.splitlines()[:HEADER_LINES]:
        if line[:1].isalpha() or line[:1] in ("_", "@"):
            break
        if DO_NOT_EDIT.match(line):
            return True
        # a comment line that continues the sentence above ("...names used in\n# generated with Python 2") is prose
        continues = re.search(r"[A-Za-z0-9,]$", previous) is not None
        if GENERATED_OPENING.match(line) and not continues:
            return True
        comment = COMMENT.match(line)
        previous = comment.group("text") if comment else ""
    return False


def classify(path: Path, head: str) -> str | None:
    """The file's source from its place, name and header; None when it is none of them (or not chosen)."""
    root, parts = _rel(path)
    folders, name = parts[:-1], parts[-1]
    if generated(path, head):
        return "generated"
    if any(part in VENDOR_PARTS for part in folders):
        return "vendored"
    if (
        any(part in TEST_PARTS for part in folders)
        or name.startswith("test_")
        or name.endswith(("_test.py", "_test.go"))
        or name == "conftest.py"
    ):
        return "test_scaffold"
    if root == "doc":  # /usr/share/doc: only the packages' examples folders
        return "example_script" if "examples" in folders else None
    if any(part in EXAMPLE_PARTS or part.startswith("demo") for part in folders):
        return "example_script"
    if root == "stdlib" and not (folders and folders[0] in STDLIB_NOT_LIBRARY):
        return "library"
    if root == "site" and folders and folders[0] in LIBRARY_PACKAGES:
        return "library"
    return "library" if root == "go" else None


def group(path: Path) -> str:
    """The project a file belongs to, for the per-package cap: a site package, a stdlib package, a Go repo."""
    root, parts = _rel(path)
    if root == "go":
        return "/".join(parts[:3])
    if root == "doc":
        return f"doc:{parts[0]}"
    return f"{root}:{parts[0] if len(parts) > 1 else '<modules>'}"


def _walk(root: Path, suffix: str) -> Iterable[Path]:
    for folder, dirs, names in os.walk(root):
        if root == STDLIB and Path(folder) == STDLIB:
            dirs[:] = [d for d in dirs if d != "site-packages"]  # the base interpreter's own packages
        dirs.sort()
        for name in sorted(names):
            if name.endswith(suffix):
                p = Path(folder) / name
                if not p.is_symlink() and p.is_file() and MIN_BYTES <= p.stat().st_size <= MAX_BYTES:
                    yield p


def _head(path: Path) -> str:
    with path.open("rb") as f:
        return f.read(2048).decode("utf-8", "replace")


@cache
def candidates() -> dict[tuple[str, str], tuple[Path, ...]]:
    """(lang, source) -> sorted candidate files of this machine (not read, not sampled)."""
    out: dict[tuple[str, str], list[Path]] = {}
    for lang, roots in ROOTS.items():
        for root, suffix in roots:
            if not root.is_dir():
                continue
            for p in _walk(root, suffix):
                source = classify(p, _head(p))
                if source is not None:
                    out.setdefault((lang, source), []).append(p)
    return {key: tuple(sorted(paths)) for key, paths in sorted(out.items())}


def spread(paths: Sequence[Path], seed: int, tag: str, cap: int) -> list[Path]:
    """A seeded order of ``paths`` in which no group takes more than ``cap`` of the first places it can avoid."""
    order = list(paths)
    random.Random(f"{seed}:{tag}").shuffle(order)
    taken: Counter[str] = Counter()
    first, later = [], []
    for p in order:
        g = group(p)
        (first if taken[g] < cap else later).append(p)
        taken[g] += 1
    return first + later


def _take(
    order: Iterable[Path], n: int, seen: set[str], ok: Callable[[str], bool] = lambda _: True
) -> list[tuple[Path, str]]:
    """The first ``n`` readable, new (by text hash) files of ``order`` that ``ok`` accepts."""
    out: list[tuple[Path, str]] = []
    for p in order:
        if len(out) == n:
            break
        text = tc.read(p, limit=None)
        if text is None or not text.strip() or sha1(text) in seen or not ok(text):
            continue
        seen.add(sha1(text))
        out.append((p, text))
    return out


def row(source: str, path: Path, lang: str, text: str) -> Row:
    return {"source": source, "label": int(source == "library"), "path": shown_path(path), "lang": lang, "text": text}


def _sources(per_source: int, seed: int) -> tuple[list[Row], list[tuple[Path, str]]]:
    """The natural rows, and the planted originals (Python library files disjoint from the ``library`` rows)."""
    rows: list[Row] = []
    originals: list[tuple[Path, str]] = []
    seen: set[str] = set()
    cap = max(1, per_source // GROUP_SHARE)
    for (lang, source), paths in sorted(candidates().items(), key=lambda kv: (kv[0][0], SOURCES.index(kv[0][1]))):
        order = spread(paths, seed, f"{lang}:{source}", cap)
        chosen = _take(order, per_source, seen)
        rows += [row(source, p, lang, text) for p, text in sorted(chosen)]
        if (lang, source) == ("python", "library"):
            used = {p for p, _ in chosen}
            rest = (p for p in order if p not in used)
            originals = sorted(_take(rest, per_source, seen, lambda t: all(plant(t).values())))
    return rows, originals


# ------------------------------------------------------------------------------------------------ planted


def _drop_docstrings(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            first = body[0] if body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]


def _bound_names(tree: ast.AST) -> list[str]:
    """Function, argument and variable names the file binds, in source order (no dunders, self/cls, imports)."""
    kept = set(dir(builtins)) | {"self", "cls"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            kept |= {(a.asname or a.name).split(".")[0] for a in node.names}
    found: dict[str, None] = {}

    class Collect(ast.NodeVisitor):
        def generic_visit(self, node: ast.AST) -> None:
            name = None
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                name = node.name
            elif isinstance(node, ast.arg):
                name = node.arg
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
                name = node.id
            elif isinstance(node, ast.ExceptHandler):
                name = node.name
            if name and name not in kept and not (name.startswith("__") and name.endswith("__")):
                found.setdefault(name)
            super().generic_visit(node)

    Collect().visit(tree)
    return list(found)


def _rename(tree: ast.AST) -> None:
    """Every name of :func:`_bound_names` to ``a1``, ``a2``... (one name per original, everywhere it is used)."""
    taken = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
        n.arg for n in ast.walk(tree) if isinstance(n, ast.arg)
    }
    fresh = (f"a{i}" for i in range(1, 10**9) if f"a{i}" not in taken)
    names = {name: next(fresh) for name in _bound_names(tree)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            node.id = names.get(node.id, node.id)
        elif isinstance(node, ast.arg):
            node.arg = names.get(node.arg, node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            node.name = names.get(node.name, node.name)
        elif isinstance(node, ast.keyword) and node.arg is not None:
            node.arg = names.get(node.arg, node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            node.name = names.get(node.name, node.name)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            node.names = [names.get(n, n) for n in node.names]


def _strip_hints(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            node.annotation = None
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            node.returns = None
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if isinstance(body, list) and any(isinstance(s, ast.AnnAssign) for s in body):
                new = [
                    ast.Assign([s.target], s.value, lineno=s.lineno) if isinstance(s, ast.AnnAssign) else s
                    for s in body
                    if not (isinstance(s, ast.AnnAssign) and s.value is None)
                ]
                setattr(node, field, new or [ast.Pass()])


COMPOUND = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try, ast.Match, ast.ClassDef)


def _join_small_functions(source: str) -> str:
    """Functions whose body is only one-line simple statements, written on their ``def`` line joined by ``;``."""
    lines = source.splitlines()
    tree = ast.parse(source)
    small = [
        f
        for f in ast.walk(tree)
        if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
        and f.body[0].lineno == f.lineno + 1
        and all(
            not isinstance(s, (*COMPOUND, ast.FunctionDef, ast.AsyncFunctionDef)) and s.lineno == s.end_lineno
            for s in f.body
        )
    ]
    for f in sorted(small, key=lambda f: -f.lineno):
        assert f.end_lineno is not None
        body = "; ".join(lines[s.lineno - 1].strip() for s in f.body)
        lines[f.lineno - 1 : f.end_lineno] = [f"{lines[f.lineno - 1]} {body}"]
    return "\n".join(lines) + "\n"


@lru_cache(maxsize=1024)
def plant(text: str) -> dict[str, str]:
    """The three planted rewrites of a Python file (``""`` for one that failed: it must parse again)."""
    out: dict[str, str] = {}
    steps: dict[str, tuple[Callable[[ast.AST], None], ...]] = {
        "planted_undocumented": (_drop_docstrings,),
        "planted_renamed_undocumented": (_drop_docstrings, _rename),
        "planted_flattened": (_drop_docstrings, _rename, _strip_hints),
    }
    for kind, transforms in steps.items():
        try:
            tree = ast.parse(text)
            for transform in transforms:
                transform(tree)
            new = ast.unparse(ast.fix_missing_locations(tree)) + "\n"
            if kind == "planted_flattened":
                new = _join_small_functions(new)
            ast.parse(new)
        except (SyntaxError, ValueError, RecursionError):
            new = ""
        out[kind] = new
    return out


# ------------------------------------------------------------------------------------------------ the set


@cache
def _built(per_source: int, seed: int) -> tuple[tuple[Row, ...], tuple[tuple[Path, str], ...]]:
    rows, originals = _sources(per_source, seed)
    seen = {sha1(r["text"]) for r in rows}
    for p, text in originals:
        for kind, new in plant(text).items():
            if sha1(new) not in seen:
                seen.add(sha1(new))
                rows.append(row(kind, p, "python", new))
    return tuple(rows), tuple(originals)


def build_set(per_source: int = 60, seed: int = SEED) -> list[dict]:
    """The labelled rows (``source``, ``label``, ``path``, ``lang``, ``text``): the same files for the same
    packages on the same seed. Planted rows carry their original's path."""
    return [dict(r) for r in _built(per_source, seed)[0]]


def planted_originals(per_source: int = 60, seed: int = SEED) -> list[tuple[str, str]]:
    """(shown path, text) of the library files the planted rows were made from (not in ``library``)."""
    return [(shown_path(p), text) for p, text in _built(per_source, seed)[1]]


def validation_paths(per_source: int = 60, seed: int = SEED) -> dict[str, list[str]]:
    """What a training script must leave out: the shown paths of every row and planted original, and the sha1 of
    every text (rows and originals). Paths are ``<stdlib>/...``, ``<site-packages>/...`` or absolute /usr ones."""
    rows = build_set(per_source, seed)
    originals = planted_originals(per_source, seed)
    return {
        "paths": sorted({r["path"] for r in rows} | {p for p, _ in originals}),
        "sha1": sorted({sha1(r["text"]) for r in rows} | {sha1(t) for _, t in originals}),
    }


# ------------------------------------------------------------------------------------------------ metrics


def average_ranks(values: Sequence[float]) -> np.ndarray:
    """1-based ranks, tied values sharing their average rank."""
    x = np.asarray(values, dtype=float)
    uniq, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return ((ends - counts + 1 + ends) / 2.0)[inverse] if len(uniq) else np.empty(0)


def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float | None:
    """P(score of a random positive > score of a random negative), ties half; None without both classes."""
    y = np.asarray(labels, dtype=bool)
    n1, n0 = int(y.sum()), int((~y).sum())
    if not n1 or not n0:
        return None
    r = average_ranks(scores)
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def model_scorer(model: str) -> Scorer:
    clf = load_classifier(model)
    return lambda texts: clf.probabilities(texts, "good")


def judge_scorer(model: str, cache: Path, langs: dict[str, str]) -> Scorer:
    """The rubric judge (:mod:`codemill.curate.classify.judge`) on the embedded ``model``: its expected 0-5 score
        over 5, so the threshold reads the same; answers cached in ``cache`` (a killed run resumes). ``langs``: each
    text's language by its :func:`sha1`."""
    from codemill.curate.classify.judge import annotate_with_judge
    from codemill.data.schema import Document
    from codemill.llm.choices import ChoiceScorer

    def score(texts: list[str]) -> list[float]:
        judge = ChoiceScorer(model)
        try:
            docs = [Document(id=sha1(t), text=t, lang=langs[sha1(t)]) for t in texts]
            done = lambda n, sec: print(f"\rjudged {n} new ({sec:.1f} s the last)", end="", flush=True)  # noqa: E731
            rows = annotate_with_judge(docs, judge, cache, on_done=done)
            print()
            return [r["score"] / 5 for r in rows]
        finally:
            judge.close()

    return score


def judge_sample(rows: Sequence[Row], per_source: int) -> list[Row]:
    """At most ``per_source`` rows of each (language, source), chosen by the hash of their text."""
    taken: Counter[tuple[str, str]] = Counter()
    out = []
    for r in sorted(rows, key=lambda r: sha1(r["text"])):
        key = (r["lang"], r["source"])
        if taken[key] < per_source:
            taken[key] += 1
            out.append(r)
    return out


def score_sets(rows: Sequence[Row], scorers: dict[str, Scorer], threshold: float = 0.5) -> dict[str, Any]:
    """Per scorer: overall AUC, AUC without planted rows, AUC of ``library`` vs each negative source of the same
    language, the share of each (lang, source) at or over ``threshold``, and AUC per library root (Python)."""
    texts = [r["text"] for r in rows]
    labels = [r["label"] for r in rows]
    keys = sorted({(r["lang"], r["source"]) for r in rows}, key=lambda k: (k[0], SOURCES.index(k[1])))
    out: dict[str, Any] = {}
    for name, scorer in scorers.items():
        s = np.asarray(scorer(texts), dtype=float)
        natural = [i for i, r in enumerate(rows) if r["source"] in NATURAL_SOURCES]
        res: dict[str, Any] = {
            "auc_all": _r(roc_auc(labels, s)),
            "auc_natural": _r(roc_auc([labels[i] for i in natural], s[natural])),
            "by_lang": {},
            "sources": {},
        }
        for lang in sorted({k[0] for k in keys}):
            idx = [i for i, r in enumerate(rows) if r["lang"] == lang]
            res["by_lang"][lang] = _r(roc_auc([labels[i] for i in idx], s[idx]))
        for lang, source in keys:
            idx = [i for i, r in enumerate(rows) if (r["lang"], r["source"]) == (lang, source)]
            lib = [i for i, r in enumerate(rows) if (r["lang"], r["source"]) == (lang, "library")]
            auc = None if source == "library" else roc_auc([1] * len(lib) + [0] * len(idx), [*s[lib], *s[idx]])
            res["sources"][f"{lang}/{source}"] = {
                "n": len(idx),
                "auc_library_vs": _r(auc),
                "share_ge_threshold": round(float((s[idx] >= threshold).mean()), 4),
                "mean_score": round(float(s[idx].mean()), 4),
            }
        py_neg = [i for i, r in enumerate(rows) if r["lang"] == "python" and r["label"] == 0]
        res["python_library_root_vs_python_negatives"] = {}
        for root in ("<stdlib>", "<site-packages>"):
            lib = [i for i, r in enumerate(rows) if r["source"] == "library" and r["path"].startswith(root)]
            auc = roc_auc([1] * len(lib) + [0] * len(py_neg), [*s[lib], *s[py_neg]])
            res["python_library_root_vs_python_negatives"][root] = {"n": len(lib), "auc": _r(auc)}
        out[name] = res
    return out


def signal_aucs(rows: Sequence[Row]) -> dict[str, float | None]:
    """Each objective signal's AUC alone (:mod:`codemill.curate.classify.quality_signals`; below 0.5: lower is
    better): what a level-3 model could learn from them."""
    from codemill.curate.classify.quality_signals import SIGNALS, quality_signals

    labels = [r["label"] for r in rows]
    measured = [quality_signals(r["text"]) for r in rows]
    return {name: _r(roc_auc(labels, [m[name] for m in measured])) for name in SIGNALS}


def unparse_control(originals: Sequence[str], scorers: dict[str, Scorer]) -> dict[str, float | None]:
    """AUC of the planted originals (1) against their bare ``ast.unparse`` round trip (0): layout only."""
    round_trip = [ast.unparse(ast.parse(t)) + "\n" for t in originals]
    labels = [1] * len(originals) + [0] * len(round_trip)
    return {name: _r(roc_auc(labels, f([*originals, *round_trip]))) for name, f in scorers.items()}


# ------------------------------------------------------------------------------------------------ report


def _fmt(x: float | None) -> str:
    return "   -  " if x is None else f"{x:.3f} "


def _cell(source: dict[str, Any]) -> str:
    return f"{_fmt(source['auc_library_vs'])}     {source['share_ge_threshold']:.3f}"


def summary_lines(results: dict[str, Any], control: dict[str, float | None]) -> list[tuple[str, dict[str, Any]]]:
    """(label, scorer -> AUC) for the summary rows of the table."""
    langs = next(iter(results.values()))["by_lang"]
    lines = [
        ("AUC all rows", {n: r["auc_all"] for n, r in results.items()}),
        ("AUC without planted", {n: r["auc_natural"] for n, r in results.items()}),
        *((f"AUC {lang} rows", {n: r["by_lang"][lang] for n, r in results.items()}) for lang in langs),
    ]
    for root in ("<stdlib>", "<site-packages>"):
        by_root = {n: r["python_library_root_vs_python_negatives"][root]["auc"] for n, r in results.items()}
        lines.append((f"AUC python {root} library vs py neg", by_root))
    lines.append(("control: originals vs ast.unparse (0.5 = ok)", control))
    return lines


def print_table(results: dict[str, Any], control: dict[str, float | None], threshold: float) -> None:
    names = list(results)
    print(f"\n{'lang/source':38s} {'n':>4s}  " + "  ".join(f"{n[:22]:>22s}" for n in names))
    print(f"{'':38s} {'':4s}  " + "  ".join(f"{'AUC vs lib  >=' + str(threshold):>22s}" for _ in names))
    for key, v in results[names[0]]["sources"].items():
        cells = [_cell(results[n]["sources"][key]) for n in names]
        print(f"{key:38s} {v['n']:4d}  " + "  ".join(f"{c:>22s}" for c in cells))
    for label, values in summary_lines(results, control):
        print(f"{label:45s}  " + "  ".join(f"{'':6s}{_fmt(values[n]):16s}" for n in names))


def _versions() -> dict[str, str]:
    """The installed versions of the library packages' distributions (the set is the same for the same ones)."""
    dists = {"attr": "attrs", "markdown_it": "markdown-it-py"}
    out = {}
    for package in LIBRARY_PACKAGES:
        try:
            out[package] = importlib.metadata.version(dists.get(package, package))
        except importlib.metadata.PackageNotFoundError:
            out[package] = "absent"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-source", type=int, default=60, help="files per (language, source) at most")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--model", action="append", help="shipped model name or .ftz path (repeatable)")
    parser.add_argument("--threshold", type=float, default=0.5, help="score that reaches the top level")
    parser.add_argument(
        "--judge", help="also the rubric judge on this embedded model (e.g. qwen2.5-coder-1.5b-instruct)"
    )
    parser.add_argument("--judge-per-source", type=int, default=5, help="rows per source the judge reads")
    args = parser.parse_args()
    models = args.model or ["lm_quality", "code_quality"]

    start = time.perf_counter()
    rows = build_set(args.per_source, args.seed)
    originals = [t for _, t in planted_originals(args.per_source, args.seed)]
    built = time.perf_counter() - start
    counts = Counter(f"{r['lang']}/{r['source']}" for r in rows)
    print(f"set: {len(rows)} rows ({sum(r['label'] for r in rows)} positive) in {built:.1f} s")
    start = time.perf_counter()
    scorers = {Path(m).stem: model_scorer(m) for m in models}
    results = score_sets(rows, scorers, args.threshold)
    control = unparse_control(originals, scorers)
    scored = time.perf_counter() - start
    print_table(results, control, args.threshold)
    signals = signal_aucs(rows)
    print("\neach quality signal alone (AUC; below 0.5: lower is better):")
    for name, auc in signals.items():
        print(f"  {name:28s} {_fmt(auc)}")
    judged = None
    if args.judge:  # on a sample (minutes per file on 2 cores), beside the other scorers on the same sample
        sample = judge_sample(rows, args.judge_per_source)
        start = time.perf_counter()
        langs = {sha1(r["text"]): r["lang"] for r in rows}
        judge = judge_scorer(args.judge, ROOT / "bench/.work/level3-judge.jsonl", langs)
        judged = score_sets(sample, {**scorers, f"judge:{args.judge}": judge}, args.threshold)
        seconds = time.perf_counter() - start
        print(f"\nthe judge's sample: {len(sample)} rows, {seconds:.0f} s (cached answers reused)")
        print_table(judged, dict.fromkeys(judged, None), args.threshold)
    groups = {k: dict(Counter(package_of(r) for r in rows if f"{r['lang']}/{r['source']}" == k)) for k in counts}
    record = {
        "benchmark": "level3_eval",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "python": platform.python_version(),
        "settings": {
            "per_source": args.per_source,
            "seed": args.seed,
            "threshold": args.threshold,
            "models": models,
            "bytes": [MIN_BYTES, MAX_BYTES],
            "library_packages": list(LIBRARY_PACKAGES),
            "library_package_versions": _versions(),
            "group_cap": max(1, args.per_source // GROUP_SHARE),
        },
        "labels": "by source only (bench/level3_eval.py docstring); library = 1, every other source = 0",
        "counts": dict(sorted(counts.items())),
        "packages_per_source": groups,
        "set_sha1": sha1("\n".join(sorted(sha1(r["text"]) for r in rows))),
        "seconds": {"build_set": round(built, 1), "score": round(scored, 1)},
        "results": results,
        "control_unparse_round_trip_auc": control,
        "signal_auc": signals,
        "judge_sample": (
            None if judged is None else {"model": args.judge, "per_source": args.judge_per_source, "results": judged}
        ),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(record, indent=2) + "\n")
    print(f"\nbuilt in {built:.1f} s, scored in {scored:.1f} s; results: {RESULTS.relative_to(ROOT)}")


def package_of(r: Row) -> str:
    """The package of a row, from its shown path (``<site-packages>/rich/x.py`` -> ``rich``)."""
    parts = r["path"].split("/")
    if parts[0] in ("<stdlib>", "<site-packages>"):
        return f"{parts[0]}/{parts[1]}" if len(parts) > 2 else parts[0]
    return "/".join(parts[5:8]) if r["lang"] == "go" else "/".join(parts[:5])  # /usr/share/gocode/src/host/a/b


if __name__ == "__main__":
    main()
