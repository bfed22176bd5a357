"""The sample corpus of ``make run``: real code already on the machine, one repository per package.

It links (never copies) the Python standard library and each top-level package of the running
interpreter's site-packages into a folder, so the default recipe has a few hundred MB of real code to chew.
"""

from __future__ import annotations

import site
import sysconfig
from pathlib import Path


def build_sample_corpus(target: Path) -> list[Path]:
    """Fill ``target`` with symlinks: ``python-stdlib`` and one per installed package; return them."""
    target.mkdir(parents=True, exist_ok=True)
    sources: dict[str, Path] = {"python-stdlib": Path(sysconfig.get_paths()["stdlib"])}
    for sp in sorted({*site.getsitepackages(), sysconfig.get_paths()["purelib"]}):
        root = Path(sp)
        if not root.is_dir():
            continue
        for entry in sorted(root.iterdir()):
            if (
                entry.is_dir()
                and not entry.name.startswith(("_", "."))
                and not entry.name.endswith((".dist-info", ".egg-info", ".data"))
            ):
                sources.setdefault(entry.name, entry.resolve())
    links = []
    for name, source in sources.items():
        link = target / name
        if link.is_symlink() or link.exists():
            if link.is_symlink() and link.resolve() == source.resolve():
                links.append(link)
                continue
            link.unlink()
        link.symlink_to(source, target_is_directory=True)
        links.append(link)
    return links
