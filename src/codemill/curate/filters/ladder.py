"""The ladder's one rule for quality levels: a document's ``quality`` is the deepest level it passed, so a level
it fails (in soft mode, where it is kept) stops it climbing: passing a later level does not lift it past the
failure. Levels a recipe does not run are no obstacle. The failure is recorded in ``meta["ladder_failed"]``
(the shallowest failed level), which also tells a reader why a document stopped where it did."""

from __future__ import annotations

from codemill.data.schema import Document

__all__ = ["fail_level", "pass_level"]

FAILED = "ladder_failed"


def pass_level(doc: Document, level: int) -> None:
    """The document passed ``level``: its quality rises to it unless it failed a shallower level."""
    failed = doc.meta.get(FAILED)
    if failed is None or failed > level:
        doc.quality = max(doc.quality, level)


def fail_level(doc: Document, level: int) -> None:
    """The document failed ``level`` but is kept (soft mode)."""
    failed = doc.meta.get(FAILED)
    doc.meta[FAILED] = level if failed is None else min(failed, level)
