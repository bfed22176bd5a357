"""How a run ends when it cannot give what was asked: an output path that is a file is one line; a run that keeps
nothing still writes ``stats.json`` and the report, and says why (the top reasons, their counts, the fix)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import STDLIB, recipe_with
from typer.testing import CliRunner

from codemill.cli import app
from codemill.pipeline.explain import explain_empty
from codemill.pipeline.run import curate
from codemill.pipeline.runner import RunFailed


def stack_like_parquet(path: Path) -> Path:
    """Real code under The Stack's column names: no ``text`` column."""
    files = sorted((STDLIB / "json").glob("*.py"))
    table = pa.table({"content": [f.read_text() for f in files], "max_stars_repo_path": [f.name for f in files]})
    pq.write_table(table, path)
    return path


def test_an_output_path_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "repos" / "r").mkdir(parents=True)
    shutil.copyfile(STDLIB / "json" / "tool.py", tmp_path / "repos" / "r" / "tool.py")
    (tmp_path / "taken").write_text("a file\n")
    for output in (tmp_path / "taken", tmp_path / "taken" / "below"):
        result = CliRunner().invoke(app, ["curate", "-i", str(tmp_path / "repos"), "-o", str(output)])
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and "is a file, not a folder" in lines[0], result.output
    assert (tmp_path / "taken").read_text() == "a file\n"


def test_parquet_without_a_text_column_says_the_fix_and_still_reports(tmp_path: Path) -> None:
    data = stack_like_parquet(tmp_path / "code.parquet")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["curate", "-i", str(data), "-o", str(out)])  # the default recipe
    assert result.exit_code == 2
    files = len(list((STDLIB / "json").glob("*.py")))
    assert f"read: missing_text {files} (code.parquet#0: column 'text' is missing" in result.output, result.output
    assert "--columns text=content" in result.output and "nothing to mix" not in result.output
    stats = json.loads((out / "stats.json").read_text())
    assert stats["documents_kept"] == 0 and "did not run" in stats["failed"]
    assert stats["nothing_kept"]["reasons"][0] == {
        "step": "read",
        "reason": "missing_text",
        "count": files,
        "example": stats["rejection_examples"]["read"]["missing_text"][0],
    }
    assert (out / "report.html").exists() and not (out / "mix").exists()
    # the fix works: the same input with the hint keeps documents and mixes them
    rerun = CliRunner().invoke(
        app,
        ["curate", "-i", str(data), "-o", str(tmp_path / "out2"), "--columns", "text=content,path=max_stars_repo_path"],
    )
    assert rerun.exit_code == 0, rerun.output
    assert json.loads((tmp_path / "out2" / "stats.json").read_text())["documents_kept"] > 0
    assert (tmp_path / "out2" / "mix" / "mix.json").exists()


def test_a_folder_of_binaries_says_so(tmp_path: Path) -> None:
    repo = tmp_path / "in" / "blobs"
    repo.mkdir(parents=True)
    for name in ("a.so", "b.pyc", "c.png"):
        (repo / name).write_bytes(b"\x7fELF" + bytes(range(256)))
    with pytest.raises(RunFailed) as failed:
        curate(recipe_with({"step": "format"}, {"step": "mix"}), [tmp_path / "in"], tmp_path / "o", progress=False)
    assert "read: binary 3" in str(failed.value) and "binary files only" in str(failed.value)
    assert json.loads((tmp_path / "o" / "stats.json").read_text())["nothing_kept"]["reasons"][0]["count"] == 3
    shutil.move(repo, tmp_path / "in" / "build")  # a folder that is skipped: no documents at all, and it says so
    with pytest.raises(RunFailed, match="only folders that are skipped"):
        curate(recipe_with({"step": "format"}, {"step": "mix"}), [tmp_path / "in"], tmp_path / "o2", progress=False)


def test_a_run_without_final_steps_that_keeps_nothing_ends_and_says_why(tmp_path: Path) -> None:
    data = stack_like_parquet(tmp_path / "code.parquet")
    stats = curate(recipe_with({"step": "format"}), [data], tmp_path / "o", progress=False)  # nothing to fail
    assert stats["documents_kept"] == 0 and "failed" not in stats
    assert stats["nothing_kept"]["fixes"] == ["map the column that holds the text: --columns text=content"]


def test_fixes_are_only_given_where_the_cause_is_known() -> None:
    steps = [
        {"name": "read", "reasons": {"missing_text": 2}},
        {"name": "code_rules", "reasons": {"max_line_length": 7}},
        {"name": "languages", "reasons": {"unknown_language": 1}},
    ]
    examples = {"read": {"missing_text": [{"where": "x", "detail": "x#0: column 'text' is missing (has: id, raw)"}]}}
    why = explain_empty(steps, examples)
    assert [(r["step"], r["count"]) for r in why["reasons"]] == [("code_rules", 7), ("read", 2), ("languages", 1)]
    assert why["fixes"][0].startswith("every document fell at step 'code_rules' (max_line_length): loosen it")
    assert why["fixes"][1] == "map the column that holds the text: --columns text=COLUMN (the records have: id, raw)"
    assert "keep_unknown: true" in why["fixes"][2]
