"""What codemill knows about each language it writes, extracts, parses and runs code in: one entry per language.

:mod:`codemill.data.languages` says which language a *file* is in (extensions, names, shebangs: 92+ languages);
this table says how to *work* with the languages whose code codemill generates, tests or cuts: the code-fence tag
it writes and the tags it accepts when extracting an answer (evaluation, synthesis), MultiPL-E's short names
(benchmarks, steering), the tree-sitter grammar (packing's syntax cuts, synthesis's parse check), whether tests
are a whole program with its own ``main`` (synthesis), the lines that must open a file (synthesis hoists them),
the file extension, and ``sandbox``: the name of the sandbox language that runs it, so the sandbox can read its
entries from here too. Adding a language is one :class:`LanguageRules` entry here plus its toolchain in the
sandbox. This module imports nothing of codemill, so every layer may read it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "LANGUAGE_RULES",
    "LanguageRules",
    "by_fence",
    "by_short_name",
    "fence_aliases",
    "grammars",
    "languages",
    "register",
    "rules_for",
    "unregister",
    "whole_program",
]


@dataclass(frozen=True)
class LanguageRules:
    """One language, by the name the sandbox and synthesis use (``cpp``, ``csharp``)."""

    name: str
    title: str
    """How a prompt names it (``C++``)."""
    extension: str
    """Its source files' extension (``.cpp``)."""
    corpus: str
    """Its name in the corpus's language table, :mod:`codemill.data.languages` (``c++``)."""
    sandbox: str
    """The sandbox language that runs it (:mod:`codemill.sandbox.languages`)."""
    fence: str
    """The code-fence tag codemill writes (``cpp``, ``js``, ``rs``)."""
    fences: frozenset[str]
    """The fence tags an answer's block may carry to count as this language (:func:`fence_aliases`)."""
    short_names: tuple[str, ...] = ()
    """MultiPL-E's (and HumanEval-FIM's) names of it (``js``, ``rs``, ``py``)."""
    grammar: tuple[str, str] | None = None
    """The tree-sitter grammar: module and the function that returns its language pointer."""
    whole_program: bool = False
    """Its tests are a whole program with its own ``main`` (the solution goes in front of it)."""
    package_line: str | None = None
    """A regular expression for the package/module line that must open a file."""
    import_line: str | None = None
    """A regular expression for an import line (hoisted to the top of a whole program, de-duplicated)."""


def _rules(
    name: str,
    title: str,
    extension: str,
    fence: str | None = None,
    fences: tuple[str, ...] = (),
    corpus: str | None = None,
    **rest: object,
) -> LanguageRules:
    fence = fence or name
    return LanguageRules(
        name,
        title,
        extension,
        corpus or name,
        name,
        fence,
        frozenset({fence, *fences}),
        **rest,  # type: ignore[arg-type]
    )


LANGUAGE_RULES: tuple[LanguageRules, ...] = (
    _rules("python", "Python", ".py", fences=("py", "python3", "py3"), short_names=("python", "py"),
           grammar=("tree_sitter_python", "language")),
    _rules("javascript", "JavaScript", ".js", fence="js", fences=("javascript", "node"), short_names=("js",),
           grammar=("tree_sitter_javascript", "language")),
    _rules("typescript", "TypeScript", ".ts", fence="ts", fences=("typescript",), short_names=("ts",),
           grammar=("tree_sitter_typescript", "language_typescript")),
    _rules("java", "Java", ".java", short_names=("java",), grammar=("tree_sitter_java", "language"),
           whole_program=True, package_line=r"package\s.*;", import_line=r"import\s.*;"),
    _rules("c", "C", ".c", grammar=("tree_sitter_c", "language"), whole_program=True,
           import_line=r"#\s*include\b.*"),
    _rules("cpp", "C++", ".cpp", fences=("c++", "cc", "cxx"), corpus="c++", short_names=("cpp",),
           grammar=("tree_sitter_cpp", "language"), whole_program=True,
           import_line=r"#\s*include\b.*|using\s+namespace\s+[\w:]+\s*;"),
    _rules("go", "Go", ".go", fences=("golang",), short_names=("go",), grammar=("tree_sitter_go", "language"),
           whole_program=True, package_line=r"package\s+\w+", import_line=r"import\s+(?:\w+\s+)?\"[^\"]+\""),
    _rules("rust", "Rust", ".rs", fence="rs", fences=("rust",), short_names=("rs",),
           grammar=("tree_sitter_rust", "language"), whole_program=True, import_line=r"use\s.*;|extern\s+crate\s.*;"),
    _rules("csharp", "C#", ".cs", fence="cs", fences=("csharp", "c#"), corpus="c#", short_names=("cs",),
           grammar=("tree_sitter_c_sharp", "language"), whole_program=True,
           import_line=r"using\s+(?:static\s+)?[\w.]+\s*;"),
    _rules("php", "PHP", ".php", short_names=("php",)),
    _rules("ruby", "Ruby", ".rb", fence="rb", fences=("ruby",), short_names=("rb",)),
    _rules("perl", "Perl", ".pl", fence="pl", fences=("perl",), short_names=("pl",)),
    _rules("lua", "Lua", ".lua", short_names=("lua",)),
    _rules("r", "R", ".R", short_names=("r",)),
    _rules("bash", "Bash", ".sh", fence="sh", fences=("bash", "shell", "zsh"), corpus="shell", short_names=("sh",),
           grammar=("tree_sitter_bash", "language")),
    _rules("kotlin", "Kotlin", ".kt", whole_program=True, package_line=r"package\s.*", import_line=r"import\s.*"),
    _rules("scala", "Scala", ".scala", short_names=("scala",), whole_program=True, package_line=r"package\s.*",
           import_line=r"import\s.*"),
    _rules("haskell", "Haskell", ".hs", whole_program=True, package_line=r"module\s.*\bwhere\b.*",
           import_line=r"import\s.*"),
    _rules("d", "D", ".d", short_names=("d",), whole_program=True, package_line=r"module\s.*;",
           import_line=r"import\s.*;"),
)  # fmt: skip

_BY_NAME: dict[str, LanguageRules] = {}
_BY_FENCE: dict[str, LanguageRules] = {}
_BY_SHORT: dict[str, LanguageRules] = {}


def register(rules: LanguageRules) -> None:
    """Add a language to the table (a plug-in's, a test's); a name, fence or short name already taken is an error."""
    taken = [
        what
        for what, table, keys in (("name", _BY_NAME, [rules.name]), ("fence", _BY_FENCE, [rules.fence]),
                                  ("short name", _BY_SHORT, list(rules.short_names)))
        for key in keys
        if key in table
    ]  # fmt: skip
    if taken:
        raise ValueError(f"language {rules.name!r}: its {taken[0]} is taken by another entry")
    _BY_NAME[rules.name] = rules
    _BY_FENCE[rules.fence] = rules
    _BY_SHORT.update(dict.fromkeys(rules.short_names, rules))


def unregister(name: str) -> None:
    """Remove a language added with :func:`register`."""
    rules = _BY_NAME.pop(name)
    del _BY_FENCE[rules.fence]
    for short in rules.short_names:
        del _BY_SHORT[short]


for _entry in LANGUAGE_RULES:
    register(_entry)


def languages() -> list[LanguageRules]:
    """Every entry, the built-in ones first, in table order."""
    return list(_BY_NAME.values())


def whole_program(name: str) -> bool:
    """Whether a language's tests are a whole program with its own ``main`` (the solution goes in front)."""
    rules = _BY_NAME.get(name)
    return rules is not None and rules.whole_program


def rules_for(name: str) -> LanguageRules | None:
    """The entry of a language by its name (``cpp``), or None for a language codemill has no rules for."""
    return _BY_NAME.get(name)


def by_fence(tag: str) -> LanguageRules | None:
    """The entry whose written fence tag is ``tag`` (``js``, ``cs``, ``python``)."""
    return _BY_FENCE.get(tag)


def by_short_name(short: str) -> LanguageRules | None:
    """The entry MultiPL-E or HumanEval-FIM call ``short`` (``rs``, ``py``)."""
    return _BY_SHORT.get(short)


def fence_aliases(tag: str) -> frozenset[str]:
    """The fence tags that count as the language written ``tag``; a tag the table lacks counts as itself only."""
    rules = by_fence(tag)
    return rules.fences if rules is not None else frozenset({tag})


def grammars() -> dict[str, tuple[str, str]]:
    """Tree-sitter grammars by the corpus's language name (``c++``): what packing's syntax cuts parse with."""
    return {rules.corpus: rules.grammar for rules in languages() if rules.grammar is not None}
