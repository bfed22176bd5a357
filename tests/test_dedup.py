"""Exact and near-dedup on real code: planted copies found, survivors chosen by rule, same result every way."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from helpers import STDLIB, recipe_with

from codemill.curate.dedup.minhash import estimated_jaccard, lsh_params, shingle_hashes, signatures
from codemill.curate.dedup.planted import edited_copy as edit
from codemill.curate.dedup.planted import jaccard
from codemill.curate.dedup.unionfind import DiskUnionFind
from codemill.data.schema import Document
from codemill.data.writers import write_jsonl
from codemill.pipeline.recipe import RecipeError, parse_recipe
from codemill.pipeline.run import curate


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """Real stdlib files, plus exact copies, near copies and far copies; returns the folder and the truth."""
    rng = random.Random(7)
    files = [f for f in sorted(STDLIB.glob("*.py")) if 4_000 < f.stat().st_size < 40_000][:60]
    root = tmp_path_factory.mktemp("planted")
    truth: dict[str, str] = {}
    for f in files:
        (root / "orig" / f.name).parent.mkdir(parents=True, exist_ok=True)
        (root / "orig" / f.name).write_text(f.read_text())
    for f in files[:8]:  # same text, other indentation
        (root / "reindented" / f.name).parent.mkdir(parents=True, exist_ok=True)
        (root / "reindented" / f.name).write_text(f.read_text().replace("    ", "\t"))
        truth[f"reindented/{f.name}"] = "exact_duplicate"
    for f in files[8:20]:
        copy = edit(f.read_text(), 0.04, rng)
        assert jaccard(copy, f.read_text()) > 0.8
        (root / "near" / f.name).parent.mkdir(parents=True, exist_ok=True)
        (root / "near" / f.name).write_text(copy)
        truth[f"near/{f.name}"] = "near_duplicate"
    for f in files[20:26]:
        copy = edit(f.read_text(), 0.6, rng)
        assert jaccard(copy, f.read_text()) < 0.5
        (root / "far" / f.name).parent.mkdir(parents=True, exist_ok=True)
        (root / "far" / f.name).write_text(copy)
    return root, truth


def removed(out: Path) -> dict[str, str]:
    """File name -> reason for each planted pair of which one copy was removed (either copy may survive)."""
    rows = [r for f in sorted((out / "rejected").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    names = [(r["repo"], r["path"], r["reason"]) for r in rows if r["rejected_by"] == "dedup"]
    assert len({path for _, path, _ in names}) == len(names), "both copies of a pair were removed"
    kinds = {"reindented": "exact_duplicate", "near": "near_duplicate"}
    out_ = {}
    for repo, path, reason in names:
        copy_repo = repo if repo != "orig" else next(k for k in kinds if kinds[k] == reason)
        out_[f"{copy_repo}/{path}"] = reason
    return out_


def test_planted_copies_are_found_and_only_they(planted: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    root, truth = planted
    stats = curate(recipe_with({"step": "dedup"}), [root], tmp_path / "o", workers=2, progress=False)
    assert removed(tmp_path / "o") == truth
    summary = stats["global_steps"]["dedup"]
    assert (summary["lsh"]["bands"], summary["lsh"]["rows"]) == (36, 7)  # recall-weighted: candidates are checked
    assert summary["removed"] == {"exact_duplicate": 8, "near_duplicate": 12}
    kept = [r for f in sorted((tmp_path / "o" / "data").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    survivors = [json.loads(r["meta"]) for r in kept]
    assert sum(1 for m in survivors if m.get("dedup_cluster_size") == 2) == 20


def test_same_result_whatever_the_sharding_workers_or_executor_path(
    planted: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, truth = planted
    results = []
    for i, (target, workers, buckets) in enumerate([(10**9, 1, 1), (60_000, 2, 16), (20_000, 2, 5)]):
        recipe = recipe_with({"step": "dedup", "buckets": buckets}, shards={"target_bytes": target})
        curate(recipe, [root], tmp_path / str(i), workers=workers, progress=False)
        results.append(removed(tmp_path / str(i)))
    assert results[0] == results[1] == results[2] == truth


def test_other_checks_and_exact_only(planted: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    root, truth = planted
    for verify in ("signature", "none"):
        curate(recipe_with({"step": "dedup", "verify": verify}), [root], tmp_path / verify, workers=2, progress=False)
        assert removed(tmp_path / verify) == truth
    curate(recipe_with({"step": "dedup", "near": False}), [root], tmp_path / "e", workers=2, progress=False)
    assert removed(tmp_path / "e") == {k: v for k, v in truth.items() if v == "exact_duplicate"}


def test_survivor_rule_quality_then_stars_then_id(tmp_path: Path) -> None:
    text = (STDLIB / "json" / "decoder.py").read_text()
    other = (STDLIB / "json" / "encoder.py").read_text()
    third = (STDLIB / "json" / "scanner.py").read_text()
    docs = [
        Document("a", text, quality=1, meta={"stars": 900}),
        Document("b", text, quality=2, meta={"stars": 0}),  # best quality wins
        Document("c", other, meta={"max_stars_count": 5}),
        Document("d", other, meta={"max_stars_count": 50}),  # equal quality: most stars wins
        Document("f", third),
        Document("e", third),  # equal quality and stars: smallest id wins
        Document("g", ""),
        Document("h", ""),  # empty documents are exact duplicates of each other
        Document("i", "x = 1"),  # shorter than one shingle: kept, and has a signature
    ]
    write_jsonl(docs, tmp_path / "in.jsonl")
    curate(recipe_with({"step": "dedup"}), [tmp_path / "in.jsonl"], tmp_path / "o", progress=False)
    rows = [r for f in sorted((tmp_path / "o" / "rejected").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    assert {r["id"]: json.loads(r["meta"])["duplicate_of"] for r in rows} == {"a": "b", "c": "d", "f": "e", "h": "g"}
    assert all(r["reason"] == "exact_duplicate" for r in rows)


def test_bands_and_rows_follow_the_threshold() -> None:
    p = lsh_params(0.7, 256)
    assert (p.bands, p.rows) == (25, 10) and abs(p.curve_midpoint - 0.7) < 0.01
    assert p.probability(0.9) > 0.99 and p.probability(0.4) < 0.01
    strict = lsh_params(0.9, 256)
    assert strict.curve_midpoint > 0.85
    assert "false-positive area" in p.describe()


def test_signatures_estimate_jaccard(planted: tuple[Path, dict[str, str]]) -> None:
    root, _ = planted
    pairs = [(root / "orig" / p.name, p) for p in sorted((root / "near").iterdir())]
    texts = [(a.read_text(), b.read_text()) for a, b in pairs]
    sig = signatures([shingle_hashes(t, 5) for pair in texts for t in pair], 256, 1)
    est = estimated_jaccard(sig[0::2], sig[1::2])
    true = np.array([jaccard(a, b) for a, b in texts])
    assert np.abs(est - true).max() < 0.1


def test_union_find_matches_a_plain_reference(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 3000
    u, v = rng.integers(0, n, 2500), rng.integers(0, n, 2500)
    uf = DiskUnionFind(tmp_path / "p.npy", n)
    for s in range(0, len(u), 300):
        uf.union(u[s : s + 300], v[s : s + 300])
    labels = uf.labels()
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in zip(u.tolist(), v.tolist(), strict=True):
        ra, rb = find(a), find(b)
        parent[max(ra, rb)] = min(ra, rb)
    assert labels.tolist() == [find(x) for x in range(n)]


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(RecipeError, match="would do nothing"):
        parse_recipe({"steps": [{"step": "dedup", "exact": False, "near": False}]})
    with pytest.raises(RecipeError, match="threshold"):
        parse_recipe({"steps": [{"step": "dedup", "threshold": 1.5}]})
