"""A run's writable space and its user: a size-limited tmpfs of its own, a uid of its own, nothing left after.

Why a tmpfs per run (mounted on the host, when the sandbox runs as root): its pages are charged to the
memory cgroup of the phase that writes them, its size is capped at mount time, and removing it is one
``umount`` that cannot fail however the program shaped its folder (a 20,000-deep tree made
``shutil.rmtree`` raise ``RecursionError`` and leave 200 MiB in ``/dev/shm``, charged to no cgroup). Bound
into the sandbox, its root shows in the mount table as ``/ /sandbox ... tmpfs codemill-run``: the
host's folder name is not visible. Where mounting is not allowed (not root), the folder is a plain one
under the workspace base, removed by :func:`remove_tree`, which walks without recursion, never follows
a link and logs what it cannot remove instead of raising.

Why a uid per run slot: per-user kernel counters (inotify instances, ``RLIMIT_NPROC``, user
namespaces, message queues) are shared by everything that runs as one uid, so with one shared
``nobody`` a run that used up inotify instances made a concurrent run's ``inotify_init`` fail. Each
concurrent run takes the lowest free slot (``flock`` on a slot file, so slots are distinct across the
threads and the processes of one machine) and runs as ``UID_BASE + slot``, a uid no account uses.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import logging
import os
import stat
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from codemill.sandbox.cgroups import cgroups_available

__all__ = ["MOUNT_SOURCE", "Workspace", "remove_tree", "run_uid", "uid_base", "workspace", "workspace_base"]

log = logging.getLogger(__name__)

MOUNT_SOURCE = "codemill-run"
"""The tmpfs's source name, what the mount table shows instead of a host path."""
INODES = 65536
"""Files and folders a run may create: tmpfs inodes are kernel memory that no cgroup v1 limit counts."""
UID_BASE = 1_900_000_000
"""First uid of the run slots (``CODEMILL_SANDBOX_UID_BASE``): below 2**31, far from any account's uid."""
MAX_SLOTS = 65536
_MNT_DETACH = 2
_MS_NOSUID, _MS_NODEV = 2, 4


def _as_root() -> bool:
    return os.geteuid() == 0


def uid_base() -> int:
    return int(os.environ.get("CODEMILL_SANDBOX_UID_BASE") or UID_BASE)


_base_lock = threading.Lock()


def workspace_base() -> Path:
    """Where run folders live: ``/dev/shm`` when the memory cgroup charges what is written there."""
    with _base_lock:
        return _make_base()


@cache
def _make_base() -> Path:
    shm = Path("/dev/shm")
    use_shm = cgroups_available() and shm.is_dir() and os.access(shm, os.W_OK)
    base = (shm if use_shm else Path(tempfile.gettempdir())) / "codemill-sandbox"
    base.mkdir(mode=0o711, exist_ok=True)
    (base / "slots").mkdir(mode=0o700, exist_ok=True)
    (base / "root").mkdir(mode=0o700, exist_ok=True)  # where the zygote's runs mount their root, each in its own ns
    return base


@contextlib.contextmanager
def run_uid() -> Iterator[int | None]:
    """The uid of a free run slot, held until the context ends; None when not root (runs as the caller)."""
    if not _as_root():
        yield None
        return
    slots = workspace_base() / "slots"
    for slot in range(MAX_SLOTS):
        fd = os.open(slots / str(slot), os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        try:
            yield uid_base() + slot
        finally:
            os.close(fd)  # closing the only descriptor releases the lock
        return
    raise RuntimeError(f"all {MAX_SLOTS} sandbox run slots are in use")


@dataclass
class Workspace:
    """One run's folder (``/sandbox`` inside), the uid its phases run as, and how it is held."""

    path: Path
    uid: int | None
    mounted: bool
    problems: list[str] = field(default_factory=list)
    """What the clean-up could not do (logged too); empty when everything went."""


@cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _mount_tmpfs(path: Path, size_mb: int, uid: int | None) -> bool:
    """Mount a fresh tmpfs on ``path``; False (logged at debug level) where mounting is not allowed."""
    if not _as_root():
        return False
    owner = uid if uid is not None else 0
    options = f"size={size_mb}m,nr_inodes={INODES},mode=0700,uid={owner},gid={owner}"
    done = _libc().mount(MOUNT_SOURCE.encode(), str(path).encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, options.encode())
    if done != 0:
        log.debug("cannot mount a tmpfs for the run (%s): using a plain folder", os.strerror(ctypes.get_errno()))
        return False
    return True


@contextlib.contextmanager
def workspace(size_mb: int = 512) -> Iterator[Workspace]:
    """A fresh run folder of at most ``size_mb`` MiB and its run uid; gone when the context ends, always."""
    with run_uid() as uid:
        path = Path(tempfile.mkdtemp(prefix="run-", dir=workspace_base()))
        space = Workspace(path, uid, _mount_tmpfs(path, size_mb, uid))
        try:
            if not space.mounted:
                if uid is not None:
                    os.chown(path, uid, uid)
                path.chmod(0o700)
            yield space
        finally:
            release(space)


def release(space: Workspace) -> None:
    """Unmount (or remove) the run folder. Never raises: what it cannot do is logged and kept in ``problems``."""
    try:
        if space.mounted and _libc().umount2(str(space.path).encode(), _MNT_DETACH) != 0:
            space.problems.append(f"umount {space.path}: {os.strerror(ctypes.get_errno())}")
        space.problems += remove_tree(space.path)
    except Exception as error:  # a clean-up must not turn a finished run into a crash
        space.problems.append(f"clean-up of {space.path}: {error!r}")
    for problem in space.problems:
        log.warning("sandbox clean-up: %s", problem)


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _open_dir(name: str, parent: int) -> int:
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except PermissionError:  # a folder the program made unreadable (only without CAP_DAC_OVERRIDE)
        os.chmod(name, 0o700, dir_fd=parent, follow_symlinks=False)
        return os.open(name, _DIR_FLAGS, dir_fd=parent)


def _clear(fd: int, problems: list[str]) -> list[str]:
    """Unlink every non-folder in the folder ``fd``; return its subfolders' names (links are not followed)."""
    folders = []
    with os.scandir(fd) as entries:
        for entry in entries:
            try:
                if stat.S_ISDIR(entry.stat(follow_symlinks=False).st_mode):
                    folders.append(entry.name)
                else:
                    os.unlink(entry.name, dir_fd=fd)
            except OSError as error:
                problems.append(f"unlink {entry.name!r}: {error}")
    return folders


def remove_tree(root: Path) -> list[str]:
    """Remove ``root`` and everything under it; the problems met, as text (empty: all removed). Never raises.

    Iterative and descriptor-relative: depth costs one name per level (no recursion, no path longer
    than a name, one open descriptor), and a link is removed, never followed.
    """
    problems: list[str] = []
    try:
        fd = os.open(root, _DIR_FLAGS)
    except FileNotFoundError:
        return problems
    except OSError as error:
        return [f"open {root}: {error}"]
    frames: list[tuple[str | None, list[str]]] = []
    try:
        frames.append((None, _clear(fd, problems)))
        while frames:
            name, pending = frames[-1]
            if pending:
                child = pending.pop()
                try:
                    child_fd = _open_dir(child, fd)
                except OSError as error:
                    problems.append(f"open {child!r}: {error}")
                    continue
                os.close(fd)
                fd = child_fd
                frames.append((child, _clear(fd, problems)))
                continue
            frames.pop()
            if name is None:
                break
            parent = os.open("..", _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = parent
            try:
                os.rmdir(name, dir_fd=fd)
            except OSError as error:
                problems.append(f"rmdir {name!r} at depth {len(frames)}: {error}")
    except OSError as error:
        problems.append(f"walking {root}: {error}")
    finally:
        os.close(fd)
    try:
        os.rmdir(root)
    except OSError as error:
        if error.errno != errno.ENOENT:
            problems.append(f"rmdir {root}: {error}")
    return problems
