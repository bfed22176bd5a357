"""A run killed mid-way and started again ends byte-identical to a run that was never interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

TESTS = Path(__file__).parent


def write_recipe(path: Path) -> Path:
    recipe = {
        "shards": {"target_bytes": 15_000, "batch_size": 8},
        "steps": [
            {"step": "format", "min_bytes": 10},
            {"step": "languages"},
            {"step": "helpers:Sleep", "seconds": 0.1},
            {"step": "dedup"},  # a global step: the run has a second stage
            {"step": "helpers:Sleep", "seconds": 0.15},
        ],
    }
    path.write_text(yaml.safe_dump(recipe))
    return path


def curate_command(recipe: Path, inputs: list[Path], out: Path) -> list[str]:
    args = [
        sys.executable,
        "-m",
        "codemill.cli",
        "curate",
        str(recipe),
        "--output",
        str(out),
        "--workers",
        "2",
    ]
    for p in inputs:
        args += ["--input", str(p)]
    return args


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}


def output_bytes(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for which in ("data", "rejected")
        for p in sorted((folder / which).iterdir())
    }


@pytest.mark.parametrize("kill_after", ["s0-*.json", "s1-*.json"], ids=["in-stage-0", "in-stage-1"])
def test_kill_and_resume_is_byte_identical(real_repos: Path, bad_repo: Path, tmp_path: Path, kill_after: str) -> None:
    recipe = write_recipe(tmp_path / "recipe.yaml")
    inputs = [real_repos, bad_repo]
    whole = tmp_path / "whole"
    subprocess.run(curate_command(recipe, inputs, whole), env=env(), check=True, capture_output=True)

    cut = tmp_path / "cut"
    proc = subprocess.Popen(
        curate_command(recipe, inputs, cut),
        env=env(),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    total = len(list((whole / "_run" / "done").glob(kill_after)))
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and len(list((cut / "_run" / "done").glob(kill_after))) < 2:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole process tree, mid-shard
    proc.wait()
    finished = len(list((cut / "_run" / "done").glob(kill_after)))
    assert 2 <= finished < total, f"the kill landed after {finished} of {total} shards"
    assert not (cut / "stats.json").exists()

    result = subprocess.run(curate_command(recipe, inputs, cut), env=env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "report:" in result.stdout
    assert output_bytes(cut) == output_bytes(whole)


def processes_with(marker: str) -> list[int]:
    """PIDs whose environment carries ``marker`` (the run's main process and all its workers)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if marker.encode() in (proc / "environ").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


def test_workers_do_not_outlive_a_killed_run(real_repos: Path, bad_repo: Path, tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path / "recipe.yaml")
    marker = f"CODEMILL_TEST_RUN={uuid.uuid4().hex}"
    key, value = marker.split("=")
    proc = subprocess.Popen(
        curate_command(recipe, [real_repos, bad_repo], tmp_path / "o"),
        env={**env(), key: value},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(processes_with(marker)) < 3:  # main + forkserver + workers
        time.sleep(0.05)
    assert len(processes_with(marker)) >= 3
    proc.kill()  # the main process only, as an OOM killer or a closed terminal would
    proc.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and processes_with(marker):
        time.sleep(0.2)
    assert processes_with(marker) == []
