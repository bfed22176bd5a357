"""Every language of the table, through the real sandbox: hello-world passes, a failing assertion fails.

The programs are the table's own (``SandboxLanguage.hello`` / ``.failing``), the ones ``doctor``
runs, so the doctor and the tests cannot disagree. They run once, in parallel, for the module. A
missing toolchain is a failure that says to run ``scripts/install_toolchains.sh``, never a skip.
"""

from __future__ import annotations

import pytest

from codemill.sandbox import Request, Result, run_many
from codemill.sandbox.languages import LANGUAGES, get_language
from codemill.sandbox.runner import INSTALL_HINT, missing_toolchain

NAMES = [language.name for language in LANGUAGES]


@pytest.fixture(scope="module")
def results() -> dict[tuple[str, str], Result]:
    requests = [
        Request(language=language.name, code=getattr(language, kind), id=f"{language.name}:{kind}")
        for language in LANGUAGES
        for kind in ("hello", "failing")
    ]
    return {tuple(result.id.split(":")): result for result in run_many(requests)}  # type: ignore[misc]


def test_the_table_has_the_issues_languages() -> None:
    required = {"python", "javascript", "typescript", "java", "c", "cpp", "go", "rust", "csharp", "php", "ruby"}
    required |= {"perl", "lua", "r", "bash", "kotlin", "scala", "haskell"}
    assert required <= set(NAMES)
    assert len(NAMES) >= 16


@pytest.mark.parametrize("name", NAMES)
def test_toolchain_is_installed(name: str) -> None:
    missing = missing_toolchain(get_language(name))
    assert missing is None, f"{name}: {missing} is not installed; {INSTALL_HINT}"


@pytest.mark.parametrize("name", NAMES)
def test_hello_world_passes(name: str, results: dict[tuple[str, str], Result]) -> None:
    result = results[name, "hello"]
    assert result.status == "passed", f"{result.message}\n{result.stderr[-2000:]}"
    assert result.stdout.strip() == "hello, world"
    assert result.exit_code == 0 and result.signal is None


@pytest.mark.parametrize("name", NAMES)
def test_failing_assertion_fails(name: str, results: dict[tuple[str, str], Result]) -> None:
    result = results[name, "failing"]
    assert result.status == "failed", f"{result.status}: {result.message}\n{result.stderr[-2000:]}"
    assert result.phase == "run"


@pytest.mark.parametrize("alias", ["py", "c++", "C#", "js", "ts", "golang", "rs", "sh", "kt", "hs", "R"])
def test_aliases_resolve(alias: str) -> None:
    assert get_language(alias).name in NAMES
