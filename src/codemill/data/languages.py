"""Map a file to its programming language by name, extension and (for scripts) shebang.

The repository reader calls :func:`detect_language` on every file of a corpus, so the table is
turned into plain dicts once, at import, and detection is a handful of dict lookups. The table is
the single source of truth: filters, per-language quotas and reports all key on the canonical
names used here, which follow the 92-language list of Qwen2.5-Coder (:data:`QWEN_LANGUAGES`).

Choices for extensions that several languages use (each extension has exactly one owner, checked
at import, so a path always gets the same answer):

* ``.h`` is C (C++ headers mostly use ``.hpp``/``.hh``/``.hxx``, which are C++).
* ``.m`` is Objective-C by default: on public code hosts it is far more common than MATLAB. When
  the first bytes of the file are given, obvious MATLAB (``%`` comments, ``function``,
  ``classdef``) or Mathematica (``(*`` comments) content wins instead. MATLAB itself only owns
  ``.matlab``.
* ``.pl``, ``.pm`` and ``.t`` are Perl; Prolog owns ``.pro`` and ``.prolog``. When the head is
  given, a ``.pro`` file that looks like a qmake or IDL file (and has no Prolog ``:-``) is
  reported as unknown rather than as Prolog.
* ``.v`` is Verilog (not Coq), ``.pp`` is Pascal (not Puppet), ``.cls`` is TeX (not Apex or
  VB), ``.fs`` is F# (not a GLSL shader), ``.cl`` is Common Lisp (not OpenCL), ``.st`` is
  Smalltalk, ``.ts`` is TypeScript (not a Qt translation file).
* Extensions are matched case-insensitively, so ``.R`` is R, ``.S`` is assembly and ``.C`` is C.
* ``setup.cfg``, ``tox.ini`` and other ``.cfg``/``.ini`` files are ``ini`` (kind ``data``).
* HTML, CSS, XSLT and Vue count as ``code``: they are in the Qwen code list and are trained on
  as code; ``text`` is reserved for prose formats.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = [
    "LANGUAGES",
    "QWEN_LANGUAGES",
    "Language",
    "detect_language",
    "language_by_name",
]

KINDS = frozenset({"code", "text", "data"})


@dataclass(frozen=True, slots=True)
class Language:
    """One language of the table.

    Frozen and slotted because instances are shared, module-level constants that are looked up
    millions of times; nobody should be able to change what ``.py`` means at run time.
    """

    name: str
    """Canonical name, e.g. ``"c++"``; what datasets, filters and reports key on."""
    kind: str
    """``"code"``, ``"text"`` (prose/markup: markdown, restructuredtext, tex, text) or ``"data"``
    (json, yaml, csv, xml, toml...), so later steps can pick filters that suit the content."""
    extensions: tuple[str, ...]
    """Lower-case, with the leading dot (``".cc"``); may be compound (``".d.ts"``)."""
    filenames: tuple[str, ...] = ()
    """Exact base names (``"Makefile"``, ``"Dockerfile"``) for files whose extension says nothing."""

    def __post_init__(self) -> None:
        """Reject malformed entries early, so a typo in the table fails at import, not in a run."""
        if self.kind not in KINDS:
            raise ValueError(f"language {self.name!r}: kind {self.kind!r} is not one of {sorted(KINDS)}")
        if not self.extensions and not self.filenames:
            raise ValueError(f"language {self.name!r} has neither extensions nor filenames")
        for ext in self.extensions:
            if not ext.startswith(".") or len(ext) < 2 or ext != ext.lower() or "/" in ext:
                raise ValueError(f"language {self.name!r}: extension {ext!r} must be lower-case and start with '.'")
        for fname in self.filenames:
            if not fname or "/" in fname or "\\" in fname:
                raise ValueError(f"language {self.name!r}: filename {fname!r} must be a bare base name")


def _lang(name: str, kind: str, extensions: Iterable[str], filenames: Iterable[str] = ()) -> Language:
    """Shorthand for the table below; keeps each entry on one or two lines."""
    return Language(name, kind, tuple(extensions), tuple(filenames))


LANGUAGES: tuple[Language, ...] = (
    _lang("ada", "code", (".adb", ".ads", ".ada")),
    _lang("agda", "code", (".agda",)),
    _lang("alloy", "code", (".als",)),
    _lang("antlr", "code", (".g4",)),
    _lang("applescript", "code", (".applescript",)),
    _lang("assembly", "code", (".asm", ".s", ".nasm")),
    _lang("augeas", "code", (".aug",)),
    _lang("awk", "code", (".awk", ".gawk", ".mawk", ".nawk")),
    _lang("batchfile", "code", (".bat", ".cmd")),
    _lang("bluespec", "code", (".bsv",)),
    _lang("c", "code", (".c", ".h")),
    _lang("c#", "code", (".cs", ".csx")),
    _lang(
        "c++",
        "code",
        (
            ".cpp",
            ".cc",
            ".cxx",
            ".c++",
            ".cp",
            ".hpp",
            ".hh",
            ".hxx",
            ".h++",
            ".ipp",
            ".tpp",
            ".tcc",
            ".inl",
            ".ixx",
            ".cppm",
        ),
    ),
    _lang("clojure", "code", (".clj", ".cljs", ".cljc", ".edn")),
    _lang("cmake", "code", (".cmake", ".cmake.in"), ("CMakeLists.txt",)),
    _lang("coffeescript", "code", (".coffee", ".cson"), ("Cakefile",)),
    _lang("common-lisp", "code", (".lisp", ".lsp", ".cl", ".asd")),
    _lang("css", "code", (".css",)),
    _lang("cuda", "code", (".cu", ".cuh")),
    _lang("dart", "code", (".dart",)),
    _lang("dockerfile", "code", (".dockerfile",), ("Dockerfile", "Containerfile")),
    _lang("elixir", "code", (".ex", ".exs")),
    _lang("elm", "code", (".elm",)),
    _lang("emacs-lisp", "code", (".el",), (".emacs", "_emacs", ".spacemacs")),
    _lang("erlang", "code", (".erl", ".hrl", ".escript", ".xrl", ".yrl", ".app.src"), ("rebar.config",)),
    _lang("f#", "code", (".fs", ".fsi", ".fsx")),
    _lang("fortran", "code", (".f", ".f90", ".f95", ".f03", ".f08", ".for", ".ftn", ".f77", ".fpp")),
    _lang("glsl", "code", (".glsl", ".vert", ".frag", ".geom", ".tesc", ".tese", ".comp", ".vsh", ".fsh")),
    _lang("go", "code", (".go",)),
    _lang("groovy", "code", (".groovy", ".gvy", ".gy", ".gradle"), ("Jenkinsfile",)),
    _lang("haskell", "code", (".hs", ".hs-boot", ".hsc")),
    _lang("html", "code", (".html", ".htm", ".xhtml")),
    _lang("idris", "code", (".idr", ".lidr")),
    _lang("isabelle", "code", (".thy",)),
    _lang("java", "code", (".java",)),
    _lang("java-server-pages", "code", (".jsp", ".jspf", ".jspx")),
    _lang("javascript", "code", (".js", ".mjs", ".cjs", ".jsx")),
    _lang(
        "json",
        "data",
        (".json", ".jsonc", ".json5", ".jsonl", ".ndjson", ".geojson", ".topojson"),
        (".babelrc", "composer.lock", "Pipfile.lock", "flake.lock"),
    ),
    _lang("julia", "code", (".jl",)),
    _lang("jupyter-notebook", "code", (".ipynb",)),
    _lang("kotlin", "code", (".kt", ".kts")),
    _lang("lean", "code", (".lean", ".hlean")),
    _lang("literate-agda", "code", (".lagda", ".lagda.md", ".lagda.tex", ".lagda.rst")),
    _lang("literate-coffeescript", "code", (".litcoffee", ".coffee.md")),
    _lang("literate-haskell", "code", (".lhs",)),
    _lang("lua", "code", (".lua", ".rockspec")),
    _lang(
        "makefile",
        "code",
        (".mk", ".mak", ".make"),
        ("Makefile", "makefile", "GNUmakefile", "BSDmakefile", "Kbuild"),
    ),
    _lang("maple", "code", (".mpl", ".maple")),
    _lang("markdown", "text", (".md", ".markdown", ".mdown", ".mkd", ".mkdn", ".mdwn")),
    _lang("mathematica", "code", (".wl", ".wls", ".wlt", ".nb", ".mt")),
    _lang("matlab", "code", (".matlab",)),
    _lang("objectc++", "code", (".mm",)),
    _lang("ocaml", "code", (".ml", ".mli", ".mll", ".mly")),
    _lang("pascal", "code", (".pas", ".pp", ".dpr", ".lpr", ".dpk")),
    _lang("perl", "code", (".pl", ".pm", ".t", ".pod", ".psgi", ".perl", ".plx"), ("cpanfile",)),
    _lang("php", "code", (".php", ".phtml", ".php3", ".php4", ".php5", ".php7", ".phps", ".phpt")),
    _lang("powershell", "code", (".ps1", ".psm1", ".psd1")),
    _lang("prolog", "code", (".pro", ".prolog")),
    _lang("protocol-buffer", "code", (".proto",)),
    _lang("python", "code", (".py", ".pyi", ".pyw", ".py3"), ("SConstruct", "SConscript", "wscript")),
    _lang("r", "code", (".r", ".rsx"), (".Rprofile",)),
    _lang("racket", "code", (".rkt", ".rktl", ".rktd", ".scrbl")),
    _lang("restructuredtext", "text", (".rst", ".rest", ".rst.txt")),
    _lang("rmarkdown", "text", (".rmd",)),
    _lang(
        "ruby",
        "code",
        (".rb", ".rake", ".gemspec", ".ru", ".rbw", ".podspec", ".jbuilder", ".thor", ".rbi"),
        ("Rakefile", "Gemfile", "Guardfile", "Vagrantfile", "Podfile", "Brewfile", "Capfile", "Fastfile"),
    ),
    _lang("rust", "code", (".rs",)),
    _lang("sas", "code", (".sas",)),
    _lang("scala", "code", (".scala", ".sc", ".sbt")),
    _lang("scheme", "code", (".scm", ".ss", ".sls", ".sld", ".sps")),
    _lang(
        "shell",
        "code",
        (".sh", ".bash", ".zsh", ".ksh", ".bats"),
        (
            ".bashrc",
            ".bash_profile",
            ".bash_logout",
            ".bash_aliases",
            ".profile",
            ".zshrc",
            ".zshenv",
            ".zprofile",
            ".zlogin",
            ".kshrc",
            "PKGBUILD",
            "APKBUILD",
        ),
    ),
    _lang("smalltalk", "code", (".st",)),
    _lang("solidity", "code", (".sol",)),
    _lang("sparql", "code", (".sparql", ".rq")),
    _lang("sql", "code", (".sql", ".psql", ".pgsql", ".plsql", ".ddl")),
    _lang("stan", "code", (".stan",)),
    _lang("standard-ml", "code", (".sml", ".sig", ".fun")),
    _lang("stata", "code", (".do", ".ado", ".doh", ".mata")),
    _lang("swift", "code", (".swift",)),
    _lang("systemverilog", "code", (".sv", ".svh")),
    _lang("tcl", "code", (".tcl", ".tk", ".itcl", ".tm")),
    _lang("tcsh", "code", (".tcsh", ".csh"), (".tcshrc", ".cshrc")),
    _lang("tex", "text", (".tex", ".sty", ".cls", ".ltx", ".dtx", ".ins", ".latex")),
    _lang("thrift", "code", (".thrift",)),
    _lang("typescript", "code", (".ts", ".tsx", ".mts", ".cts", ".d.ts")),
    _lang("verilog", "code", (".v", ".vh")),
    _lang("vhdl", "code", (".vhd", ".vhdl")),
    _lang("visual-basic", "code", (".vb", ".vbs", ".bas", ".vba")),
    _lang("vue", "code", (".vue",)),
    _lang("xslt", "code", (".xsl", ".xslt")),
    _lang("yacc", "code", (".y", ".yy", ".yacc", ".ypp")),
    _lang("yaml", "data", (".yml", ".yaml"), (".clang-format", ".clang-tidy")),
    _lang("zig", "code", (".zig", ".zon")),
    # Common extras outside the Qwen list, so that frequent files are named rather than unknown.
    _lang("objective-c", "code", (".m",)),
    _lang("toml", "data", (".toml",), ("Cargo.lock", "Pipfile", "poetry.lock", "uv.lock")),
    _lang(
        "xml",
        "data",
        (
            ".xml",
            ".xsd",
            ".plist",
            ".csproj",
            ".vcxproj",
            ".fsproj",
            ".vbproj",
            ".props",
            ".targets",
            ".nuspec",
            ".resx",
            ".xaml",
            ".svg",
        ),
    ),
    _lang("text", "text", (".txt", ".text"), ("LICENSE", "COPYING", "NOTICE", "AUTHORS")),
    _lang("csv", "data", (".csv", ".tsv")),
    _lang("ini", "data", (".ini", ".cfg"), (".editorconfig", ".gitconfig", ".pylintrc", ".flake8")),
)
"""Every language we can detect; each extension and file name belongs to exactly one entry."""

_QWEN_NAMES = """
    ada agda alloy antlr applescript assembly augeas awk batchfile bluespec c c# c++ clojure cmake
    coffeescript common-lisp css cuda dart dockerfile elixir elm emacs-lisp erlang f# fortran glsl go
    groovy haskell html idris isabelle java java-server-pages javascript json julia jupyter-notebook
    kotlin lean literate-agda literate-coffeescript literate-haskell lua makefile maple markdown
    mathematica matlab objectc++ ocaml pascal perl php powershell prolog protocol-buffer python r
    racket restructuredtext rmarkdown ruby rust sas scala scheme shell smalltalk solidity sparql sql
    stan standard-ml stata swift systemverilog tcl tcsh tex thrift typescript verilog vhdl
    visual-basic vue xslt yacc yaml zig
"""
QWEN_LANGUAGES: frozenset[str] = frozenset(_QWEN_NAMES.split())
"""The 92 language names of Qwen2.5-Coder; every one is in :data:`LANGUAGES` (checked at import)."""

# Interpreter (base name, lower-case, version digits stripped) -> language, for `#!` lines of
# extensionless scripts such as `bin/deploy`.
_INTERPRETERS: dict[str, str] = {
    **dict.fromkeys(("python", "pypy", "jython", "ipython"), "python"),
    **dict.fromkeys(("sh", "bash", "dash", "ash", "ksh", "mksh", "pdksh", "zsh"), "shell"),
    **dict.fromkeys(("tcsh", "csh"), "tcsh"),
    "perl": "perl",
    **dict.fromkeys(("node", "nodejs"), "javascript"),
    **dict.fromkeys(("ts-node", "deno"), "typescript"),
    **dict.fromkeys(("ruby", "jruby", "macruby", "truffleruby"), "ruby"),
    "php": "php",
    **dict.fromkeys(("lua", "luajit"), "lua"),
    **dict.fromkeys(("rscript", "r"), "r"),
    **dict.fromkeys(("tclsh", "wish", "jimsh", "expect"), "tcl"),
    **dict.fromkeys(("awk", "gawk", "mawk", "nawk"), "awk"),
    **dict.fromkeys(("make", "gmake"), "makefile"),
    **dict.fromkeys(("sbcl", "clisp", "ecl"), "common-lisp"),
    **dict.fromkeys(("guile", "gosh", "csi", "scheme"), "scheme"),
    "racket": "racket",
    "emacs": "emacs-lisp",
    **dict.fromkeys(("runghc", "runhaskell"), "haskell"),
    "ocaml": "ocaml",
    "julia": "julia",
    "elixir": "elixir",
    "escript": "erlang",
    "groovy": "groovy",
    "scala": "scala",
    "kotlin": "kotlin",
    "swift": "swift",
    **dict.fromkeys(("pwsh", "powershell"), "powershell"),
    "osascript": "applescript",
    "dart": "dart",
}

# Base names whose part before the first dot is a well-known file name, e.g. "Dockerfile.dev" or
# "Makefile.am", when the suffix itself is unknown. Lower-case keys.
_STEM_FILENAMES: dict[str, str] = {
    "dockerfile": "dockerfile",
    "containerfile": "dockerfile",
    "makefile": "makefile",
    "gnumakefile": "makefile",
}

# Common spellings that are not canonical names; only used to suggest the right name in errors.
_ALIASES: dict[str, str] = {
    "cpp": "c++",
    "cxx": "c++",
    "csharp": "c#",
    "cs": "c#",
    "fsharp": "f#",
    "js": "javascript",
    "ts": "typescript",
    "py": "python",
    "golang": "go",
    "bash": "shell",
    "sh": "shell",
    "objc": "objective-c",
    "objective-c++": "objectc++",
    "objc++": "objectc++",
    "latex": "tex",
    "rst": "restructuredtext",
    "md": "markdown",
    "docker": "dockerfile",
    "make": "makefile",
    "proto": "protocol-buffer",
    "protobuf": "protocol-buffer",
    "lisp": "common-lisp",
    "elisp": "emacs-lisp",
    "sml": "standard-ml",
    "vb": "visual-basic",
    "ipynb": "jupyter-notebook",
    "jsp": "java-server-pages",
}


# `.m` content markers; the first line that matches decides (see the module docstring).
_M_MARKERS = re.compile(
    r"^[ \t]*(?:"
    r"(?P<objc>\#[ \t]*(?:import|include)\b|@(?:interface|implementation|protocol|class|import)\b|//|/\*)"
    r"|(?P<matlab>%|function\b|classdef\b)"
    r"|(?P<mathematica>\(\*)"
    r")",
    re.MULTILINE,
)
_PROLOG_MARKER = re.compile(r":-")
_NOT_PROLOG_PRO = re.compile(
    r"^[ \t]*(?:(?:QT|TEMPLATE|TARGET|SOURCES|HEADERS|CONFIG|FORMS|INCLUDEPATH|LIBS|DEFINES|SUBDIRS"
    r"|RESOURCES|DESTDIR|OTHER_FILES|DISTFILES)[ \t]*[-+*~]?="  # qmake project file
    r"|(?i:pro|function)[ \t]+\w+)",  # IDL procedure
    re.MULTILINE,
)


def _resolve_m(text: str) -> str | None:
    """Pick Objective-C, MATLAB or Mathematica for a `.m` file from its first lines."""
    match = _M_MARKERS.search(text)
    if match is None or match.lastgroup == "objc":  # group names cannot contain "-"
        return "objective-c"
    return match.lastgroup


def _resolve_pro(text: str) -> str | None:
    """Keep Prolog for `.pro`, except files that are clearly qmake or IDL (not in the table)."""
    if _PROLOG_MARKER.search(text) is None and _NOT_PROLOG_PRO.search(text) is not None:
        return None
    return "prolog"


# Extension -> resolver that refines the table's answer when the file's head is available.
_CONTENT_RESOLVERS: dict[str, Callable[[str], str | None]] = {".m": _resolve_m, ".pro": _resolve_pro}
_RESOLVER_HEAD_CHARS = 4096


def _build_indexes(
    languages: Iterable[Language],
) -> tuple[dict[str, Language], dict[str, str], dict[str, str], dict[str, str]]:
    """Turn the table into lookup dicts, refusing any name, extension or file name claimed twice.

    A double claim would make the answer depend on table order, so it is an error that names both
    languages. Returns (by name, by extension, by exact file name, by lower-cased file name).
    """
    by_name: dict[str, Language] = {}
    by_ext: dict[str, str] = {}
    by_filename: dict[str, str] = {}
    by_filename_ci: dict[str, str] = {}

    def claim(index: dict[str, str], key: str, what: str, owner: str) -> None:
        previous = index.setdefault(key, owner)
        if previous != owner:
            raise ValueError(f"{what} {key!r} is claimed by both {previous!r} and {owner!r}")

    for lang in languages:
        if lang.name in by_name:
            raise ValueError(f"language {lang.name!r} is listed twice")
        by_name[lang.name] = lang
        for ext in lang.extensions:
            claim(by_ext, ext, "extension", lang.name)
        for fname in lang.filenames:
            claim(by_filename, fname, "file name", lang.name)
            claim(by_filename_ci, fname.lower(), "file name (ignoring case)", lang.name)
    return by_name, by_ext, by_filename, by_filename_ci


_BY_NAME, _BY_EXTENSION, _BY_FILENAME, _BY_FILENAME_CI = _build_indexes(LANGUAGES)
_MAX_EXTENSION_DOTS = max(ext.count(".") for ext in _BY_EXTENSION)


def _check_table() -> None:
    """Fail at import if the table misses a Qwen language or a helper map names an unknown one."""
    missing = QWEN_LANGUAGES - _BY_NAME.keys()
    if missing:
        raise ValueError(f"languages table is missing Qwen languages: {sorted(missing)}")
    helper_targets = {*_INTERPRETERS.values(), *_STEM_FILENAMES.values(), *_ALIASES.values()}
    helper_targets |= {"objective-c", "matlab", "mathematica", "prolog"}  # named by the resolvers
    unknown = helper_targets - _BY_NAME.keys()
    if unknown:
        raise ValueError(f"detection rules refer to languages not in the table: {sorted(unknown)}")
    unowned = _CONTENT_RESOLVERS.keys() - _BY_EXTENSION.keys()
    if unowned:
        raise ValueError(f"content resolvers for extensions no language owns: {sorted(unowned)}")


_check_table()


def language_by_name(name: str) -> Language:
    """Return the table entry for a canonical name.

    Raises ``KeyError`` with close matches in the message, because a wrong name usually comes from
    a config file (``cpp`` for ``c++``) and the user needs to know what to write instead.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        pass
    suggestions = difflib.get_close_matches(name.lower(), _BY_NAME.keys(), n=3, cutoff=0.6)
    alias = _ALIASES.get(name.lower())
    if alias is not None:
        suggestions = [alias, *(s for s in suggestions if s != alias)]
    hint = f"; did you mean {', '.join(map(repr, suggestions))}?" if suggestions else ""
    raise KeyError(f"unknown language {name!r}{hint} Known languages: {', '.join(sorted(_BY_NAME))}") from None


def canonical_language(name: str) -> str | None:
    """The canonical name for a language label from another dataset ("Python", "C++", "Jupyter Notebook",
    "cpp"), or None when the label names no language of the table."""
    if name in _BY_NAME:
        return name
    key = name.strip().lower().replace(" ", "-").replace("_", "-")
    if key in _BY_NAME:
        return key
    return _ALIASES.get(key)


def _head_text(head: bytes | str, limit: int) -> str:
    """Decode at most ``limit`` characters of a file head; never fails on binary or bad UTF-8."""
    if isinstance(head, str):
        return head[:limit]
    return bytes(head[:limit]).decode("utf-8", errors="replace")


def _shebang_language(head: bytes | str) -> str | None:
    """Language of the interpreter named on a ``#!`` first line, or None."""
    text = _head_text(head, 256).removeprefix("\ufeff")
    if not text.startswith("#!"):
        return None
    tokens = text[2:].split("\n", 1)[0].split()
    if not tokens:
        return None
    interpreter = tokens[0].replace("\\", "/").rsplit("/", 1)[-1].lower()
    if interpreter == "env":
        # `#!/usr/bin/env -S VAR=1 python3 -u`: skip env's own options and variable assignments.
        args = [tok for tok in tokens[1:] if not tok.startswith("-") and "=" not in tok]
        if not args:
            return None
        interpreter = args[0].rsplit("/", 1)[-1].lower()
    interpreter = interpreter.removesuffix(".exe")
    language = _INTERPRETERS.get(interpreter)
    if language is None:  # python3.11, perl5.36, tclsh8.6, pypy3 ...
        language = _INTERPRETERS.get(interpreter.rstrip("0123456789.-"))
    return language


def detect_language(path: str | os.PathLike[str], head: bytes | str | None = None) -> str | None:
    """Return the canonical language name of a file, or None when it is not recognised.

    Only the base name of ``path`` matters; ``head`` is the start of the file (a few hundred bytes
    are enough) and is only read for extensionless scripts and the ambiguous extensions described
    in the module docstring. Rules, first hit wins:

    1. exact file name (``Makefile``), then the same ignoring case (``makefile``, ``MAKEFILE``);
    2. the longest known extension, ignoring case (``a.d.ts`` -> ``.d.ts``, ``x.min.js`` -> ``.js``);
    3. a well-known file name followed by any suffix (``Dockerfile.dev``, ``Makefile.am``);
    4. the interpreter on a ``#!`` line, when ``head`` is given.
    """
    path = os.fspath(path)
    base = path[max(path.rfind("/"), path.rfind("\\")) + 1 :]
    if not base:
        return None
    language = _BY_FILENAME.get(base)
    if language is not None:
        return language
    lower = base.lower()
    language = _BY_FILENAME_CI.get(lower)
    if language is not None:
        return language

    # Collect up to _MAX_EXTENSION_DOTS suffix starts, skipping a leading dot (".bashrc" is a
    # name, not an extension), then try the longest suffix first.
    starts: list[int] = []
    end = len(lower)
    for _ in range(_MAX_EXTENSION_DOTS):
        dot = lower.rfind(".", 1, end)
        if dot < 0:
            break
        starts.append(dot)
        end = dot
    for dot in reversed(starts):
        extension = lower[dot:]
        language = _BY_EXTENSION.get(extension)
        if language is not None:
            resolver = _CONTENT_RESOLVERS.get(extension)
            if resolver is not None and head is not None:
                return resolver(_head_text(head, _RESOLVER_HEAD_CHARS))
            return language

    if starts:
        language = _STEM_FILENAMES.get(lower[: lower.find(".", 1)])
        if language is not None:
            return language
    if head is not None:
        return _shebang_language(head)
    return None
