"""The host's side of the Python zygote (``zygote_main.py``): start it once, hand it runs, watch them as bwrap's.

Why: a Python run through bubblewrap starts a launcher chain, bubblewrap and a fresh interpreter every time; the
zygote forks an interpreter that has already started and isolates the fork itself (see ``zygote_main.py`` for
the steps, the same namespaces, mounts, uid, rlimits and seccomp filter as bubblewrap's path). It is used for
the ``python`` entry's own command (``python3 -E -s -B FILE``) when the sandbox runs as root with cgroups, so
that every run has its own uid and cgroup; by default, ``CODEMILL_SANDBOX_ZYGOTE=0`` turns it off (every Python
run then goes through bubblewrap). It was opt-in while a memory bomb could end as ``timeout`` through it where
bubblewrap said ``memory_exceeded``, under load: its runs shared the host's session, so one scheduler autogroup;
each run now starts a session of its own, as bubblewrap's do. One zygote serves a whole process: asking it for
a run costs one fork, the rest happens in the run's own process, so threads queue on it only for that fork.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from codemill.sandbox.launched import Launched

__all__ = ["COMMAND", "enabled", "serves", "spawn"]

COMMAND = ("python3", "-E", "-s", "-B")
"""The ``python`` entry's run command before ``{file}``: the zygote runs exactly this interpreter, so."""
ZYGOTE_MAIN = Path(__file__).with_name("zygote_main.py")


def enabled() -> bool:
    """On unless ``CODEMILL_SANDBOX_ZYGOTE`` is ``0`` (or false, no, off): a way back to bubblewrap for every run."""
    return os.environ.get("CODEMILL_SANDBOX_ZYGOTE", "1").strip().lower() not in {"0", "false", "no", "off"}


def serves(argv: Sequence[str], with_cgroup: bool, uid: int | None) -> bool:
    """Whether this phase runs through the zygote: the python command on one plain file, a uid and a cgroup."""
    plain_file = len(argv) == len(COMMAND) + 1 and "/" not in argv[-1] and not argv[-1].startswith("-")
    return enabled() and with_cgroup and uid is not None and tuple(argv[: len(COMMAND)]) == COMMAND and plain_file


class _Zygote:
    """One zygote process and the socket to it; restarted if it dies."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None

    def _start(self, env: Mapping[str, str]) -> None:
        python = shutil.which(COMMAND[0], path=env["PATH"])
        if python is None:
            raise OSError(f"{COMMAND[0]} is not installed")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            self._proc = subprocess.Popen(
                [python, *COMMAND[1:], str(ZYGOTE_MAIN), str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=dict(env),  # what /proc/1/environ shows a run: the sandbox's own environment, nothing else
                cwd="/",
            )
        self._sock = ours

    def _stop(self) -> None:
        if self._sock is not None:
            self._sock.close()
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
            self._proc.wait()
        self._proc = self._sock = None

    def run(self, message: bytes, fds: list[int], env: Mapping[str, str]) -> int:
        """Hand one run to the zygote; the pidfd of the run (PID 1 of its own PID namespace)."""
        with self._lock:
            for _ in range(2):  # a zygote that died (killed, OOM) is restarted once
                if self._proc is None or self._proc.poll() is not None:
                    self._stop()
                    self._start(env)
                assert self._sock is not None
                try:
                    socket.send_fds(self._sock, [message], fds)
                    reply, received, _, _ = socket.recv_fds(self._sock, 1 << 16, 1)
                except OSError:
                    reply, received = b"", []
                if reply:
                    break
                self._stop()
            else:
                raise OSError("the Python zygote does not answer")
        answer = json.loads(reply)
        if "error" in answer or len(received) != 1:
            for fd in received:
                os.close(fd)
            raise OSError(f"the Python zygote refused the run: {answer.get('error', answer)}")
        return received[0]


_ZYGOTE = _Zygote()


def spawn(control: Mapping[str, object], env: Mapping[str, str], stdin: int) -> Launched:
    """Start one run through the zygote. ``control``: what ``zygote_main`` needs (see its ``_new_root``)."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    status_r, status_w = os.pipe()
    try:
        pidfd = _ZYGOTE.run(json.dumps({**control, "env": dict(env)}).encode(), [stdin, out_w, err_w, status_w], env)
    except OSError:
        for fd in (out_r, err_r, status_r):
            os.close(fd)
        raise
    finally:
        for fd in (out_w, err_w, status_w):
            os.close(fd)

    def kill() -> None:
        with contextlib.suppress(ProcessLookupError):
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)

    def close() -> None:
        for fd in (out_r, err_r, pidfd):
            os.close(fd)

    # No return code to wait for (the run is the zygote's child): its status documents, the zygote's, say it all.
    return Launched(pidfd, out_r, err_r, status_r, kill, lambda: -signal.SIGKILL, close)
