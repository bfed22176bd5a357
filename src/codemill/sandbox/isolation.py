"""Run one command in its own namespaces, under limits, and read its output without trusting it.

Why bubblewrap: it needs no daemon and no setuid bit, starts in about 20 ms, and gives every run a
fresh mount, PID, network, IPC, UTS and cgroup namespace. Each phase is launched as

    sh (joins the phase's cgroups) -> prlimit (rlimits) -> setpriv (becomes the run's uid) -> bwrap -> program

so the program runs as its run's own uid (``workspace.run_uid``: no two concurrent runs share one) in an
unprivileged user namespace (nested user namespaces disabled),
sees only ``/usr``, ``/etc``, the toolchain folders its language names, a private ``/tmp`` and its
working folder ``/sandbox`` (the only writable place that outlives the phase), has no network at all
(only its own loopback), and is PID 1's child in a PID namespace that the kernel tears down when the
phase ends. The home folder, the project, other runs' folders and the host's processes do not exist
for it.

Python's own command goes to the zygote instead (``zygote.py``), which builds the same isolation after a
fork of a warm interpreter; ``CODEMILL_SANDBOX_ZYGOTE=0`` sends it through bubblewrap too.

Limits are enforced by the sandbox, never by the program's goodwill: wall time by this module's
clock, CPU time by the cgroup's counter (``RLIMIT_CPU`` as a backstop), memory and processes by the
cgroup, file size by ``RLIMIT_FSIZE``, and output by reading at most ``output_bytes`` of each stream
and killing the tree when it wants to write more. When the phase ends, for whatever reason, every
process left in its cgroup is killed, so nothing survives in the background.

The working folder is the run's own size-limited tmpfs (``workspace.py``): files written there are
charged to the run's memory, so a disk-fill ends as ``memory_exceeded`` instead of filling the disk.
Standard input is a sealed memfd: readable, never writable.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import selectors
import shlex
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from codemill.sandbox import zygote
from codemill.sandbox.cgroups import PhaseCgroup, cgroups_available
from codemill.sandbox.launched import Launched
from codemill.sandbox.schema import Limits, PhaseResult
from codemill.sandbox.seccomp import filter_program
from codemill.sandbox.workspace import uid_base, workspace_base

__all__ = [
    "NOBODY",
    "SANDBOX_DIR",
    "IsolationError",
    "PhaseOutcome",
    "execute",
    "isolation_report",
]

NOBODY = 65534
SANDBOX_DIR = "/sandbox"
"""Where the working folder appears inside the sandbox (also the program's HOME and current folder)."""
SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"
SYSTEM_DIRS = ("/usr", "/etc")
"""Bound read-only. Debian 12 merges /bin, /lib and /sbin into /usr; they are recreated as links."""
MERGED_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
BASE_ENV = {"PATH": SANDBOX_PATH, "HOME": SANDBOX_DIR, "TMPDIR": "/tmp", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
"""The whole environment a program starts with, before its language's own variables."""
POLL_SECONDS = 0.05
"""How often CPU time is checked while a phase runs; exit, output and wall time wake the loop at once."""
DRAIN_SECONDS = 2.0
"""After the program ended, how long to wait for the last bytes of its pipes."""


class IsolationError(RuntimeError):
    """The sandbox cannot run anything here (bubblewrap or a helper is missing)."""


@dataclass
class PhaseOutcome:
    """A phase's result plus what only the runner needs: whether the sandbox itself failed to start."""

    result: PhaseResult
    sandbox_failed: bool = False
    marks: dict[str, float] = field(default_factory=dict)
    """``time.monotonic()`` at the end of each step: ``cgroup`` (made), ``spawned`` (the sandbox's first process
    started), ``started`` (the program's own process exists: bwrap's or the zygote's ``child-pid``), ``exited``,
    ``collected`` (output drained, verdict read), ``removed`` (cgroup gone). For profiles only."""


def _as_root() -> bool:
    return os.geteuid() == 0


_tools_lock = threading.Lock()


def _tools() -> dict[str, str]:
    with _tools_lock:
        return _find_tools()


@cache
def _find_tools() -> dict[str, str]:
    found = {name: shutil.which(name, path="/usr/bin:/bin:/usr/sbin:/sbin") for name in ("bwrap", "prlimit", "setpriv")}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        raise IsolationError(
            f"the sandbox needs {', '.join(missing)} (Debian: bubblewrap, util-linux); "
            "run scripts/install_toolchains.sh"
        )
    return {name: str(path) for name, path in found.items()}


def isolation_report() -> dict[str, object]:
    """What isolation this machine gives, for ``doctor``."""
    try:
        tools = _tools()
        version = subprocess.run([tools["bwrap"], "--version"], capture_output=True, text=True).stdout.strip()
    except IsolationError as error:
        return {"bubblewrap": None, "error": str(error)}
    return {
        "bubblewrap": version,
        "cgroups": "v1 memory+pids+cpuacct" if cgroups_available() else "unavailable: rlimits only (RLIMIT_DATA)",
        "seccomp": "deny list" if filter_program() is not None else "none (architecture not in the table)",
        "workspace": str(workspace_base()),
        "user": f"one uid per concurrent run from {uid_base()}" if _as_root() else f"uid {os.geteuid()} (not root)",
    }


def _bwrap_args(workdir: Path, env: Mapping[str, str], binds: Sequence[str], limits: Limits) -> list[str]:
    args = [
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--hostname",
        "sandbox",
    ]
    for directory in SYSTEM_DIRS:
        args += ["--ro-bind", directory, directory]
    for directory in MERGED_DIRS:
        if os.path.islink(directory):
            args += ["--symlink", os.readlink(directory), directory]
        elif os.path.isdir(directory):
            args += ["--ro-bind", directory, directory]
    for directory in binds:
        args += ["--ro-bind-try", directory, directory]
    tmp_size = str(max(limits.memory_mb, 16) << 20)
    args += ["--proc", "/proc", "--dev", "/dev", "--size", tmp_size, "--tmpfs", "/tmp"]
    args += ["--bind", str(workdir), SANDBOX_DIR, "--chdir", SANDBOX_DIR, "--remount-ro", "/", "--clearenv"]
    for key, value in {**BASE_ENV, **env}.items():
        args += ["--setenv", key, value]
    return args


def _prlimit_args(limits: Limits, with_cgroup: bool, own_uid: bool) -> list[str]:
    cpu = math.ceil(limits.cpu_seconds) + 1  # a backstop: the cgroup's counter ends the phase first
    args = [f"--cpu={cpu}:{cpu + 1}", f"--fsize={limits.file_size_mb << 20}", "--core=0", "--nofile=4096"]
    if not with_cgroup:
        # RLIMIT_DATA, not RLIMIT_AS: reserving address space (JVM, Go, OpenBLAS) must stay possible.
        args.append(f"--data={limits.memory_mb << 20}")
        if own_uid:  # a per-user count: only meaningful for a uid of the run's own
            args.append(f"--nproc={limits.processes}")
    return args


def _launcher(
    argv: Sequence[str],
    workdir: Path,
    env: Mapping[str, str],
    binds: Sequence[str],
    limits: Limits,
    cgroup: PhaseCgroup | None,
    status_fd: int,
    seccomp_fd: int | None,
    uid: int | None,
) -> list[str]:
    tools = _tools()
    if uid is None and _as_root():
        uid = NOBODY
    command = [tools["prlimit"], *_prlimit_args(limits, cgroup is not None, uid is not None), "--"]
    if uid is not None:
        command += [tools["setpriv"], f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]
    command += [tools["bwrap"], *_bwrap_args(workdir, env, binds, limits), "--json-status-fd", str(status_fd)]
    if seccomp_fd is not None:
        command += ["--seccomp", str(seccomp_fd)]
    command += ["--", *argv]
    if cgroup is None:
        return command
    join = "; ".join(f"echo $$ > {shlex.quote(f)}" for f in cgroup.procs_files)
    return ["/bin/sh", "-c", f'{join} && exec "$@"', "sandbox-launcher", *command]


def _seccomp_pipe() -> int | None:
    """A pipe's read end holding the seccomp filter, for ``bwrap --seccomp`` (which reads it to the end)."""
    program = filter_program()
    if program is None:
        return None
    read, write = os.pipe()
    os.write(write, program)  # a few hundred bytes: far below a pipe's buffer
    os.close(write)
    return read


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def execute(
    argv: Sequence[str],
    workdir: Path,
    limits: Limits,
    env: Mapping[str, str] | None = None,
    binds: Sequence[str] = (),
    stdin: bytes = b"",
    uid: int | None = None,
) -> PhaseOutcome:
    """Run ``argv`` in the sandbox with ``workdir`` as ``/sandbox``; never raises for what the program does.

    ``uid``: the run's own user (:func:`~codemill.sandbox.workspace.run_uid`); None: ``nobody`` as root.
    """
    cgroup = PhaseCgroup(limits.memory_mb, limits.processes) if cgroups_available() else None
    marks = {"cgroup": time.monotonic()}
    stdin_fd = sealed_stdin(stdin)
    try:
        return _execute(argv, workdir, limits, env or {}, binds, stdin_fd, cgroup, uid, marks)
    finally:
        os.close(stdin_fd)
        if cgroup is not None:
            cgroup.remove()
        marks["removed"] = time.monotonic()


def sealed_stdin(data: bytes) -> int:
    """A read-only view of ``data`` for the program's standard input: a sealed memfd.

    Sealed against writing, growing and shrinking (and against unsealing), so fd 0 is no scratch space:
    a write to it, or to ``/proc/self/fd/0`` reopened, fails with EPERM. Its pages are the request's own
    bytes, already bounded by the request's size."""
    fd = os.memfd_create("codemill-stdin", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.lseek(fd, 0, os.SEEK_SET)
    seals = fcntl.F_SEAL_WRITE | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_SEAL
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
    return fd


def _spawn_bwrap(
    argv: Sequence[str],
    workdir: Path,
    limits: Limits,
    env: Mapping[str, str],
    binds: Sequence[str],
    stdin_fd: int,
    cgroup: PhaseCgroup | None,
    uid: int | None,
) -> Launched:
    """The launcher chain (cgroup join, prlimit, setpriv, bwrap) with the program; OSError if it cannot start."""
    status_r, status_w = os.pipe()
    seccomp_r = _seccomp_pipe()
    inherited = (status_w,) if seccomp_r is None else (status_w, seccomp_r)
    try:
        proc = subprocess.Popen(
            _launcher(argv, workdir, env, binds, limits, cgroup, status_w, seccomp_r, uid),
            stdin=stdin_fd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={"PATH": "/usr/bin:/bin"},
            cwd="/",
            start_new_session=True,
            pass_fds=inherited,
        )
    except OSError:
        os.close(status_r)
        raise
    finally:
        for fd in inherited:
            os.close(fd)
    assert proc.stdout is not None and proc.stderr is not None
    stdout, stderr, pidfd = proc.stdout, proc.stderr, os.pidfd_open(proc.pid)

    def kill() -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the launcher chain, bwrap included; bwrap's init follows

    def close() -> None:
        stdout.close()
        stderr.close()
        os.close(pidfd)

    return Launched(pidfd, stdout.fileno(), stderr.fileno(), status_r, kill, proc.wait, close)


def _zygote_control(argv: Sequence[str], workdir: Path, binds: Sequence[str], limits: Limits, uid: int) -> dict:
    """What the Python zygote needs to isolate one run as bubblewrap would (see ``zygote_main.py``)."""
    cpu = math.ceil(limits.cpu_seconds) + 1
    fsize = limits.file_size_mb << 20
    return {
        "file": argv[-1],
        "folder": str(workdir),
        "root": str(workspace_base() / "root"),
        "uid": uid,
        "binds": [b for b in binds if os.path.exists(b)],
        "merged": list(MERGED_DIRS),
        "tmp_bytes": max(limits.memory_mb, 16) << 20,
        "rlimits": {"cpu": [cpu, cpu + 1], "fsize": [fsize, fsize], "core": [0, 0], "nofile": [4096, 4096]},
        "seccomp": _zygote_seccomp(),
    }


@cache
def _zygote_seccomp() -> str:
    """The zygote's filter, hex: the same for every run, so assembled once (per run it was 8% of the host's time)."""
    return (filter_program(refuse_user_namespaces=True) or b"").hex()


def _spawn(
    argv: Sequence[str],
    workdir: Path,
    limits: Limits,
    env: Mapping[str, str],
    binds: Sequence[str],
    stdin_fd: int,
    cgroup: PhaseCgroup | None,
    uid: int | None,
) -> Launched:
    if cgroup is not None and uid is not None and zygote.serves(argv, True, uid):
        control = _zygote_control(argv, workdir, binds, limits, uid) | {"cgroup_procs": cgroup.procs_files}
        return zygote.spawn(control, {**BASE_ENV, **env}, stdin_fd)
    return _spawn_bwrap(argv, workdir, limits, env, binds, stdin_fd, cgroup, uid)


def _execute(
    argv: Sequence[str],
    workdir: Path,
    limits: Limits,
    env: Mapping[str, str],
    binds: Sequence[str],
    stdin_fd: int,
    cgroup: PhaseCgroup | None,
    uid: int | None,
    marks: dict[str, float],
) -> PhaseOutcome:
    started = time.monotonic()
    try:
        launched = _spawn(argv, workdir, limits, env, binds, stdin_fd, cgroup, uid)
    except OSError as error:
        result = PhaseResult(stderr=f"cannot start the sandbox: {error}")
        return PhaseOutcome(result, sandbox_failed=True, marks=marks)
    marks["spawned"] = time.monotonic()
    status_r = launched.status

    cap = limits.output_bytes
    kept = {launched.stdout: bytearray(), launched.stderr: bytearray()}
    truncated = dict.fromkeys(kept, False)
    status_data = bytearray()
    killed_by: str | None = None

    def kill(reason: str | None) -> None:
        nonlocal killed_by
        if killed_by is None and reason is not None:
            killed_by = reason
        launched.kill()
        if cgroup is not None:
            cgroup.kill_all()

    selector = selectors.DefaultSelector()
    selector.register(launched.pidfd, selectors.EVENT_READ, "exit")
    for fd in kept:
        os.set_blocking(fd, False)
        selector.register(fd, selectors.EVENT_READ, "out")
    os.set_blocking(status_r, False)
    selector.register(status_r, selectors.EVENT_READ, "status")
    deadline = started + limits.wall_seconds
    hard_stop = deadline + DRAIN_SECONDS  # past it, stop waiting for pipes that a killed tree left open
    cpu_check = started + POLL_SECONDS  # the counter is read once a poll, not at every pipe event
    exited = False
    try:
        while True:
            now = time.monotonic()
            if not exited and killed_by is None and now >= deadline:
                kill(_time_limit(cgroup, "wall_time"))
            if now >= hard_stop:
                break
            wake = deadline if not exited and killed_by is None else hard_stop
            events = selector.select(timeout=max(0.0, min(POLL_SECONDS, wake - now)))
            # The exit last: a status document that came in the same wake-up was written before it (``marks``).
            for key, _ in sorted(events, key=lambda event: event[0].data == "exit"):
                fd = key.fd
                if key.data == "exit":
                    exited = True
                    marks["exited"] = time.monotonic()
                    hard_stop = min(hard_stop, time.monotonic() + DRAIN_SECONDS)
                    selector.unregister(fd)
                    # The program is gone: whatever it left behind dies now, which also closes the pipes.
                    kill(None)
                    continue
                try:
                    data = os.read(fd, 1 << 16)
                except BlockingIOError:
                    continue
                if not data:
                    selector.unregister(fd)
                    continue
                if key.data == "status":
                    status_data += data
                    if "started" not in marks and b"child-pid" in status_data:
                        marks["started"] = time.monotonic()
                    continue
                room = cap - len(kept[fd])
                if len(data) > room:
                    kept[fd] += data[: max(room, 0)]
                    truncated[fd] = True
                    if not exited:
                        kill("output")
                else:
                    kept[fd] += data
            if not exited and cgroup is not None and killed_by is None and time.monotonic() >= cpu_check:
                cpu_check = time.monotonic() + POLL_SECONDS
                if cgroup.cpu_seconds() > limits.cpu_seconds:
                    kill(_time_limit(cgroup, "cpu_time"))
            if exited and not selector.get_map():
                break
    finally:
        selector.close()
        os.close(status_r)
        returncode = launched.wait()
        launched.close()
    wall = time.monotonic() - started

    cpu = memory = None
    oom = process_limit = False
    if cgroup is not None:
        cpu, memory, oom = cgroup.cpu_seconds(), cgroup.memory_peak_mb(), cgroup.oom_killed()
        process_limit = cgroup.process_limit_hit()
    statuses = list(_json_documents(_decode(bytes(status_data))))
    started_child = any("child-pid" in s for s in statuses)
    exit_status = next((s["exit-code"] for s in statuses if "exit-code" in s), None)

    exit_code: int | None = None
    sig: int | None = None
    if exit_status is None and returncode < 0:  # the launcher was killed (by us) before the program ended
        sig = -returncode
    else:
        code = exit_status if exit_status is not None else returncode
        if 128 < code < 128 + 65:  # bwrap reports "killed by signal N" as 128 + N, as shells do
            sig = code - 128
        else:
            exit_code = code
    if oom and killed_by is None:
        killed_by = "memory"
    if killed_by is None and sig == signal.SIGXCPU:
        killed_by = "cpu_time"
    if killed_by is None and sig == signal.SIGXFSZ:
        killed_by = "file_size"

    out_bytes, err_bytes = kept.values()
    out_trunc, err_trunc = truncated.values()
    result = PhaseResult(
        exit_code=exit_code,
        signal=sig,
        stdout=_decode(bytes(out_bytes)),
        stderr=_decode(bytes(err_bytes)),
        stdout_truncated=out_trunc,
        stderr_truncated=err_trunc,
        wall_seconds=round(wall, 4),
        cpu_seconds=None if cpu is None else round(cpu, 4),
        memory_peak_mb=None if memory is None else round(memory, 2),
        killed_by=killed_by,  # type: ignore[arg-type]
        process_limit_hit=process_limit,
    )
    # bwrap exits 1 with "bwrap: ..." when it could not build the sandbox; the program never started then.
    sandbox_failed = not started_child and killed_by is None
    marks["collected"] = time.monotonic()
    return PhaseOutcome(result, sandbox_failed=sandbox_failed, marks=marks)


def _time_limit(cgroup: PhaseCgroup | None, reason: str) -> str:
    """Why a phase whose time ran out ends: ``memory`` if the OOM killer had already ended one of its processes.

    The memory limit came first: on a loaded machine a killed program can take longer to be gone than the
    rest of its wall time (seen through the zygote, whose runs once shared one scheduler autogroup)."""
    return "memory" if cgroup is not None and cgroup.oom_killed() else reason


def _json_documents(text: str) -> Iterator[dict[str, int]]:
    """bwrap's status documents, one JSON object per line (older versions concatenate them)."""
    decoder = json.JSONDecoder()
    index, text = 0, text.strip()
    while index < len(text):
        try:
            document, index = decoder.raw_decode(text, index)
        except json.JSONDecodeError:
            return
        yield document
        while index < len(text) and text[index].isspace():
            index += 1
