"""A request's extra files in, and the files it asks to fetch out, without trusting a name or a link.

Names are checked before anything is written, so that a bad name is the caller's clear error (HTTP 422
with the name and the reason) and never an ``OSError`` in the middle of a run: no absolute path, no
``..`` or ``.``, no empty part, no NUL, no part longer than a file system allows, no name given twice,
and no name that is both a file and a folder (``{"a": ..., "a/b": ...}``).

Fetched files are read after the program ran, from a folder it controlled: every part of the path is
opened relative to the previous one with ``O_NOFOLLOW``, so a link it planted (``out.txt ->
/etc/shadow``) is refused, not followed, and only regular files are read (a FIFO would block).
"""

from __future__ import annotations

import base64
import contextlib
import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

from codemill.sandbox.isolation import SANDBOX_DIR

__all__ = ["FileNameError", "check_names", "fetch", "write_files"]

MAX_PART_BYTES = 255
MAX_PATH_BYTES = 4095


class FileNameError(ValueError):
    """A file name a request may not use (the message names the file and the reason)."""


def _relative(name: str, what: str) -> PurePosixPath:
    if "\0" in name:
        raise FileNameError(f"{what} {name!r}: a NUL character in the name")
    if name.startswith(f"{SANDBOX_DIR}/"):  # the path the program sees: the same file
        name = name[len(SANDBOX_DIR) + 1 :]
    if name.startswith("/"):
        raise FileNameError(f"{what} {name!r}: absolute; only paths inside the sandbox's folder are allowed")
    parts = name.split("/")
    for part in parts:
        if part in ("", ".", ".."):
            raise FileNameError(f"{what} {name!r}: empty, '.' or '..' part; only plain relative paths are allowed")
        if len(part.encode("utf-8", "surrogateescape")) > MAX_PART_BYTES:
            raise FileNameError(f"{what} {name!r}: a part longer than {MAX_PART_BYTES} bytes")
    if len(name.encode("utf-8", "surrogateescape")) > MAX_PATH_BYTES:
        raise FileNameError(f"{what} {name!r}: longer than {MAX_PATH_BYTES} bytes")
    return PurePosixPath(*parts)


def check_names(names: Iterable[str], reserved: Iterable[str] = ()) -> list[PurePosixPath]:
    """The names as relative paths; :class:`FileNameError` for the first one a run cannot hold.

    ``reserved``: names the runner writes itself (the program's file), which a file may not replace."""
    paths = [_relative(name, "file") for name in names]
    seen: dict[PurePosixPath, str] = {}
    for path in paths:
        if path in seen:
            raise FileNameError(f"file {str(path)!r}: given twice")
        seen[path] = "file"
    for path in paths:
        for folder in path.parents[:-1]:
            if seen.get(folder) == "file":
                raise FileNameError(f"file {str(folder)!r} is also the folder of {str(path)!r}")
    for name in reserved:
        if PurePosixPath(name) in seen:
            raise FileNameError(f"file {name!r}: the runner writes the program there")
    return paths


def write_files(folder: Path, files: Mapping[PurePosixPath, bytes]) -> None:
    """Write checked files (see :func:`check_names`) into the fresh run folder."""
    for relative, content in files.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def _open_inside(folder: Path, relative: PurePosixPath) -> int:
    """A read descriptor of a regular file under ``folder``, no link followed; OSError otherwise."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in relative.parts[:-1]:
            child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            os.close(fd)
            fd = child
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        return os.open(relative.parts[-1], flags, dir_fd=fd)
    finally:
        os.close(fd)


def fetch(folder: Path, names: Iterable[str], max_bytes: int) -> tuple[dict[str, str], dict[str, str]]:
    """``(name -> base64 content, name -> why it was left out)`` for the files a request asked back.

    At most ``max_bytes`` in all: a file that would go over is left out, with the reason."""
    found: dict[str, str] = {}
    left_out: dict[str, str] = {}
    budget = max_bytes
    for name in names:
        try:
            relative = _relative(name, "fetched file")
        except FileNameError as error:
            left_out[name] = str(error)
            continue
        try:
            fd = _open_inside(folder, relative)
        except FileNotFoundError:
            left_out[name] = "no such file after the run"
            continue
        except OSError as error:
            left_out[name] = f"not readable as a plain file inside the sandbox's folder ({error.strerror})"
            continue
        with contextlib.closing(os.fdopen(fd, "rb")) as file:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                left_out[name] = "not a regular file"
                continue
            if info.st_size > budget:
                left_out[name] = f"{info.st_size} bytes: over the {max_bytes} bytes a run may fetch in all"
                continue
            data = file.read(budget + 1)
        if len(data) > budget:
            left_out[name] = f"over the {max_bytes} bytes a run may fetch in all"
            continue
        budget -= len(data)
        found[name] = base64.b64encode(data).decode("ascii")
    return found, left_out
