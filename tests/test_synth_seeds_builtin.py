"""The shipped seed snippets: they parse as codemill documents, cover the agents' languages, are valid code, and
seed synthesis by default (nothing to download, no curated run first), deterministically."""

from __future__ import annotations

import json
from collections import Counter
from importlib import resources
from pathlib import Path

import pytest

from codemill.curate.pack.sources import iter_documents
from codemill.curate.pack.syntax import parser_for
from codemill.data.schema import Document
from codemill.synth.recipe import SeedSpec, load_synth_recipe
from codemill.synth.seeds import BUILTIN_SNIPPETS, load_seeds

#: codemill's language names (the documents' ``lang``) of the languages synthesis agents use
LANGUAGES = ("python", "javascript", "typescript", "shell", "c++", "java")
MIN_PER_LANGUAGE = 8


@pytest.fixture(scope="module")
def documents() -> list[Document]:
    with resources.as_file(BUILTIN_SNIPPETS) as path:
        return list(iter_documents([path]))


def by_language(documents: list[Document], lang: str) -> list[Document]:
    return [doc for doc in documents if doc.lang == lang]


def test_the_file_is_shipped_in_the_package_and_every_line_is_a_code_document(documents: list[Document]) -> None:
    assert BUILTIN_SNIPPETS.is_file()
    rows = [json.loads(line) for line in BUILTIN_SNIPPETS.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) == len(documents)
    for row in rows:
        assert set(row) == {"id", "text", "kind", "lang", "path", "quality"}
    ids = [doc.id for doc in documents]
    assert len(set(ids)) == len(ids)
    for doc in documents:
        assert doc.kind == "code" and doc.lang in LANGUAGES, doc.id
        assert doc.id.startswith("builtin/") and doc.path.startswith("builtin/"), doc.id
        assert 5 <= len(doc.text.splitlines()) <= 40, doc.id


def test_each_agent_language_has_enough_snippets(documents: list[Document]) -> None:
    counts = Counter(doc.lang for doc in documents)
    for lang in LANGUAGES:
        assert counts[lang] >= MIN_PER_LANGUAGE, (lang, counts[lang])


def test_python_snippets_compile(documents: list[Document]) -> None:
    for doc in by_language(documents, "python"):
        compile(doc.text, doc.path, "exec")


@pytest.mark.parametrize("lang", ["javascript", "typescript", "shell", "c++", "java"])
def test_snippets_parse_without_syntax_errors(documents: list[Document], lang: str) -> None:
    parser = parser_for(lang)
    assert parser is not None, f"no tree-sitter grammar for {lang}"
    for doc in by_language(documents, lang):
        root = parser.parse(doc.text.encode("utf-8")).root_node
        assert not root.has_error, doc.id


def test_builtin_seeds_every_agent_with_no_inputs_given() -> None:
    spec = SeedSpec()
    assert spec.builtin and spec.inputs == []
    seeds = load_seeds(spec, ["python", "javascript", "bash"], 0)
    for language in ("python", "javascript", "bash"):
        assert len(seeds[language]) == spec.per_language, language
        assert all(s.language == language and s.code.strip() for s in seeds[language])
        assert all(s.id.startswith(f"builtin/{language}/") for s in seeds[language])


def test_builtin_false_with_no_inputs_gives_no_seeds() -> None:
    seeds = load_seeds(SeedSpec(builtin=False), ["python", "javascript", "bash"], 0)
    assert seeds == {"python": [], "javascript": [], "bash": []}


def test_the_choice_is_deterministic_and_follows_the_seed() -> None:
    languages = ["python", "typescript", "cpp", "java"]
    ids = {seed: {k: [s.id for s in v] for k, v in load_seeds(SeedSpec(), languages, seed).items()} for seed in (0, 1)}
    assert ids[0] == {k: [s.id for s in v] for k, v in load_seeds(SeedSpec(), languages, 0).items()}
    assert ids[0] != ids[1]


def test_own_inputs_still_get_builtin_unless_switched_off(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(json.dumps({"id": "mine", "text": "def f():\n    return 1\n", "lang": "python"}) + "\n")
    both = load_seeds(SeedSpec(inputs=[corpus], per_language=20), ["python", "bash"], 0)
    assert "mine" in [s.id for s in both["python"]] and len(both["python"]) > 1
    assert both["bash"], "an agent with no snippets in the inputs still gets builtin ones"
    only = load_seeds(SeedSpec(inputs=[corpus], builtin=False), ["python", "bash"], 0)
    assert [s.id for s in only["python"]] == ["mine"] and only["bash"] == []


def test_the_default_recipe_turns_builtin_seeds_on() -> None:
    config = Path(str(resources.files("codemill") / "configs" / "synth.yaml"))
    assert load_synth_recipe(config).seeds.builtin
