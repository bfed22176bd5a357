"""The one progress callback of evaluation: items finish in any order, a caller wants ``(done, total)``."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["counting_progress"]


def counting_progress(total: int, report: Callable[[int, int], None] | None) -> Callable[[int, object], None]:
    """A per-item callback (``generate_many``'s and ``run_many``'s ``(index, item)``) that counts finished items
    and tells ``report`` how many of ``total`` are done."""
    done = 0

    def finished(_index: int, _item: object) -> None:
        nonlocal done
        done += 1
        if report is not None:
            report(done, total)

    return finished
