"""The first, coarsest steps every recipe starts with: which languages to keep, and format sanity.

``format`` is level 0 of the filtering ladder: size bounds, empty or whitespace-only text and NUL bytes.
Reading already rejected what cannot be text at all (binary files, broken UTF-8); this step judges text.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from codemill.data.languages import language_by_name
from codemill.data.schema import Document
from codemill.pipeline.step import Filter, Params


class FormatParams(Params):
    min_bytes: int = Field(1, ge=0, description="documents smaller than this are rejected (too_small)")
    max_bytes: int = Field(1_000_000, gt=0, description="documents larger than this are rejected (too_large)")
    max_lines: int = Field(100_000, gt=0, description="documents with more lines are rejected (too_many_lines)")

    @model_validator(mode="after")
    def _bounds(self) -> FormatParams:
        if self.min_bytes > self.max_bytes:
            raise ValueError(f"min_bytes {self.min_bytes} is larger than max_bytes {self.max_bytes}")
        return self


class FormatFilter(Filter):
    """Level 0: reject documents that are empty, blank, out of size bounds or carry NUL characters."""

    name = "format"
    Params: ClassVar[type[FormatParams]] = FormatParams

    def check(self, doc: Document) -> tuple[str, str] | None:
        p: FormatParams = self.params  # type: ignore[assignment]
        size = doc.nbytes
        if size == 0:
            return "empty", "no text"
        if not doc.text.strip():
            return "blank", f"{size:,} bytes of whitespace only"
        if size < p.min_bytes:
            return "too_small", f"{size:,} bytes < min_bytes {p.min_bytes:,}"
        if size > p.max_bytes:
            return "too_large", f"{size:,} bytes > max_bytes {p.max_bytes:,}"
        if "\x00" in doc.text:
            return "nul_bytes", f"NUL character at offset {doc.text.index(chr(0))}"
        lines = doc.text.count("\n") + 1
        if lines > p.max_lines:
            return "too_many_lines", f"{lines:,} lines > max_lines {p.max_lines:,}"
        doc.scores["format"] = 1.0
        return None


class LanguageParams(Params):
    keep: list[str] | None = Field(
        None, description="languages to keep (names of the language table); null keeps every known language"
    )
    keep_unknown: bool = Field(False, description="keep documents whose language could not be detected")

    @model_validator(mode="after")
    def _known_names(self) -> LanguageParams:
        for name in self.keep or []:
            try:
                language_by_name(name)
            except KeyError as exc:
                raise ValueError(str(exc.args[0])) from None
        return self


class LanguageFilter(Filter):
    """Keep the languages a corpus is about; documents of undetected language are rejected by default."""

    name = "languages"
    Params: ClassVar[type[LanguageParams]] = LanguageParams

    def __init__(self, params: LanguageParams | None = None) -> None:
        super().__init__(params)
        keep = self.params.keep  # type: ignore[attr-defined]
        self.keep = frozenset(keep) if keep is not None else None

    def check(self, doc: Document) -> tuple[str, str] | None:
        p: LanguageParams = self.params  # type: ignore[assignment]
        if not doc.lang:
            return None if p.keep_unknown else ("unknown_language", f"no language for path {doc.path!r}")
        if self.keep is not None and doc.lang not in self.keep:
            return "language_not_kept", f"{doc.lang} is not in keep"
        return None
