"""The Python zygote: one warm interpreter that forks a fresh, isolated child for every Python program.

Run by the system's ``python3 -E -s -B`` (the interpreter the ``python`` entry runs programs with), as root,
from ``zygote.py``; it imports nothing of codemill. Why: starting bubblewrap and then an interpreter costs
most of a short program's run (the HumanEval bench's profile); a fork of an interpreter that has already
started, with the modules programs import most already imported, costs a millisecond. Isolation is built
per program, after the fork, with the same pieces bubblewrap uses, by code that runs before any of the
program's code:

1. the zygote never reads a program: it gets a control message (the run folder, the run's uid, limits,
   the cgroup files to join) and four descriptors (stdin, stdout, stderr, status) and forks ``C``;
2. ``C`` joins the phase's cgroups, unshares mount, PID, network, IPC, UTS and cgroup namespaces, forks
   ``G`` (PID 1 of the new PID namespace), waits for it and writes its exit status (bwrap's JSON shape);
3. ``G`` builds a new root (a small read-only tmpfs with ``/usr`` and ``/etc`` bound read-only, a fresh
   ``/proc``, a ``/dev`` of six devices, its own sized ``/tmp``, the run folder at ``/sandbox``),
   ``pivot_root``s into it and detaches the old one, brings its loopback up, sets rlimits, closes every
   other descriptor, becomes the run's uid (no capability left), sets no-new-privileges and the seccomp
   filter (the sandbox's, plus: no new user namespace), clears the environment to the sandbox's, and only
   then reads ``main.py`` and runs it as ``__main__``.

What differs from a fresh ``python3 main.py``: the modules in ``PRELOAD`` are already imported (each child
gets its own copy: nothing a program does reaches the zygote or another program), and the hash seed of
``str`` is the zygote's for its lifetime, not a fresh one per program.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
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
    import resource

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


def _grandchild(request: dict, stdin: int, stdout: int, stderr: int, status: int) -> None:
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    try:
        _new_root(request)
        libc.sethostname(b"sandbox", 7)
        _loopback_up()
        os.chdir("/sandbox")
        for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
            os.dup2(fd, target)
        os.closerange(3, status)
        os.closerange(status + 1, 1 << 16)
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


def _child(request: dict, fds: list[int]) -> None:
    """``C``: join the cgroups, unshare, fork ``G`` and report its exit status. Never returns."""
    stdin, stdout, stderr, status = fds
    try:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        for procs in request["cgroup_procs"]:
            with open(procs, "w") as joined:
                joined.write(str(os.getpid()))
        flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP
        _check(libc.unshare(flags), "unshare")
        pid = os.fork()
    except BaseException as error:
        os.write(stderr, f"the Python zygote could not start the run: {error!r}\n".encode())
        os._exit(125)
    if pid == 0:
        _grandchild(request, stdin, stdout, stderr, status)
    for fd in (stdin, stdout, stderr):
        os.close(fd)
    _, wait_status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(wait_status)
    os.write(status, json.dumps({"exit-code": code if code >= 0 else 128 - code}).encode() + b"\n")
    os._exit(0)


def serve(sock: socket.socket) -> None:
    """Fork a ``C`` per control message; answer with its pidfd. Ends when the host closes the socket."""
    while True:
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:  # reap the finished runs
                pass
        except ChildProcessError:
            pass
        message, fds, _, _ = socket.recv_fds(sock, 1 << 16, 4)
        if not message:
            return
        request = json.loads(message)
        if len(fds) != 4:
            sock.send(json.dumps({"error": f"expected 4 descriptors, got {len(fds)}"}).encode())
            for fd in fds:
                os.close(fd)
            continue
        pid = os.fork()
        if pid == 0:
            sock.close()
            try:
                _child(request, fds)
            finally:
                os._exit(125)
        for fd in fds:
            os.close(fd)
        pidfd = os.pidfd_open(pid)  # before any reaping: the host's handle can never name a reused pid
        socket.send_fds(sock, [json.dumps({"pid": pid}).encode()], [pidfd])
        os.close(pidfd)


def main() -> None:
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # the host's service ends: so does the zygote
    for name in PRELOAD:
        __import__(name)
    serve(socket.socket(fileno=int(sys.argv[1])))


if __name__ == "__main__":
    main()
