"""Run the test functions a tests block only defines, as a test runner would.

Why: asked for tests, a small model often writes pytest-style ``def test_add(): assert add(2, 3) == 5`` or a
``unittest.TestCase``, and never calls either. Appended after the solution as they are, nothing in them runs:
the sandbox says ``passed`` for any solution, and the test audit's stub run rightly rejects the sample. A test
runner would run them, so the program does too: a call of every test function the block defines at top level
and never calls itself, and, for ``TestCase`` classes when the block does not start ``unittest`` itself, a
run of their suite that fails the program if a test fails. Nothing else of the tests or of the solution
changes, and the completion marker still follows, so a test that ends the process early is no pass.

Only what a runner could call without help is called: a test function with parameters without defaults
(pytest fixtures) or an ``async`` one stays uncalled, and such tests still fail the audit.

JavaScript and TypeScript: Jest-style ``describe``/``it``/``test`` blocks and ``expect(...).toBe(...)`` that the
tests call without a framework get minimal definitions (each body runs at once; ``expect`` checks with
``node:assert``, ``toEqual`` as ``deepStrictEqual``: stricter than Jest, never looser).
"""

from __future__ import annotations

import ast
import re

__all__ = ["runner_tail"]

_UNITTEST_TAIL = """
import unittest as _codemill_unittest
_codemill_result = _codemill_unittest.TextTestRunner(verbosity=0).run(_codemill_unittest.TestSuite(
    _codemill_unittest.defaultTestLoader.loadTestsFromTestCase(case) for case in ({cases},)))
assert _codemill_result.wasSuccessful(), "unittest: a test failed"
"""


#: Jest-style globals, as function declarations: hoisted, so a tail defines them for calls above it. Each test
#: body runs at once; an async body's failure is an unhandled rejection, which fails the Node process.
_JS_GLOBALS = {
    "describe": "function describe(name, body) { body(); }",
    "it": "function it(name, body) { return body(); }",
    "test": "function test(name, body) { return body(); }",
    "expect": (
        "function expect(actual) {\n"
        '  const assert = require("node:assert");\n'
        "  return {\n"
        "    toBe: (expected) => assert.strictEqual(actual, expected),\n"
        "    toEqual: (expected) => assert.deepStrictEqual(actual, expected),\n"
        "    toStrictEqual: (expected) => assert.deepStrictEqual(actual, expected),\n"
        "    toBeTruthy: () => assert.ok(actual),\n"
        "    toBeFalsy: () => assert.ok(!actual),\n"
        "    toThrow: () => assert.throws(actual),\n"
        "  };\n"
        "}"
    ),
}


def _js_tail(tests: str, code: str) -> str:
    """Definitions of the Jest-style globals the tests call and neither they nor the solution declare (a test
    runner would give them; one declared twice would be a SyntaxError or, for a function, replace the other)."""
    missing = []
    for name, definition in _JS_GLOBALS.items():
        called = re.search(rf"(?<![.\w$]){name}\s*\(", tests)
        pattern = rf"\b(?:function\s*\*?\s*|(?:const|let|var|class)\s+|import\s+[^;]*\b){name}\b"
        declared = re.search(pattern, tests) or re.search(pattern, code)
        if called and not declared:
            missing.append(definition)
    return "\n".join(missing)


def runner_tail(tests: str, language: str, code: str = "") -> str:
    """The lines to append after ``tests`` so that its test functions run (empty when there is nothing to add,
    the language is neither Python nor JavaScript/TypeScript, or Python tests do not parse)."""
    if language in {"javascript", "typescript"}:
        return _js_tail(tests, code)
    if language != "python":
        return ""
    try:
        tree = ast.parse(tests)
    except SyntaxError:
        return ""
    called = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    functions = [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test") and _callable_bare(node.args)
    ]
    lines = [f"{name}()" for name in functions if name not in called]
    cases = [node.name for node in tree.body if isinstance(node, ast.ClassDef) and _is_test_case(node)]
    if cases and not _starts_unittest(tree):
        lines.append(_UNITTEST_TAIL.format(cases=", ".join(cases)).strip())
    return "\n".join(lines)


def _callable_bare(args: ast.arguments) -> bool:
    """Whether a function can be called with no arguments."""
    positional = [*args.posonlyargs, *args.args]
    keyword_only_required = [a for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is None]
    return len(positional) == len(args.defaults) and not keyword_only_required


def _is_test_case(node: ast.ClassDef) -> bool:
    return any(
        (isinstance(b, ast.Name) and b.id.endswith("TestCase"))
        or (isinstance(b, ast.Attribute) and b.attr.endswith("TestCase"))
        for b in node.bases
    )


def _starts_unittest(tree: ast.Module) -> bool:
    """Whether the tests call ``unittest.main()`` (or ``main()`` imported from it) anywhere, guarded or not."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if (isinstance(func, ast.Attribute) and func.attr == "main") or (
                isinstance(func, ast.Name) and func.id == "main"
            ):
                return True
    return False
