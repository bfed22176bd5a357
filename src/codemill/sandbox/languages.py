"""The sandbox's languages: one table, one entry per language, everything the runner needs to know.

Adding a language is adding one :class:`SandboxLanguage` to :data:`LANGUAGES` (and its Debian package to
``scripts/install_toolchains.sh``): the runner, the pool, ``doctor``, the CLI and the per-language tests
all read this table and nothing else. That is the lesson of the harnesses we studied, whose
per-language ``if/elif`` walls hid commented-out or inverted branches that scored a language 0 for
months: here every entry carries its own hello-world and failing-assertion programs, and ``doctor`` and
the tests run both for every entry.

Commands are argv lists, never shell strings, formatted with:

* ``{file}``: the program's file name (in the sandbox's working folder, the current directory);
* ``{main}``: the class or module that holds the entry point (Java, Kotlin and Scala need it);
* ``{memory_mb}``: the phase's memory limit, so JVMs size their heap to the cgroup they cannot see.

The toolchains are Debian's (``/usr/bin``), not the ones a developer may have under ``/root``
(rustup, pyenv): the sandbox does not mount the home folder, so only system toolchains are visible.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache

from codemill.sandbox.schema import Limits

__all__ = ["LANGUAGES", "NODE_PREFIX", "SandboxLanguage", "UnknownLanguageError", "get_language"]

NODE_PREFIX = "/opt/codemill/node"
"""Where ``scripts/install_toolchains.sh`` installs tsx, esbuild and TypeScript; bound read-only into runs."""
ESBUILD = f"{NODE_PREFIX}/node_modules/esbuild/bin/esbuild"
TSC = f"{NODE_PREFIX}/node_modules/typescript/bin/tsc"

JAVATUPLES = "/usr/share/java/javatuples.jar"
JVM_FLAGS = ("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto", "-XX:MaxRAM={memory_mb}m")
"""Serial GC and C1 only: a JVM in a sandbox runs one short program on a core or two, where these start
fastest. ``MaxRAM`` sizes the heap to the cgroup's limit (the JVM cannot see the cgroup from inside)."""
JAVAC_FLAGS = tuple(f"-J{flag}" for flag in JVM_FLAGS)

GO_ENV = {"GOCACHE": "/sandbox/.cache/go-build", "GOPATH": "/sandbox/go", "GO111MODULE": "off", "CGO_ENABLED": "0"}
"""A per-run build cache in the sandbox's folder: Go refuses to build without one (the ``go-cache`` warm
path fills it from a read-only seed)."""

RUN_LIMITS = Limits()
COMPILE_LIMITS = Limits(cpu_seconds=60, wall_seconds=90, memory_mb=2048, processes=256, file_size_mb=256)
JVM_RUN_LIMITS = Limits(memory_mb=1024, processes=256)


class UnknownLanguageError(KeyError):
    """A request named a language that is not in the table (the message lists the known ones)."""


def _java_main(code: str) -> str:
    """The class whose ``main`` Java must start: the class declared last before ``static void main``."""
    at = code.find("static void main")
    classes = re.findall(r"\bclass\s+(\w+)", code[: at if at >= 0 else len(code)])
    return classes[-1] if classes else "Main"


def _java_file(code: str) -> str:
    """javac insists that a public class lives in a file of its name; otherwise the name is free."""
    public = re.search(r"\bpublic\s+(?:final\s+|abstract\s+)*class\s+(\w+)", code)
    return f"{public.group(1) if public else _java_main(code)}.java"


def _scala_main(code: str) -> str:
    """The ``object`` that defines ``main`` (MultiPL-E's Scala programs use ``object Problem``)."""
    at = code.find("def main")
    objects = re.findall(r"\bobject\s+(\w+)", code[: at if at >= 0 else len(code)])
    return objects[-1] if objects else "Main"


@cache
def _compiled(pattern: str | None) -> re.Pattern[str] | None:
    return None if pattern is None else re.compile(pattern, re.MULTILINE)


@dataclass(frozen=True, eq=False)
class SandboxLanguage:
    """One language of the sandbox. Frozen: the table is shared by every thread of a pool; hashed by identity."""

    name: str
    """Canonical name, as in ``Request.language`` and the results."""
    aliases: tuple[str, ...]
    """Other names a request may use (file extensions, MultiPL-E's and SandboxFusion's names)."""
    file: str | Callable[[str], str]
    """The program's file name, or a function of the code that returns it (Java)."""
    run: tuple[str, ...]
    """The run command."""
    compile: tuple[str, ...] | None = None
    """The compile command, run in its own sandbox with ``compile_limits``; None for interpreters."""
    main: Callable[[str], str] | None = None
    """A function of the code that returns ``{main}``; by default the file name without extension."""
    version: tuple[str, ...] = ()
    """A command that prints the toolchain's version (for ``doctor``), run outside the sandbox."""
    env: dict[str, str] = field(default_factory=dict)
    """Extra environment of both phases (the sandbox starts from an empty one)."""
    binds: tuple[str, ...] = ()
    """Host folders outside ``/usr`` and ``/etc`` the toolchain needs, bound read-only."""
    harness: str = "{code}\n\n{tests}\n"
    """How ``Request.tests`` wraps the code: program = harness.format(code=..., tests=...)."""
    assertion: str | None = None
    """A regex that, found in the output of a non-zero exit, means a failed assertion (``failed``).
    Patterns are compiled with ``re.MULTILINE``: ``^`` is the start of a line."""
    crash: str | None = None
    """A regex that, found in the output of a non-zero exit, means an uncaught error (``runtime_error``)."""
    failure_despite_exit_0: str | None = None
    """A regex that means ``failed`` even after exit 0 (Mono's ``Debug.Assert`` reports and carries on)."""
    hello: str = ""
    """A program that prints ``hello, world`` and exits 0 (``doctor`` and the tests run it)."""
    failing: str = ""
    """A program whose assertion fails: it must come back ``failed``, never ``passed``."""
    run_limits: Limits = RUN_LIMITS
    compile_limits: Limits = COMPILE_LIMITS
    warm: str | None = None
    """A warm path of :mod:`codemill.sandbox.warm` the compile phase may use (``cpp-pch``, ``go-cache``):
    read-only state built once from trusted input, so that no program can see another's."""

    def file_name(self, code: str) -> str:
        return self.file(code) if callable(self.file) else self.file

    def main_name(self, code: str) -> str:
        return self.main(code) if self.main else self.file_name(code).rsplit(".", 1)[0]

    def program(self, code: str, tests: str | None) -> str:
        """The source the sandbox runs: the code alone, or the code wrapped with tests by the harness."""
        return code if tests is None else self.harness.format(code=code, tests=tests)

    def pattern(self, kind: str) -> re.Pattern[str] | None:
        """The compiled ``assertion``, ``crash`` or ``failure_despite_exit_0`` pattern."""
        return _compiled(getattr(self, kind))

    def commands(self) -> list[tuple[str, ...]]:
        return [c for c in (self.compile, self.run) if c]


_PY_CRASH = r"^Traceback \(most recent call last\)"
_JS_ASSERT = r"AssertionError|ERR_ASSERTION"
_JS_CRASH = r"^\s+at .+:\d+:\d+\)?$|^Uncaught "
_JVM_ASSERT = r"java\.lang\.AssertionError|assertion failed"
_JVM_CRASH = r"Exception in thread|^[\w.$]+(?:Exception|Error)\b"
_C_ASSERT = r"Assertion .* failed"

LANGUAGES: tuple[SandboxLanguage, ...] = (
    SandboxLanguage(
        name="python",
        aliases=("py", "python3"),
        file="main.py",
        # -E -s: ignore PYTHON* variables and the user's site-packages; -B: write no .pyc next to the program.
        run=("python3", "-E", "-s", "-B", "{file}"),
        version=("python3", "--version"),
        harness="{code}\n\n{tests}\n",
        assertion=r"^AssertionError\b",
        crash=_PY_CRASH,
        hello='print("hello, world")\n',
        failing="assert 1 + 1 == 3, 'arithmetic'\n",
    ),
    SandboxLanguage(
        name="javascript",
        aliases=("js", "node", "nodejs"),
        file="main.js",
        run=("node", "{file}"),
        version=("node", "--version"),
        assertion=_JS_ASSERT,
        crash=_JS_CRASH,
        hello='console.log("hello, world");\n',
        failing='const assert = require("assert");\nassert.strictEqual(1 + 1, 3);\n',
    ),
    SandboxLanguage(
        name="typescript",
        aliases=("ts",),
        file="main.ts",
        # esbuild (tsx's own transformer, a native binary) strips the types in 15 ms, then node runs the
        # JavaScript: 0.1 s a program, where tsx took 0.75 s and tsc 2.5 s (ts-node is broken on Node 20 here).
        # Like tsx it does not type-check: a program with type errors that runs correctly passes. MultiPL-E's
        # evaluator type-checks with tsc (2.5 s a program): that is the `typescript-tsc` entry below.
        compile=(ESBUILD, "{file}", "--outfile=main.js", "--format=cjs", "--platform=node", "--log-level=warning"),
        run=("node", "main.js"),
        version=(ESBUILD, "--version"),
        binds=(NODE_PREFIX,),
        assertion=_JS_ASSERT,
        crash=_JS_CRASH,
        hello='const greeting: string = "hello, world";\nconsole.log(greeting);\n',
        failing='import assert from "assert";\nconst x: number = 1 + 1;\nassert.deepEqual(x, 3);\n',
    ),
    SandboxLanguage(
        name="java",
        aliases=("jvm",),
        file=_java_file,
        main=_java_main,
        compile=("javac", *JAVAC_FLAGS, "-encoding", "UTF-8", "-nowarn", "-cp", f".:{JAVATUPLES}", "-d", ".", "{file}"),
        # -ea: Java ignores `assert` without it, so every failing test would pass.
        run=("java", "-ea", *JVM_FLAGS, "-cp", f".:{JAVATUPLES}", "{main}"),
        version=("javac", "-version"),
        warm="jvm-cds",
        assertion=_JVM_ASSERT,
        crash=_JVM_CRASH,
        hello="public class Main {\n  public static void main(String[] args) {\n"
        '    System.out.println("hello, world");\n  }\n}\n',
        failing='class Problem {\n  public static void main(String[] args) {\n    assert 1 + 1 == 3 : "arithmetic";\n'
        "  }\n}\n",
        run_limits=JVM_RUN_LIMITS,
    ),
    SandboxLanguage(
        name="c",
        aliases=("gcc",),
        file="main.c",
        compile=("gcc", "-std=gnu17", "-O1", "-o", "main", "{file}", "-lm"),
        run=("./main",),
        version=("gcc", "-dumpfullversion"),
        assertion=_C_ASSERT,
        hello='#include <stdio.h>\nint main(void) {\n  printf("hello, world\\n");\n  return 0;\n}\n',
        failing="#include <assert.h>\nint main(void) {\n  assert(1 + 1 == 3);\n  return 0;\n}\n",
    ),
    SandboxLanguage(
        name="cpp",
        aliases=("c++", "cxx", "g++"),
        file="main.cpp",
        compile=("g++", "-std=c++17", "-O1", "-o", "main", "{file}"),
        run=("./main",),
        version=("g++", "-dumpfullversion"),
        warm="cpp-pch",  # bits/stdc++.h precompiled: 3 s -> 0.8 s a compile for MultiPL-E's C++
        assertion=_C_ASSERT,
        crash=r"terminate called",
        hello='#include <iostream>\nint main() {\n  std::cout << "hello, world" << std::endl;\n}\n',
        failing="#include <cassert>\n#include <vector>\nint main() {\n  std::vector<int> v{1, 1};\n"
        "  assert(v[0] + v[1] == 3);\n}\n",
    ),
    SandboxLanguage(
        name="go",
        aliases=("golang",),
        file="main.go",
        compile=("go", "build", "-o", "main", "{file}"),
        run=("./main",),
        version=("go", "version"),
        env=GO_ENV,
        assertion=r"assertion failed|--- FAIL",
        crash=r"^panic: |^fatal error: ",
        hello='package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("hello, world")\n}\n',
        failing='package main\n\nfunc main() {\n\tif 1+1 != 3 {\n\t\tpanic("assertion failed: 1 + 1 != 3")\n\t}\n}\n',
        # No go-cache warm path: the standard library ships compiled and `go build` runs no vet, so copying
        # the seed in cost more than it saved (measured 0.72 s without, 1.07 s with).
    ),
    SandboxLanguage(
        name="go-test",
        aliases=("go_test", "go_test.go", "gotest"),
        # A `go test` package (MultiPL-E's Go): the test binary is built as `go test` builds it, vet included,
        # then run; it exits 1 and prints `--- FAIL` when a test fails.
        file="main_test.go",
        compile=("go", "test", "-c", "-o", "main", "{file}"),
        run=("./main",),
        version=("go", "version"),
        env=GO_ENV,
        assertion=r"^--- FAIL|^FAIL$",
        crash=r"^panic: |^fatal error: ",
        hello='package main_test\n\nimport (\n\t"fmt"\n\t"testing"\n)\n\n'
        'func TestMain(m *testing.M) {\n\tfmt.Println("hello, world")\n}\n',
        failing='package main_test\n\nimport "testing"\n\nfunc TestArithmetic(t *testing.T) {\n'
        '\tif 1+1 != 3 {\n\t\tt.Errorf("1 + 1 != 3")\n\t}\n}\n',
        warm="go-cache",  # vet's facts about the standard library: 3 s -> 0.4 s a compile
    ),
    SandboxLanguage(
        name="rust",
        aliases=("rs",),
        file="main.rs",
        compile=("rustc", "--edition", "2021", "-o", "main", "{file}"),
        run=("./main",),
        version=("rustc", "--version"),
        assertion=r"assertion.*failed",
        crash=r"panicked at",
        hello='fn main() {\n    println!("hello, world");\n}\n',
        failing="fn main() {\n    let v = vec![1, 1];\n    assert_eq!(v[0] + v[1], 3);\n}\n",
    ),
    SandboxLanguage(
        name="csharp",
        aliases=("c#", "cs", "mono"),
        file="main.cs",
        # DEBUG: MultiPL-E's C# tests use Debug.Assert, compiled out without it.
        compile=("mcs", "-d:DEBUG", "-r:System.Numerics.dll", "-out:main.exe", "{file}"),
        run=("mono", "--debug", "main.exe"),
        version=("mono", "--version"),
        # Mono's failed Debug.Assert goes to a trace listener and execution goes on: send it to stderr.
        env={"MONO_TRACE_LISTENER": "Console.Error", "MONO_GC_PARAMS": "max-heap-size={memory_mb}m"},
        assertion=r"DefaultTraceListener\.Fail|AssertionException",
        failure_despite_exit_0=r"DefaultTraceListener\.Fail",
        crash=r"Unhandled Exception|\[ERROR\] FATAL UNHANDLED EXCEPTION",
        hello='using System;\nclass Program {\n  static void Main() {\n    Console.WriteLine("hello, world");\n'
        "  }\n}\n",
        failing="using System;\nusing System.Diagnostics;\nclass Program {\n  static void Main() {\n"
        "    Debug.Assert(1 + 1 == 3);\n  }\n}\n",
    ),
    SandboxLanguage(
        name="php",
        aliases=("php8",),
        file="main.php",
        # Debian's php.ini compiles assert() out (zend.assertions=-1); errors go to stderr, not the output.
        run=(
            "php",
            "-d",
            "zend.assertions=1",
            "-d",
            "assert.exception=1",
            "-d",
            "display_errors=stderr",
            "-d",
            "log_errors=0",
            "{file}",
        ),
        version=("php", "--version"),
        # MultiPL-E's PHP tests `throw new Exception("Test failed!")`: a failed test, not a crash.
        assertion=r"AssertionError|Uncaught Exception: Test failed!",
        crash=r"PHP Fatal error|Uncaught ",
        hello='<?php\necho "hello, world\\n";\n',
        failing="<?php\nassert(1 + 1 === 3);\n",
    ),
    SandboxLanguage(
        name="ruby",
        aliases=("rb",),
        file="main.rb",
        run=("ruby", "{file}"),
        version=("ruby", "--version"),
        assertion=r"Failure:|Test::Unit::AssertionFailedError|Minitest::Assertion|assertion failed",
        crash=r"\(\w+(?:::\w+)*(?:Error|Exception)\)",
        hello='puts "hello, world"\n',
        failing='require "test/unit"\nclass TestArithmetic < Test::Unit::TestCase\n  def test_sum\n'
        "    assert_equal(3, 1 + 1)\n  end\nend\n",
    ),
    SandboxLanguage(
        name="perl",
        aliases=("pl",),
        file="main.pl",
        run=("perl", "{file}"),
        version=("perl", "-e", "print $^V"),
        assertion=r"assertion failed|^not ok",
        crash=r" at \S+ line \d+\.$",
        hello='print "hello, world\\n";\n',
        failing="use strict;\nuse Test::Deep;\nif (!eq_deeply([1 + 1], [3])) {\n"
        '  die "assertion failed: 1 + 1 != 3\\n";\n}\n',
    ),
    SandboxLanguage(
        name="lua",
        aliases=("lua5.4",),
        file="main.lua",
        run=("lua5.4", "{file}"),
        version=("lua5.4", "-v"),
        assertion=r"assertion failed|^Failed tests:|FAILED",
        crash=r"stack traceback:",
        hello='print("hello, world")\n',
        failing="assert(1 + 1 == 3)\n",
    ),
    SandboxLanguage(
        name="r",
        aliases=("rscript",),
        file="main.R",
        run=("Rscript", "--vanilla", "{file}"),
        version=("Rscript", "--version"),
        assertion=r"is not TRUE|are not all TRUE|not all equal",
        crash=r"^Error",
        hello='cat("hello, world\\n")\n',
        failing="stopifnot(isTRUE(all.equal(1 + 1, 3)))\n",
    ),
    SandboxLanguage(
        name="bash",
        aliases=("sh", "shell"),
        file="main.sh",
        run=("bash", "{file}"),
        version=("bash", "--version"),
        hello='echo "hello, world"\n',
        failing='set -e\n[[ $((1 + 1)) -eq 3 ]]\necho "not reached"\n',
    ),
    SandboxLanguage(
        name="kotlin",
        aliases=("kt",),
        file="main.kt",
        main=lambda code: "MainKt",
        compile=("kotlinc", "-nowarn", "{file}", "-d", "."),
        run=("java", "-ea", *JVM_FLAGS, "-cp", ".:/usr/share/java/kotlin-stdlib.jar", "{main}"),
        version=("kotlinc", "-version"),  # no jvm-cds warm path: measured, it does not pay for kotlinc
        env={"JAVA_OPTS": " ".join(JVM_FLAGS)},
        assertion=_JVM_ASSERT,
        crash=_JVM_CRASH,
        hello='fun main() {\n    println("hello, world")\n}\n',
        failing='fun main() {\n    val x = 1 + 1\n    assert(x == 3) { "arithmetic" }\n}\n',
        run_limits=JVM_RUN_LIMITS,
    ),
    SandboxLanguage(
        name="scala",
        aliases=("sc",),
        file="Main.scala",
        main=_scala_main,
        compile=("scalac", "-nowarn", "-d", ".", "{file}"),
        run=("java", *JVM_FLAGS, "-cp", ".:/usr/share/java/scala-library.jar", "{main}"),
        version=("scalac", "-version"),
        warm="jvm-cds",
        env={"JAVA_OPTS": " ".join(JVM_FLAGS)},
        assertion=_JVM_ASSERT,
        crash=_JVM_CRASH,
        hello='object Main {\n  def main(args: Array[String]): Unit = {\n    println("hello, world")\n  }\n}\n',
        failing="object Problem {\n  def main(args: Array[String]): Unit = {\n    assert(1 + 1 == 3)\n  }\n}\n",
        run_limits=JVM_RUN_LIMITS,
    ),
    SandboxLanguage(
        name="haskell",
        aliases=("hs", "ghc"),
        file="Main.hs",
        compile=("ghc", "-O0", "-v0", "-fno-ignore-asserts", "-o", "main", "{file}"),
        run=("./main",),
        version=("ghc", "--numeric-version"),
        binds=("/var/lib/ghc",),  # Debian's package database; /usr/lib/ghc/package.conf.d links to it
        assertion=r"Assertion failed|assertion failed",
        crash=r"^main: ",
        hello='main :: IO ()\nmain = putStrLn "hello, world"\n',
        failing="import Control.Exception (assert)\n\nmain :: IO ()\n"
        'main = assert (1 + 1 == (3 :: Int)) (putStrLn "x")\n',
    ),
    SandboxLanguage(
        name="d",
        aliases=("dlang", "gdc"),
        file="main.d",
        # -funittest: MultiPL-E's D tests are `unittest` blocks, compiled out (every test "passes") without it.
        compile=("gdc", "-funittest", "-o", "main", "{file}"),
        run=("./main",),
        version=("gdc", "-dumpfullversion"),
        assertion=r"AssertError|Assertion failure",
        crash=r"^\S+Exception@|^object\.Error@",
        hello='import std.stdio;\n\nvoid main() {\n    writeln("hello, world");\n}\n',
        failing="void main() {\n    int x = 1 + 1;\n    assert(x == 3);\n}\n",
    ),
)


def _variant(base: str, name: str, **changes: object) -> SandboxLanguage:
    """``base``'s entry under another name with other commands: the flags another harness runs it with."""
    entry = next(language for language in LANGUAGES if language.name == base)
    return replace(entry, name=name, aliases=(), **changes)  # type: ignore[arg-type]


_TSC_FAILING = 'declare var require: any;\nconst assert = require("node:assert");\nassert.deepEqual(1 + 1, 3);\n'
HARNESS_VARIANTS: tuple[SandboxLanguage, ...] = (
    # nuprl/MultiPL-E's evaluators (evaluation/src/eval_*.py), which codemill.sandbox.multipl_e scores with:
    # tsc type-checks (a type error fails the program) then node runs its output; g++ without -O; rustc's
    # default edition (2015); Debian's php.ini, which compiles assert() out as MultiPL-E's Ubuntu image does.
    _variant(
        "typescript",
        "typescript-tsc",
        compile=("node", TSC, "--target", "esnext", "{file}"),
        version=("node", TSC, "--version"),
        failing=_TSC_FAILING,
    ),
    _variant("cpp", "cpp-O0", compile=("g++", "-std=c++17", "-o", "main", "{file}")),
    _variant("rust", "rust-2015", compile=("rustc", "-o", "main", "{file}")),
    _variant(
        "php",
        "php-system-ini",
        run=("php", "{file}"),
        failing='<?php\nif (1 + 1 !== 3) {\n  throw new Exception("Test failed!");\n}\n',
    ),
    # Qwen2.5-Coder's base-model harness (qwencoder-eval/base/benchmarks/multiple-eval), whose published
    # per-sample verdicts bench/multipl_e_agreement.py compares with: ES2015's library; no System.Numerics.
    _variant(
        "typescript",
        "typescript-tsc-es2015",
        compile=("node", TSC, "--target", "ES2015", "--lib", "ES2015,DOM", "{file}"),
        version=("node", TSC, "--version"),
        failing=_TSC_FAILING,
    ),
    _variant("csharp", "csharp-no-numerics", compile=("mcs", "-d:DEBUG", "-out:main.exe", "{file}")),
)
LANGUAGES += HARNESS_VARIANTS

_BY_NAME: dict[str, SandboxLanguage] = {}
for _lang in LANGUAGES:
    for _key in (_lang.name, *_lang.aliases):
        if _key.lower() in _BY_NAME:
            raise ValueError(f"language name {_key!r} is used twice in the sandbox's table")
        _BY_NAME[_key.lower()] = _lang
    for _kind in ("assertion", "crash", "failure_despite_exit_0"):
        _lang.pattern(_kind)  # a broken pattern fails at import, not in the middle of a batch


def get_language(name: str) -> SandboxLanguage:
    """The table's entry for a name or alias (case-insensitive); :class:`UnknownLanguageError` otherwise."""
    try:
        return _BY_NAME[name.lower()]
    except KeyError:
        known = ", ".join(lang.name for lang in LANGUAGES)
        raise UnknownLanguageError(f"unknown language {name!r}; the sandbox knows: {known}") from None
