"""The command line as a user meets it: help, version, curate, inspect, export, and clear errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from codemill import __version__
from codemill.cli import app
from codemill.data.samples import build_sample_corpus

runner = CliRunner()


def test_version_and_help() -> None:
    assert runner.invoke(app, ["--version"]).stdout.strip() == f"codemill {__version__}"
    helped = runner.invoke(app, ["curate", "--help"], env={"COLUMNS": "200"})
    assert helped.exit_code == 0
    for option in ("--input", "--output", "--executor", "--workers", "--format", "--columns", "resume"):
        assert option in helped.stdout


def test_curate_inspect_export(real_repos: Path, bad_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["curate", "-i", str(real_repos), "-i", str(bad_repo), "-o", str(out), "--workers", "1"]
    )
    assert result.exit_code == 0, result.output
    assert f"report: {out / 'report.html'}" in result.stdout
    stats = json.loads((out / "stats.json").read_text())
    assert stats["recipe"] == "default" and stats["documents_in"] > 50

    shown = runner.invoke(app, ["inspect", str(out), "-n", "3"], env={"COLUMNS": "250"})
    assert shown.exit_code == 0, shown.output
    assert "rejected (sample of 3)" in shown.stdout and "kept (sample of 3)" in shown.stdout
    assert any(reason in shown.stdout for reason in ("binary", "too_large", "encoding", "empty", "unknown_language"))

    exported = runner.invoke(app, ["export", str(out), "--to", str(tmp_path / "rej.jsonl.zst"), "--rejected"])
    assert exported.exit_code == 0, exported.output
    relisted = runner.invoke(app, ["curate", "-i", str(tmp_path / "rej.jsonl.zst"), "-o", str(tmp_path / "again")])
    assert relisted.exit_code == 0, relisted.output
    again = json.loads((tmp_path / "again" / "stats.json").read_text())
    assert again["documents_in"] == stats["documents_rejected"]


def test_errors_name_what_is_wrong(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["curate", "-i", str(tmp_path / "nowhere"), "-o", str(tmp_path / "o")])
    assert missing.exit_code == 2 and "nowhere" in missing.output and "does not exist" in missing.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("steps:\n  - step: format\n    maxbytes: 3\n")
    (tmp_path / "in").mkdir()
    wrong = runner.invoke(app, ["curate", str(bad), "-i", str(tmp_path / "in"), "-o", str(tmp_path / "o")])
    assert wrong.exit_code == 2 and "bad.yaml:3:5" in wrong.output and "allowed: min_bytes" in wrong.output
    executor = runner.invoke(
        app, ["curate", "-i", str(tmp_path / "in"), "-o", str(tmp_path / "o"), "--executor", "spark"]
    )
    assert executor.exit_code == 2 and "'local' or 'ray'" in executor.output
    columns = runner.invoke(app, ["curate", "-i", str(tmp_path / "in"), "-o", str(tmp_path / "o"), "--columns", "x"])
    assert columns.exit_code == 2 and "unknown column preset 'x'" in columns.output
    assert runner.invoke(app, ["inspect", str(tmp_path)]).exit_code == 2


def test_sample_corpus_links_real_packages(tmp_path: Path) -> None:
    links = build_sample_corpus(tmp_path / "corpus")
    names = {p.name for p in links}
    assert "python-stdlib" in names and {"pyarrow", "pydantic", "typer"} <= names
    assert (tmp_path / "corpus" / "python-stdlib" / "json" / "__init__.py").exists()
    assert build_sample_corpus(tmp_path / "corpus") == links  # idempotent


def test_dedup_and_decontaminate_commands(real_repos: Path, tmp_path: Path) -> None:
    copy = tmp_path / "in"
    shutil.copytree(real_repos, copy)
    shutil.copytree(real_repos / "lodash", copy / "lodash-fork")
    result = runner.invoke(app, ["dedup", "-i", str(copy), "-o", str(tmp_path / "d"), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "dedup: 36 bands x 7 rows for Jaccard 0.7" in result.stdout
    stats = json.loads((tmp_path / "d" / "stats.json").read_text())
    dedup = next(s for s in stats["steps"] if s["name"] == "dedup")
    assert sum(dedup["reasons"].values()) >= 12 and dedup["reasons"]["exact_duplicate"] >= 10  # one per forked file

    bench = tmp_path / "b.jsonl"
    body = (real_repos / "cobra" / "args.go").read_text().split("package cobra", 1)[1]  # not the licence header
    bench.write_text(json.dumps({"task_id": "x", "q": body}) + "\n")
    args = ["decontaminate", "-i", str(copy), "-o", str(tmp_path / "c"), "--benchmark", "humaneval"]
    result = runner.invoke(app, [*args, "--extra", f"mine={bench}:q"])
    assert result.exit_code == 0, result.output
    assert "decontaminate: 1 documents matched 1 of 165 items of humaneval, mine" in result.stdout
    bad = runner.invoke(app, [*args, "--extra", "nonsense"])
    assert bad.exit_code == 2 and "NAME=FILE.jsonl:field1,field2" in bad.output
    wrong = runner.invoke(app, ["dedup", "-i", str(copy), "-o", str(tmp_path / "w"), "--threshold", "2"])
    assert wrong.exit_code == 2 and "threshold" in wrong.output
