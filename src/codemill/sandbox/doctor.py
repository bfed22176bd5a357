"""``doctor``: for every language, is the toolchain there, and does the sandbox score it right?

Why this exists: the most common way an evaluation harness goes wrong is silently, a toolchain
missing or a harness inverted, so that a whole language scores 0 (or 100) and nobody notices
(CodeGeeX's Java, bigcode's C++ and JavaScript). The doctor runs each language's own hello-world
(must pass and print ``hello, world``) and failing assertion (must come back ``failed``) through the
real sandbox, so a green line means the language's results can be trusted on this machine.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable

from pydantic import BaseModel

from codemill.sandbox.isolation import SANDBOX_PATH
from codemill.sandbox.languages import LANGUAGES, SandboxLanguage, get_language
from codemill.sandbox.pool import run_many
from codemill.sandbox.runner import missing_toolchain
from codemill.sandbox.schema import Request

__all__ = ["LanguageHealth", "check_languages", "toolchain_version"]


class LanguageHealth(BaseModel):
    """One line of the doctor's report."""

    language: str
    version: str | None
    hello: str
    failing: str
    ok: bool
    hello_seconds: float
    detail: str = ""


def toolchain_version(language: SandboxLanguage) -> str | None:
    """The first line the toolchain prints about its version, or None when it is not installed.

    Run with the sandbox's PATH: the toolchain a developer has under /root (rustup, pyenv) is not the
    one the sandbox uses."""
    if not language.version or missing_toolchain(language) is not None:
        return None
    try:
        done = subprocess.run(language.version, capture_output=True, text=True, timeout=60, env={"PATH": SANDBOX_PATH})
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = [line.strip() for line in (done.stdout + "\n" + done.stderr).splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith(("Picked up", "OpenJDK 64-Bit Server VM warning"))]
    return (useful or lines or [""])[0][:120] or None


def check_languages(names: Iterable[str] | None = None, concurrency: int | None = None) -> list[LanguageHealth]:
    """Run every language's hello-world and failing program (in parallel) and report each language."""
    languages = [get_language(name) for name in names] if names else list(LANGUAGES)
    requests = []
    for language in languages:
        requests.append(Request(language=language.name, code=language.hello, id=f"{language.name}:hello"))
        requests.append(Request(language=language.name, code=language.failing, id=f"{language.name}:failing"))
    results = run_many(requests, concurrency=concurrency)
    report = []
    for index, language in enumerate(languages):
        hello, failing = results[2 * index], results[2 * index + 1]
        hello_ok = hello.status == "passed" and hello.stdout.strip() == "hello, world"
        failing_ok = failing.status == "failed"
        details = []
        if not hello_ok:
            details.append(f"hello: {hello.status} {hello.message} {(hello.stderr or hello.stdout).strip()[-300:]}")
        if not failing_ok:
            details.append(f"failing: {failing.status} {failing.message}")
        report.append(
            LanguageHealth(
                language=language.name,
                version=toolchain_version(language),
                hello=hello.status,
                failing=failing.status,
                ok=hello_ok and failing_ok,
                hello_seconds=round(hello.compile_seconds + hello.run_seconds, 3),
                detail="; ".join(details),
            )
        )
    return report
