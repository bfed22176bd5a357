"""The Ray executor runs the same shards and global-step phases, and writes the same bytes as the local one."""

from __future__ import annotations

from pathlib import Path

import pytest
import ray
from helpers import recipe_with

from codemill.pipeline.run import curate


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_output_equals_local_output(local_ray: None, real_repos: Path, bad_repo: Path, tmp_path: Path) -> None:
    steps = [{"step": "format", "min_bytes": 10}, {"step": "languages"}, {"step": "dedup"}, {"step": "decontaminate"}]
    recipe = recipe_with(*steps, shards={"target_bytes": 30_000})
    local = curate(recipe, [real_repos, bad_repo], tmp_path / "local", executor="local", workers=2, progress=False)
    on_ray = curate(recipe, [real_repos, bad_repo], tmp_path / "ray", executor="ray", workers=2, progress=False)
    assert local["shards"] > 2
    strip = {"seconds", "timings"}
    assert {k: v for k, v in local.items() if k not in strip and k != "steps"} == {
        k: v for k, v in on_ray.items() if k not in strip and k != "steps"
    }
    for which in ("data", "rejected"):
        a = sorted((tmp_path / "local" / which).glob("*.parquet"))
        b = sorted((tmp_path / "ray" / which).glob("*.parquet"))
        assert [p.name for p in a] == [p.name for p in b]
        assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
