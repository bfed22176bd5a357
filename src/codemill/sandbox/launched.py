"""What the phase monitor needs of a started phase, whoever started it (bubblewrap, or the Python zygote)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Launched"]


@dataclass
class Launched:
    """A started phase: its exit is ``pidfd`` becoming readable; its output, the read ends of three pipes."""

    pidfd: int
    stdout: int
    stderr: int
    status: int
    """bwrap's JSON status documents (``child-pid`` when the program starts, ``exit-code`` when it ends)."""
    kill: Callable[[], None]
    """SIGKILL the launcher (the cgroup's processes are killed besides)."""
    wait: Callable[[], int]
    """The launcher's return code once it exited (negative: killed by that signal)."""
    close: Callable[[], None]
    """Close what the launch opened (pipes, the pidfd)."""
