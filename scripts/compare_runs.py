"""Compare two ``codemill curate`` output folders file by file: are ``data/``, ``rejected/``, ``mix/`` and ``packed/``
byte-identical?

Usage: ``python scripts/compare_runs.py BEFORE AFTER``. Every file under those folders is hashed (sha256) on both
sides; a file only on one side, or with another hash, is printed. Two files hold what differs from run to run by
nature, and are compared as JSON without those keys instead (printed as such, so a reader sees what was set
aside): ``packed/pack.json`` (``seconds``, ``tokens_per_second``: timings) and ``mix/mix.json`` (``inputs``: the
absolute paths of the run's folders). ``stats.json`` is compared the same way, without every ``seconds`` and
rate key and the run's paths. Exit status 0 when nothing differs, 1 otherwise.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

FOLDERS = ("data", "rejected", "mix", "packed")
#: files whose listed keys hold timings or absolute paths: compared as JSON without them
VOLATILE_KEYS: dict[str, frozenset[str]] = {
    "packed/pack.json": frozenset({"seconds", "tokens_per_second"}),
    "mix/mix.json": frozenset({"inputs"}),
    "stats.json": frozenset({"seconds", "mb_per_second", "docs_per_second", "output", "inputs", "started", "finished"}),
}


def digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def files_of(root: Path) -> dict[str, Path]:
    """Every file under the compared folders of a run, by its path relative to the run."""
    found = {str(p.relative_to(root)): p for folder in FOLDERS for p in (root / folder).rglob("*") if p.is_file()}
    if (root / "stats.json").is_file():
        found["stats.json"] = root / "stats.json"
    return found


def without(value: Any, keys: frozenset[str]) -> Any:
    """``value`` with the keys ``keys`` removed at every depth."""
    if isinstance(value, dict):
        return {k: without(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [without(v, keys) for v in value]
    return value


def compare(before: Path, after: Path) -> list[str]:
    """One line per difference; empty when the runs agree."""
    left, right = files_of(before), files_of(after)
    problems = [f"only in {before}: {name}" for name in sorted(left.keys() - right.keys())]
    problems += [f"only in {after}: {name}" for name in sorted(right.keys() - left.keys())]
    same = 0
    for name in sorted(left.keys() & right.keys()):
        if digest(left[name]) == digest(right[name]):
            same += 1
            continue
        keys = VOLATILE_KEYS.get(name)
        if keys is not None:
            a, b = (without(json.loads(p.read_text()), keys) for p in (left[name], right[name]))
            if a == b:
                print(f"same but for {', '.join(sorted(keys))}: {name}")
                continue
        problems.append(f"differs: {name}")
    print(f"{same:,} of {len(left.keys() & right.keys()):,} files byte-identical")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    before, after = map(Path, argv)
    problems = compare(before, after)
    for line in problems:
        print(line)
    print("identical" if not problems else f"{len(problems)} difference(s)")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
