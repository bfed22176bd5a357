"""The ladder's filter base: a new filter is one file in ``curate/filters/`` and the base does the rest.

The toy filter below is written as a file into the filters package (a second folder of it, as an installed
plug-in's would be) and reached only by its name in a recipe: the registry finds it, the base applies kinds,
hard/soft mode, the level and the score's name, and splits kept from rejected.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import codemill.curate.filters as filters_package
from codemill.data.schema import Document
from codemill.pipeline.recipe import parse_recipe
from codemill.pipeline.step import Step, step_class

TOY_FILTER = '''
"""A toy rung of the ladder: text that shouts (mostly capitals) fails."""

from pydantic import Field

from codemill.curate.filters.base import Fail, LadderFilter, Mode
from codemill.data.schema import Document
from codemill.pipeline.step import Params


class ShoutParams(Params):
    mode: Mode = "hard"
    kinds: list[str] | None = ["text"]
    max_upper: float = Field(0.5, ge=0, le=1)


class Shout(LadderFilter[ShoutParams]):
    name = "toy_shout"
    level = 1
    score_name = "upper"

    def judge(self, doc: Document) -> Fail | None:
        letters = [c for c in doc.text if c.isalpha()]
        share = sum(c.isupper() for c in letters) / max(1, len(letters))
        self.record(doc, share)
        if share > self.params.max_upper:
            return Fail("shouting", f"{share:.2f} of the letters are capitals", {"shouted": True})
        return None
'''


@pytest.fixture
def toy_filter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    (tmp_path / "toy_shout.py").write_text(TOY_FILTER)
    monkeypatch.setattr(filters_package, "__path__", [*filters_package.__path__, str(tmp_path)])
    yield
    Step.registry.pop("toy_shout", None)
    sys.modules.pop("codemill.curate.filters.toy_shout", None)


def docs() -> list[Document]:
    return [
        Document(id="calm", text="A calm sentence about parsers.", kind="text"),
        Document(id="loud", text="STOP SHOUTING AT THE PARSER", kind="text"),
        Document(id="code", text="MAX_SIZE = LIMIT * 2", kind="code", lang="python"),
    ]


def test_a_filter_file_is_found_by_name_and_the_base_does_the_rest(toy_filter: None) -> None:
    assert "toy_shout" not in Step.registry
    recipe = parse_recipe({"steps": [{"step": "format"}, {"step": "toy_shout", "max_upper": 0.6}]})
    step = recipe.steps[1].build()
    assert type(step) is step_class("toy_shout") and step.params.max_upper == 0.6
    kept, rejected = step.process(docs())
    assert [d.id for d in kept] == ["calm", "code"]  # code is not of the judged kinds: untouched
    assert [(r.document.id, r.reason) for r in rejected] == [("loud", "shouting")]
    assert rejected[0].detail == "1.00 of the letters are capitals" and "shouted" not in rejected[0].document.meta
    calm, code = kept
    assert calm.quality == 1 and calm.scores == {"upper": pytest.approx(1 / 25)}
    assert code.quality == 0 and code.scores == {}


def test_soft_mode_keeps_records_and_stops_the_climb(toy_filter: None) -> None:
    recipe = parse_recipe({"steps": [{"step": "toy_shout", "mode": "soft", "kinds": None}]})
    kept, rejected = recipe.steps[0].build().process(docs())
    assert rejected == [] and [d.id for d in kept] == ["calm", "loud", "code"]
    loud = kept[1]
    assert loud.meta == {"shouted": True, "ladder_failed": 1} and loud.quality == 0
    assert kept[2].meta["ladder_failed"] == 1  # every kind judged now: the code shouts too


def test_an_unknown_step_lists_the_filters_found(toy_filter: None) -> None:
    with pytest.raises(KeyError, match="toy_shout") as info:
        step_class("no_such_step")
    assert "format" in str(info.value) and "code_rules" in str(info.value)


def test_level_zero_is_the_format_filter() -> None:
    step = step_class("format")()
    kept, rejected = step.process([Document(id="a", text="x = 1\n"), Document(id="b", text="  \n")])
    assert [d.scores for d in kept] == [{"format": 1.0}] and [r.reason for r in rejected] == ["blank"]
    assert step.level == 0 and step.mode == "hard" and step.kinds is None
