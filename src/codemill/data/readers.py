"""Reading units into documents, or into rejections that say why a piece of input could not be read.

A reader never raises on bad input: an unreadable file, a binary blob, broken UTF-8, a malformed JSON line
or a record too large to parse becomes a :class:`Rejection` with the reason, so it lands in the rejected
sink and the counts still add up.
"""

from __future__ import annotations

import hashlib
import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq

from codemill.data.languages import canonical_language, detect_language
from codemill.data.schema import KINDS, Document, Rejection
from codemill.data.sources import ReadOptions, Unit
from codemill.data.textio import open_binary_read

READ_STEP = "read"

#: Extensions of files that are never source code; rejected without being opened.
BINARY_EXTENSIONS = frozenset(
    [
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".bmp",
        ".ico",
        ".icns",
        ".tif",
        ".tiff",
        ".webp",
        ".psd",
        ".svgz",
        ".pdf",
        ".eps",
        ".zip",
        ".gz",
        ".tgz",
        ".bz2",
        ".xz",
        ".zst",
        ".7z",
        ".rar",
        ".tar",
        ".jar",
        ".war",
        ".whl",
        ".egg",
        ".deb",
        ".rpm",
        ".apk",
        ".dmg",
        ".iso",
        ".so",
        ".dylib",
        ".dll",
        ".exe",
        ".o",
        ".a",
        ".lib",
        ".obj",
        ".pyc",
        ".pyo",
        ".pyd",
        ".class",
        ".wasm",
        ".beam",
        ".elc",
        ".ttf",
        ".otf",
        ".woff",
        ".woff2",
        ".eot",
        ".mp3",
        ".mp4",
        ".wav",
        ".ogg",
        ".flac",
        ".avi",
        ".mov",
        ".mkv",
        ".webm",
        ".npy",
        ".npz",
        ".pkl",
        ".pickle",
        ".pt",
        ".pth",
        ".bin",
        ".onnx",
        ".gguf",
        ".safetensors",
        ".h5",
        ".hdf5",
        ".db",
        ".sqlite",
        ".sqlite3",
        ".mo",
        ".pak",
        ".dat",
        ".parquet",
        ".feather",
        ".arrow",
        ".orc",
        ".avro",
    ]
)
_TEXT_CONTROL = {8, 9, 10, 12, 13, 27}
_BINARY_CONTROL = bytes(b for b in range(32) if b not in _TEXT_CONTROL)
_SNIFF_BYTES = 8192


def stable_id(*parts: str) -> str:
    """A short id that depends only on where a document came from, so reruns give the same ids."""
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8", "surrogatepass"), digest_size=10).hexdigest()


def sniff_binary(head: bytes) -> str | None:
    """Why the first bytes of a file look binary, or None if they look like text."""
    if b"\x00" in head:
        return f"NUL byte at offset {head.index(0)}"
    if head:
        control = len(head) - len(head.translate(None, _BINARY_CONTROL))  # counted in C: one pass, no loop
        if control / len(head) > 0.10:
            return f"{control / len(head):.0%} control bytes in the first {len(head)} bytes"
    return None


def read_unit(unit: Unit, options: ReadOptions, batch_size: int) -> Iterator[list[Document | Rejection]]:
    """Documents and rejections of one unit, in batches of at most ``batch_size``."""
    items = {"repo_file": _read_repo_file, "jsonl": _read_jsonl, "parquet": _read_parquet}[unit.source](unit, options)
    batch: list[Document | Rejection] = []
    for item in items:
        batch.append(item)
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def _reject(doc: Document, reason: str, detail: str) -> Rejection:
    return Rejection(doc, reason, detail, rejected_by=READ_STEP)


def _read_repo_file(unit: Unit, options: ReadOptions) -> Iterator[Document | Rejection]:
    path = Path(unit.path)
    doc = Document(id=stable_id(unit.repo, unit.name), text="", kind=options.kind, repo=unit.repo, path=unit.name)
    doc.lang = detect_language(unit.name) or ""
    doc.meta = {"bytes": unit.size}
    if path.suffix.lower() in BINARY_EXTENSIONS:
        yield _reject(doc, "binary", f"binary file extension {path.suffix!r}")
        return
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        yield _reject(doc, "unreadable", f"{type(exc).__name__}: {exc.strerror or exc}")
        return
    if not stat.S_ISREG(mode):
        yield _reject(doc, "not_a_file", "a FIFO, socket or device, not a regular file")
        return
    if unit.size > options.max_file_bytes:
        yield _reject(doc, "too_large", f"{unit.size:,} bytes > max_file_bytes {options.max_file_bytes:,}")
        return
    try:
        data = path.read_bytes()
    except OSError as exc:
        yield _reject(doc, "unreadable", f"{type(exc).__name__}: {exc.strerror or exc}")
        return
    doc.meta["bytes"] = len(data)
    why = sniff_binary(data[:_SNIFF_BYTES])
    if why:
        yield _reject(doc, "binary", why)
        return
    try:
        doc.text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        doc.text = data.decode("utf-8", errors="replace")
        yield _reject(doc, "encoding", f"invalid UTF-8 at byte {exc.start}: {data[exc.start : exc.start + 4]!r}")
        return
    if not doc.lang:
        doc.lang = detect_language(unit.name, doc.text[:256]) or ""
    yield doc


def _read_lines(unit: Unit, options: ReadOptions) -> Iterator[tuple[int, bytes | None, int]]:
    """(line number, raw line or None when it was too long, its length) for each non-blank line."""
    limit = options.max_record_bytes
    with open_binary_read(Path(unit.path)) as f:
        line_no = 0
        while True:
            raw = f.readline(limit + 1)
            if not raw:
                return
            line_no += 1
            if len(raw) > limit and not raw.endswith(b"\n"):
                length = len(raw)
                while raw and not raw.endswith(b"\n"):  # skip the rest of the line without holding it
                    raw = f.readline(1 << 20)
                    length += len(raw)
                yield line_no, None, length
            elif raw.strip():
                yield line_no, raw.rstrip(b"\r\n"), len(raw)


def _read_jsonl(unit: Unit, options: ReadOptions) -> Iterator[Document | Rejection]:
    try:
        for line_no, raw, length in _read_lines(unit, options):
            source = f"{unit.name}:{line_no}"
            fallback = Document(id=stable_id(unit.name, str(line_no)), text="", kind=options.kind)
            fallback.meta = {"source": source, "bytes": length}
            if raw is None:
                yield _reject(fallback, "too_large", f"line of {length:,} bytes > max_record_bytes")
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                fallback.text = raw.decode("utf-8", errors="replace")
                yield _reject(fallback, "encoding", f"{source}: invalid UTF-8 at byte {exc.start}")
                continue
            try:
                record = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                fallback.text = text
                yield _reject(fallback, "malformed_json", f"{source}: {exc.msg} at column {exc.colno}")
                continue
            if not isinstance(record, dict):
                fallback.text = text
                yield _reject(fallback, "malformed_json", f"{source}: a line must be a JSON object")
                continue
            yield record_to_document(record, options, unit.name, str(line_no), source)
    except (OSError, EOFError, ValueError) as exc:  # truncated gzip/zstd, unreadable file
        doc = Document(id=stable_id(unit.name, "<unreadable>"), text="", kind=options.kind)
        doc.meta = {"source": unit.name}
        yield _reject(doc, "unreadable", f"{unit.name}: {type(exc).__name__}: {exc}")


def _read_parquet(unit: Unit, options: ReadOptions) -> Iterator[Document | Rejection]:
    try:
        pf = pq.ParquetFile(unit.path)
        first = unit.row_groups[0] if unit.row_groups else 0
        row = sum(pf.metadata.row_group(i).num_rows for i in range(first))
        groups = list(unit.row_groups) or list(range(pf.metadata.num_row_groups))
        for batch in pf.iter_batches(batch_size=1024, row_groups=groups):
            for record in batch.to_pylist():
                yield record_to_document(record, options, unit.name, str(row), f"{unit.name}#{row}")
                row += 1
    except Exception as exc:  # pyarrow raises several types for corrupt or truncated files
        doc = Document(id=stable_id(unit.name, "<unreadable>"), text="", kind=options.kind)
        doc.meta = {"source": unit.name}
        yield _reject(doc, "unreadable", f"{unit.name}: {type(exc).__name__}: {exc}")


def record_to_document(
    record: dict[str, Any], options: ReadOptions, file_name: str, position: str, source: str
) -> Document | Rejection:
    """Map one JSON/Parquet record to a document through the column mapping; other fields go to ``meta``."""
    mapping = {
        field: options.columns.get(field, field)
        for field in ("id", "text", "kind", "lang", "repo", "path", "meta", "scores", "quality")
    }
    used = set(mapping.values())
    extra = {k: _jsonable(v) for k, v in record.items() if k not in used}
    meta = record.get(mapping["meta"])
    if isinstance(meta, str):
        try:
            meta = json.loads(meta)
        except json.JSONDecodeError:
            meta = {"meta": meta}
    meta = {**extra, **(meta if isinstance(meta, dict) else {})}
    raw_id = record.get(mapping["id"])
    if raw_id in (None, ""):
        meta["source"] = source  # without an id of its own, a record is traced back by file and line
    doc = Document(
        id=str(raw_id) if raw_id not in (None, "") else stable_id(file_name, position),
        text="",
        kind=str(record.get(mapping["kind"]) or options.kind),
        lang=_language_label(record.get(mapping["lang"])),
        repo=str(record.get(mapping["repo"]) or ""),
        path=str(record.get(mapping["path"]) or ""),
        meta=meta,
    )
    text = record.get(mapping["text"])
    if not isinstance(text, str):
        present = ", ".join(sorted(record)[:12])
        what = "missing" if text is None else f"a {type(text).__name__}, not a string"
        return _reject(doc, "missing_text", f"{source}: column {mapping['text']!r} is {what} (has: {present})")
    doc.text = text
    if doc.kind not in KINDS:
        return _reject(doc, "invalid_field", f"{source}: kind {doc.kind!r} is not one of {', '.join(KINDS)}")
    try:
        scores = record.get(mapping["scores"]) or {}
        doc.scores = {str(k): float(v) for k, v in (scores.items() if isinstance(scores, dict) else scores)}
        doc.quality = int(record.get(mapping["quality"]) or 0)
    except (TypeError, ValueError) as exc:
        return _reject(doc, "invalid_field", f"{source}: scores/quality: {exc}")
    if not doc.lang and doc.path:
        doc.lang = detect_language(doc.path) or ""
    return doc


def _language_label(value: Any) -> str:
    """Other datasets' language labels ("Python", "C++") as our canonical names; unknown labels kept as given."""
    label = str(value or "")
    return canonical_language(label) or label


def _jsonable(value: Any) -> Any:
    """Keep JSON-friendly values as they are; turn the rest (bytes, timestamps) into strings."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)
