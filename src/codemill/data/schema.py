"""The document contract: one Arrow schema for every document, kept or rejected.

Documents travel between steps as :class:`Document` objects (cheap to build and to edit in Python) and
rest as Parquet shards with :func:`document_schema`. Rejected documents keep every column and add who
rejected them and why, so nothing that enters a run is ever lost.

Scores rest as flat nullable float columns, ``score_<name>`` (``score_format``, ``score_rules``,
``score_code_quality``...), one per score the run's steps write, rather than one map column: Hugging Face
``datasets`` has no type for an Arrow map and datatrove's reader turns one into a list of pairs, while a flat
float column is what FineWeb-style datasets carry and what every reader, SQL engine and dataset viewer filters
and sorts on as it is (a struct would be too, but Parquet cannot store a struct without fields, which a recipe
without scoring steps would need). Every shard of a run carries the same columns, a document without a score
(rejected before the step that writes it) holds null there, so readers that load many shards as one table
(``datasets``, datatrove, polars) never meet two schemas. In Python, :attr:`Document.scores` stays a dict.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pyarrow as pa

Kind = Literal["code", "text", "math", "synthetic"]
KINDS: tuple[str, ...] = ("code", "text", "math", "synthetic")

#: prefix of the score columns: score ``rules`` rests in column ``score_rules``
SCORE_PREFIX = "score_"

_BASE_FIELDS = [
    pa.field("id", pa.string(), nullable=False),
    pa.field("text", pa.large_string(), nullable=False),
    pa.field("kind", pa.string(), nullable=False),
    pa.field("lang", pa.string(), nullable=False),
    pa.field("repo", pa.string(), nullable=False),
    pa.field("path", pa.string(), nullable=False),
    pa.field("meta", pa.string(), nullable=False),  # a JSON object
    pa.field("quality", pa.int32(), nullable=False),
]
_REJECTION_FIELDS = [
    pa.field("rejected_by", pa.string(), nullable=False),
    pa.field("reason", pa.string(), nullable=False),
    pa.field("detail", pa.string(), nullable=False),
]


def score_column(name: str) -> str:
    """The column a score rests in."""
    return SCORE_PREFIX + name


def score_names_of(columns: Iterable[str]) -> tuple[str, ...]:
    """The score names among column names (a schema's ``names``), in their order."""
    return tuple(c[len(SCORE_PREFIX) :] for c in columns if c.startswith(SCORE_PREFIX))


def document_schema(score_names: Sequence[str] = ()) -> pa.Schema:
    """The schema of kept documents whose scores are ``score_names`` (the same for every shard of a run)."""
    return pa.schema([*_BASE_FIELDS, *(pa.field(score_column(n), pa.float64()) for n in score_names)])


def rejected_schema(score_names: Sequence[str] = ()) -> pa.Schema:
    """The rejected sink's schema: :func:`document_schema` plus who rejected the document and why."""
    return pa.schema([*document_schema(score_names), *_REJECTION_FIELDS])


#: the schemas of documents without scores; the base columns every document has
DOCUMENT_SCHEMA = document_schema()
REJECTED_SCHEMA = rejected_schema()
DOCUMENT_COLUMNS: tuple[str, ...] = tuple(DOCUMENT_SCHEMA.names)


class ScoreColumnsError(ValueError):
    """A document holds a score that the table being written has no column for."""


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

    def to_row(self, score_names: Sequence[str] = ()) -> dict[str, Any]:
        """The document as a plain row of the contract (``meta`` serialised to JSON), with one column per
        name of ``score_names`` (None where the document has no such score)."""
        row = {
            "id": self.id,
            "text": self.text,
            "kind": self.kind,
            "lang": self.lang,
            "repo": self.repo,
            "path": self.path,
            "meta": json.dumps(self.meta, sort_keys=True, ensure_ascii=False),
            "quality": self.quality,
        }
        for name in score_names:
            row[score_column(name)] = self.scores.get(name)
        return row

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Document:
        """Build a document from a row of the contract: from Parquet (``score_<name>`` columns) or our own JSONL
        (a ``scores`` object; older runs' Parquet held it as an Arrow map, read back as pairs)."""
        meta = row.get("meta") or {}
        if isinstance(meta, str):
            meta = json.loads(meta) if meta else {}
        scores = row.get("scores") or {}
        if not isinstance(scores, Mapping):
            scores = dict(scores)
        columns = {k[len(SCORE_PREFIX) :]: v for k, v in row.items() if k.startswith(SCORE_PREFIX) and v is not None}
        return cls(
            id=str(row["id"]),
            text=row["text"],
            kind=row.get("kind") or "code",
            lang=row.get("lang") or "",
            repo=row.get("repo") or "",
            path=row.get("path") or "",
            meta=dict(meta),
            scores={str(k): float(v) for k, v in {**scores, **columns}.items()},
            quality=int(row.get("quality") or 0),
        )

    def set_aside_scores(self, keep: Collection[str]) -> None:
        """Move the scores not named in ``keep`` to ``meta["scores"]``: scores that came with the input under
        names none of this run's steps writes have no column in its shards, and are kept this way instead."""
        other = {k: v for k, v in self.scores.items() if k not in keep}
        if other:
            given = self.meta.get("scores")
            self.meta["scores"] = {**(given if isinstance(given, dict) else {}), **other}
            self.scores = {k: v for k, v in self.scores.items() if k in keep}


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


def _score_names(documents: list[Document], score_names: Sequence[str] | None) -> Sequence[str]:
    """``score_names``, checked to cover every document's scores; None: every score the documents hold, sorted."""
    held = {name for doc in documents for name in doc.scores}
    if score_names is None:
        return sorted(held)
    missing = held.difference(score_names)
    if missing:
        raise ScoreColumnsError(
            f"scores {sorted(missing)} have no column here (columns for: {', '.join(score_names) or 'none'})"
        )
    return score_names


def documents_to_table(documents: Iterable[Document], score_names: Sequence[str] | None = None) -> pa.Table:
    """Kept documents as an Arrow table with :func:`document_schema` of ``score_names`` (None: of their scores)."""
    docs = list(documents)
    names = _score_names(docs, score_names)
    return pa.Table.from_pylist([d.to_row(names) for d in docs], schema=document_schema(names))


def rejections_to_table(rejections: Iterable[Rejection], score_names: Sequence[str] | None = None) -> pa.Table:
    """Rejected documents as an Arrow table with :func:`rejected_schema` of ``score_names``."""
    items = list(rejections)
    names = _score_names([r.document for r in items], score_names)
    rows = []
    for r in items:
        row = r.document.to_row(names)
        row["rejected_by"] = r.rejected_by
        row["reason"] = r.reason
        row["detail"] = r.detail
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=rejected_schema(names))


def table_to_documents(table: pa.Table) -> list[Document]:
    """Documents from an Arrow table that has (at least) the contract's columns, and its score columns."""
    columns = [*DOCUMENT_COLUMNS, *(score_column(n) for n in score_names_of(table.column_names))]
    return [Document.from_row(row) for row in table.select(columns).to_pylist()]
