"""The level-3 validation set (bench/level3_eval.py): planted rewrites, the AUC, and a tiny set from this machine."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("level3_eval", ROOT / "bench/level3_eval.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["level3_eval"] = module
    spec.loader.exec_module(module)
    return module


l3 = _load()

SAMPLE = '''"""A small module."""
import os


def join_parts(first: str, second: str = "x") -> str:
    """Join two parts with the path separator."""
    combined = first + os.sep + second  # the separator of this system
    return combined


class Store:
    """A store of items."""

    limit: int = 3

    def count(self, items: list[str]) -> int:
        total = 0
        for item in items:
            total += len(item)
        return total
'''


def _names(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
        n.arg for n in ast.walk(tree) if isinstance(n, ast.arg)
    }


def _docstrings(tree: ast.AST) -> list[str]:
    nodes = [n for n in ast.walk(tree) if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef)]
    return [d for n in nodes if (d := ast.get_docstring(n)) is not None]


def test_planted_rewrites_drop_docs_rename_and_still_parse() -> None:
    planted = l3.plant(SAMPLE)
    assert set(planted) == set(l3.PLANTED_KINDS)
    trees = {kind: ast.parse(text) for kind, text in planted.items()}  # every rewrite parses
    for kind, tree in trees.items():
        assert _docstrings(tree) == [], kind
        assert "#" not in planted[kind], kind  # comments gone

    undocumented = trees["planted_undocumented"]
    assert {"first", "second", "combined", "total", "item"} <= _names(undocumented)  # names untouched

    for kind in ("planted_renamed_undocumented", "planted_flattened"):
        names = _names(trees[kind])
        assert not {"first", "second", "combined", "total", "item", "items"} & names, kind
        assert {"os", "len", "self"} <= names  # imports, builtins and self keep working
        functions = {n.name for n in ast.walk(trees[kind]) if isinstance(n, ast.FunctionDef)}
        assert functions and all(f.startswith("a") and f[1:].isdigit() for f in functions)

    flattened = planted["planted_flattened"]
    assert "str" not in flattened and "->" not in flattened  # type hints gone
    assert any(line.startswith("def ") and "; return" in line for line in flattened.splitlines())  # joined


def test_auc_on_known_cases() -> None:
    assert l3.roc_auc([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1]) == 1.0
    assert l3.roc_auc([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]) == 0.0
    assert l3.roc_auc([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5]) == 0.5
    assert l3.roc_auc([1, 0, 0], [0.5, 0.5, 0.1]) == 0.75  # one tie (half) and one win
    assert l3.roc_auc([1, 1], [0.2, 0.3]) is None
    assert list(l3.average_ranks([3.0, 1.0, 3.0, 2.0])) == [3.5, 1.0, 3.5, 2.0]


def test_build_set_small_has_every_source_with_its_label() -> None:
    rows = l3.build_set(per_source=3, seed=l3.SEED)
    found = {(r["lang"], r["source"]) for r in rows}
    expected = {key for key, paths in l3.candidates().items() if paths}
    expected |= {("python", kind) for kind in l3.PLANTED_KINDS}
    assert found == expected
    assert ("python", "library") in found and ("python", "test_scaffold") in found
    for r in rows:
        assert set(r) == {"source", "label", "path", "lang", "text"}
        assert r["label"] == (1 if r["source"] == "library" else 0)
        assert not r["path"].startswith(str(Path.home())) and not r["path"].startswith(str(ROOT))
    counts = {key: sum((r["lang"], r["source"]) == key for r in rows) for key in found}
    assert all(1 <= n <= 3 for n in counts.values())
    assert len({l3.sha1(r["text"]) for r in rows}) == len(rows)  # deduplicated
    library = {r["path"] for r in rows if r["source"] == "library"}
    planted = {r["path"] for r in rows if r["source"].startswith("planted_")}
    assert planted and not planted & library  # planted originals are not library rows
    held = l3.validation_paths(per_source=3, seed=l3.SEED)
    assert library | planted <= set(held["paths"])
    assert rows == l3.build_set(per_source=3, seed=l3.SEED)  # reproducible
