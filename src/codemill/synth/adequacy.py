"""Whether a candidate's tests test: read them, then run them against solutions that must fail.

A passing sandbox run proves only that the program exited 0 (and, where :mod:`codemill.sandbox.marker` applies,
that it reached its end). Small models write "tests" that pass whatever the solution does: ``assert True``, a
``print`` of a call, a copy of the function with its own asserts, a ``console.assert`` (which never fails the
process), a Bash ``[ ... ]`` that is not the last command, an assertion inside ``try``/``except``. So an accepted
sample's tests are audited twice:

* **Read** (tree-sitter, per language): they must call a function the solution defines (its entry points), must
  not define one of those names themselves, must hold a check the language's harness sees (an assertion, a
  ``throw``, a non-zero exit; not ``console.assert``), and must not catch their own assertion failures.
* **Run** against solutions that are wrong on purpose. The *stub* keeps the solution's signatures and returns
  the type's zero value (``None``, ``0``, ``""``, ``{}``; nothing in Bash): tests that pass against it check
  nothing the solution computes. *Mutants* change one operator or number of the solution (``+``→``-``,
  ``<``→``<=``, ``==``→``!=``, ``1``→``2``, ``-lt``→``-le``); the share of them the tests fail is the mutation score.
  A variant that does not compile says nothing about the tests ("stillborn") and is not counted.

The audit cannot know what the task meant: tests that encode the wrong behaviour pass a wrong solution and kill
its mutants all the same. It catches tests that check nothing or too little, which is what small models write.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from codemill.curate.pack.syntax import parser_for
from codemill.data.language_rules import rules_for, whole_program
from codemill.sandbox import LimitsOverride, Request, run_many
from codemill.synth.verify import checked_request

__all__ = [
    "AUDIT_LIMITS",
    "TestAudit",
    "audit_tests",
    "entry_points",
    "mutants",
    "read_tests",
    "signatures",
    "stub",
    "without_definitions",
]

AUDIT_LIMITS = LimitsOverride(cpu_seconds=5, wall_seconds=15)
"""A stub or mutant that runs longer than the solution could is wrong: a mutant looping forever counts as killed."""

MAX_MUTANTS = 4
#: statuses that say a variant was run and the tests caught it (a compile error says nothing: "stillborn")
CAUGHT = frozenset({"failed", "runtime_error", "timeout", "memory_exceeded", "output_exceeded"})

_FUNCTIONS = {
    "function_definition",  # python, c, c++, bash
    "function_declaration",  # javascript, typescript, go
    "generator_function_declaration",
    "method_declaration",  # java, c#, go
    "method_definition",  # javascript classes
    "function_item",  # rust
    "local_function_statement",  # c#
}
_FUNCTION_VALUES = {"arrow_function", "function_expression", "function"}
_NUMBERS = {"integer", "number", "integer_literal", "decimal_integer_literal", "number_literal", "int_literal"}
#: one-token mutations, applied where the token is a binary or comparison operator (or a boolean literal)
_SWAPS = {
    "+": "-", "-": "+", "*": "+", "/": "*", "%": "*", "//": "*",
    "<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "==", "===": "!==", "!==": "===",
    "&&": "||", "||": "&&", "and": "or", "or": "and",
    "-lt": "-le", "-le": "-lt", "-gt": "-ge", "-ge": "-gt", "-eq": "-ne", "-ne": "-eq",
    "True": "False", "False": "True", "true": "false", "false": "true",
}  # fmt: skip
_OPERATOR_PARENTS = ("binary", "comparison", "boolean_operator")
_LITERALS = {"True", "False", "true", "false"}

# A check the harness sees: the tests' failure must reach the exit status (comments are removed first).
_CHECKS = {
    "python": r"(?<![.\w])assert\b|\braise\b|\bself\.assert\w*\(|\bsys\.exit\(\s*[^0)\s]|\bexit\(\s*[1-9]",
    "javascript": (  # expect(): the runner tail's Jest-style globals (codemill.synth.runner_tail)
        r"(?<![.\w])assert\s*[.(]|\bthrow\b|\bprocess\.exit\(\s*[1-9]|\bprocess\.exitCode\s*=\s*[1-9]"
        r"|(?<![.\w])expect\s*\("
    ),
    "bash": r"\bexit\s+[1-9]|\breturn\s+[1-9]|\bset\s+-\w*e|\|\|\s*(?:exit|return|false)\b",
}
_CHECKS["typescript"] = _CHECKS["javascript"]
_GENERIC_CHECK = (
    r"\bassert\w*!?\s*\(|(?<![.\w])assert\b|\bthrow\b|\bpanic!?\s*\(|\bexit\s*\(\s*[1-9]|\bExit\(\s*[1-9]"
    r"|\babort\s*\(|\berror\s*\(|\bexpect\w*\s*\("
)
_BASH_TEST = re.compile(r"^\s*(?:\[\[?\s|test\s)")

# The zero value a stub returns, by the declared return type (Python annotations, Java types).
_PYTHON_ZEROS = {"int": "0", "float": "0.0", "str": '""', "bool": "False", "list": "[]", "dict": "{}",
                 "tuple": "()", "set": "set()", "List": "[]", "Dict": "{}", "Tuple": "()", "Set": "set()"}  # fmt: skip
_JAVA_ZEROS = {"int": "0", "long": "0L", "short": "0", "byte": "0", "char": "'\\0'", "double": "0.0",
               "float": "0.0f", "boolean": "false"}  # fmt: skip


@dataclass
class TestAudit:
    """What the audit found for one candidate's tests; :meth:`adequate` is the gate."""

    __test__ = False  # not a pytest test class, whatever its name

    problems: list[str] = field(default_factory=list)
    """What reading the tests found wrong (empty when nothing)."""
    stub: str | None = None
    """The tests' status against the stub; None where no stub could be made or it did not compile."""
    mutants: int = 0
    """Mutants that ran (compiled)."""
    killed: int = 0
    """Mutants the tests failed."""
    stillborn: int = 0
    """Variants (stub included) that did not compile: they say nothing about the tests."""

    @property
    def mutation_score(self) -> float | None:
        return self.killed / self.mutants if self.mutants else None

    def failures(self, min_mutation_score: float) -> list[str]:
        """Why these tests do not count as tests (empty when they do)."""
        why = list(self.problems)
        if self.stub == "passed":
            why.append("the tests pass against a stub that returns the zero value: they check nothing it computes")
        if self.stillborn and self.stub is None and not self.mutants:
            why.append(
                "no variant of the solution compiled with the tests (stub and mutants stillborn): nothing shows "
                "that they can fail"
            )
        score = self.mutation_score
        if score is not None and score < min_mutation_score:
            why.append(f"the tests fail {self.killed} of {self.mutants} mutants (below {min_mutation_score:.2f})")
        return why

    def adequate(self, min_mutation_score: float) -> bool:
        return not self.failures(min_mutation_score)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "mutation_score": self.mutation_score}


def _grammar_name(language: str) -> str:
    rules = rules_for(language)
    return rules.corpus if rules is not None else language


def _tree(code: str, language: str) -> tuple[Any, bytes] | None:
    parser = parser_for(_grammar_name(language))
    if parser is None:
        return None
    data = code.encode("utf-8")
    return parser.parse(data).root_node, data


def _text(node: Any, data: bytes) -> str:
    return data[node.start_byte : node.end_byte].decode("utf-8", "replace")


def _declared_name(node: Any) -> Any | None:
    """The name node of a function definition (C and C++ keep it inside nested declarators)."""
    name = node.child_by_field_name("name")
    declarator = node.child_by_field_name("declarator")
    while name is None and declarator is not None:
        if declarator.type in {"identifier", "field_identifier", "qualified_identifier", "destructor_name"}:
            return declarator
        inner = declarator.child_by_field_name("declarator")
        if inner is None and declarator.named_children:  # C++'s reference_declarator keeps it unnamed
            inner = declarator.named_children[-1]
        name, declarator = declarator.child_by_field_name("name"), inner
    return name


@dataclass(frozen=True)
class _Function:
    name: str
    node: Any
    """The definition (for ``const f = () => ...``, the declarator)."""
    name_node: Any
    body: Any
    returns: str
    """The declared return type's text ("" where none is written)."""
    python: bool


def _functions(root: Any, data: bytes) -> Iterator[_Function]:
    """Top-level functions and methods (not functions nested in them), outermost first."""
    stack = [root]
    while stack:
        node = stack.pop()
        value = node.child_by_field_name("value") if node.type == "variable_declarator" else None
        if node.type in _FUNCTIONS or (value is not None and value.type in _FUNCTION_VALUES):
            holder = value if value is not None else node
            name, body = _declared_name(node), holder.child_by_field_name("body")
            returns = next(
                (holder.child_by_field_name(f) for f in ("return_type", "type", "result")
                 if holder.child_by_field_name(f) is not None),
                None,
            )  # fmt: skip
            if name is not None and body is not None:
                yield _Function(
                    _text(name, data), node, name, body, _text(returns, data) if returns else "", body.type == "block"
                )
            continue
        stack.extend(reversed(node.children))


def entry_points(code: str, language: str) -> list[str]:
    """The names of the functions ``code`` defines (``main`` aside): what its tests must call."""
    parsed = _tree(code, language)
    if parsed is None:
        return []
    names = [f.name for f in _functions(*parsed) if f.name != "main"]
    return list(dict.fromkeys(names))


def signatures(code: str, language: str) -> list[str]:
    """The header of each function ``code`` defines (``main`` aside), its body left out: what the tests' writer
    is shown, so that it calls the solution by the right name and arguments and has no body to copy."""
    parsed = _tree(code, language)
    if parsed is None:
        return []
    root, data = parsed
    heads = []
    for function in _functions(root, data):
        if function.name != "main":
            # up to the body, less a comment between the header and the body (Python's ``def f(x):  # note``)
            before = [n for n in function.body.parent.children if n.end_byte <= function.body.start_byte]
            end = max((n.end_byte for n in before if "comment" not in n.type), default=function.body.start_byte)
            head = data[_whole_definition(function.node).start_byte : end].decode("utf-8", "replace")
            heads.append(" ".join(head.split()).rstrip("{ ").rstrip())
    return list(dict.fromkeys(heads))


def _whole_definition(node: Any) -> Any:
    """The statement to cut for a definition: with its decorators, or the ``const`` that holds only it."""
    parent = node.parent
    if parent is not None and parent.type == "decorated_definition":
        return parent
    if node.type == "variable_declarator" and parent is not None and parent.named_child_count == 1:
        return parent
    return node


def without_definitions(tests: str, names: Sequence[str], language: str) -> tuple[str, list[str]]:
    """``tests`` with its top-level definitions of ``names`` cut out, and the names it defined.

    Why: asked for tests, small models copy the solution into them (and then test their copy, or nothing). The
    copy is not the tests' to make: cut, the checks that remain run against the solution's own definition, and
    tests that were only a copy are left with no check, which :func:`read_tests` then says."""
    parsed = _tree(tests, language)
    if parsed is None or not names:
        return tests, []
    root, data = parsed
    cuts, cut_names = [], []
    for function in _functions(root, data):
        statement = _whole_definition(function.node)
        if function.name in names and statement.parent is not None and statement.parent.id == root.id:
            cuts.append((statement.start_byte, statement.end_byte))
            cut_names.append(function.name)
    if not cuts:
        return tests, []
    out = bytearray(data)
    for start, end in sorted(cuts, reverse=True):
        out[start:end] = b""
    return re.sub(r"\n{3,}", "\n\n", out.decode("utf-8", "replace")).strip("\n") + "\n", sorted(set(cut_names))


def _leaves(node: Any, into_strings: bool = False) -> Iterator[Any]:
    """The leaves outside comments (and outside strings, unless ``into_strings``: a Bash call is often in one)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if n.child_count == 0:
            yield n
        elif "comment" not in n.type and (into_strings or "string" not in n.type):
            stack.extend(reversed(n.children))


def _without_comments(text: str, root: Any, data: bytes) -> str:
    cuts = []
    stack = [root]
    while stack:
        n = stack.pop()
        if "comment" in n.type:
            cuts.append((n.start_byte, n.end_byte))
        else:
            stack.extend(n.children)
    out = bytearray(data)
    for start, end in sorted(cuts, reverse=True):
        out[start:end] = b" " * (end - start)
    return out.decode("utf-8", "replace")


def _catches_own_assertions_python(tests: str) -> list[str]:
    """``try: ... assert ... except (AssertionError|Exception|bare): ...`` that does not raise again."""
    try:
        tree = ast.parse(tests)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        if not any(isinstance(n, ast.Assert) for stmt in node.body for n in ast.walk(stmt)):
            continue
        for handler in node.handlers:
            caught = handler.type
            names = {
                n.id if isinstance(n, ast.Name) else n.attr
                for n in ast.walk(caught) if isinstance(n, ast.Name | ast.Attribute)
            } if caught is not None else {"BaseException"}  # fmt: skip
            reraises = any(isinstance(n, ast.Raise) for stmt in handler.body for n in ast.walk(stmt))
            if names & {"AssertionError", "Exception", "BaseException"} and not reraises:
                found.append(f"the tests catch their own assertion failures (line {handler.lineno})")
    return found


def _catches_own_assertions_js(root: Any, data: bytes) -> list[str]:
    found = []
    stack = [root]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.type != "try_statement":
            continue
        body, handler = node.child_by_field_name("body"), node.child_by_field_name("handler")
        if body is None or handler is None:
            continue
        checks = re.search(_CHECKS["javascript"], _text(body, data))
        rethrows = re.search(r"\bthrow\b|\bprocess\.exit\(\s*[1-9]|\bprocess\.exitCode\s*=", _text(handler, data))
        if checks and not rethrows:
            found.append(f"the tests catch their own assertion failures (line {handler.start_point[0] + 1})")
    return found


def _around(code: str, tests: str, language: str) -> str:
    """The tests without the solution where a whole program holds it verbatim (the rest is what they add)."""
    return tests.replace(code.strip(), "") if whole_program(language) and code.strip() else tests


def read_tests(code: str, tests: str, language: str) -> list[str]:
    """What is wrong with ``tests`` as tests of ``code``, by reading them (empty when nothing is)."""
    tests = _around(code, tests, language)
    parsed = _tree(tests, language)
    names = entry_points(code, language)
    problems: list[str] = []
    if parsed is None:
        plain = tests
    else:
        root, data = parsed
        plain = _without_comments(tests, root, data)
        defined = {f.name: f for f in _functions(root, data)}
        own = sorted(set(names) & set(defined))
        if own:
            problems.append(f"the tests define {', '.join(own)} themselves instead of testing the solution's")
        declared = {(f.name_node.start_byte, f.name_node.end_byte) for f in defined.values()}
        used = {
            _text(leaf, data)
            for leaf in _leaves(root, into_strings=True)
            if (leaf.type.endswith("identifier") or leaf.type == "word")
            and (leaf.start_byte, leaf.end_byte) not in declared
        }
        if names and not set(names) & used:
            problems.append(f"the tests never call {' or '.join(names)}")
        if language in {"javascript", "typescript"}:
            problems += _catches_own_assertions_js(root, data)
    if not plain.strip():
        return ["the tests are empty (or only comments)"]
    checks = re.compile(_CHECKS.get(language, _GENERIC_CHECK))
    lines = [line for line in plain.splitlines() if line.strip()]
    last_is_test = language == "bash" and bool(lines) and bool(_BASH_TEST.match(lines[-1]))
    if not checks.search(plain) and not last_is_test:
        problems.append("the tests hold no check that can fail the run (an assertion, a throw, a non-zero exit)")
    if language == "python":
        try:
            ast.parse(tests)
        except SyntaxError as error:  # e.g. a check cut off at ``==``: then nothing after it runs either
            problems.append(f"the tests do not parse (line {error.lineno}: {error.msg})")
        problems += _catches_own_assertions_python(tests)
    return problems


def _stub_body(function: _Function, language: str) -> str | None:
    returns = function.returns.strip()
    if language == "python":
        base = re.sub(r"\[.*", "", returns).split(".")[-1]
        return f"return {_PYTHON_ZEROS.get(base, 'None')}"
    if language in {"javascript", "typescript"}:
        return "{ return undefined as any; }" if language == "typescript" else "{ return undefined; }"
    if language == "bash":
        return "{ :; }"
    void = returns in {"", "void"} or returns == "()"
    if language == "cpp":
        return "{}" if returns == "void" else "{ return {}; }"
    if language == "c":
        return "{}" if returns == "void" else "{ return 0; }"
    if language == "csharp":
        return "{}" if returns == "void" else "{ return default; }"
    if language == "java":
        return "{}" if returns == "void" else f"{{ return {_JAVA_ZEROS.get(returns, 'null')}; }}"
    if language == "rust":
        return "{}" if void else "{ Default::default() }"
    if language == "go":
        return "{}" if void else (None if returns.startswith("(") else f"{{ var zero {returns}; return zero }}")
    return None


def stub(code: str, language: str) -> str | None:
    """``code`` with every function's body replaced by a return of its type's zero value; None where no stub
    can be made (no grammar, no function, or a language without stub rules)."""
    parsed = _tree(code, language)
    if parsed is None:
        return None
    root, data = parsed
    edits = []
    for function in _functions(root, data):
        if function.name == "main":
            continue
        body = _stub_body(function, language)
        if body is None:
            return None
        if language in {"javascript", "typescript"} and function.body.type != "statement_block":
            body = "undefined"  # an arrow function's expression body
        edits.append((function.body.start_byte, function.body.end_byte, body))
    if not edits:
        return None
    out = bytearray(data)
    for start, end, body in sorted(edits, reverse=True):
        out[start:end] = body.encode()
    return out.decode("utf-8")


def _mutation_sites(root: Any) -> list[tuple[int, int, str]]:
    sites = []
    for leaf in _leaves(root):
        text = leaf.text.decode("utf-8", "replace") if leaf.text is not None else ""
        parent = leaf.parent.type if leaf.parent is not None else ""
        if text in _SWAPS and (text in _LITERALS or any(p in parent for p in _OPERATOR_PARENTS)):
            sites.append((leaf.start_byte, leaf.end_byte, _SWAPS[text]))
        elif leaf.type in _NUMBERS and text.isdigit():
            sites.append((leaf.start_byte, leaf.end_byte, str(int(text) + 1)))
    return sorted(sites)


def mutants(code: str, language: str, limit: int = MAX_MUTANTS) -> list[str]:
    """Up to ``limit`` copies of ``code`` with one operator or number changed, spread over the code (the same
    ones every time)."""
    parsed = _tree(code, language)
    if parsed is None or limit <= 0:
        return []
    root, data = parsed
    sites = _mutation_sites(root)
    if len(sites) > limit:
        step = (len(sites) - 1) / max(1, limit - 1)
        sites = [sites[round(i * step)] for i in range(limit)] if limit > 1 else sites[:1]
    out = []
    for start, end, replacement in dict.fromkeys(sites):
        mutant = (data[:start] + replacement.encode() + data[end:]).decode("utf-8", "replace")
        if mutant != code:
            out.append(mutant)
    return out


def audit_tests(
    items: Sequence[tuple[str, str, str, str]],
    concurrency: int | None = None,
    limits: LimitsOverride | None = None,
    max_mutants: int = MAX_MUTANTS,
) -> list[TestAudit]:
    """One :class:`TestAudit` per ``(id, language, solution, tests)``: read, then one sandbox batch of every stub
    and mutant. ``language`` is the sandbox's name (``python``, ``cpp``)."""
    audits = [TestAudit(problems=read_tests(code, tests, language)) for _, language, code, tests in items]
    requests: list[Request] = []
    owners: list[tuple[int, str]] = []
    for index, (id_, language, code, tests) in enumerate(items):
        variants = [("stub", stub(code, language)), *(("mutant", m) for m in mutants(code, language, max_mutants))]
        # A whole program that holds the solution holds the variant in its place (beside it, both would be
        # defined twice: every variant stillborn, and the audit blind).
        rest = _around(code, tests, language)
        for n, (kind, variant) in enumerate(variants):
            if variant is None:
                continue
            requests.append(checked_request(language, variant, rest, limits or AUDIT_LIMITS, f"{id_}/{kind}{n}"))
            owners.append((index, kind))
    for (index, kind), result in zip(owners, run_many(requests, concurrency), strict=True):
        audit = audits[index]
        if result.status == "compile_error":
            audit.stillborn += 1
        elif kind == "stub":
            audit.stub = result.status
        elif result.status == "passed" or result.status in CAUGHT:
            audit.mutants += 1
            audit.killed += result.status in CAUGHT
    return audits
