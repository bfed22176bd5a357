"""The data contract survives a round trip through Parquet and through JSONL (plain, .gz, .zst)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from helpers import STDLIB

from codemill.data.readers import read_unit
from codemill.data.schema import (
    Document,
    Rejection,
    ScoreColumnsError,
    document_schema,
    documents_to_table,
    rejected_schema,
    rejections_to_table,
    table_to_documents,
)
from codemill.data.sources import ReadOptions, Unit
from codemill.data.writers import write_jsonl


def real_documents() -> list[Document]:
    docs = []
    for i, f in enumerate(sorted((STDLIB / "json").glob("*.py"))):
        docs.append(
            Document(
                id=f"doc-{i}",
                text=f.read_text(),
                kind="code",
                lang="python",
                repo="cpython",
                path=f"json/{f.name}",
                meta={"license": "PSF-2.0", "stars": 60000 + i, "nested": {"a": [1, 2]}},
                scores={"format": 1.0, "rules": 0.25 * i},
                quality=i % 3,
            )
        )
    docs.append(Document(id="unicode", text="def café():\n    return '日本語 ✓'\n", kind="text", lang="python"))
    return docs


def test_parquet_round_trip(tmp_path: Path) -> None:
    docs = real_documents()
    pq.write_table(documents_to_table(docs), tmp_path / "d.parquet")
    table = pq.read_table(tmp_path / "d.parquet")
    assert table.schema.equals(document_schema(["format", "rules"]))
    assert table.column_names[-2:] == ["score_format", "score_rules"]
    assert table_to_documents(table) == docs
    assert table.column("score_rules").to_pylist()[-1] is None  # a document without the score: null, not 0


def test_score_columns_are_the_ones_asked_for(tmp_path: Path) -> None:
    docs = real_documents()
    table = documents_to_table(docs, ["format", "rules", "code_quality"])  # a later step's score: all null
    assert table.column("score_code_quality").null_count == len(docs)
    assert table_to_documents(table) == docs
    with pytest.raises(ScoreColumnsError, match=r"\['rules'\] have no column"):
        documents_to_table(docs, ["format"])
    no_scores = documents_to_table([Document(id="x", text="y")], [])
    assert no_scores.schema.equals(document_schema()) and "scores" not in no_scores.column_names


def test_rejected_sink_has_the_contract_plus_reason(tmp_path: Path) -> None:
    docs = real_documents()
    table = rejections_to_table([Rejection(docs[0], "too_large", "2 MB > 1 MB", rejected_by="format")])
    assert table.schema.equals(rejected_schema(["format", "rules"]))
    row = table.to_pylist()[0]
    assert (row["rejected_by"], row["reason"], row["detail"]) == ("format", "too_large", "2 MB > 1 MB")
    assert table_to_documents(table) == [docs[0]]


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".jsonl.zst"])
def test_jsonl_round_trip(tmp_path: Path, suffix: str) -> None:
    docs = real_documents()
    path = tmp_path / f"docs{suffix}"
    assert write_jsonl(docs, path) == len(docs)
    unit = Unit("jsonl", str(path), path.name, path.stat().st_size)
    back = [d for batch in read_unit(unit, ReadOptions(), 4) for d in batch]
    assert back == docs


def test_jsonl_writes_identical_bytes_each_time(tmp_path: Path) -> None:
    docs = real_documents()
    write_jsonl(docs, tmp_path / "a.jsonl.gz")
    write_jsonl(docs, tmp_path / "b.jsonl.gz")
    assert (tmp_path / "a.jsonl.gz").read_bytes() == (tmp_path / "b.jsonl.gz").read_bytes()
