"""Where codemill finds its built-in recipe steps: named by module, loaded only when a recipe asks for one.

The engine (``codemill.pipeline``) must not import its plug-ins, or every step module would import the engine
that imports it (an import cycle, and an engine that has to be edited for each new step). So the built-in
steps are found here, in a module that imports nothing of codemill: each module below, and every module of
:data:`FILTER_PACKAGE`, is imported the first time a recipe names a step that is not loaded yet; each
:class:`~codemill.pipeline.step.Step` subclass with a ``name`` registers itself when its module is imported.
A new filter is one file in ``curate/filters/``: nothing to add here. Steps outside codemill are named in a
recipe as ``package.module:ClassName``.
"""

from __future__ import annotations

import importlib
import pkgutil

__all__ = ["FILTER_PACKAGE", "STEP_MODULES", "load_builtin_steps"]

#: every module of this package is scanned for steps (the ladder's filters: one file each)
FILTER_PACKAGE = "codemill.curate.filters"

#: the other modules that define built-in steps (global and final steps)
STEP_MODULES = (
    "codemill.curate.dedup.step",
    "codemill.curate.decontam.step",
    "codemill.curate.overlap",
    "codemill.curate.mix.step",
    "codemill.curate.pack.step",
)


def builtin_step_modules() -> list[str]:
    """The modules that hold codemill's built-in steps, in a stable order."""
    package = importlib.import_module(FILTER_PACKAGE)
    filters = sorted(f"{FILTER_PACKAGE}.{m.name}" for m in pkgutil.iter_modules(package.__path__) if not m.ispkg)
    return [*filters, *STEP_MODULES]


def load_builtin_steps() -> None:
    """Import every module of :func:`builtin_step_modules`, which registers their steps by name."""
    for module in builtin_step_modules():
        importlib.import_module(module)
