"""Exact and near-dedup on real code: planted copies found, survivors chosen by rule, same result every way."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from helpers import STDLIB, recipe_with

from codemill.curate.decided import ArrayWriter, MappedArray
from codemill.curate.dedup.minhash import (
    batch_shingle_hashes,
    estimated_jaccard,
    lsh_params,
    shingle_hashes,
    signatures,
)
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


def _reference_shingles(text: str, n: int) -> list[int]:
    """The shingle hashes spelled out in plain Python, one word and one n-gram at a time."""
    mask = (1 << 64) - 1

    def finalise(z: int) -> int:
        z ^= z >> 30
        z = (z * 0xBF58476D1CE4E5B9) & mask
        z ^= z >> 27
        z = (z * 0x94D049BB133111EB) & mask
        return z ^ (z >> 31)

    def word(b: bytes) -> int:
        chunks = [int.from_bytes(b[i : i + 8], "little") for i in range(0, len(b), 8)]
        h = finalise(chunks[0] ^ len(b))
        for c in chunks[1:]:
            h = finalise(((h * 0x9E3779B97F4A7C15) & mask) ^ c)
        return h

    words = [word(w) for w in re.findall(rb"[A-Za-z0-9_\x80-\xff]+", text.encode("utf-8", "surrogatepass"))]
    width = min(n, len(words))
    out = []
    for start in range(max(1, len(words) - n + 1) if words else 0):
        h = words[start]
        for k in range(1, width):
            h = (h * 0x9E3779B97F4A7C15 + words[start + k]) & mask
        out.append(h)
    return out


def test_batch_shingles_equal_the_plain_definition_text_by_text() -> None:
    texts = [
        "",
        "   ;; -- ",
        "x = 1",  # shorter than one 5-gram: one hash of both words
        "def f(a, b):\n    return a+b  # ünïcode stays inside words",
        "an_identifier_of_more_than_sixteen_bytes_and_then_some and eight888 sixteen_bytes_16 x",
        "one\x00two\tthree\nfour five six",
        "end_of_text_word",  # the next text starts with a word: the two must not join
        "start_word of the next text, then more words",
        *(f.read_text() for f in sorted(STDLIB.glob("*.py"))[:12]),
    ]
    flat, offsets = batch_shingle_hashes(texts, 5)
    assert len(offsets) == len(texts) + 1
    for i, text in enumerate(texts):
        assert flat[offsets[i] : offsets[i + 1]].tolist() == _reference_shingles(text, 5), text[:40]
    assert batch_shingle_hashes([], 5)[0].size == 0


def test_star_survivors_never_name_a_far_survivor(tmp_path: Path) -> None:
    """A chain a ~ b ~ c where a and c are far apart: chain survivors remove c for a; star survivors do not."""
    rng = random.Random(11)
    a = (STDLIB / "argparse.py").read_text()[:30_000]
    b = edit(a, 0.12, rng)
    c = edit(b, 0.12, rng)
    assert jaccard(a, b) > 0.75 and jaccard(b, c) > 0.75 and jaccard(a, c) < 0.65
    docs = [Document("a", a, quality=2), Document("b", b, quality=1), Document("c", c, quality=0)]
    write_jsonl(docs, tmp_path / "in.jsonl")

    def survivor_of(survivors: str) -> dict[str, str]:
        out = tmp_path / survivors
        stats = curate(
            recipe_with({"step": "dedup", "survivors": survivors}), [tmp_path / "in.jsonl"], out, progress=False
        )
        assert stats["global_steps"]["dedup"]["survivors"] == survivors
        rows = [r for f in sorted((out / "rejected").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
        return {r["id"]: json.loads(r["meta"])["duplicate_of"] for r in rows}

    assert survivor_of("chain") == {"b": "a", "c": "a"}  # c removed for a document it is far from
    assert survivor_of("star") == {"b": "a"}  # c is not near a: it is a centre and stays


def test_a_global_step_records_the_time_of_its_phases(planted: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    root, _ = planted
    stats = curate(recipe_with({"step": "dedup"}), [root], tmp_path / "o", progress=False)
    timings = stats["timings"]["dedup"]
    assert set(timings["phases"]) == {"signatures", "candidates", "clusters"}
    assert {"shingles", "signatures", "write"} <= set(timings["parts"]["signatures"])
    step = next(s for s in stats["steps"] if s["name"] == "dedup")
    phases = round(sum(timings["phases"].values()), 4)  # both are rounded to 4 places: compare like with like
    assert step["seconds"] >= phases > 0  # the phases, and the pass that applies them


def test_the_band_index_takes_more_buckets_when_memory_asks(tmp_path: Path) -> None:
    """One bucket's entries of every shard must fit ``memory_mb``: a larger corpus gets more buckets, the same
    result."""
    rng = random.Random(5)
    words = [f"w{i}" for i in range(400)]
    docs = [Document(f"d{i}", " ".join(rng.choices(words, k=30))) for i in range(3000)]
    docs += [Document(f"copy{i}", docs[i].text + " tail") for i in range(50)]
    write_jsonl(docs, tmp_path / "in.jsonl")
    results = []
    for memory_mb in (1, 256):
        stats = curate(
            recipe_with({"step": "dedup", "buckets": 1, "memory_mb": memory_mb}),
            [tmp_path / "in.jsonl"],
            tmp_path / str(memory_mb),
            progress=False,
        )
        results.append((stats["global_steps"]["dedup"]["buckets"], stats["global_steps"]["dedup"]["removed"]))
    (many, removed_many), (one, removed_one) = results
    assert one == 1 and many >= 7  # 3,050 documents x 37 bands x 18 bytes x 4 > 7 MiB
    assert removed_many == removed_one and removed_one["near_duplicate"] + removed_one["exact_duplicate"] >= 50


def test_array_files_written_a_batch_at_a_time_read_back_whole_and_mapped(tmp_path: Path) -> None:
    writer = ArrayWriter(tmp_path / "a.npy", np.uint32, 3)
    writer.append(np.arange(6).reshape(2, 3))
    assert not (tmp_path / "a.npy").exists()  # only a finished file has its name
    writer.append(np.arange(3).reshape(1, 3))
    writer.close()
    assert np.load(tmp_path / "a.npy").tolist() == [[0, 1, 2], [3, 4, 5], [0, 1, 2]]
    mapped = MappedArray(tmp_path / "a.npy")
    assert mapped.array[1].tolist() == [3, 4, 5]
    mapped.release()  # pages handed back are read again from the file
    assert int(mapped.array.sum()) == 18
    empty = ArrayWriter(tmp_path / "e.npy", np.uint64)
    empty.close()
    assert np.load(tmp_path / "e.npy").shape == (0,) == MappedArray(tmp_path / "e.npy").array.shape
