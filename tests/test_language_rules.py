"""The per-language table: consistent with the sandbox and the corpus's language table, read by every layer, and a
new language is one entry (the toy language below is registered once and reaches synthesis and evaluation)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from codemill.benchmarks import benchmark_language
from codemill.curate.pack.syntax import GRAMMARS
from codemill.data.language_rules import (
    LANGUAGE_RULES,
    LanguageRules,
    fence_aliases,
    grammars,
    register,
    rules_for,
    unregister,
    whole_program,
)
from codemill.data.languages import language_by_name
from codemill.evaluate.extract import extract_code
from codemill.sandbox.languages import get_language
from codemill.synth.agents import fence_of, title_of
from codemill.synth.verify import program


@pytest.mark.parametrize("rules", LANGUAGE_RULES, ids=lambda r: r.name)
def test_every_entry_names_a_sandbox_language_and_a_corpus_language(rules: LanguageRules) -> None:
    assert get_language(rules.sandbox).name == rules.sandbox
    assert rules.fence in rules.fences and rules.extension.startswith(".")
    if rules.name != "d":  # the corpus table has no D
        assert language_by_name(rules.corpus).name == rules.corpus
    if rules.whole_program:
        assert rules.import_line is not None  # whole programs hoist imports


def test_the_tables_answers_are_the_ones_each_module_kept_before() -> None:
    assert fence_aliases("cs") == {"cs", "csharp", "c#"} and fence_aliases("kotlin") == {"kotlin"}
    assert fence_aliases("nonesuch") == {"nonesuch"}
    assert {r.name for r in LANGUAGE_RULES if r.whole_program} == {
        "java", "c", "cpp", "go", "rust", "csharp", "kotlin", "scala", "haskell", "d",
    }  # fmt: skip
    assert grammars() == GRAMMARS and set(GRAMMARS) == {  # shell since the test audit parses Bash tests
        "python", "javascript", "typescript", "java", "go", "rust", "c", "c++", "c#", "shell",
    }  # fmt: skip
    assert (fence_of("rust"), fence_of("go-test"), title_of("cpp"), title_of("go-test")) == (
        "rs",
        "go-test",
        "C++",
        "Go-test",
    )
    assert benchmark_language("multipl-e/cs") == "csharp" and benchmark_language("humaneval-fim", "py/x") == "python"


TOY = LanguageRules(
    name="toylang",
    title="ToyLang",
    extension=".toy",
    corpus="toylang",
    sandbox="python",  # a toolchain of the sandbox runs it: here Python's, for the test
    fence="toy",
    fences=frozenset({"toy", "toylang"}),
    short_names=("ty",),
    whole_program=True,
    package_line=r"unit\s+\w+",
    import_line=r"need\s+\w+",
)


@pytest.fixture
def toy() -> Iterator[LanguageRules]:
    register(TOY)
    yield TOY
    unregister(TOY.name)


def test_a_new_language_is_one_entry(toy: LanguageRules) -> None:
    assert rules_for("toylang") is toy and whole_program("toylang")
    assert (fence_of("toylang"), title_of("toylang")) == ("toy", "ToyLang")  # synthesis prompts
    answer = "Here:\n```python\nprint(1)\n```\n```toylang\nneed io\nsay 1\n```\n"
    assert extract_code(answer, fence_of("toylang")) == "need io\nsay 1\n"  # evaluation and synthesis
    assert benchmark_language("multipl-e/ty") == "toylang"  # steering from evaluation failures
    code, tests = "need io\nsay answer", "unit main\nneed io\nneed check\ncheck answer"
    assert program("toylang", code, tests) == "unit main\nneed io\nneed check\n\nsay answer\n\ncheck answer\n"
    with pytest.raises(ValueError, match="taken"):
        register(toy)


def test_without_the_entry_the_language_is_unknown() -> None:
    assert rules_for("toylang") is None and not whole_program("toylang")
    assert benchmark_language("multipl-e/ty") == "ty"
