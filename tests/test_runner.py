"""The runner: counts reconcile with the files, bad steps cannot lose documents, outputs are protected."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from helpers import recipe_with

from codemill.pipeline.run import curate
from codemill.pipeline.runner import RunError, prepare, run_shard
from codemill.pipeline.stats import InvariantError
from codemill.report import render_report

FORMAT = {"step": "format", "min_bytes": 10}
LANGUAGES = {"step": "languages"}


def rows(folder: Path, which: str) -> list[dict]:
    return [r for f in sorted((folder / which).glob("shard-*.parquet")) for r in pq.read_table(f).to_pylist()]


def test_counts_reconcile_with_the_files(real_repos: Path, bad_repo: Path, tmp_path: Path) -> None:
    recipe = recipe_with(FORMAT, LANGUAGES, shards={"target_bytes": 40_000})
    stats = curate(recipe, [real_repos, bad_repo], tmp_path / "out", workers=2, progress=False)
    kept, rejected = rows(tmp_path / "out", "data"), rows(tmp_path / "out", "rejected")
    assert stats["shards"] > 3
    assert stats["documents_in"] == len(kept) + len(rejected) == stats["documents_kept"] + stats["documents_rejected"]
    assert stats["documents_kept"] == len(kept)
    steps = {s["name"]: s for s in stats["steps"]}
    assert list(steps) == ["read", "format", "languages"]
    for s in stats["steps"]:
        assert s["in"] == s["kept"] + s["rejected"] == s["kept"] + sum(s["reasons"].values())
        assert s["rejected"] == sum(1 for r in rejected if r["rejected_by"] == s["name"])
    assert steps["read"]["reasons"] == {"binary": 2, "encoding": 1, "too_large": 1}
    assert steps["format"]["reasons"] == {"blank": 1, "empty": 1}
    assert {r["path"] for r in rejected if r["reason"] == "too_large"} == {"huge.py"}
    assert len({r["id"] for r in kept + rejected}) == stats["documents_in"]  # ids are unique
    assert all(r["score_format"] == 1.0 for r in kept)
    assert all(r["score_format"] is None for r in rejected)  # read or format fell them: no score, null
    on_disk = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert on_disk["documents_in"] == stats["documents_in"]
    assert not (tmp_path / "out" / "report.html").exists()  # the command renders it from the statistics
    assert set(stats["languages"]) >= {"go", "rust", "javascript", "php", "ruby", "lua", "perl", "python", "c"}
    [example] = stats["rejection_examples"]["read"]["too_large"]
    assert example["where"] == "messy/huge.py" and "max_file_bytes" in example["detail"]
    assert sum(stats["quality_levels"].values()) == stats["documents_kept"]
    page = render_report(stats)
    assert "messy/huge.py" in page and "Quality levels" in page


def test_a_failing_step_rejects_only_the_documents_it_fails_on(real_repos: Path, tmp_path: Path) -> None:
    stats = curate(
        recipe_with({"step": "test_explode"}),
        [real_repos / "python-json"],
        tmp_path / "o",
        workers=1,
        progress=False,
    )
    failed = rows(tmp_path / "o", "rejected")
    assert failed and all(r["reason"] == "step_error" and "RuntimeError: boom" in r["detail"] for r in failed)
    assert all("import re" in r["text"] for r in failed)
    assert stats["documents_kept"] == len(rows(tmp_path / "o", "data")) > 0


def test_a_step_that_loses_documents_is_caught(real_repos: Path, tmp_path: Path) -> None:
    layout, _ = prepare(recipe_with({"step": "test_lose"}), [real_repos / "python-json"], tmp_path / "o")
    with pytest.raises(InvariantError, match="test_lose"):
        run_shard(str(layout.root), 0, 0, 1)


def test_empty_input_gives_an_empty_balanced_run(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    stats = curate(recipe_with(FORMAT), [tmp_path / "empty"], tmp_path / "o", progress=False)
    assert (stats["documents_in"], stats["shards"], [s["name"] for s in stats["steps"]]) == (
        0,
        0,
        ["read", "format"],
    )
    assert "<!DOCTYPE html>" in render_report(stats)


def test_outputs_of_other_runs_are_protected(real_repos: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    curate(recipe_with(FORMAT), [real_repos / "python-json"], out, progress=False)
    with pytest.raises(RunError, match="another recipe or input"):
        prepare(recipe_with(LANGUAGES), [real_repos / "python-json"], out)
    prepare(recipe_with(LANGUAGES), [real_repos / "python-json"], out, overwrite=True)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(RunError, match="not a codemill output folder"):
        prepare(recipe_with(FORMAT), [real_repos], tmp_path / "mine")
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"


def test_rerunning_a_finished_run_reuses_every_shard(real_repos: Path, tmp_path: Path) -> None:
    recipe = recipe_with(FORMAT, shards={"target_bytes": 20_000})
    first = curate(recipe, [real_repos], tmp_path / "o", workers=2, progress=False)
    done = sorted((tmp_path / "o" / "_run" / "done").glob("*.json"))
    stamps = [p.stat().st_mtime_ns for p in done]
    second = curate(recipe, [real_repos], tmp_path / "o", workers=2, progress=False)
    assert [p.stat().st_mtime_ns for p in done] == stamps
    assert {k: v for k, v in first.items() if k != "seconds"} == {k: v for k, v in second.items() if k != "seconds"}
