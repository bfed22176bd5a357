"""Level 0 of the ladder, ``format``: empty or whitespace-only text, size bounds and NUL bytes.

Reading already rejected what cannot be text at all (binary files, broken UTF-8); this step judges text.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from codemill.curate.filters.base import Fail, LadderFilter
from codemill.data.schema import Document
from codemill.pipeline.step import Params


class FormatParams(Params):
    min_bytes: int = Field(1, ge=0, description="documents smaller than this are rejected (too_small)")
    max_bytes: int = Field(1_000_000, gt=0, description="documents larger than this are rejected (too_large)")
    max_lines: int = Field(100_000, gt=0, description="documents with more lines are rejected (too_many_lines)")

    @model_validator(mode="after")
    def _bounds(self) -> FormatParams:
        if self.min_bytes > self.max_bytes:
            raise ValueError(f"min_bytes {self.min_bytes} is larger than max_bytes {self.max_bytes}")
        return self


class FormatFilter(LadderFilter[FormatParams]):
    """Level 0: reject documents that are empty, blank, out of size bounds or carry NUL characters."""

    name = "format"
    level = 0
    score_name = "format"

    def judge(self, doc: Document) -> Fail | None:
        p = self.params
        size = doc.nbytes
        if size == 0:
            return Fail("empty", "no text")
        if not doc.text.strip():
            return Fail("blank", f"{size:,} bytes of whitespace only")
        if size < p.min_bytes:
            return Fail("too_small", f"{size:,} bytes < min_bytes {p.min_bytes:,}")
        if size > p.max_bytes:
            return Fail("too_large", f"{size:,} bytes > max_bytes {p.max_bytes:,}")
        if "\x00" in doc.text:
            return Fail("nul_bytes", f"NUL character at offset {doc.text.index(chr(0))}")
        lines = doc.text.count("\n") + 1
        if lines > p.max_lines:
            return Fail("too_many_lines", f"{lines:,} lines > max_lines {p.max_lines:,}")
        self.record(doc, 1.0)
        return None
