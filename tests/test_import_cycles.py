"""No import cycles in codemill, and the engine imports none of its plug-ins.

The graph is read from the source with ``ast``: every ``import`` and ``from ... import`` of a codemill module,
at the top of a module or inside a function (a lazy import closes a cycle just as well; it only hides it until
the call). ``from package import name`` points at ``package.name`` when that is a module, else at the package.
A package's ``__init__`` re-exporting its own modules is not counted as each module importing its package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import codemill

SRC = Path(codemill.__file__).parent


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Every module under ``root`` (the folder of ``package``) by dotted name; a package by its own name."""
    names: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join([package, *parts])] = path
    return names


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports (anywhere in its body)."""
    modules = module_names(root, package)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = name.split(".") if is_package else name.split(".")[:-1]
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for target in targets:
                while target and target not in modules:  # ``import a.b.c`` of a name inside a module
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted: the import cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_codemill_has_no_import_cycle() -> None:
    graph = import_graph(SRC, "codemill")
    assert len(graph) > 100  # the whole package was read
    assert cycles(graph) == []


def test_the_engine_imports_nothing_above_it() -> None:
    """``codemill.pipeline`` may use the data contract, the registry and the root (its version), never a step or a
    report."""
    graph = import_graph(SRC, "codemill")
    allowed = ("codemill.pipeline", "codemill.data", "codemill.registry")
    for module, targets in graph.items():
        if module.startswith("codemill.pipeline"):
            above = sorted(t for t in targets if t != "codemill" and not t.startswith(allowed))
            assert above == [], f"{module} imports {above}"


def test_domains_do_not_import_reports() -> None:
    """Curation, evaluation and synthesis return what they computed; their commands (``cli`` modules) render it."""
    graph = import_graph(SRC, "codemill")
    domains = ("codemill.pipeline", "codemill.curate", "codemill.evaluate", "codemill.synth")
    for module, targets in graph.items():
        if module.startswith(domains) and module.rpartition(".")[2] != "cli":
            assert not any(t.startswith("codemill.report") for t in targets), module


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "toy"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_a_cycle_hidden_in_a_function_is_found(tmp_path: Path) -> None:
    """The fooling case: ``a`` imports ``b`` at the top, ``b`` imports ``a`` only inside a function (as
    ``synth/outputs.py`` and ``report/synth_html.py`` did), and a relative import closes a second cycle."""
    root = _package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from toy.b import helper\n",
            "b.py": "def helper():\n    from toy import a\n    return a\n",
            "sub/__init__.py": "from .c import C\n",
            "sub/c.py": "from ..d import D\nclass C: ...\n",
            "d.py": "import toy.sub.c\nD = 1\n",
            "e.py": "import toy.sub\n",
        },
    )
    graph = import_graph(root, "toy")
    assert graph["toy.b"] == {"toy.a"} and graph["toy.sub.c"] == {"toy.d"}
    assert cycles(graph) == [["toy.a", "toy.b"], ["toy.d", "toy.sub.c"]]


def test_a_package_reexporting_its_modules_is_no_cycle(tmp_path: Path) -> None:
    files = {
        "__init__.py": "",
        "p/__init__.py": "from toy.p.m import f\n",
        "p/m.py": "from toy.p.n import g\ndef f(): ...\n",
        "p/n.py": "def g(): ...\n",
    }
    root = _package(tmp_path, files)
    assert cycles(import_graph(root, "toy")) == []
