"""Re-exports for a package's ``__init__`` that import a submodule only when one of its names is first used.

Importing ``package.cli`` imports ``package`` first; with eager re-exports, showing a command's help would import
everything the package re-exports (numpy, pyarrow, pydantic models). ``from package import name`` still works.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable


def lazy_exports(
    package: str, exports: dict[str, tuple[str, ...]]
) -> tuple[list[str], Callable[[str], object], Callable[[], list[str]]]:
    """``__all__``, ``__getattr__`` and ``__dir__`` for ``package``, re-exporting ``exports[submodule]`` names.

    No name may be a submodule's own: importing the submodule would set that attribute to the module."""
    where = {name: submodule for submodule, names in exports.items() for name in names}

    def __getattr__(name: str) -> object:
        submodule = where.get(name)
        if submodule is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{submodule}"), name)
        setattr(sys.modules[package], name, value)  # the next lookup finds it without calling this
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *where})

    return list(where), __getattr__, __dir__
