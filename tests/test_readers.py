"""Each reader on real files, and every kind of bad input turned into a rejection with a reason."""

from __future__ import annotations

import gzip
import json
import os
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import EXPECTED_LANGUAGE, STDLIB

from codemill.data.readers import read_unit
from codemill.data.schema import Document, Rejection
from codemill.data.sources import InputError, ReadOptions, iter_units, plan_shards


def read_all(inputs: list[Path], options: ReadOptions | None = None) -> list[Document | Rejection]:
    options = options or ReadOptions()
    return [item for unit in iter_units(inputs, options) for batch in read_unit(unit, options, 7) for item in batch]


def test_repo_reader_on_real_code_of_nine_languages(real_repos: Path) -> None:
    items = read_all([real_repos])
    docs = [d for d in items if isinstance(d, Document)]
    assert len(docs) == len(items), [r.detail for r in items if isinstance(r, Rejection)]
    by_repo: dict[str, set[str]] = {}
    for d in docs:
        by_repo.setdefault(d.repo, set()).add(d.lang)
        assert d.text and d.path and len(d.id) == 20
    assert {repo: langs for repo, langs in by_repo.items()} == {r: {lang} for r, lang in EXPECTED_LANGUAGE.items()}
    # reading twice gives the same ids in the same order
    assert [d.id for d in docs] == [d.id for d in read_all([real_repos]) if isinstance(d, Document)]


def test_bad_files_in_a_repo_are_rejected_with_reasons(bad_repo: Path) -> None:
    items = read_all([bad_repo])
    by_path = {(i.document if isinstance(i, Rejection) else i).path: i for i in items}
    assert "node_modules/dep/index.js" not in by_path and ".git/HEAD" not in by_path
    reasons = {p: (i.reason if isinstance(i, Rejection) else "kept") for p, i in by_path.items()}
    assert reasons == {
        "blank.py": "kept",  # blank text is judged by the format step, not the reader
        "blob.py": "binary",
        "decoder.py": "kept",
        "empty.py": "kept",
        "huge.py": "too_large",
        "latin1.py": "encoding",
        "lodash.min.js": "kept",  # one 70 KB line of minified code is still text
        "logo.png": "binary",
    }
    latin = by_path["latin1.py"]
    assert isinstance(latin, Rejection) and "byte 5" in latin.detail and "caf" in latin.document.text
    huge = by_path["huge.py"]
    assert isinstance(huge, Rejection) and "209,715,200 bytes" in huge.detail


def test_a_fifo_is_rejected_not_read(tmp_path: Path) -> None:
    repo = tmp_path / "r" / "repo"
    repo.mkdir(parents=True)
    os.mkfifo(repo / "pipe.py")  # reading it would block forever
    [item] = read_all([tmp_path / "r"])
    assert isinstance(item, Rejection) and item.reason == "not_a_file"


def test_a_file_gone_before_reading_is_unreadable(real_repos: Path, tmp_path: Path) -> None:
    victim = tmp_path / "c" / "repo" / "gone.py"
    victim.parent.mkdir(parents=True)
    victim.write_text("x = 1\n")
    options = ReadOptions()
    units = list(iter_units([tmp_path / "c"], options))
    victim.unlink()
    [[item]] = [batch for u in units for batch in read_unit(u, options, 10)]
    assert isinstance(item, Rejection) and item.reason == "unreadable" and "FileNotFoundError" in item.detail


def jsonl_lines_from_real_code() -> list[bytes]:
    lines = []
    for f in sorted((STDLIB / "json").glob("*.py")):
        record = {
            "content": f.read_text(),
            "max_stars_repo_name": "python/cpython",
            "max_stars_repo_path": f"Lib/json/{f.name}",
            "lang": "Python",
            "max_stars_count": 60000,
        }
        lines.append(json.dumps(record).encode())
    return lines


def test_jsonl_reader_with_stack_columns_and_bad_lines(tmp_path: Path) -> None:
    good = jsonl_lines_from_real_code()
    bad = [b'{"content": "x", ', b"\xff\xfe not utf8", b"[1, 2, 3]", b'{"other": 1}', b'{"content": 5}']
    path = tmp_path / "stack.jsonl.gz"
    with gzip.open(path, "wb") as f:
        f.write(b"\n".join([good[0], *bad, b"", *good[1:]]) + b"\n")
    items = read_all([path], ReadOptions(columns="stack"))
    docs = [i for i in items if isinstance(i, Document)]
    rejected = [i for i in items if isinstance(i, Rejection)]
    assert len(docs) == len(good)
    assert docs[0].repo == "python/cpython" and docs[0].path.startswith("Lib/json/") and docs[0].lang == "python"
    assert docs[0].meta["max_stars_count"] == 60000 and docs[0].meta["source"] == "stack.jsonl.gz:1"
    assert [r.reason for r in rejected] == [
        "malformed_json",
        "encoding",
        "malformed_json",
        "missing_text",
        "missing_text",
    ]
    assert rejected[0].detail.startswith("stack.jsonl.gz:2:")
    assert rejected[0].document.text == '{"content": "x", '  # nothing lost: the raw line is kept


def test_jsonl_line_over_the_limit_is_rejected_without_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    path.write_bytes(b'{"text": "' + b"a" * 5000 + b'"}\n{"text": "small"}\n')
    items = read_all([path], ReadOptions(max_record_bytes=1000))
    assert isinstance(items[0], Rejection) and items[0].reason == "too_large"
    assert isinstance(items[1], Document) and items[1].text == "small"


def test_truncated_gzip_keeps_what_was_read_and_reports_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl.gz"
    whole = gzip.compress(b"\n".join(jsonl_lines_from_real_code()) + b"\n")
    path.write_bytes(whole[: len(whole) // 2])
    items = read_all([path], ReadOptions(columns="stack"))
    assert isinstance(items[-1], Rejection) and items[-1].reason == "unreadable"
    assert "EOFError" in items[-1].detail or "Error" in items[-1].detail


def test_parquet_reader_splits_by_row_groups(tmp_path: Path) -> None:
    texts = [f.read_text() for f in sorted(STDLIB.glob("*.py"))[:300]]
    table = pa.table(
        {
            "content": texts,
            "max_stars_repo_path": [f"f{i}.py" for i in range(len(texts))],
            "max_stars_repo_name": ["cpython"] * len(texts),
            "lang": ["python"] * len(texts),
        }
    )
    pq.write_table(table, tmp_path / "stack.parquet", row_group_size=50)
    options = ReadOptions(columns="stack")
    units = list(iter_units([tmp_path / "stack.parquet"], options))
    assert len(units) == 1  # 300 rows fit one unit of 50,000 rows
    items = read_all([tmp_path], options)
    assert [d.text for d in items if isinstance(d, Document)] == texts
    assert items[120].meta["source"] == "stack.parquet#120"


def test_corrupt_parquet_is_one_rejection(tmp_path: Path) -> None:
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 this is not parquet")
    [item] = read_all([tmp_path / "bad.parquet"])
    assert isinstance(item, Rejection) and item.reason == "unreadable" and "bad.parquet" in item.detail


def test_missing_input_and_unknown_format_stop_with_a_message(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        list(iter_units([tmp_path / "nope"], ReadOptions()))
    (tmp_path / "x.csv").write_text("a,b\n")
    with pytest.raises(InputError, match="cannot tell the format"):
        list(iter_units([tmp_path / "x.csv"], ReadOptions()))


def test_shards_follow_the_byte_target(real_repos: Path) -> None:
    units = list(iter_units([real_repos], ReadOptions()))
    shards = list(plan_shards(iter(units), target_bytes=50_000, max_units=10))
    assert [u for s in shards for u in s] == units
    assert all(len(s) <= 10 for s in shards)
    assert all(sum(u.size for u in s[:-1]) < 50_000 for s in shards)
    assert Counter(u.repo for u in units)["lodash"] == 12
