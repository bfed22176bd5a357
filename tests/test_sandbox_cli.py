"""``codemill sandbox``: run a file or stdin and print the result as JSON; doctor; languages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from codemill.sandbox.cli import app

runner = CliRunner()


def test_run_file_prints_the_result_as_json(tmp_path: Path) -> None:
    program = tmp_path / "sum.c"
    program.write_text(
        '#include <stdio.h>\nint main(void) { int a, b; scanf("%d %d", &a, &b); printf("%d\\n", a + b); }\n'
    )
    numbers = tmp_path / "in.txt"
    numbers.write_text("40 2\n")
    result = runner.invoke(app, ["run", "--language", "c", str(program), "--stdin", str(numbers)])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["status"] == "passed" and document["stdout"] == "42\n"
    assert document["compile"]["exit_code"] == 0


def test_run_reads_the_program_from_stdin_and_exits_1_when_it_fails() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "codemill.sandbox.cli", "run", "-l", "ruby", "-"],
        input='raise "boom"\n',
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["status"] == "runtime_error"


def test_run_with_tests_and_limits(tmp_path: Path) -> None:
    code, tests = tmp_path / "f.py", tmp_path / "t.py"
    code.write_text("def f():\n    while True:\n        pass\n")
    tests.write_text("f()\n")
    result = runner.invoke(app, ["run", "-l", "python", str(code), "--tests", str(tests), "--cpu", "1", "--wall", "3"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["status"] == "timeout"


def test_doctor_reports_versions_and_checks() -> None:
    result = runner.invoke(app, ["doctor", "--json", "-l", "python", "-l", "bash", "-l", "go"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["isolation"]["bubblewrap"].startswith("bubblewrap")
    lines = {line["language"]: line for line in report["languages"]}
    assert set(lines) == {"python", "bash", "go"}
    assert all(line["ok"] and line["version"] for line in lines.values()), lines
    assert lines["go"]["version"].startswith("go version")


def test_doctor_table_and_languages() -> None:
    table = runner.invoke(app, ["doctor", "-l", "lua"])
    assert table.exit_code == 0 and "lua" in table.stdout and "Lua 5.4" in table.stdout
    listing = runner.invoke(app, ["languages"])
    assert listing.exit_code == 0 and "cpp: c++" in listing.stdout


def test_run_with_tests_fails_a_program_that_exits_before_them(tmp_path: Path) -> None:
    code, tests = tmp_path / "f.py", tmp_path / "t.py"
    code.write_text("import os\ndef f():\n    os._exit(0)\n")
    tests.write_text("assert f() == 1\n")
    result = runner.invoke(app, ["run", "-l", "python", str(code), "--tests", str(tests)])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["status"] == "failed" and "marker" in document["message"]
