"""Finding the input: which files a run reads, cut into units of work, in a fixed order.

Planning walks the input once and writes down every unit (a source file of a repository, a JSONL file, a
range of row groups of a Parquet file). The order is sorted, so the same input always gives the same plan,
and the plan is saved with the run: a restarted run reads exactly the same units into the same shards.

With ``format: auto`` a folder is read for what each thing in it is (:func:`iter_units`): JSONL and Parquet files
as data, sub-folders as repositories, a sub-folder of only data files as data, a sub-folder of linked (or
version-controlled) repositories as those repositories, and a version-controlled folder as one repository.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, field_validator

from codemill.data.textio import is_jsonl, is_parquet

SourceKind = Literal["repo_file", "jsonl", "parquet"]

#: Folders that hold version control, vendored copies, build output or caches, never hand-written code.
DEFAULT_SKIP_DIRS: tuple[str, ...] = (
    ".git",
    ".hg",
    ".svn",
    ".bzr",
    "CVS",
    "node_modules",
    "bower_components",
    "vendor",
    "vendored",
    "_vendor",
    "third_party",
    "third-party",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".tox",
    ".nox",
    ".venv",
    "venv",
    "site-packages",
    "dist-packages",
    "build",
    "dist",
    "target",
    ".gradle",
    ".idea",
    ".vscode",
    ".eggs",
    ".cache",
)

#: Column names of The Stack (v1/v2 "smol" dumps and BigCode-style Parquet) mapped to our contract.
COLUMN_PRESETS: dict[str, dict[str, str]] = {
    "stack": {
        "text": "content",
        "repo": "max_stars_repo_name",
        "path": "max_stars_repo_path",
        "lang": "lang",
    },
}


class ReadOptions(BaseModel):
    """How to read the input: what it is, which columns mean what, and what is too big to read."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["auto", "repos", "jsonl", "parquet"] = Field(
        "auto",
        description="auto: a file by its suffix, a folder by what it holds (data files, repositories, both)",
    )
    columns: dict[str, str] = Field(
        default_factory=dict, description="contract column -> input column, or the preset name 'stack'"
    )
    kind: Literal["code", "text", "math", "synthetic"] = Field(
        "code", description="kind given to documents whose input does not say"
    )
    max_file_bytes: int = Field(
        20_000_000, gt=0, description="repository files larger than this are rejected without being read"
    )
    max_record_bytes: int = Field(
        64_000_000, gt=0, description="JSONL lines larger than this are rejected without being parsed"
    )
    skip_dirs: list[str] = Field(default_factory=lambda: list(DEFAULT_SKIP_DIRS))

    @field_validator("columns", mode="before")
    @classmethod
    def _expand_preset(cls, value: object) -> object:
        if isinstance(value, str):
            if value not in COLUMN_PRESETS:
                raise ValueError(f"unknown column preset {value!r}; presets: {', '.join(COLUMN_PRESETS)}")
            return dict(COLUMN_PRESETS[value])
        return value

    @field_validator("columns")
    @classmethod
    def _known_columns(cls, value: dict[str, str]) -> dict[str, str]:
        allowed = {"id", "text", "kind", "lang", "repo", "path", "meta", "scores", "quality"}
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise ValueError(f"cannot map {unknown}: contract columns are {sorted(allowed)}")
        return value


@dataclass(frozen=True, slots=True)
class Unit:
    """The smallest piece of input one worker reads."""

    source: SourceKind
    path: str  # where to read it
    name: str  # stable name used for ids: path inside the repo, or the data file's path under the input
    size: int  # bytes on disk (for Parquet row groups: their compressed size)
    repo: str = ""
    row_groups: tuple[int, ...] = ()

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Unit:
        return cls(**{**data, "row_groups": tuple(data.get("row_groups", ()))})


class InputError(ValueError):
    """The input cannot be planned at all (missing path, unknown format): the run stops with this message."""


#: what marks a folder as a version-controlled checkout: one repository, whatever its layout
VCS_MARKERS: tuple[str, ...] = (".git", ".hg", ".svn", ".bzr")


def resolve_format(path: Path, requested: str) -> str:
    """How to read one input path: ``jsonl``, ``parquet``, ``repos``, or ``folder`` (auto: by what it holds)."""
    if requested != "auto":
        return requested
    if path.is_file():
        if is_jsonl(path):
            return "jsonl"
        if is_parquet(path):
            return "parquet"
        raise InputError(
            f"{path}: cannot tell the format from the name; use .jsonl(.gz/.zst) or .parquet, or pass --format"
        )
    return "folder"


def iter_units(inputs: list[Path], options: ReadOptions) -> Iterator[Unit]:
    """Every unit of every input, in a deterministic order."""
    for root in inputs:
        if not root.exists():
            raise InputError(f"input path {root} does not exist")
        fmt = resolve_format(root, options.format)
        if fmt == "folder":
            yield from _folder_units(root, set(options.skip_dirs))
        elif fmt == "repos":
            if not root.is_dir():
                raise InputError(f"{root}: --format repos needs a folder of repositories")
            yield from _repo_units(root, set(options.skip_dirs))
        else:
            wanted = is_parquet if fmt == "parquet" else is_jsonl
            files = [root] if root.is_file() else sorted(_data_files(root, wanted))
            for f in files:
                yield from _data_units(f, f.name if root.is_file() else f.relative_to(root).as_posix())


def _is_data(path: Path) -> bool:
    return is_jsonl(path) or is_parquet(path)


def _data_units(path: Path, name: str) -> Iterator[Unit]:
    """The units of one data file, read by its suffix."""
    if is_parquet(path):
        yield from _parquet_units(path, name)
    else:
        yield Unit("jsonl", str(path), name, _size(path))


def _is_checkout(folder: Path) -> bool:
    return any((folder / marker).exists() for marker in VCS_MARKERS)


def _folder_kind(folder: Path, skip_dirs: set[str]) -> str:
    """``data`` (only JSONL/Parquet files under it), ``repositories`` (no files of its own, and every sub-folder
    is a link or a checkout: a folder of linked repositories, like the sample corpus's ``repos/``) or ``repository``."""
    if _is_checkout(folder):
        return "repository"
    entries = [e for e in folder.iterdir() if not e.name.startswith(".")]
    subfolders = [e for e in entries if e.is_dir() and e.name not in skip_dirs]
    linked = subfolders and all(e.is_symlink() or _is_checkout(e) for e in subfolders)
    if linked and not any(e.is_file() for e in entries):
        return "repositories"
    files = _walk_files(folder)
    first = next(files, None)
    if first is not None and _is_data(first) and all(_is_data(f) for f in files):
        return "data"
    return "repository"


def _walk_files(folder: Path) -> Iterator[Path]:
    """Every file under ``folder`` (hidden ones left out), sorted, without following linked folders inside it."""
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fn in sorted(filenames):
            if not fn.startswith("."):
                yield Path(dirpath) / fn


def _folder_units(root: Path, skip_dirs: set[str]) -> Iterator[Unit]:
    """A folder read for what each thing in it is (``format: auto``).

    A checkout is one repository named after the folder. Otherwise its loose JSONL/Parquet files (linked ones
    too) are data; its other loose files belong to a repository named after the folder (linked ones are left
    out, as inside a repository); each sub-folder is data, a folder of repositories, or a repository
    (:func:`_folder_kind`). Data files are named by their path under ``root``, repositories by their folder.
    """
    if _is_checkout(root):
        yield from _repository_units(root, root.name, skip_dirs)
        return
    entries = sorted(root.iterdir())
    for f in (e for e in entries if e.is_file()):
        if _is_data(f):
            yield from _data_units(f, f.name)
        elif not f.is_symlink():
            yield Unit("repo_file", str(f), f.name, _size(f), repo=root.name)
    for folder in (e for e in entries if e.is_dir() and e.name not in skip_dirs):
        kind = _folder_kind(folder, skip_dirs)
        if kind == "data":
            for f in _walk_files(folder):
                yield from _data_units(f, f.relative_to(root).as_posix())
        elif kind == "repositories":
            for repo in sorted(e for e in folder.iterdir() if e.is_dir() and e.name not in skip_dirs):
                yield from _repository_units(repo, repo.name, skip_dirs)
        else:
            yield from _repository_units(folder, folder.name, skip_dirs)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _data_files(root: Path, wanted: Callable[[Path], bool]) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fn in filenames:
            if wanted(Path(fn)):
                yield Path(dirpath) / fn


def _parquet_units(path: Path, name: str, target_rows_per_unit: int = 50_000) -> Iterator[Unit]:
    """One unit per run of row groups, so a huge Parquet file is still spread over many workers."""
    try:
        meta = pq.ParquetFile(path).metadata
    except Exception:  # a corrupt file is reported by the reader, with its reason
        yield Unit("parquet", str(path), name, _size(path))
        return
    group: list[int] = []
    rows = size = 0
    for i in range(meta.num_row_groups):
        rg = meta.row_group(i)
        group.append(i)
        rows += rg.num_rows
        size += rg.total_byte_size
        if rows >= target_rows_per_unit:
            yield Unit("parquet", str(path), name, size, row_groups=tuple(group))
            group, rows, size = [], 0, 0
    if group or meta.num_row_groups == 0:
        yield Unit("parquet", str(path), name, size, row_groups=tuple(group))


def _repo_units(root: Path, skip_dirs: set[str]) -> Iterator[Unit]:
    """``--format repos``: each sub-folder of ``root`` is a repository; loose files at the top belong to a repo
    named after root."""
    top_files = sorted(e for e in root.iterdir() if e.is_file() and not e.is_symlink())
    for f in top_files:
        yield Unit("repo_file", str(f), f.name, _size(f), repo=root.name)
    repos = sorted(e for e in root.iterdir() if e.is_dir() and e.name not in skip_dirs)
    for repo in repos:
        yield from _repository_units(repo, repo.name, skip_dirs)


def _repository_units(repo: Path, name: str, skip_dirs: set[str]) -> Iterator[Unit]:
    """Every file of one repository, by its path inside it; ``repo`` itself may be a link, links inside are not
    followed (a link inside a repo points at a file read elsewhere, or outside the repo)."""
    for dirpath, dirnames, filenames in os.walk(repo):
        dirnames[:] = sorted(d for d in dirnames if d not in skip_dirs and not d.endswith(".egg-info"))
        base = Path(dirpath)
        for fn in sorted(filenames):
            f = base / fn
            if not f.is_symlink():
                yield Unit("repo_file", str(f), f.relative_to(repo).as_posix(), _size(f), repo=name)


def plan_shards(units: Iterator[Unit], target_bytes: int, max_units: int) -> Iterator[list[Unit]]:
    """Group units into shards of about ``target_bytes`` (and at most ``max_units`` units) each."""
    shard: list[Unit] = []
    size = 0
    for unit in units:
        shard.append(unit)
        size += unit.size
        if size >= target_bytes or len(shard) >= max_units:
            yield shard
            shard, size = [], 0
    if shard:
        yield shard
