"""scripts/compare_runs.py: a byte changed anywhere under data/, rejected/, mix/ or packed/ is reported; a timing or
a path in the files that hold them is not (and is said to be set aside)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import compare_runs


def run_folder(root: Path, seconds: float, rows: bytes = b"PAR1 rows PAR1") -> Path:
    (root / "data").mkdir(parents=True)
    (root / "rejected").mkdir()
    (root / "packed").mkdir()
    (root / "mix").mkdir()
    (root / "data" / "shard-00000.parquet").write_bytes(rows)
    (root / "rejected" / "shard-00000.parquet").write_bytes(b"rejected rows")
    (root / "packed" / "pack.json").write_text(json.dumps({"counts": {"tokens": 10}, "seconds": seconds}))
    (root / "mix" / "mix.json").write_text(json.dumps({"inputs": [str(root / "data")], "selected": 10}))
    (root / "stats.json").write_text(json.dumps({"steps": [{"name": "read", "in": 3, "seconds": seconds}]}))
    return root


def test_runs_differing_only_in_timings_and_paths_are_identical(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    before = run_folder(tmp_path / "before", 1.5)
    after = run_folder(tmp_path / "after", 2.5)
    assert compare_runs.main([str(before), str(after)]) == 0
    printed = capsys.readouterr().out
    assert "same but for seconds, tokens_per_second: packed/pack.json" in printed
    assert "same but for inputs: mix/mix.json" in printed and printed.strip().endswith("identical")


def test_a_changed_byte_a_changed_count_and_a_missing_file_are_reported(tmp_path: Path) -> None:
    before = run_folder(tmp_path / "before", 1.5)
    after = run_folder(tmp_path / "after", 1.5, rows=b"PAR1 rowz PAR1")
    pack = json.loads((after / "packed" / "pack.json").read_text())
    (after / "packed" / "pack.json").write_text(json.dumps({**pack, "counts": {"tokens": 11}}))
    shutil.copy(after / "rejected" / "shard-00000.parquet", after / "rejected" / "shard-00001.parquet")
    assert compare_runs.compare(before, after) == [
        f"only in {after}: rejected/shard-00001.parquet",
        "differs: data/shard-00000.parquet",
        "differs: packed/pack.json",
    ]


def test_documents_mode_sees_through_an_encoding_but_not_a_changed_document(tmp_path: Path) -> None:
    """The scores' move from a map column to flat columns changes every byte of a shard, not its documents."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from codemill.data.schema import Document, documents_to_table

    docs = [Document("a", "x = 1\n", lang="python", scores={"rules": 1.0}), Document("b", "y\n", kind="text")]
    flat = documents_to_table(docs, ["rules"])
    as_map = flat.drop_columns(["score_rules"]).append_column(
        "scores", pa.array([[("rules", 1.0)], []], pa.map_(pa.string(), pa.float64()))
    )
    before, after = (run_folder(tmp_path / name, 1.0) for name in ("before", "after"))
    pq.write_table(as_map, before / "data" / "shard-00000.parquet")
    pq.write_table(flat, after / "data" / "shard-00000.parquet")
    assert compare_runs.main([str(before), str(after)]) == 1
    assert compare_runs.main(["--documents", str(before), str(after)]) == 0
    docs[1] = Document("b", "y changed\n", kind="text")
    pq.write_table(documents_to_table(docs, ["rules"]), after / "data" / "shard-00000.parquet")
    assert compare_runs.main(["--documents", str(before), str(after)]) == 1
