"""Mixing real code, package documentation and generated math: ratios, quality weights, repeats, shortfalls, CLI."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import typer
import xxhash
from helpers import STDLIB
from typer.testing import CliRunner

from codemill.curate.mix import (
    MixOptions,
    mix,
    parse_ratio,
    report_section,
    select_copies,
)
from codemill.curate.mix.cli import app as mix_app
from codemill.curate.pack.cli import app as pack_app
from codemill.data.samples_mixed import build_mixed_corpus, documentation_documents, math_documents
from codemill.data.schema import Document, documents_to_table
from codemill.data.textio import open_binary_read
from codemill.data.writers import write_jsonl
from codemill.report import render_report


def zstd_lines(path: Path) -> list[str]:
    with open_binary_read(path) as f:
        return [line.decode() for line in f if line.strip()]


def level_of(doc_id: str) -> int:
    return xxhash.xxh64_intdigest(doc_id.encode()) % 4


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Code (stdlib, as a codemill output folder), text (package docs) and math (generated), as JSONL."""
    root = tmp_path_factory.mktemp("mixin")
    code = [
        Document(id=f"py/{p.relative_to(STDLIB)}", text=p.read_text(), lang="python", quality=0)
        for p in sorted(STDLIB.glob("json/*.py")) + sorted(STDLIB.glob("email/*.py")) + sorted(STDLIB.glob("*.py"))[:80]
    ]
    for d in code:
        d.quality = level_of(d.id)
    (root / "curated" / "data").mkdir(parents=True)
    half = len(code) // 2
    pq.write_table(documents_to_table(code[:half]), root / "curated" / "data" / "shard-00000.parquet")
    pq.write_table(documents_to_table(code[half:]), root / "curated" / "data" / "shard-00001.parquet")
    text = [d for d in documentation_documents() if d.kind == "text"][:60]
    assert len(text) >= 40 and {d.lang for d in text} >= {"markdown"}
    math, counts = math_documents(problems=300, per_document=6, seed=3)
    assert counts["problems"] == 300 and len(math) >= 40
    write_jsonl(text, root / "text.jsonl.zst")
    write_jsonl(math, root / "math.jsonl.zst")
    return [root / "curated", root / "text.jsonl.zst", root / "math.jsonl.zst"]


def test_default_budget_hits_the_ratio_and_is_deterministic(inputs: list[Path], tmp_path: Path) -> None:
    before = random.getstate()
    report = mix(inputs, tmp_path / "a", MixOptions(seed=1))
    assert random.getstate() == before  # no global random state
    assert report["budget_mode"] == "max" and not report["warnings"]
    assert report["max_ratio_error"] < 0.01  # within 1% of 7:2:1
    for kind, share in {"code": 0.7, "text": 0.2, "math": 0.1}.items():
        assert abs(report["achieved_ratio"][kind] - share) < 0.01
        assert not report["kinds"][kind]["short"]
    assert abs(report["selected"] - report["budget"]) / report["budget"] < 0.01
    assert max(int(k) for e in report["kinds"].values() for k in e["repeat_histogram"]) <= 4
    # the output: documents with their copies, the repeat index, mix.json
    rows = pq.read_table(tmp_path / "a" / "data").to_pylist()
    index = pq.read_table(tmp_path / "a" / "repeats.parquet").to_pylist()
    assert len(rows) == sum(r["copies"] for r in index) == report["output"]["rows"]
    assert all(r["copies"] <= 4 for r in index) and any(r["copies"] > 1 for r in index)
    repeated = [r for r in rows if "#rep" in r["id"]]
    assert repeated and all(json.loads(r["meta"])["mix_source_id"] in r["id"] for r in repeated)
    assert json.loads((tmp_path / "a" / "mix.json").read_text())["achieved_ratio"] == report["achieved_ratio"]
    again = mix(list(reversed(inputs)), tmp_path / "b", MixOptions(seed=1))
    assert sorted(r["id"] for r in index) == sorted(
        r["id"] for r in pq.read_table(tmp_path / "b" / "repeats.parquet").to_pylist()
    )
    assert again["kinds"] == report["kinds"]  # the order of the inputs does not matter
    other = mix(inputs, tmp_path / "c", MixOptions(seed=2))
    assert other["kinds"]["code"]["documents"] > 0
    assert {r["id"] for r in pq.read_table(tmp_path / "c" / "repeats.parquet").to_pylist()} != {r["id"] for r in index}


def test_a_short_kind_is_reported_never_rebalanced(inputs: list[Path], tmp_path: Path) -> None:
    first = mix(inputs, tmp_path / "max", MixOptions(max_repeats=2))
    budget = first["budget"] * 3  # math cannot fill 10% of this even at the cap
    report = mix(inputs, tmp_path / "big", MixOptions(budget=budget, max_repeats=2))
    math, code = report["kinds"]["math"], report["kinds"]["code"]
    assert math["short"] and math["selected"] == math["capacity"]  # everything, at the cap
    assert math["shortfall"] == round(budget * 0.1 - math["selected"]) and 60 < math["shortfall_pct"] < 70
    assert any("math is short of its share" in w for w in report["warnings"])
    if not code["short"]:
        assert abs(code["selected"] - budget * 0.7) / (budget * 0.7) < 0.02  # its own target, within a document
    assert report["target_ratio"] == {"code": 0.7, "text": 0.2, "math": 0.1}
    assert report["achieved_ratio"]["math"] < 0.05
    section = report_section(report)
    assert section["warnings"] and section["tables"][0]["rows"][2][-1].startswith("short by")
    page = render_report({"final_steps": {"mix": {"folder": "mix", "section": {**section, "warnings": ["<script>x"]}}}})
    assert "<script>x" not in page and "&lt;script&gt;x" in page and "Languages (top 15 per kind)" in page


def test_quality_weights_and_the_repeat_cap() -> None:
    n = 20_000
    size = np.full(n, 100, np.int64)
    weight = np.where(np.arange(n) % 2 == 0, 1.0, 3.0)
    key = np.array([xxhash.xxh64_intdigest(f"7-doc-{i}".encode()) for i in range(n)], np.uint64)
    copies = select_copies(size, weight, key, target=0.2 * size.sum(), cap=4)
    assert abs(int((size * copies).sum()) - 0.2 * size.sum()) <= 100  # within one document
    rate_low, rate_high = copies[weight == 1].mean(), copies[weight == 3].mean()
    assert 2.6 < rate_high / rate_low < 3.4  # drawn in proportion to the level weight
    copies = select_copies(size, weight, key, target=3.0 * size.sum(), cap=4)
    assert copies.max() == 4 and copies[weight == 3].min() == 4 and copies[weight == 1].max() <= 4
    assert np.array_equal(copies, select_copies(size, weight, key, target=3.0 * size.sum(), cap=4))
    assert select_copies(size, weight, key, target=10 * size.sum(), cap=4).tolist() == [4] * n  # short: all at cap
    zero = select_copies(size, np.zeros(n), key, target=1000, cap=4)
    assert zero.sum() == 0  # weight 0 levels are never drawn
    assert MixOptions(level_weights={0: 1, 2: 5}).weight(3) == 5 and MixOptions().weight(-1) == 1.0
    assert parse_ratio("7:2:1") == {"code": 7, "text": 2, "math": 1} and parse_ratio("code=1,text=1")["text"] == 1


def test_cli_mixes_then_pack_reads_the_mix(inputs: list[Path], tmp_path: Path) -> None:
    main = typer.Typer()
    main.callback()(lambda: None)
    main.add_typer(mix_app, name="mix")
    main.add_typer(pack_app, name="pack")
    runner = CliRunner()
    out = tmp_path / "mix"
    args = ["mix", *[a for p in inputs for a in ("-i", str(p))], "-o", str(out), "--budget", "400000"]
    result = runner.invoke(main, [*args, "--ratio", "code=6,text=3,math=1", "--unit", "bytes"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "mix.json").read_text())
    assert report["unit"] == "bytes" and report["target_ratio"]["text"] == 0.3 and report["max_ratio_error"] < 0.05
    result = runner.invoke(main, args)
    assert result.exit_code == 2 and "already holds a mix" in result.output
    result = runner.invoke(main, [*args, "--overwrite", "--ratio", "7:2"])
    assert result.exit_code == 2 and "code:text:math" in result.output
    packed = tmp_path / "packed"
    result = runner.invoke(main, ["pack", "-i", str(out), "-o", str(packed), "--seq-length", "2048", "--verify"])
    assert result.exit_code == 0, result.output
    assert f"packed {report['output']['rows']} documents" in result.stdout.replace(",", "")


def test_mixed_sample_corpus(tmp_path: Path) -> None:
    info = build_mixed_corpus(tmp_path, math_problems=50, seed=5)
    assert info["problems"] == 50 and info["text_documents"] > 40 and info["math_documents"] >= 5
    assert len(info["broken_generators"]) < info["generators"] // 2  # most generators run on this sympy/numpy
    again, _ = math_documents(problems=50, seed=5)  # the same seed: the same documents, in another process
    written = [json.loads(line) for line in zstd_lines(info["math"])]
    generated = [r["text"] for r in written if r["repo"] == "math/mathematics-dataset"]
    assert generated == [d.text for d in again] and "Answer: " in generated[0]


def _windows_sharing_a_source(packed: Path) -> tuple[int, int]:
    """(packed windows holding two copies of one document, windows): from the boundary index and the docs list."""
    ids = {}
    for docs in sorted(packed.glob("*.docs.jsonl")):
        for line in docs.read_text().splitlines():
            record = json.loads(line)
            ids[record["doc"]] = record["id"].split("#rep")[0]
    sharing, windows = 0, 0
    for segments in sorted(packed.glob("*.segments.npy")):
        table = np.load(segments)
        for seq in np.unique(table["seq"]):
            sources = [ids[int(d)] for d in np.unique(table["doc"][table["seq"] == seq])]
            windows += 1
            sharing += len(sources) != len(set(sources))
    return sharing, windows


def test_the_mix_is_shuffled_and_no_window_holds_two_copies_of_a_document(inputs: list[Path], tmp_path: Path) -> None:
    from codemill.curate.pack.packing import PackOptions, pack, pack_documents

    report = mix(inputs, tmp_path / "mix", MixOptions(seed=1))
    assert report["output"]["rows"] > report["output"]["documents"]  # there are repeats to spread
    rows = pq.read_table(tmp_path / "mix" / "data").to_pylist()
    first_shard = pq.read_table(tmp_path / "mix" / "data" / "shard-00000.parquet").to_pylist()
    assert len({r["kind"] for r in first_shard}) == 3  # code, text and math interleaved, not one source after another
    assert [r["id"] for r in rows] != sorted(r["id"] for r in rows)
    small = PackOptions(seq_length=2048, fim={"rate": 0.0}, formats=["numpy"])
    pack([tmp_path / "mix"], tmp_path / "packed", small)
    sharing, windows = _windows_sharing_a_source(tmp_path / "packed")
    assert windows > 100 and sharing == 0
    # the count can see it: the same rows with each document's copies side by side share windows
    from codemill.data.schema import Document as Doc

    adjacent = sorted((Doc.from_row(r) for r in rows), key=lambda d: d.id.split("#rep")[0])
    pack_documents(adjacent, tmp_path / "adjacent", small)
    assert _windows_sharing_a_source(tmp_path / "adjacent")[0] > 10
    # the same seed gives the same order; another seed another
    again = mix(inputs, tmp_path / "again", MixOptions(seed=1))
    assert again["output"] == report["output"]
    assert [r["id"] for r in pq.read_table(tmp_path / "again" / "data").to_pylist()] == [r["id"] for r in rows]
