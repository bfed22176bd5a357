"""Compare two ``codemill curate`` output folders file by file: are ``data/``, ``rejected/``, ``mix/`` and ``packed/``
byte-identical?

Usage: ``python scripts/compare_runs.py BEFORE AFTER``. Every file under those folders is hashed (sha256) on both
sides; a file only on one side, or with another hash, is printed. Two files hold what differs from run to run by
nature, and are compared as JSON without those keys instead (printed as such, so a reader sees what was set
aside): ``packed/pack.json`` (``seconds``, ``tokens_per_second``: timings) and ``mix/mix.json`` (``inputs``: the
absolute paths of the run's folders). ``stats.json`` is compared the same way, without every ``seconds`` and
rate key and the run's paths. Exit status 0 when nothing differs, 1 otherwise.

``--documents`` (``python scripts/compare_runs.py --documents BEFORE AFTER``): a Parquet file whose bytes differ is
compared as documents, row by row in order (id, text, kind, language, repository, path, quality, meta, scores as
a mapping, the rejection's step, reason and detail), for a change of encoding such as the scores' move from a map
column to flat ``score_<name>`` columns. Measured so for the redesign: ``make run``'s corpus through the default
recipe at 5383434 (before) and 8cb82db (after), 20,161 kept and 12,720 rejected documents and the mix's 1,309:
the same documents in the same order everywhere, ``packed/`` byte-identical.
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
    "stats.json": frozenset(
        {
            "seconds",
            "mb_per_second",
            "docs_per_second",
            "tokens_per_second",
            "section",
            "output",
            "inputs",
            "started",
            "finished",
        }
    ),
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


def documents(path: Path) -> list[tuple]:
    """A Parquet file's rows as documents: every field, the scores as a mapping (whichever columns hold them)."""
    import pyarrow.parquet as pq

    from codemill.data.schema import Document

    out = []
    for row in pq.read_table(path).to_pylist():
        doc = Document.from_row(row)
        rejection = sorted((k, row[k]) for k in ("rejected_by", "reason", "detail") if k in row)
        meta = json.dumps(doc.meta, sort_keys=True)
        fields = (doc.id, doc.text, doc.kind, doc.lang, doc.repo, doc.path, doc.quality, meta)
        out.append((*fields, sorted(doc.scores.items()), rejection))
    return out


def compare(before: Path, after: Path, as_documents: bool = False) -> list[str]:
    """One line per difference; empty when the runs agree. ``as_documents``: Parquet files whose bytes differ
    are compared row by row as documents (a new encoding of the same documents is no difference)."""
    left, right = files_of(before), files_of(after)
    problems = [f"only in {before}: {name}" for name in sorted(left.keys() - right.keys())]
    problems += [f"only in {after}: {name}" for name in sorted(right.keys() - left.keys())]
    same = 0
    for name in sorted(left.keys() & right.keys()):
        if digest(left[name]) == digest(right[name]):
            same += 1
            continue
        if as_documents and name.endswith(".parquet") and documents(left[name]) == documents(right[name]):
            print(f"same documents in another encoding: {name}")
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
    as_documents = "--documents" in argv
    argv = [a for a in argv if a != "--documents"]
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    before, after = map(Path, argv)
    problems = compare(before, after, as_documents)
    for line in problems:
        print(line)
    print("identical" if not problems else f"{len(problems)} difference(s)")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
