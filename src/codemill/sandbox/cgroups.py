"""Per-phase control groups (cgroup v1): memory, process count and CPU time of a whole process tree.

Why cgroups rather than rlimits: ``RLIMIT_AS`` counts reserved address space, so it breaks the JVM,
Go and numpy/OpenBLAS (SandboxFusion's memory limit did exactly that); ``RLIMIT_NPROC`` counts every
process of the user, so concurrent runs as ``nobody`` would starve each other; ``RLIMIT_CPU`` is per
process, so a program that forks escapes it. A cgroup counts the resident memory (tmpfs files
included, which is what bounds a disk-fill), the tasks and the CPU time of exactly one run's tree,
and lists its processes so that a timeout can kill every one of them, however they daemonised.

The machines this runs on mount cgroup v1 controllers under ``/sys/fs/cgroup/{memory,pids,cpuacct}``
(see ``shared/reference/offline-resources.md`` §5). Without them (not root, or cgroup v2 only), the
runner falls back to rlimits (``RLIMIT_DATA`` for memory) and says so in ``doctor``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
import uuid
from functools import cache
from pathlib import Path

__all__ = ["CGROUP_ROOT", "CgroupVanished", "PhaseCgroup", "cgroups_available"]

CGROUP_ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "pids", "cpuacct")
PARENT = "codemill-sandbox"


_probe_lock = threading.Lock()


@cache
def _probe() -> bool:
    try:
        for controller in CONTROLLERS:
            parent = CGROUP_ROOT / controller / PARENT
            parent.mkdir(exist_ok=True)
            probe = parent / f"probe-{uuid.uuid4().hex}"
            probe.mkdir()
            probe.rmdir()
        return True
    except OSError:
        return False


def cgroups_available() -> bool:
    """True when this process can create groups in the three v1 controllers (probed once, under a lock:
    the first calls come from a pool's threads at the same moment)."""
    with _probe_lock:
        return _probe()


class CgroupVanished(RuntimeError):
    """A run's group was removed while the run held it (by another process cleaning the parent folder): what it
    measured is lost, so the run is the sandbox's failure, not the program's."""


class PhaseCgroup:
    """One group per controller for one phase of one request; a context manager that removes them."""

    def __init__(self, memory_mb: int, processes: int) -> None:
        name = uuid.uuid4().hex
        # Plain strings and bare system calls: every run makes, reads and removes these, on the run's critical path.
        self._dirs = {c: f"{CGROUP_ROOT}/{c}/{PARENT}/{name}" for c in CONTROLLERS}
        for folder in self._dirs.values():
            os.mkdir(folder)
        limit = str(memory_mb << 20)
        self._write("memory", "memory.limit_in_bytes", limit)
        with contextlib.suppress(OSError):  # only where swap accounting is on
            self._write("memory", "memory.memsw.limit_in_bytes", limit)
        self._write("memory", "memory.swappiness", "0")
        self._write("pids", "pids.max", str(processes))

    @property
    def paths(self) -> dict[str, Path]:
        """The group's folder in each controller."""
        return {c: Path(folder) for c, folder in self._dirs.items()}

    def __enter__(self) -> PhaseCgroup:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def _write(self, controller: str, name: str, value: str) -> None:
        fd = os.open(f"{self._dirs[controller]}/{name}", os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, value.encode())
        finally:
            os.close(fd)

    def _read(self, controller: str, name: str) -> str:
        try:
            fd = os.open(f"{self._dirs[controller]}/{name}", os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise CgroupVanished(
                f"the run's cgroup {self._dirs[controller]} was removed while it ran: is another process cleaning "
                f"{self.paths[controller].parent}? Leave the groups of running sandboxes alone"
            ) from None
        try:
            chunks = []
            while chunk := os.read(fd, 1 << 16):  # cgroup.procs of a fork bomb: up to pids.max lines
                chunks.append(chunk)
        finally:
            os.close(fd)
        return b"".join(chunks).decode()

    @property
    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` files a launcher writes its own pid to before it execs the sandbox."""
        return [f"{folder}/cgroup.procs" for folder in self._dirs.values()]

    def cpu_seconds(self) -> float:
        """CPU time used by every task that has been in the group (children that exited included)."""
        return int(self._read("cpuacct", "cpuacct.usage")) / 1e9

    def memory_peak_mb(self) -> float:
        return int(self._read("memory", "memory.max_usage_in_bytes")) / (1 << 20)

    def oom_killed(self) -> bool:
        """Whether the kernel's OOM killer ended a task of this group (the memory limit was hit)."""
        for line in self._read("memory", "memory.oom_control").splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value) > 0
        return int(self._read("memory", "memory.failcnt")) > 0  # older kernels: no oom_kill counter

    def process_limit_hit(self) -> bool:
        """Whether a fork or a thread was refused because ``pids.max`` was reached."""
        with contextlib.suppress(OSError, ValueError):
            for line in self._read("pids", "pids.events").splitlines():
                key, _, value = line.partition(" ")
                if key == "max":
                    return int(value) > 0
        return False

    def pids(self) -> list[int]:
        """The tasks in the group; none once the group is gone (the kernel removes only an empty group)."""
        with contextlib.suppress(CgroupVanished):
            return [int(p) for p in self._read("pids", "cgroup.procs").split()]
        return []

    def kill_all(self, timeout: float = 5.0) -> None:
        """SIGKILL every task until the group is empty. ``pids.max`` bounds a fork bomb, so this ends."""
        deadline = time.monotonic() + timeout
        while (pids := self.pids()) and time.monotonic() < deadline:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.002)

    def remove(self) -> None:
        """Kill what is left and remove the groups (a group with tasks cannot be removed)."""
        self.kill_all()
        for folder in self._dirs.values():
            for _ in range(100):
                try:
                    os.rmdir(folder)
                    break
                except FileNotFoundError:
                    break
                except OSError:  # EBUSY while the last killed tasks are reaped
                    time.sleep(0.005)
