"""The ``languages`` step: keep the languages a corpus is about (names of :mod:`codemill.data.languages`).

Not a rung of the quality ladder (it sets no level): a document of another language is simply not wanted.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from codemill.curate.filters.base import Fail, LadderFilter
from codemill.data.languages import language_by_name
from codemill.data.schema import Document
from codemill.pipeline.step import Params


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


class LanguageFilter(LadderFilter[LanguageParams]):
    """Keep the languages a corpus is about; documents of undetected language are rejected by default."""

    name = "languages"

    def __init__(self, params: LanguageParams | None = None) -> None:
        super().__init__(params)
        keep = self.params.keep
        self.keep = frozenset(keep) if keep is not None else None

    def judge(self, doc: Document) -> Fail | None:
        if not doc.lang:
            return None if self.params.keep_unknown else Fail("unknown_language", f"no language for path {doc.path!r}")
        if self.keep is not None and doc.lang not in self.keep:
            return Fail("language_not_kept", f"{doc.lang} is not in keep")
        return None
