"""A small seccomp filter: the system calls a test program never needs and an attacker likes, refused.

Why: namespaces hide the host, but inside the sandbox a program can still ``ptrace`` bubblewrap's
init (same user, same namespace: it was seen stopping it and hanging the run), read other processes'
memory, or reach kernel surfaces with a long record of bugs (eBPF, perf events, userfaultfd, io_uring,
the keyring). Those calls return ``EPERM``; a foreign-architecture call (x32 on x86-64) is refused too,
so the filter cannot be sidestepped by switching ABI. Everything else is allowed: a deny list keeps
every language's runtime working, where an allow list would need one per runtime.

The filter is classic BPF, built here (no libseccomp needed) and handed to ``bwrap --seccomp FD``,
which installs it just before it executes the program (not on bubblewrap itself).
"""

from __future__ import annotations

import platform
import struct

__all__ = ["DENIED", "filter_program"]

DENIED = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "perf_event_open",
    "bpf",
    "userfaultfd",
    "add_key",
    "request_key",
    "keyctl",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "kexec_load",
    "init_module",
    "finit_module",
    "delete_module",
)
# System call numbers per machine (from the kernel's syscall tables) and the matching audit architecture.
_ARCH = {
    "x86_64": (
        0xC000003E,
        {
            "ptrace": 101,
            "process_vm_readv": 310,
            "process_vm_writev": 311,
            "perf_event_open": 298,
            "bpf": 321,
            "userfaultfd": 323,
            "add_key": 248,
            "request_key": 249,
            "keyctl": 250,
            "io_uring_setup": 425,
            "io_uring_enter": 426,
            "io_uring_register": 427,
            "kexec_load": 246,
            "init_module": 175,
            "finit_module": 313,
            "delete_module": 176,
        },
    ),
    "aarch64": (
        0xC00000B7,
        {
            "ptrace": 117,
            "process_vm_readv": 270,
            "process_vm_writev": 271,
            "perf_event_open": 241,
            "bpf": 280,
            "userfaultfd": 282,
            "add_key": 217,
            "request_key": 218,
            "keyctl": 219,
            "io_uring_setup": 425,
            "io_uring_enter": 426,
            "io_uring_register": 427,
            "kexec_load": 104,
            "init_module": 105,
            "finit_module": 273,
            "delete_module": 106,
        },
    ),
}
X32_BIT = 0x40000000

_LD_ABS_W = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_RET_K = 0x06  # BPF_RET | BPF_K
_RET_KILL_PROCESS = 0x80000000
_RET_ALLOW = 0x7FFF0000
_RET_EPERM = 0x00050000 | 1  # SECCOMP_RET_ERRNO | EPERM
_OFFSET_NR, _OFFSET_ARCH = 0, 4  # struct seccomp_data


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def filter_program(machine: str | None = None) -> bytes | None:
    """The filter for this machine as ``struct sock_filter[]`` bytes; None on an architecture not listed."""
    arch = _ARCH.get(machine or platform.machine())
    if arch is None:
        return None
    audit_arch, numbers = arch
    denied = [numbers[name] for name in DENIED]
    n = len(denied)
    program = [
        _insn(_LD_ABS_W, 0, 0, _OFFSET_ARCH),
        _insn(_JEQ_K, 1, 0, audit_arch),  # the expected ABI: skip the kill
        _insn(_RET_K, 0, 0, _RET_KILL_PROCESS),
        _insn(_LD_ABS_W, 0, 0, _OFFSET_NR),
        _insn(_JGE_K, n + 1, 0, X32_BIT),  # x32 numbers: refused
    ]
    # Each match jumps over the remaining comparisons and the ALLOW to the final EPERM.
    program += [_insn(_JEQ_K, n - i, 0, number) for i, number in enumerate(denied)]
    program += [_insn(_RET_K, 0, 0, _RET_ALLOW), _insn(_RET_K, 0, 0, _RET_EPERM)]
    return b"".join(program)
