"""Syntax-node FIM cuts: the middle is exactly one tree-sitter node; unparseable files fall back, counted."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest
from helpers import STDLIB

from codemill.curate.pack.fim import FimOptions, choose_cut, plan_cut
from codemill.curate.pack.packing import PackOptions, pack_documents
from codemill.curate.pack.syntax import parser_for
from codemill.curate.pack.verify import verify_pack
from codemill.data.schema import Document

PYARROW_SRC = Path(sysconfig.get_paths()["purelib"]) / "pyarrow" / "src" / "arrow" / "python"
SERDE = next(iter(sorted(Path("/usr/share/cargo/registry").glob("serde-1*"))), Path("missing-serde"))

#: language -> a real file of it on every machine that ran `make test` (Debian fixtures, the venv, Python).
REAL_FILES = {
    "python": STDLIB / "json" / "decoder.py",
    "go": Path("/usr/share/gocode/src/github.com/spf13/cobra/args.go"),
    "rust": SERDE / "src" / "integer128.rs",
    "javascript": Path("/usr/share/nodejs/lodash/_Hash.js"),
    "c": Path("/usr/include/stdint.h"),
    "c++": PYARROW_SRC / "common.cc",
}
#: languages no fixture package ships: small programs written here.
SNIPPETS = {
    "java": "import java.util.List;\n\npublic class Sum {\n    static int sum(List<Integer> xs) {\n"
    "        int s = 0;\n        for (int x : xs) { s += x; }\n        return s;\n    }\n}\n",
    "typescript": "export interface Point { x: number; y: number }\n\n"
    "export function norm(p: Point): number {\n  return Math.sqrt(p.x * p.x + p.y * p.y);\n}\n",
    "c#": "using System;\n\nclass Greeter {\n    static void Main(string[] args) {\n"
    '        foreach (var a in args) { Console.WriteLine($"hi {a}"); }\n    }\n}\n',
}


def node_spans(text: str, lang: str) -> set[tuple[int, int]]:
    """Character spans of every named node of the parse (an independent walk of the whole tree)."""
    data = text.encode("utf-8")
    spans: set[tuple[int, int]] = set()
    stack = [parser_for(lang).parse(data).root_node]
    while stack:
        node = stack.pop()
        if node.is_named:
            spans.add((len(data[: node.start_byte].decode()), len(data[: node.end_byte].decode())))
        stack.extend(node.children)
    return spans


@pytest.mark.parametrize("lang", [*REAL_FILES, *SNIPPETS])
def test_middle_is_one_syntax_node(lang: str) -> None:
    if lang in REAL_FILES:
        assert REAL_FILES[lang].is_file(), f"{REAL_FILES[lang]} is missing: run `make fixtures`"
        text = REAL_FILES[lang].read_text(encoding="utf-8")
    else:
        text = SNIPPETS[lang]
    spans = node_spans(text, lang)
    options = FimOptions(rate=1.0, split="syntax", seed=5)
    middles = set()
    for i in range(25):
        cut, fallback = plan_cut(f"{lang}-{i}", text, lang, options)
        assert cut is not None and fallback is None
        assert (cut.start, cut.end) in spans and cut.end > cut.start
        assert cut.mode == choose_cut(f"{lang}-{i}", len(text), options).mode  # the split only moves the cut
        assert plan_cut(f"{lang}-{i}", text, lang, options) == (cut, None)  # deterministic
        middles.add(text[cut.start : cut.end])
    assert len(middles) > 5  # functions, statements, expressions, names: not one node over and over


def test_unparseable_files_fall_back_to_character_cuts() -> None:
    options = FimOptions(rate=1.0, split="syntax")
    broken = "def f(:\n    x = [1,\n"
    assert plan_cut("a", broken, "python", options) == (choose_cut("a", len(broken), options), "parse_error")
    header = Path("/usr/include/stdio.h").read_text()  # real C whose macros tree-sitter cannot parse
    assert plan_cut("b", header, "c", options)[1] == "parse_error"
    assert plan_cut("c", "IDENTIFICATION DIVISION.\n", "cobol", options)[1] == "no_grammar"
    assert plan_cut("d", "   \n", "python", options)[1] == "no_node"


def test_pack_with_syntax_cuts_counts_fallbacks_and_verifies(tmp_path: Path) -> None:
    docs = [Document(id=f"{lang}:{p.name}", text=p.read_text(), lang=lang) for lang, p in REAL_FILES.items()]
    docs += [Document(id=f"snippet.{lang}", text=text, lang=lang) for lang, text in SNIPPETS.items()]
    docs += [
        Document(id="broken.py", text="def f(:\n    x = [1,\n", lang="python"),
        Document(id="stdio.h", text=Path("/usr/include/stdio.h").read_text(), lang="c"),
        Document(id="notes.txt", text="plain words\n", lang="text"),
    ]
    options = PackOptions(seq_length=512, fim={"rate": 1.0, "split": "syntax"})
    manifest = pack_documents(docs, tmp_path / "out", options)
    assert manifest["counts"]["syntax_fallback"] == {"no_grammar": 1, "parse_error": 2}
    assert manifest["counts"]["psm"] + manifest["counts"]["spm"] == len(docs)
    assert verify_pack(tmp_path / "out", docs, reencode=True).ok
