"""The Python zygote: one warm interpreter that forks a fresh, isolated child for every Python program.

Run by the system's ``python3 -E -s -B`` (the interpreter the ``python`` entry runs programs with), as root,
from ``zygote.py``; it imports nothing of codemill. Why: starting bubblewrap and then an interpreter costs
most of a short program's run (the HumanEval bench's profile); a fork of an interpreter that has already
started, with the modules programs import most already imported, costs a millisecond. Isolation is built
per program, after the fork, with the same pieces bubblewrap uses, by code that runs before any of the
program's code:

1. the zygote never reads a program: it gets a control message (the run folder, the run's uid, limits,
   the cgroup files to join) and four descriptors (stdin, stdout, stderr, status), and forks the run into a
   PID namespace of its own (``unshare(CLONE_NEWPID)`` before the fork, ``setns`` back after it: the run is
   PID 1 there, the zygote stays where it was); it answers with the run's pidfd, and when the run ends it
   reaps it and writes its exit status (bwrap's JSON shape);
2. the run starts a session of its own, joins the phase's cgroups, unshares mount, network, IPC, UTS and
   cgroup namespaces, builds a new root (a small read-only tmpfs with ``/usr`` and ``/etc`` bound
   read-only, a fresh ``/proc``, a ``/dev`` of six devices, its own sized ``/tmp``, the run folder at
   ``/sandbox``), ``pivot_root``s into it and detaches the old one, brings its loopback up, sets rlimits,
   closes every other descriptor, becomes the run's uid (no capability left), sets no-new-privileges and
   the seccomp filter (the sandbox's, plus: no new user namespace), clears the environment to the
   sandbox's, and only then reads ``main.py`` and runs it as ``__main__``.

One fork per run: an earlier design forked a helper that unshared and forked again, and each Python fork and
exit costs about a millisecond (the bench's profile).

What differs from a fresh ``python3 main.py``: the modules in ``PRELOAD`` are already imported (each child
gets its own copy: nothing a program does reaches the zygote or another program), and the hash seed of
``str`` is the zygote's for its lifetime, not a fresh one per program.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import gc
import json
import os
import resource
import selectors
import signal
import socket
import struct
import sys
import traceback

PRELOAD = (
    "typing",
    "math",
    "re",
    "collections",
    "itertools",
    "functools",
    "string",
    "heapq",
    "bisect",
    "random",
    "hashlib",
    "fractions",
    "statistics",
    "json",
    "copy",
    "operator",
    "dataclasses",
)
"""Imported once in the zygote: what HumanEval-style programs import (``typing`` alone is ~5 ms cold)."""

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC = 0x20000, 0x02000000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC = 1, 2, 4, 8, 32, 4096, 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 1, 4, 38, 22, 2
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}[os.uname().machine]
SIOCSIFFLAGS, IFF_UP, IFF_LOOPBACK, IFF_RUNNING = 0x8914, 0x1, 0x8, 0x40
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
RLIMITS = {"cpu": 0, "fsize": 1, "data": 2, "core": 4, "nproc": 6, "nofile": 7}

libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    encode = lambda text: None if text is None else text.encode()  # noqa: E731
    _check(libc.mount(encode(source), target.encode(), encode(fstype), flags, encode(data)), f"mount {target}")


def _bind_read_only(source: str, target: str) -> None:
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    _mount(source, target, None, MS_BIND | MS_REC)
    _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _new_root(request: dict) -> None:
    """Build the run's file system view and enter it (still root, in the new namespaces)."""
    root, uid = request["root"], request["uid"]
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing below propagates to the host
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
    for folder in ("/usr", "/etc", *request["binds"]):
        if os.path.exists(folder):
            _bind_read_only(folder, root + folder)
    for folder in request["merged"]:
        if os.path.islink(folder):
            os.symlink(os.readlink(folder), root + folder)
        elif os.path.isdir(folder):
            _bind_read_only(folder, root + folder)
    os.mkdir(root + "/proc")
    _mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    dev = root + "/dev"
    os.mkdir(dev)
    _mount("tmpfs", dev, "tmpfs", MS_NOSUID, f"mode=0755,size=64k,uid={uid},gid={uid}")
    for name in DEVICES:
        if not os.path.exists(f"/dev/{name}"):
            continue
        open(f"{dev}/{name}", "a").close()
        _mount(f"/dev/{name}", f"{dev}/{name}", None, MS_BIND)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1")):
        os.symlink(target, f"{dev}/{name}")
    os.symlink("/proc/self/fd/2", f"{dev}/stderr")
    os.mkdir(f"{dev}/shm")
    os.chown(f"{dev}/shm", uid, uid)
    os.mkdir(root + "/tmp")
    tmp_options = f"size={request['tmp_bytes']},mode=0755,uid={uid},gid={uid}"
    _mount("tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, tmp_options)
    os.mkdir(root + "/sandbox")
    _mount(request["folder"], root + "/sandbox", None, MS_BIND)
    _mount(None, root + "/sandbox", None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV)
    os.mkdir(root + "/.old")
    _check(libc.syscall(SYS_PIVOT_ROOT, root.encode(), (root + "/.old").encode()), "pivot_root")
    os.chdir("/")
    _check(libc.umount2(b"/.old", MNT_DETACH), "umount the old root")
    os.rmdir("/.old")
    _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", IFF_UP | IFF_LOOPBACK | IFF_RUNNING))


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]


def _become_the_run(request: dict) -> None:
    """Rlimits, then the run's uid (every capability gone), then no-new-privileges and the seccomp filter."""
    for name, (soft, hard) in request["rlimits"].items():
        resource.setrlimit(RLIMITS[name], (soft, hard))
    uid = request["uid"]
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    _check(libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "dumpable")  # its own /proc/self, as any process of its uid
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    program = bytes.fromhex(request["seccomp"])
    if program:
        buffer = ctypes.create_string_buffer(program, len(program))
        fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_char_p))
        _check(libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "seccomp")


def _exit_status(error: SystemExit) -> int:
    code = error.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _run_main(file: str) -> int:
    """Run ``/sandbox/FILE`` as ``python3 FILE`` would: ``__main__``, its folder first on sys.path, its exit status."""
    import atexit
    import builtins
    import types

    sys.argv = [file]
    sys.path[0] = "/sandbox"
    main = types.ModuleType("__main__")
    main.__file__ = f"/sandbox/{file}"
    main.__builtins__ = builtins  # type: ignore[attr-defined]
    sys.modules["__main__"] = main
    try:
        with open(file, "rb") as source:
            code = compile(source.read(), f"/sandbox/{file}", "exec")
        exec(code, main.__dict__)
        status = 0
    except SystemExit as error:
        status = _exit_status(error)
    except BaseException as error:  # what the interpreter would print, without this file's own frame
        traceback.print_exception(type(error), error, error.__traceback__.tb_next if error.__traceback__ else None)
        status = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            status = status or 120
    return status


def _close_all_but(keep: list[int]) -> None:
    """Close every descriptor from 3 up but ``keep``."""
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 16)


def _child(request: dict, fds: list[int]) -> None:
    """The run, from the fork on: PID 1 of its own PID namespace. Isolate, then run the program. Never returns."""
    stdin, stdout, stderr, status = fds
    try:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        # Then the zygote's descriptors: its socket, and the status pipes of the other live runs, whose hosts
        # wait for their end of file (a copy held here would delay it until this run's isolation is done).
        _close_all_but(fds)
        # A session of its own, as bwrap's --new-session: no controlling terminal to inject input into, and
        # its own scheduler autogroup. Without it every run shared the zygote's (the host's) autogroup, so
        # under load all runs together got one session's CPU share: memory bombs ran out the wall clock
        # (``timeout``) before they reached the memory limit, where bubblewrap's runs said ``memory_exceeded``.
        os.setsid()
        for procs in request["cgroup_procs"]:
            with open(procs, "w") as joined:
                joined.write(str(os.getpid()))  # 1: pids are read in the writer's namespace, so this is itself
        _check(libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP), "unshare")
        _new_root(request)
        libc.sethostname(b"sandbox", 7)
        _loopback_up()
        os.chdir("/sandbox")
        for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
            os.dup2(fd, target)
        _close_all_but([status])
        _become_the_run(request)
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ["PWD"] = "/sandbox"  # as bubblewrap's --chdir sets it
        os.write(status, json.dumps({"child-pid": 1}).encode() + b"\n")  # as bwrap: the program starts now
        os.close(status)
    except BaseException as error:
        os.write(stderr, f"the Python zygote could not isolate the run: {error!r}\n".encode())
        os._exit(125)
    os._exit(_run_main(request["file"]))


class _Runs:
    """The zygote's live runs: each one's pidfd (readable once it exited) and its status pipe, to report the exit."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.selector = selectors.DefaultSelector()
        self.selector.register(sock, selectors.EVENT_READ)
        self.own_pid_namespace = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)

    def start(self, request: dict, fds: list[int]) -> int:
        """Fork the run into a new PID namespace (it is PID 1 there); its pidfd."""
        _check(libc.unshare(CLONE_NEWPID), "unshare(CLONE_NEWPID)")  # for the next child only
        try:
            pid = os.fork()
            if pid == 0:
                try:
                    _child(request, fds)
                finally:
                    os._exit(125)
        finally:  # the zygote's own later children: back in its own namespace, ready for a fresh one
            if libc.setns(self.own_pid_namespace, CLONE_NEWPID) != 0:
                os._exit(1)  # every later run would share a namespace: end, the host starts a new zygote
        for fd in fds[:3]:
            os.close(fd)
        pidfd = os.pidfd_open(pid)  # before any reaping: the host's handle can never name a reused pid
        self.selector.register(pidfd, selectors.EVENT_READ, (pid, fds[3]))
        return pidfd

    def finish(self, pidfd: int, pid: int, status: int) -> None:
        """Reap an ended run and write its exit status as bwrap would (128 + N for signal N)."""
        self.selector.unregister(pidfd)
        os.close(pidfd)
        _, wait_status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(wait_status)
        with contextlib.suppress(OSError):  # the host gave up on the run: nobody reads this any more
            os.write(status, json.dumps({"exit-code": code if code >= 0 else 128 - code}).encode() + b"\n")
        os.close(status)


def _handle(runs: _Runs, sock: socket.socket) -> bool:
    """One control message: start its run and answer with the run's pidfd. False once the host has gone."""
    message, fds, _, _ = socket.recv_fds(sock, 1 << 16, 4)
    if not message:
        return False
    if len(fds) != 4:
        sock.send(json.dumps({"error": f"expected 4 descriptors, got {len(fds)}"}).encode())
        for fd in fds:
            os.close(fd)
        return True
    try:
        pidfd = runs.start(json.loads(message), fds)
    except OSError as error:
        sock.send(json.dumps({"error": repr(error)}).encode())
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        return True
    socket.send_fds(sock, [json.dumps({"ok": True}).encode()], [pidfd])
    return True


def serve(sock: socket.socket) -> None:
    """Start a run per control message, report each run's exit. Ends when the host closes the socket."""
    runs = _Runs(sock)
    while True:
        for key, _ in runs.selector.select():
            if key.data is None:
                if not _handle(runs, sock):
                    return
            else:
                runs.finish(key.fd, *key.data)


def main() -> None:
    # No PR_SET_PDEATHSIG here: it fires when the host *thread* that started the zygote ends (a run_many pool's
    # worker), which killed the zygote after every batch. The host's end is the socket's end: ``serve`` returns.
    for name in PRELOAD:
        __import__(name)
    # What is alive now is never garbage-collected in a run: a full collection in a child otherwise writes to
    # every object's header, copying the zygote's pages one by one (6 ms a collection, measured).
    gc.freeze()
    serve(socket.socket(fileno=int(sys.argv[1])))


if __name__ == "__main__":
    main()
