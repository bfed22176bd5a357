"""Text documents that repeat code data are removed; the rest of the text and all the code stay."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
from helpers import STDLIB, recipe_with

from codemill.data.schema import Document
from codemill.data.writers import write_jsonl
from codemill.pipeline.run import curate


def test_text_sharing_code_ngrams_is_removed(tmp_path: Path) -> None:
    code = [
        Document(f"code-{f.stem}", f.read_text(), kind="code", path=f.name)
        for f in sorted((STDLIB / "json").glob("*.py"))
    ]
    decoder = (STDLIB / "json" / "decoder.py").read_text().splitlines()
    quoted = "\n".join(decoder[40:60])
    docs = [
        *code,
        Document("text-quote", f"# Using the decoder\n\nThe scanner works like this:\n\n{quoted}\n", kind="text"),
        Document("text-prose", "JSON is a text format for data. " * 3, kind="text"),
        Document("text-tutorial", "Read the docs of the json module.\n" * 5, kind="text"),
        Document("math-1", quoted, kind="math"),  # not a text kind: never checked
    ]
    write_jsonl(docs, tmp_path / "in.jsonl")
    stats = curate(
        recipe_with({"step": "source_overlap"}, shards={"target_bytes": 20_000}),
        [tmp_path / "in.jsonl"],
        tmp_path / "o",
        workers=2,
        progress=False,
    )
    rows = [r for f in sorted((tmp_path / "o" / "rejected").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    assert [(r["id"], r["reason"]) for r in rows] == [("text-quote", "overlaps_code")]
    assert rows[0]["detail"].startswith("shares ") and "word 10-grams with the code data" in rows[0]["detail"]
    assert stats["global_steps"]["source_overlap"]["removed"] == 1
    assert stats["documents_kept"] == len(docs) - 1
