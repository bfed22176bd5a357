"""The document contract: one Arrow schema for every document, kept or rejected.

Documents travel between steps as :class:`Document` objects (cheap to build and to edit in Python) and
rest as Parquet shards with :data:`DOCUMENT_SCHEMA`. Rejected documents keep every column and add who
rejected them and why, so nothing that enters a run is ever lost.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pyarrow as pa

Kind = Literal["code", "text", "math", "synthetic"]
KINDS: tuple[str, ...] = ("code", "text", "math", "synthetic")

DOCUMENT_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("text", pa.large_string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("lang", pa.string(), nullable=False),
        pa.field("repo", pa.string(), nullable=False),
        pa.field("path", pa.string(), nullable=False),
        pa.field("meta", pa.string(), nullable=False),  # a JSON object
        pa.field("scores", pa.map_(pa.string(), pa.float64()), nullable=False),
        pa.field("quality", pa.int32(), nullable=False),
    ]
)

REJECTED_SCHEMA = (
    DOCUMENT_SCHEMA.append(pa.field("rejected_by", pa.string(), nullable=False))
    .append(pa.field("reason", pa.string(), nullable=False))
    .append(pa.field("detail", pa.string(), nullable=False))
)

DOCUMENT_COLUMNS: tuple[str, ...] = tuple(DOCUMENT_SCHEMA.names)


@dataclass(slots=True)
class Document:
    """One unit of training data (a source file, a web page, a JSONL record...)."""

    id: str
    text: str
    kind: str = "code"
    lang: str = ""
    repo: str = ""
    path: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    quality: int = 0

    @property
    def nbytes(self) -> int:
        """Size of the text in UTF-8 bytes (what storage and throughput are measured in)."""
        text = self.text
        return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))  # isascii is O(1)

    def to_row(self) -> dict[str, Any]:
        """The document as a plain row of the contract (``meta`` serialised to JSON)."""
        return {
            "id": self.id,
            "text": self.text,
            "kind": self.kind,
            "lang": self.lang,
            "repo": self.repo,
            "path": self.path,
            "meta": json.dumps(self.meta, sort_keys=True, ensure_ascii=False),
            "scores": sorted(self.scores.items()),
            "quality": self.quality,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Document:
        """Build a document from a row of the contract (as read from Parquet or our own JSONL)."""
        meta = row.get("meta") or {}
        if isinstance(meta, str):
            meta = json.loads(meta) if meta else {}
        scores = row.get("scores") or {}
        if not isinstance(scores, Mapping):
            scores = dict(scores)  # Arrow maps come back as lists of (key, value) pairs
        return cls(
            id=str(row["id"]),
            text=row["text"],
            kind=row.get("kind") or "code",
            lang=row.get("lang") or "",
            repo=row.get("repo") or "",
            path=row.get("path") or "",
            meta=dict(meta),
            scores={str(k): float(v) for k, v in scores.items()},
            quality=int(row.get("quality") or 0),
        )


@dataclass(slots=True)
class Rejection:
    """A document a step decided not to keep, with a short reason code and a human-readable detail.

    ``reason`` is a stable code (``binary``, ``too_large``...) that statistics group by; ``detail`` says
    what was measured (``2.1 MB > max_bytes 1 MB``) so a person can see exactly why the document fell.
    """

    document: Document
    reason: str
    detail: str = ""
    rejected_by: str = ""  # filled in by the runner with the step's name


def documents_to_table(documents: Iterable[Document]) -> pa.Table:
    """Kept documents as an Arrow table with the contract's schema."""
    return pa.Table.from_pylist([d.to_row() for d in documents], schema=DOCUMENT_SCHEMA)


def rejections_to_table(rejections: Iterable[Rejection]) -> pa.Table:
    """Rejected documents as an Arrow table with the rejected sink's schema."""
    rows = []
    for r in rejections:
        row = r.document.to_row()
        row["rejected_by"] = r.rejected_by
        row["reason"] = r.reason
        row["detail"] = r.detail
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=REJECTED_SCHEMA)


def table_to_documents(table: pa.Table) -> list[Document]:
    """Documents from an Arrow table that has (at least) the contract's columns."""
    return [Document.from_row(row) for row in table.select(list(DOCUMENT_COLUMNS)).to_pylist()]
