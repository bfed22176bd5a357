"""Repo-level samples: import graphs of real multi-file repositories, DeepSeek-Coder's order, exact layouts, windows."""

from __future__ import annotations

import json
import random
import sysconfig
from pathlib import Path

import numpy as np
import pytest
from helpers import STDLIB
from test_pack import read_megatron

from codemill.curate.pack.fim import FimCut
from codemill.curate.pack.packing import PackOptions, pack_documents
from codemill.curate.pack.repo import (
    RepoSampler,
    dependency_graph,
    group_repositories,
    layout_text,
    topological_order,
)
from codemill.curate.pack.tokenizer import QwenTokenizer, load_tokenizer
from codemill.curate.pack.verify import verify_pack
from codemill.data.languages import detect_language
from codemill.data.schema import Document

PYARROW_SRC = Path(sysconfig.get_paths()["purelib"]) / "pyarrow" / "src" / "arrow" / "python"
SERDE = next(iter(sorted(Path("/usr/share/cargo/registry").glob("serde-1*"))), Path("missing-serde"))
COBRA = Path("/usr/share/gocode/src/github.com/spf13/cobra")
NODE = Path("/usr/share/nodejs")

#: No Java or C# sources ship on the machine: small programs written here, with an import cycle each.
JAVA = {
    "src/main/java/org/shop/model/Item.java": "package org.shop.model;\n\npublic class Item {\n"
    "    public final String name;\n    public final Money price;\n"
    "    public Item(String name, Money price) { this.name = name; this.price = price; }\n}\n",
    "src/main/java/org/shop/model/Money.java": "package org.shop.model;\n\npublic record Money(long cents) {\n"
    "    public Money plus(Money o) { return new Money(cents + o.cents()); }\n}\n",
    "src/main/java/org/shop/cart/Cart.java": "package org.shop.cart;\n\nimport java.util.ArrayList;\n"
    "import java.util.List;\nimport org.shop.model.Item;\nimport org.shop.model.Money;\n\npublic class Cart {\n"
    "    private final List<Item> items = new ArrayList<>();\n    public void add(Item i) { items.add(i); }\n"
    "    public Money total() { return Pricing.sum(items); }\n}\n",
    "src/main/java/org/shop/cart/Pricing.java": "package org.shop.cart;\n\nimport org.shop.model.*;\n"
    "import java.util.List;\n\nclass Pricing {\n    static Money sum(List<Item> items) {\n"
    "        Money m = new Money(0);\n        for (Item i : items) { m = m.plus(i.price); }\n        return m;\n    }\n"
    "    static Cart empty() { return new Cart(); }\n}\n",
    "src/main/java/org/shop/App.java": "package org.shop;\n\nimport org.shop.cart.Cart;\nimport org.shop.model.Item;\n"
    "import org.shop.model.Money;\n\npublic class App {\n    public static void main(String[] args) {\n"
    '        Cart c = new Cart();\n        c.add(new Item("tea", new Money(250)));\n'
    "        System.out.println(c.total());\n    }\n}\n",
}
CSHARP = {
    "Geometry/Point.cs": "namespace Shapes.Geometry\n{\n"
    "    public readonly record struct Point(double X, double Y);\n}\n",
    "Geometry/Vector.cs": "namespace Shapes.Geometry;\n\npublic static class Vector\n{\n"
    "    public static double Dot(Point a, Point b) => a.X * b.X + a.Y * b.Y;\n"
    "    public static Polygon Hull(Point[] ps) => new Polygon(ps);\n}\n",
    "Geometry/Polygon.cs": "namespace Shapes.Geometry;\n\npublic class Polygon\n{\n"
    "    public Point[] Points { get; }\n    public Polygon(Point[] ps) { Points = ps; }\n"
    "    public double Spread() => Vector.Dot(Points[0], Points[^1]);\n}\n",
    "Program.cs": "using System;\nusing Shapes.Geometry;\n\nnamespace Shapes\n{\n    class Program\n    {\n"
    "        static void Main()\n        {\n"
    "            var p = new Polygon(new[] { new Point(1, 2), new Point(3, 4) });\n"
    '            Console.WriteLine($"{p.Spread()}");\n        }\n    }\n}\n',
}


@pytest.fixture(scope="module")
def qwen() -> QwenTokenizer:
    return load_tokenizer("qwen2.5")  # type: ignore[return-value]


def real_repo(name: str, root: Path, patterns: tuple[str, ...], prefix: str = "") -> list[Document]:
    assert root.is_dir(), f"{root} is missing: run `make fixtures`"
    files = sorted({p for pattern in patterns for p in root.glob(pattern) if p.is_file()})
    assert files, f"nothing matches {patterns} under {root}"
    return [
        Document(
            id=f"{name}/{prefix}{p.relative_to(root)}",
            text=p.read_text(encoding="utf-8", errors="replace"),
            repo=name,
            path=f"{prefix}{p.relative_to(root)}",
            lang=detect_language(p) or "",
        )
        for p in files
    ]


def written_repo(name: str, files: dict[str, str]) -> list[Document]:
    return [
        Document(id=f"{name}/{p}", text=t, repo=name, path=p, lang=detect_language(p) or "") for p, t in files.items()
    ]


def ordered(docs: list[Document]) -> tuple[list[str], dict[str, set[str]], int]:
    graph = dependency_graph(docs[0].repo, docs)
    order, breaks = topological_order(graph.paths, graph.deps)
    assert sorted(order) == sorted(graph.paths)
    return order, graph.deps, breaks


def assert_dependencies_first(order: list[str], deps: dict[str, set[str]]) -> None:
    at = {p: i for i, p in enumerate(order)}
    late = [(d, p) for p, ds in deps.items() for d in ds if at[d] > at[p]]
    assert not late, late[:5]


def test_python_stdlib_json() -> None:
    order, deps, breaks = ordered(real_repo("json", STDLIB / "json", ("*.py",)))
    assert deps["decoder.py"] == {"scanner.py"}  # `from json import scanner`: the repository is the package
    assert deps["__init__.py"] == {"decoder.py", "encoder.py"}  # relative imports
    assert deps["tool.py"] == {"__init__.py"}  # `import json`
    assert order == ["encoder.py", "scanner.py", "decoder.py", "__init__.py", "tool.py"] and breaks == 0


def test_go_cobra() -> None:
    order, deps, breaks = ordered(real_repo("cobra", COBRA, ("**/*.go", "go.mod")))
    root_files = {p for p in order if "/" not in p and p.endswith(".go") and not p.endswith("_test.go")}
    assert deps["doc/man_docs.go"] >= root_files  # imports "github.com/spf13/cobra" (go.mod's module path)
    assert_dependencies_first(order, deps)
    assert breaks == 0


def test_rust_serde_with_import_cycles() -> None:
    order, deps, breaks = ordered(real_repo("serde", SERDE, ("**/*.rs",)))
    assert {"src/de/mod.rs", "src/ser/mod.rs", "src/macros.rs"} <= deps["src/lib.rs"]  # `pub mod de;` ...
    assert "src/de/value.rs" in deps["src/de/mod.rs"] and "src/de/mod.rs" in deps["src/de/value.rs"]  # a cycle
    assert breaks >= 1  # each cycle is entered at its node of least in-degree
    at = {p: i for i, p in enumerate(order)}
    assert at["src/lib.rs"] > max(at["src/de/mod.rs"], at["src/macros.rs"], at["src/integer128.rs"])
    assert at["src/de/impls.rs"] < at["src/de/mod.rs"] < at["src/de/value.rs"]  # the cycle entered at mod.rs
    # ser/mod.rs <-> ser/impls.rs is a cycle too; lib.rs (in-degree 1: ser/mod.rs) ties with both and goes first
    # on its path: DeepSeek-Coder's rule looks at in-degrees only, so a file can precede a cycle it depends on
    assert at["src/lib.rs"] < at["src/ser/impls.rs"] < at["src/ser/mod.rs"]


def test_javascript_lodash_and_typescript_types() -> None:
    order, deps, breaks = ordered(real_repo("lodash", NODE / "lodash", ("_base*.js",)))
    assert {"_baseAssign.js", "_baseAssignIn.js", "_Stack.js"} & deps["_baseClone.js"]  # require('./_baseAssign')
    assert_dependencies_first(order, deps)
    assert breaks == 0
    order, deps, breaks = ordered(real_repo("types-lodash", NODE / "@types" / "lodash", ("*.d.ts", "common/*.d.ts")))
    assert deps["add.d.ts"] == {"index.d.ts"}  # import _ = require("./index")
    assert "index.d.ts" in deps["common/array.d.ts"]
    assert order[0] == "index.d.ts" and breaks == 0


def test_c_and_cpp_includes() -> None:
    order, deps, _ = ordered(real_repo("arrow-python", PYARROW_SRC, ("*.h", "*.cc")))
    assert "csv.h" in deps["csv.cc"] and "common.h" in deps["inference.h"]  # "arrow/python/common.h"
    at = {p: i for i, p in enumerate(order)}
    assert at["csv.h"] < at["csv.cc"] and at["common.h"] < at["common.cc"]
    order, deps, _ = ordered(real_repo("c-headers", Path("/usr/include"), ("std*.h",)))
    assert "stdio.h" in deps["stdio_ext.h"]  # #include <stdio.h>, a file of this repository
    assert order.index("stdio.h") < order.index("stdio_ext.h")


def test_java_and_csharp_with_cycles() -> None:
    order, deps, breaks = ordered(written_repo("shop", JAVA))
    m = "src/main/java/org/shop/"
    assert deps[m + "cart/Cart.java"] == {m + "model/Item.java", m + "model/Money.java", m + "cart/Pricing.java"}
    assert m + "cart/Cart.java" in deps[m + "cart/Pricing.java"]  # same package, no import: a cycle
    assert deps[m + "model/Item.java"] == {m + "model/Money.java"}
    # then App, Cart and Pricing all have in-degree 1 (Cart <-> Pricing is a cycle): the path breaks the tie
    assert order == [m + p for p in ("model/Money.java", "model/Item.java", "App.java", "cart/Cart.java")] + [
        m + "cart/Pricing.java"
    ]
    assert breaks == 2
    order, deps, breaks = ordered(written_repo("shapes", CSHARP))
    assert deps["Program.cs"] == {"Geometry/Point.cs", "Geometry/Polygon.cs"}
    assert "Geometry/Vector.cs" in deps["Geometry/Polygon.cs"] and "Geometry/Polygon.cs" in deps["Geometry/Vector.cs"]
    assert order[0] == "Geometry/Point.cs" and order[-1] == "Program.cs" and breaks == 1


def test_least_in_degree_order_on_a_python_cycle() -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/a.py": "from pkg import b\n\nX = 1\n",
        "pkg/b.py": "from . import a\n\nY = 2\n",
        "pkg/c.py": "from .a import X\nfrom .b import Y\n",
        "tools/run.py": "import pkg.c\n",
        "lonely.py": "print('no imports')\n",
    }
    order, deps, breaks = ordered(written_repo("cyc", files))
    assert deps["pkg/a.py"] == {"pkg/b.py"} and deps["pkg/b.py"] == {"pkg/a.py"}
    # components by their smallest path: {lonely.py}, then {pkg/...}; a and b tie at in-degree 1: path decides
    assert order == ["lonely.py", "pkg/__init__.py", "pkg/a.py", "pkg/b.py", "pkg/c.py", "tools/run.py"]
    assert breaks == 1


def test_layout_round_trip_windows_and_oversize_files(qwen: QwenTokenizer, tmp_path: Path) -> None:
    docs = real_repo("json", STDLIB / "json", ("*.py",)) + real_repo("cobra", COBRA, ("*.go", "doc/*.go", "go.mod"))
    docs += written_repo("shop", JAVA) + written_repo("shapes", CSHARP)
    docs += [Document(id="typing", text=(STDLIB / "typing.py").read_text(), repo="big", path="typing.py")]
    docs += [Document(id="loose", text="x = 1\n", path="loose.py")]  # no repository: a sample of its own
    window = 4096
    random.Random(0).shuffle(docs)  # grouping does not depend on the input order
    options = PackOptions(level="repo", seq_length=window, shard_tokens=window * 8, fim={"rate": 0.5, "seed": 1})
    manifest = pack_documents(docs, tmp_path / "out", options)
    counts = manifest["counts"]["repo"]
    assert counts["repositories"] == 6 and counts["split_repositories"] >= 2  # cobra and big at least
    assert counts["oversize_files"] >= 2 and counts["over_window"] == 0  # typing.py, cobra's command.go...
    assert manifest["counts"]["psm"] + manifest["counts"]["spm"] > 2

    out = tmp_path / "out"
    sequences, segments, records = [], [], []
    for shard in manifest["shards"]:
        _, seqs, _ = read_megatron(out / shard["name"])  # the independent reader of test_pack
        sequences += seqs
        segments.append(np.load(out / f"{shard['name']}.segments.npy"))
        records += [json.loads(line) for line in (out / f"{shard['name']}.docs.jsonl").read_text().splitlines()]
    pieces: dict[int, list[np.ndarray]] = {}
    for seg in np.concatenate(segments):
        pieces.setdefault(int(seg["doc"]), []).append(
            sequences[seg["seq"]][seg["start"] : seg["start"] + seg["length"]]
        )
    source = {(d.repo or d.path, d.path): qwen.normalize(d.text) for d in docs}
    seen: dict[str, list[str]] = {}
    for r in records:
        ids = np.concatenate(pieces[r["doc"]]).tolist()
        assert len(ids) == r["tokens"] and (len(ids) <= window or r.get("oversize"))
        files = [(p, source[(r["repo"], p)]) for p in r["files"]]
        cut = FimCut(r["fim"], *r["cut"]) if r["fim"] else None
        assert qwen.decode(ids) == layout_text(r["repo"], files, cut), r["id"]
        assert not r.get("oversize") or len(files) == 1  # a file longer than the window goes alone
        assert ids[0] == 151663 and ids.count(151664) == len(files) and ids[-1] == 151643
        seen.setdefault(r["repo"], []).extend(r["files"])
    assert seen["json"] == ["encoder.py", "scanner.py", "decoder.py", "__init__.py", "tool.py"]
    assert len(seen["cobra"]) == len({p for p in seen["cobra"]}) == sum(d.repo == "cobra" for d in docs)
    one = next(r for r in records if r["repo"] == "json")
    expected = (
        "<|repo_name|>json\n<|file_sep|>encoder.py\n" + source[("json", "encoder.py")] + "\n<|file_sep|>scanner.py\n"
    )
    assert qwen.decode(np.concatenate(pieces[one["doc"]]).tolist()).startswith(expected)
    report = verify_pack(out, docs, reencode=True)
    assert report.ok and report.documents == len(records), report.problems
    broken = [Document(id=d.id, text=d.text.replace("func ", "fn "), repo=d.repo, path=d.path) for d in docs]
    assert not verify_pack(out, broken).ok


def test_thousands_of_files_grouping_spills_the_same(qwen: QwenTokenizer, tmp_path: Path) -> None:
    docs = real_repo("lodash", NODE / "lodash", ("*.js", "fp/*.js"), "lodash/")
    docs += real_repo("lodash", NODE / "lodash-es", ("*.js",), "lodash-es/")
    docs += real_repo("lodash", NODE / "@types" / "lodash", ("*.d.ts", "common/*.d.ts", "fp/*.d.ts"), "@types/lodash/")
    assert len(docs) > 2000
    sampler = RepoSampler(qwen, 32768, PackOptions().fim, None)
    (name, group), *rest = list(group_repositories(docs))
    assert name == "lodash" and not rest
    samples = sampler.samples(name, group)
    c = sampler.counts
    assert c.files == len(docs) and sum(len(s.paths) for s in samples) == len(docs)
    assert c.edges > 3000 and c.oversize_files >= 1 and c.over_window == 0  # lodash.js alone is > 32K tokens
    assert all(len(s.ids) <= 32768 or s.oversize for s in samples) and len(samples) > 10
    order = [p for s in samples for p in s.paths]
    assert order.index("lodash-es/_baseAssign.js") < order.index("lodash-es/_baseClone.js")

    other = [Document(id=f"o{i}", text=f"x = {i}\n", repo=f"r{i % 7}", path=f"m{i}.py") for i in range(60)]
    mixed = [d for pair in zip(docs[:300], other, strict=False) for d in pair] + docs[300:400]
    in_memory = [(n, [d.id for d in g]) for n, g in group_repositories(mixed)]
    spilled = [(n, [d.id for d in g]) for n, g in group_repositories(mixed, group_memory=20_000, spill_dir=tmp_path)]
    assert [n for n, _ in spilled] == [n for n, _ in in_memory] and len(in_memory) == 8
    assert [sorted(g) for _, g in spilled] == [sorted(g) for _, g in in_memory]
    assert not list(tmp_path.iterdir())  # spill files are removed


def test_broken_syntax_falls_back_and_is_counted(qwen: QwenTokenizer, tmp_path: Path) -> None:
    files = {
        "lib/util.py": "def helper(x):\n    return x * 2\n",
        "lib/zz_broken.py": "from lib.util import helper\n\ndef f(:\n    return helper(\n",
    }
    docs = written_repo("broken", files)
    graph = dependency_graph("broken", docs)
    assert graph.parse_errors == 1 and graph.deps["lib/zz_broken.py"] == {"lib/util.py"}  # recovered import
    options = PackOptions(level="repo", seq_length=1024, fim={"rate": 1.0, "split": "syntax"})
    manifest = pack_documents(docs, tmp_path / "out", options)
    assert manifest["counts"]["syntax_fallback"] == {"parse_error": 1}  # FIM in the last file: character cut
    assert manifest["counts"]["repo"]["import_parse_errors"] == 1
    assert verify_pack(tmp_path / "out", docs).ok
