"""The documents a pack reads: a codemill output folder's ``data/`` shards, Parquet files, or JSONL files.

Packing comes after curation, so its input is already clean; a record without text is an error that
names the file and line, not something to skip quietly. Order is deterministic (sorted paths, file
order), which is what lets ``verify`` walk the same documents again beside the shards.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import orjson

from codemill.data import progress
from codemill.data.readers import stable_id
from codemill.data.schema import Document
from codemill.data.textio import is_jsonl, is_parquet, open_binary_read
from codemill.data.writers import iter_parquet_rows


class PackInputError(ValueError):
    """An input that is missing, of an unknown kind, or holds a record that is not a document."""


def input_files(paths: Iterable[Path]) -> list[Path]:
    """The Parquet/JSONL files of the inputs, in a stable order (a codemill output folder gives ``data/``)."""
    files: list[Path] = []
    for path in paths:
        if not path.exists():
            raise PackInputError(f"{path} does not exist")
        if path.is_dir():
            root = path / "data" if (path / "data").is_dir() else path
            found = sorted(
                p
                for p in root.rglob("*")
                if p.is_file() and not p.name.startswith(".") and (is_parquet(p) or is_jsonl(p))
            )
            if not found:
                raise PackInputError(f"{root} holds no .parquet or .jsonl(.gz/.zst) files")
            files.extend(found)
        elif is_parquet(path) or is_jsonl(path):
            files.append(path)
        else:
            raise PackInputError(f"{path}: not a Parquet or JSONL file (give a codemill output folder, or files)")
    return files


def _document(row: dict, where: str, fallback_id: str) -> Document:
    text = row.get("text")
    if not isinstance(text, str):
        raise PackInputError(f"{where}: no 'text' string in the record (keys: {', '.join(sorted(row)[:12])})")
    row = dict(row)
    if row.get("id") in (None, ""):
        row["id"] = fallback_id
    return Document.from_row(row)


def iter_documents(paths: Iterable[Path]) -> Iterator[Document]:
    """Documents of the inputs, streamed (memory holds one Parquet batch or one JSON line).

    The inputs are resolved at once, so a missing path fails here, before any output is touched.
    """
    return documents_of_files(input_files(paths))


def documents_of_files(files: list[Path]) -> Iterator[Document]:
    """The documents of files already resolved by :func:`input_files`, in order (a mix reads them file by file)."""
    for file in files:
        if is_parquet(file):
            for n, row in enumerate(iter_parquet_rows([file])):
                yield _document(row, f"{file}#{n}", stable_id(file.name, str(n)))
                progress.read()
            continue
        with open_binary_read(file) as f:
            for line_no, raw in enumerate(f, start=1):
                if not raw.strip():
                    continue
                try:
                    row = orjson.loads(raw)
                except orjson.JSONDecodeError as exc:
                    raise PackInputError(f"{file}:{line_no}: not JSON ({exc})") from exc
                if not isinstance(row, dict):
                    raise PackInputError(f"{file}:{line_no}: a line must be a JSON object")
                yield _document(row, f"{file}:{line_no}", stable_id(file.name, str(line_no)))
                progress.read()
