"""Recipes: the shipped one loads; every mistake is reported with its place in the file and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemill.pipeline.recipe import RecipeError, default_recipe_path, load_recipe, parse_recipe


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    return path


def test_default_recipe_is_valid_and_is_the_repo_config() -> None:
    recipe = load_recipe(default_recipe_path())
    assert [s.step for s in recipe.steps] == [
        "format",
        "languages",
        "code_rules",
        "classifier",
        "classifier",
        "code_removal",
        "dedup",
        "decontaminate",
        "source_overlap",
        "mix",
        "pack",
        "pack",
    ]
    repo_config = Path(__file__).parents[1] / "configs" / "default.yaml"
    assert repo_config.read_text() == default_recipe_path().read_text()


def test_wrong_key_names_the_line_the_path_and_what_is_allowed(tmp_path: Path) -> None:
    path = write(tmp_path, "steps:\n  - step: format\n    min_bytes: 5\n    max_byts: 10\n")
    with pytest.raises(RecipeError) as err:
        load_recipe(path)
    msg = str(err.value)
    assert f"{path}:4:5: steps[0].max_byts: unknown key; allowed: min_bytes, max_bytes, max_lines" in msg


def test_wrong_values_are_all_reported_at_once(tmp_path: Path) -> None:
    text = (
        "shards:\n  target_bytes: -1\n"
        "steps:\n  - step: format\n    max_bytes: lots\n  - step: languages\n    keep: [pyhton]\n"
    )
    with pytest.raises(RecipeError) as err:
        load_recipe(write(tmp_path, text))
    msg = str(err.value)
    assert ":2:" in msg and "shards.target_bytes: Input should be greater than 0 (got -1)" in msg
    assert ":5:" in msg and "steps[0].max_bytes" in msg and "'lots'" in msg
    assert "steps[1]" in msg and "did you mean 'python'" in msg


def test_unknown_step_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match=r"unknown step 'dedupe'; built-in steps: .*format.*languages"):
        load_recipe(write(tmp_path, "steps:\n  - step: dedupe\n"))


def test_inconsistent_bounds_are_refused() -> None:
    with pytest.raises(RecipeError, match="min_bytes 10 is larger than max_bytes 5"):
        parse_recipe({"steps": [{"step": "format", "min_bytes": 10, "max_bytes": 5}]})


def test_broken_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match="not valid YAML"):
        load_recipe(write(tmp_path, "steps: [\n"))
    with pytest.raises(RecipeError, match="cannot read recipe"):
        load_recipe(tmp_path / "absent.yaml")
    with pytest.raises(RecipeError, match="a recipe is a mapping"):
        load_recipe(write(tmp_path, "- step: format\n"))


def test_a_step_from_the_users_own_module() -> None:
    recipe = parse_recipe({"steps": [{"step": "helpers:Sleep", "seconds": 0}]})
    assert recipe.steps[0].build().params.seconds == 0  # type: ignore[attr-defined]
    with pytest.raises(RecipeError, match="cannot import step"):
        parse_recipe({"steps": [{"step": "no_such_module:Thing"}]})


def test_fingerprint_ignores_the_name_but_not_the_parameters() -> None:
    a = parse_recipe({"name": "a", "steps": [{"step": "format"}]})
    b = parse_recipe({"name": "b", "steps": [{"step": "format"}]})
    c = parse_recipe({"name": "a", "steps": [{"step": "format", "max_bytes": 5}]})
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()
