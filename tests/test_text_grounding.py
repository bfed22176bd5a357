"""The text-code grounding cascade: its recipe, a run on real documentation and real non-code prose, its builder.

The documents are the machine's own: Python packages' documentation and section-3 man pages (code-related) and
licence texts (not), read by the training script's builders, so the test sees what the shipped models saw.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from codemill.curate.classify.features import code_features, word_features
from codemill.curate.classify.model import Classifier, shipped_models
from codemill.pipeline.recipe import load_recipe
from codemill.pipeline.run import curate

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import train_text_code as ttc  # noqa: E402

RECIPE = ROOT / "src/codemill/configs/text_grounding.yaml"
STAGE_MODELS = ["text_code_words", "text_code", "text_code_layout", "text_code_grounded"]


@pytest.fixture(scope="module")
def real_docs() -> list[ttc.Row]:
    """A few dozen documents: package docs and man pages (code), licences (other), the same on every run."""
    rows = ttc.build(["pypi package docs", "man3 API pages", "licences"], limit=16)
    by_label = {label: sum(r.label == label for r in rows) for label in ("code", "other")}
    assert by_label["code"] >= 24 and by_label["other"] >= 12, by_label
    return rows


def test_recipe_validates_with_four_increasing_hard_stages() -> None:
    recipe = load_recipe(RECIPE)
    stages = [s for s in recipe.steps if s.step == "classifier"]
    params = [s.params for s in stages]
    assert [p.model for p in params] == STAGE_MODELS
    assert [p.level for p in params] == [1, 2, 3, 4]
    assert all(p.mode == "hard" and p.kinds == ["text"] for p in params)
    assert all(name in shipped_models() for name in STAGE_MODELS)


def test_views_differ_in_what_they_keep() -> None:
    text = "Call parse_args() to read the options:\n\n    args = parser.parse_args(argv)\n"
    assert "parse" in word_features(text) and "(" not in word_features(text)
    code = code_features(text)
    assert "<id>" in code and "<w>" in code and "read" not in code and "(" in code


def test_cascade_on_real_documents(real_docs: list[ttc.Row], tmp_path: Path) -> None:
    data = tmp_path / "in" / "text.jsonl"
    data.parent.mkdir()
    with data.open("w", encoding="utf-8") as f:
        for i, row in enumerate(real_docs):
            f.write(json.dumps({"id": f"d{i:03d}", "text": row.text, "meta": {"label": row.label}}) + "\n")
    stats = curate(load_recipe(RECIPE), [data], tmp_path / "out", progress=False)
    assert stats["documents_in"] == len(real_docs)
    assert stats["documents_kept"] + stats["documents_rejected"] == stats["documents_in"]
    stages = [s for s in stats["steps"] if s["name"] == "classifier"]
    assert len(stages) == 4
    for step in stats["steps"]:
        assert step["in"] == step["kept"] + step["rejected"]
    for before, after in zip(stats["steps"], stats["steps"][1:], strict=False):
        assert after["in"] == before["kept"]
    survival = [s["kept"] for s in stages]
    assert survival == sorted(survival, reverse=True) and survival[0] > survival[-1] > 0

    kept = pq.read_table(sorted((tmp_path / "out" / "data").glob("*.parquet"))).to_pylist()
    rejected = pq.read_table(sorted((tmp_path / "out" / "rejected").glob("*.parquet"))).to_pylist()
    label = {f"d{i:03d}": r.label for i, r in enumerate(real_docs)}
    share = {
        lab: sum(label[row["id"]] == lab for row in kept) / sum(v == lab for v in label.values())
        for lab in ("code", "other")
    }
    assert share["code"] > share["other"]
    assert {row["quality"] for row in kept} == {4}
    assert {row["rejected_by"] for row in rejected} <= {"format", "classifier"}
    assert (tmp_path / "out" / "stats.json").is_file()


def test_shipped_stages_rank_code_docs_above_licences(real_docs: list[ttc.Row]) -> None:
    for stage in ttc.STAGES[:3]:
        clf = Classifier(stage.name, stage.view)
        probs = clf.probabilities([r.text for r in real_docs], "code")
        code = [p for p, r in zip(probs, real_docs, strict=True) if r.label == "code"]
        other = [p for p, r in zip(probs, real_docs, strict=True) if r.label == "other"]
        assert sum(code) / len(code) > sum(other) / len(other), stage.name


def test_builder_is_deterministic_and_split_by_group() -> None:
    sources = ["pypi package docs", "licences"]
    first = ttc.build(sources, limit=20)
    again = ttc.build(sources, limit=20)
    assert first == again and len(first) == 40
    assert ttc.build(sources, seed=ttc.SEED + 1, limit=20) != first
    held = {r.group for r in first if ttc.held_out(r)}
    assert not held & {r.group for r in first if not ttc.held_out(r)}
    assert len({r.text for r in first}) == len(first)  # identical texts are kept once
