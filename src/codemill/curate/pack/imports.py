"""Which files of a repository a file depends on: imports parsed with tree-sitter, resolved to repository paths.

Per language, what is read (tree-sitter queries, run in C) and how it is resolved to a file of the same
repository (heuristics on paths and module names; anything that names no file of the repository, such as
the standard library or a third-party package, is simply not an edge):

* Python: ``import a.b``, ``from a.b import c`` (``c`` a submodule or a name), relative ``from ..x import y``;
  modules are matched by path suffix (``a/b.py``, ``a/b/__init__.py``), relative ones exactly; a first
  component equal to the repository's name may be its root (a repository that is one package).
* JavaScript/TypeScript: ``import … from "./x"``, ``export … from``, ``require("./x")``, ``import("./x")``;
  relative specifiers tried with the usual extensions and ``index`` files.
* C/C++: ``#include "x.h"`` beside the file, then from the repository root, then by path suffix (dropping
  leading folders of the include until one matches); ``#include <x.h>`` by path suffix only.
* Go: ``import "mod/path/pkg"``: the module path of ``go.mod`` when the repository has one, else the
  longest suffix of the import path that is a folder of Go files (the repository's own name for its root);
  an edge to every non-test Go file of that package.
* Rust: ``mod x;`` (``x.rs`` or ``x/mod.rs``), ``use crate::…``, ``super::…``, ``self::…`` resolved against
  each crate's module tree (crate roots are the folders of ``lib.rs``/``main.rs``).
* Java and C#: explicit imports of a class, and type names used in the file that another file declares in
  a package/namespace the file sees (its own, a wildcard import, a ``using``).

Files whose parse has errors still give the imports tree-sitter recovered; the caller counts them.
Several candidates for one import are narrowed to those sharing the longest folder prefix with the
importing file, then the first by path: deterministic.
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from codemill.curate.pack.syntax import parser_for

#: tree-sitter queries per codemill language; capture names say how each capture is read.
QUERIES: dict[str, str] = {
    "python": "(import_statement) @py_import (import_from_statement) @py_from",
    "javascript": """
        (import_statement source: (string) @js_spec)
        (export_statement source: (string) @js_spec)
        (call_expression function: (identifier) @_fn arguments: (arguments . (string) @js_spec)
            (#eq? @_fn "require"))
        (call_expression function: (import) arguments: (arguments . (string) @js_spec))
    """,
    "typescript": """
        (import_statement source: (string) @js_spec)
        (import_require_clause source: (string) @js_spec)
        (export_statement source: (string) @js_spec)
        (call_expression function: (identifier) @_fn arguments: (arguments . (string) @js_spec)
            (#eq? @_fn "require"))
        (call_expression function: (import) arguments: (arguments . (string) @js_spec))
    """,
    "c": "(preproc_include path: (_) @c_include)",
    "c++": "(preproc_include path: (_) @c_include)",
    "go": "(import_spec path: (_) @go_import)",
    "rust": "(mod_item name: (identifier) @rs_mod !body) (use_declaration argument: (_) @rs_use)",
    "java": """
        (package_declaration (_) @package)
        (import_declaration) @java_import
        (class_declaration name: (identifier) @declares)
        (interface_declaration name: (identifier) @declares)
        (enum_declaration name: (identifier) @declares)
        (record_declaration name: (identifier) @declares)
        (annotation_type_declaration name: (identifier) @declares)
        (type_identifier) @uses
        (identifier) @uses
    """,
    "c#": """
        (namespace_declaration name: (_) @package)
        (file_scoped_namespace_declaration name: (_) @package)
        (using_directive) @cs_using
        (class_declaration name: (identifier) @declares)
        (interface_declaration name: (identifier) @declares)
        (struct_declaration name: (identifier) @declares)
        (enum_declaration name: (identifier) @declares)
        (record_declaration name: (identifier) @declares)
        (identifier) @uses
    """,
}
JS_EXTENSIONS = (".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".mts", ".cts", ".d.ts", ".json")
JS_LANGS = ("javascript", "typescript")


@dataclass
class FileFacts:
    """What one file says about its dependencies, before resolution."""

    path: str
    lang: str
    specs: list[tuple[str, str]] = field(default_factory=list)  # (capture kind, text)
    packages: list[str] = field(default_factory=list)  # Java package / C# namespaces declared
    declares: set[str] = field(default_factory=set)  # type names declared (Java, C#)
    uses: set[str] = field(default_factory=set)  # identifiers used (Java, C#)
    parsed: bool = False  # a grammar read it
    parse_error: bool = False  # the parse had errors (imports are what tree-sitter recovered)


@cache
def _query(lang: str) -> tuple[Any, Any] | None:
    parser = parser_for(lang)
    if parser is None or lang not in QUERIES:
        return None
    import tree_sitter

    return parser, tree_sitter.Query(parser.language, QUERIES[lang])


def file_facts(path: str, text: str, lang: str) -> FileFacts:
    """Parse ``text`` and collect its import specifications (nothing for languages without a query)."""
    facts = FileFacts(path, lang)
    compiled = _query(lang)
    if compiled is None:
        return facts
    import tree_sitter

    parser, query = compiled
    data = text.encode("utf-8", "surrogatepass")
    root = parser.parse(data).root_node
    facts.parsed, facts.parse_error = True, root.has_error
    captures = tree_sitter.QueryCursor(query).captures(root)

    def texts(name: str) -> list[str]:
        nodes = sorted(captures.get(name, ()), key=lambda n: n.start_byte)
        return [data[n.start_byte : n.end_byte].decode("utf-8", "replace") for n in nodes]

    for kind in ("py_import", "py_from", "js_spec", "c_include", "go_import", "rs_mod", "rs_use"):
        facts.specs += [(kind, t) for t in texts(kind)]
    for kind in ("java_import", "cs_using"):
        facts.specs += [(kind, t) for t in texts(kind)]
    facts.packages = [re.sub(r"\s+", "", t) for t in texts("package")]
    facts.declares = set(texts("declares"))
    if "uses" in captures:
        facts.uses = {data[n.start_byte : n.end_byte].decode("utf-8", "replace") for n in captures["uses"]}
    return facts


# ----------------------------------------------------------------------------------------------- resolution


def _unquote(spec: str) -> str:
    spec = spec.strip()
    if len(spec) >= 2 and spec[0] in "\"'`<" and spec[-1] in "\"'`>":
        return spec[1:-1]
    return spec


def _split_names(body: str) -> list[str]:
    """``a, b as c, (d, e)`` -> ``[a, b, d, e]`` (the imported names of a Python ``from`` statement)."""
    body = body.replace("(", " ").replace(")", " ").replace("\\\n", " ")
    return [part.split(" as ")[0].strip() for part in body.split(",") if part.strip() and part.strip() != "*"]


def _expand_use(text: str) -> list[list[str]]:
    """A Rust ``use`` argument as paths of segments: ``crate::a::{b, c::D}`` -> ``[[crate,a,b], [crate,a,c,D]]``."""
    text = re.sub(r"\s+", "", re.sub(r"\s+as\s+\w+", "", text))
    depth, start, parts = 0, 0, []
    brace = text.find("{")
    if brace < 0:
        return [[s for s in text.split("::") if s and s != "*"]]
    prefix = [s for s in text[:brace].split("::") if s]
    inner = text[brace + 1 : text.rfind("}")]
    for i, ch in enumerate(inner):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    parts.append(inner[start:])
    out: list[list[str]] = []
    for part in parts:
        if not part:
            continue
        if part == "self":
            out.append(prefix)
            continue
        out += [prefix + tail for tail in _expand_use(part)]
    return out


class Resolver:
    """Indexes of one repository's paths, and the resolution of each file's specifications to paths."""

    def __init__(self, repo: str, paths: Iterable[str], go_module: str | None = None) -> None:
        self.repo = repo
        self.paths = sorted(set(paths))
        self.path_set = set(self.paths)
        self.suffixes: dict[str, list[str]] = defaultdict(list)
        self.dirs: dict[str, list[str]] = defaultdict(list)
        for p in self.paths:
            parts = p.split("/")
            for i in range(len(parts)):
                self.suffixes["/".join(parts[i:])].append(p)
            self.dirs[posixpath.dirname(p)].append(p)
        self.go_module = go_module
        self._rust_roots = sorted(
            {posixpath.dirname(p) for p in self.paths if posixpath.basename(p) in ("lib.rs", "main.rs")},
            key=len,
            reverse=True,
        )
        self._rust_modules: dict[tuple[str, tuple[str, ...]], str] = {}
        for p in self.paths:
            if p.endswith(".rs"):
                root, mod = self._rust_module(p)
                self._rust_modules.setdefault((root, mod), p)
        self._types: dict[tuple[str, str], list[str]] = defaultdict(list)  # (package, type name) -> paths

    # ------------------------------------------------------------------------------------------ helpers

    def _closest(self, candidates: Iterable[str], near: str) -> str | None:
        """The candidate sharing the longest folder prefix with ``near``, then the first by path."""
        best: tuple[int, str] | None = None
        here = near.split("/")[:-1]
        for c in candidates:
            if c == near:
                continue
            parts = c.split("/")[:-1]
            common = 0
            for a, b in zip(here, parts, strict=False):
                if a != b:
                    break
                common += 1
            key = (-common, c)
            if best is None or key < best:
                best = key
        return best[1] if best else None

    def _by_suffix(self, suffix: str, near: str) -> str | None:
        suffix = suffix.lstrip("/")
        if suffix in self.path_set:
            return suffix
        return self._closest(self.suffixes.get(suffix, ()), near)

    def _exact(self, candidate: str) -> str | None:
        candidate = posixpath.normpath(candidate)
        return candidate if candidate in self.path_set else None

    # --------------------------------------------------------------------------------------- languages

    def _python_module(self, dotted: list[str], near: str, relative_dir: str | None) -> str | None:
        found = self._python_module_at(dotted, near, relative_dir)
        if found is None and relative_dir is None and dotted and dotted[0] == self.repo.rsplit("/", 1)[-1]:
            found = self._python_module_at(dotted[1:], near, "")  # the repository's root is the package
        return found

    def _python_module_at(self, dotted: list[str], near: str, relative_dir: str | None) -> str | None:
        if not dotted:
            return self._exact("__init__.py") if relative_dir == "" else None
        stem = "/".join(dotted)
        for candidate in (f"{stem}.py", f"{stem}/__init__.py", f"{stem}.pyi"):
            if relative_dir is not None:
                found = self._exact(posixpath.join(relative_dir, candidate))
            else:
                found = self._by_suffix(candidate, near)
            if found:
                return found
        return None

    def _python(self, facts: FileFacts, kind: str, spec: str) -> list[str]:
        spec = re.sub(r"#[^\n]*", "", spec)
        out: list[str] = []
        if kind == "py_import":
            for name in _split_names(spec.removeprefix("import")):
                parts = name.split(".")
                for k in range(len(parts), 0, -1):  # the most specific module the repository has
                    if found := self._python_module(parts[:k], facts.path, None):
                        out.append(found)
                        break
            return out
        m = re.match(r"from\s+(\.*)\s*([\w.]*)\s+import\s+(.*)", spec, re.S)
        if not m:
            return out
        dots, module, names = m.group(1), m.group(2), _split_names(m.group(3))
        mod_parts = [p for p in module.split(".") if p]
        relative_dir = None
        if dots:
            relative_dir = posixpath.dirname(facts.path)
            for _ in range(len(dots) - 1):
                relative_dir = posixpath.dirname(relative_dir)
        for name in names:  # `from pkg import submodule` depends on the submodule
            if found := self._python_module([*mod_parts, name], facts.path, relative_dir):
                out.append(found)
        if out:
            return out  # `from pkg import sub`: the submodules, not the package
        if mod_parts:
            found = self._python_module(mod_parts, facts.path, relative_dir)
        else:  # `from . import name`, where name is not a module: the package itself
            found = self._exact(posixpath.join(relative_dir or "", "__init__.py"))
        return [found] if found else []

    def _js(self, facts: FileFacts, spec: str) -> list[str]:
        spec = _unquote(spec).split("?")[0]
        if not spec:
            return []
        relative = spec.startswith(".")
        base = posixpath.normpath(posixpath.join(posixpath.dirname(facts.path), spec)) if relative else spec
        stem = re.sub(r"\.(js|mjs|cjs|jsx)$", "", base)
        candidates = [base, *(base + e for e in JS_EXTENSIONS), *(stem + e for e in JS_EXTENSIONS)]
        candidates += [f"{base}/index{e}" for e in JS_EXTENSIONS]
        for candidate in candidates:
            found = self._exact(candidate) if relative else self._by_suffix(candidate, facts.path)
            if found and found != facts.path:
                return [found]
        return []

    def _c(self, facts: FileFacts, spec: str) -> list[str]:
        quoted = spec.strip().startswith('"')
        name = _unquote(spec)
        if quoted:
            for candidate in (posixpath.join(posixpath.dirname(facts.path), name), name):
                if (found := self._exact(candidate)) and found != facts.path:
                    return [found]
        parts = posixpath.normpath(name).split("/")
        for i in range(len(parts)):  # `arrow/python/common.h` may live at `common.h` or `python/common.h`
            if (found := self._by_suffix("/".join(parts[i:]), facts.path)) and found != facts.path:
                return [found]
        return []

    def _go(self, facts: FileFacts, spec: str) -> list[str]:
        path = _unquote(spec)
        folder: str | None = None
        if self.go_module and (path == self.go_module or path.startswith(self.go_module + "/")):
            folder = path[len(self.go_module) :].strip("/")
        else:
            parts = path.split("/")
            for i in range(1, len(parts)):
                if "/".join(parts[i:]) in self.dirs:
                    folder = "/".join(parts[i:])
                    break
            if folder is None and parts[-1] == self.repo.rsplit("/", 1)[-1]:
                folder = ""
        if folder is None:
            return []
        return [
            p for p in self.dirs.get(folder, ()) if p.endswith(".go") and not p.endswith("_test.go") and p != facts.path
        ]

    def _rust_module(self, path: str) -> tuple[str, tuple[str, ...]]:
        """(crate root folder, module path) of a ``.rs`` file."""
        root = next((r for r in self._rust_roots if r == "" or path.startswith(r + "/")), "")
        rel = path[len(root) + 1 :] if root else path
        parts = rel[:-3].split("/")
        if parts[-1] == "mod" or (len(parts) == 1 and parts[0] in ("lib", "main")):
            parts = parts[:-1]
        return root, tuple(parts)

    def _rust(self, facts: FileFacts, kind: str, spec: str) -> list[str]:
        root, module = self._rust_module(facts.path)
        if kind == "rs_mod":
            name = posixpath.basename(facts.path)
            folder = posixpath.dirname(facts.path)
            if name not in ("mod.rs", "lib.rs", "main.rs"):
                folder = posixpath.join(folder, name[:-3])
            for candidate in (f"{folder}/{spec}.rs", f"{folder}/{spec}/mod.rs"):
                if found := self._exact(candidate.lstrip("/")):
                    return [found]
            return []
        out = []
        for segs in _expand_use(spec):
            if not segs:
                continue
            if segs[0] == "crate":
                target = list(segs[1:])
            elif segs[0] in ("self", "super"):
                target = list(module)
                while segs and segs[0] in ("self", "super"):
                    if segs[0] == "super" and target:
                        target.pop()
                    segs = segs[1:]
                target += segs
            else:
                continue  # another crate (std, a dependency)
            for k in range(len(target), 0, -1):
                found = self._rust_modules.get((root, tuple(target[:k])))
                if found and found != facts.path:
                    out.append(found)
                    break
        return out

    def add_types(self, facts: FileFacts) -> None:
        """Index the types a Java/C# file declares under its package/namespace (call for all files first)."""
        for package in facts.packages or [""]:
            for name in facts.declares:
                self._types[(package, name)].append(facts.path)

    def _typed(self, facts: FileFacts) -> list[str]:
        """Java/C#: explicit imports, then used type names visible through the package and imports."""
        out: list[str] = []
        visible = set(facts.packages or [""])
        for kind, spec in facts.specs:
            body = re.sub(r"\s+", " ", spec).strip().rstrip(";")
            body = re.sub(r"^(import|global using|using)\s+(static\s+)?", "", body)
            if "=" in body:
                body = body.split("=", 1)[1].strip()
            body = body.replace(" ", "")
            if kind == "java_import":
                if body.endswith(".*"):
                    visible.add(body[:-2])
                    continue
                parts = body.split(".")
                for k in range(len(parts), 0, -1):
                    if found := self._by_suffix("/".join(parts[:k]) + ".java", facts.path):
                        out.append(found)
                        break
                else:
                    package, _, name = body.rpartition(".")
                    out += self._types.get((package, name), [])
            else:
                visible.add(body)
                package, _, name = body.rpartition(".")  # `using static Ns.Type`
                out += self._types.get((package, name), [])
        for package in list(visible):  # C#: enclosing namespaces are visible too
            while "." in package:
                package = package.rsplit(".", 1)[0]
                visible.add(package)
        for name in sorted(facts.uses - facts.declares):
            for package in visible:
                out += self._types.get((package, name), [])
        return out

    def resolve(self, facts: FileFacts) -> tuple[set[str], int]:
        """The repository paths ``facts.path`` depends on, and how many specifications named none."""
        deps: set[str] = set()
        unresolved = 0
        if facts.lang in ("java", "c#"):
            deps.update(self._typed(facts))
        else:
            for kind, spec in facts.specs:
                if kind.startswith("py_"):
                    found = self._python(facts, kind, spec)
                elif kind == "js_spec":
                    found = self._js(facts, spec)
                elif kind == "c_include":
                    found = self._c(facts, spec)
                elif kind == "go_import":
                    found = self._go(facts, spec)
                else:
                    found = self._rust(facts, kind, spec)
                deps.update(found)
                unresolved += not found
        deps.discard(facts.path)
        return deps, unresolved


def go_module_of(text: str) -> str | None:
    """The module path a ``go.mod`` declares."""
    m = re.search(r"^\s*module\s+(\S+)", text, re.M)
    return m.group(1).strip('"') if m else None
