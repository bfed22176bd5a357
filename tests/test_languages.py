"""Tests for codemill.data.languages: the table, its invariants and detect_language."""

from __future__ import annotations

import glob
import os
import sysconfig
from pathlib import Path

import pytest

from codemill.data import languages as L
from codemill.data.languages import (
    LANGUAGES,
    QWEN_LANGUAGES,
    Language,
    detect_language,
    language_by_name,
)


def test_qwen_list_has_92_names_all_in_table() -> None:
    assert len(QWEN_LANGUAGES) == 92
    names = {lang.name for lang in LANGUAGES}
    assert names >= QWEN_LANGUAGES
    for name in QWEN_LANGUAGES:
        lang = language_by_name(name)
        assert lang.extensions or lang.filenames, name


def test_no_duplicate_claims() -> None:
    names = [lang.name for lang in LANGUAGES]
    assert len(names) == len(set(names))
    exts = [ext for lang in LANGUAGES for ext in lang.extensions]
    assert len(exts) == len(set(exts))
    fnames = {fname.lower(): lang.name for lang in LANGUAGES for fname in lang.filenames}
    for lang in LANGUAGES:
        for fname in lang.filenames:
            assert fnames[fname.lower()] == lang.name


def test_table_entries_are_well_formed() -> None:
    for lang in LANGUAGES:
        assert lang.kind in {"code", "text", "data"}
        for ext in lang.extensions:
            assert ext.startswith(".") and ext == ext.lower()
    assert language_by_name("markdown").kind == "text"
    assert language_by_name("json").kind == "data"
    assert language_by_name("python").kind == "code"


def test_every_extension_and_filename_round_trips() -> None:
    """No entry is shadowed: each extension and file name detects as its own language."""
    for lang in LANGUAGES:
        for ext in lang.extensions:
            assert detect_language(f"dir/file{ext}") == lang.name, ext
        for fname in lang.filenames:
            assert detect_language(f"dir/{fname}") == lang.name, fname


def test_build_indexes_rejects_double_claims_naming_both() -> None:
    table = [Language("alpha", "code", (".x",)), Language("beta", "code", (".y", ".x"))]
    with pytest.raises(ValueError, match=r"'\.x'.*'alpha'.*'beta'"):
        L._build_indexes(table)
    table = [Language("alpha", "code", (), ("Buildfile",)), Language("beta", "code", (), ("buildfile",))]
    with pytest.raises(ValueError, match=r"alpha.*beta"):
        L._build_indexes(table)


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "x", "kind": "prose", "extensions": (".x",)},
        {"name": "x", "kind": "code", "extensions": ("x",)},
        {"name": "x", "kind": "code", "extensions": (".X",)},
        {"name": "x", "kind": "code", "extensions": ()},
        {"name": "x", "kind": "code", "extensions": (), "filenames": ("a/b",)},
    ],
)
def test_language_rejects_malformed_entries(bad: dict) -> None:
    with pytest.raises(ValueError):
        Language(**bad)


def test_language_is_frozen() -> None:
    lang = language_by_name("python")
    with pytest.raises(AttributeError):
        lang.name = "snake"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("src/main.rs", "rust"),
        ("lib/foo.hpp", "c++"),
        ("lib/foo.hh", "c++"),
        ("lib/foo.hxx", "c++"),
        ("include/foo.h", "c"),
        ("src/foo.cc", "c++"),
        ("kernel.cu", "cuda"),
        ("Makefile", "makefile"),
        ("makefile", "makefile"),
        ("MAKEFILE", "makefile"),
        ("GNUmakefile", "makefile"),
        ("Makefile.am", "makefile"),
        ("rules.mk", "makefile"),
        ("CMakeLists.txt", "cmake"),
        ("cmake/FooConfig.cmake.in", "cmake"),
        ("Dockerfile", "dockerfile"),
        ("docker/Dockerfile.dev", "dockerfile"),
        ("dockerfile", "dockerfile"),
        ("x.ipynb", "jupyter-notebook"),
        ("a/b/c.d.ts", "typescript"),
        ("a/b/c.ts", "typescript"),
        ("App.tsx", "typescript"),
        ("dist/jquery.min.js", "javascript"),
        ("README.md", "markdown"),
        ("docs/index.rst", "restructuredtext"),
        ("paper.tex", "tex"),
        ("notes.txt", "text"),
        ("setup.cfg", "ini"),
        ("tox.ini", "ini"),
        ("pyproject.toml", "toml"),
        ("config.yml", "yaml"),
        ("package.json", "json"),
        ("pom.xml", "xml"),
        ("data.csv", "csv"),
        ("x.unknownext", None),
        ("noextension", None),
        ("", None),
        ("dir/", None),
        ("C:\\src\\win.py", "python"),
        ("setup.py", "python"),
        ("stubs/x.pyi", "python"),
        ("SConstruct", "python"),
        ("analysis.R", "r"),
        ("boot.S", "assembly"),
        ("lib/Foo.pm", "perl"),
        ("script.pl", "perl"),
        ("t/basic.t", "perl"),
        ("rules.pro", "prolog"),
        ("Main.lhs", "literate-haskell"),
        ("Main.lagda.md", "literate-agda"),
        ("README.coffee.md", "literate-coffeescript"),
        ("x.m", "objective-c"),
        ("x.mm", "objectc++"),
        ("x.matlab", "matlab"),
        ("Gemfile", "ruby"),
        ("Rakefile", "ruby"),
        ("Jenkinsfile", "groovy"),
        ("build.gradle", "groovy"),
        (".bashrc", "shell"),
        (".zshrc", "shell"),
        (".cshrc", "tcsh"),
        (".emacs", "emacs-lisp"),
        ("Cargo.lock", "toml"),
        ("top.sv", "systemverilog"),
        ("top.v", "verilog"),
        ("ent.vhd", "vhdl"),
        ("App.vue", "vue"),
        ("Token.sol", "solidity"),
        ("main.zig", "zig"),
        ("parser.y", "yacc"),
        ("grammar.g4", "antlr"),
        ("run.do", "stata"),
        ("model.stan", "stan"),
        ("index.jsp", "java-server-pages"),
        ("style.xsl", "xslt"),
        ("query.rq", "sparql"),
        ("api.proto", "protocol-buffer"),
        ("svc.thrift", "thrift"),
        ("build.bat", "batchfile"),
        ("Program.cs", "c#"),
        ("Lib.fs", "f#"),
    ],
)
def test_detect_language_paths(path: str, expected: str | None) -> None:
    assert detect_language(path) == expected


def test_detect_accepts_pathlike() -> None:
    assert detect_language(Path("src/pkg/mod.py")) == "python"


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"#!/bin/bash\nset -e\n", "shell"),
        (b"#!/bin/sh\n", "shell"),
        ("#!/usr/bin/env bash\n", "shell"),
        (b"#!/usr/bin/env zsh\n", "shell"),
        (b"#!/usr/bin/env python3\nimport sys\n", "python"),
        (b"#!/usr/bin/python3.11 -u\n", "python"),
        (b"#!/usr/bin/env -S python3 -X dev\n", "python"),
        (b"#!/usr/bin/env PYTHONPATH=. python\n", "python"),
        (b"\xef\xbb\xbf#!/usr/bin/env python\n", "python"),
        (b"#!/usr/bin/perl -w\nuse strict;\n", "perl"),
        (b"#!/usr/bin/env node\n", "javascript"),
        (b"#!/usr/bin/env ruby\n", "ruby"),
        (b"#!/usr/bin/php\n<?php\n", "php"),
        (b"#!/usr/bin/env lua\n", "lua"),
        (b"#!/usr/bin/env Rscript\n", "r"),
        (b"#!/usr/bin/tclsh8.6\n", "tcl"),
        (b"#!/usr/bin/awk -f\n", "awk"),
        (b"#!/bin/tcsh\n", "tcsh"),
        (b"#!/bin/csh -f\n", "tcsh"),
        (b"#!/usr/bin/make -f\n", "makefile"),
        (b"#!/usr/bin/env unknown-interpreter\n", None),
        (b"#!\n", None),
        (b"#!/usr/bin/env\n", None),
        (b"just text\n", None),
        (b"\x00\x01\xff\xfe binary", None),
        (b"", None),
    ],
)
def test_detect_language_shebang(head: bytes | str, expected: str | None) -> None:
    assert detect_language("bin/script", head) == expected


def test_shebang_only_used_without_known_extension() -> None:
    assert detect_language("tool.py", b"#!/bin/bash\n") == "python"
    assert detect_language("tool.unknownext", b"#!/bin/bash\n") == "shell"
    assert detect_language("Makefile", b"#!/usr/bin/env python\n") == "makefile"


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"#import <Foundation/Foundation.h>\n@interface Foo : NSObject\n", "objective-c"),
        (b"//\n//  AppDelegate.m\n//\n", "objective-c"),
        (b"/* Copyright */\n#include <stdio.h>\n", "objective-c"),
        (b"% compute things\nfunction y = f(x)\n  y = x + 1;\nend\n", "matlab"),
        (b"function y = f(x)\ny = 2 * x;\n", "matlab"),
        (b"classdef Foo < handle\n", "matlab"),
        (b'(* ::Package:: *)\nBeginPackage["Foo`"]\n', "mathematica"),
        (b"x = 1;\n", "objective-c"),
    ],
)
def test_dot_m_is_refined_by_content(head: bytes, expected: str) -> None:
    assert detect_language("src/thing.m", head) == expected


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"parent(tom, bob).\nancestor(X, Y) :- parent(X, Y).\n", "prolog"),
        (b"QT += core gui\nTEMPLATE = app\nSOURCES += main.cpp\n", None),
        (b"pro hello, name\n  print, name\nend\n", None),
        (b"likes(mary, wine).\n", "prolog"),
    ],
)
def test_dot_pro_is_refined_by_content(head: bytes, expected: str | None) -> None:
    assert detect_language("project.pro", head) == expected


def test_unknown_name_raises_helpful_keyerror() -> None:
    with pytest.raises(KeyError, match="unknown language 'cpp'") as info:
        language_by_name("cpp")
    message = str(info.value)
    assert "'c++'" in message  # suggestion
    assert "python" in message  # list of known names
    with pytest.raises(KeyError, match="no-such-language"):
        language_by_name("no-such-language")


def test_language_by_name_returns_table_entry() -> None:
    lang = language_by_name("c++")
    assert lang.name == "c++"
    assert ".cpp" in lang.extensions
    assert "Makefile" in language_by_name("makefile").filenames


def test_python_stdlib_files_are_python() -> None:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    assert stdlib.is_dir(), stdlib
    count = 0
    for dirpath, _dirnames, filenames in os.walk(stdlib):
        for fname in filenames:
            if fname.endswith(".py"):
                path = os.path.join(dirpath, fname)
                assert detect_language(path) == "python", path
                count += 1
    assert count > 500


def test_system_perl_modules_are_perl() -> None:
    roots = glob.glob("/usr/share/perl*")
    assert roots, "no /usr/share/perl* folder on this machine"
    modules = [p for root in roots for p in glob.glob(os.path.join(root, "**", "*.pm"), recursive=True)]
    assert modules, f"no .pm files under {roots}"
    for path in modules:
        assert detect_language(path) == "perl", path
