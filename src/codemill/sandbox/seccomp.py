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
# For runs without bubblewrap (the Python zygote): no new user namespace, whose root could mount and
# unshare at will; bwrap gets the same effect from --disable-userns.
_USERNS_CALLS = {
    "x86_64": {"clone": 56, "unshare": 272, "clone3": 435},
    "aarch64": {"clone": 220, "unshare": 97, "clone3": 435},
}
CLONE_NEWUSER = 0x10000000

_LD_ABS_W = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_JSET_K = 0x45  # BPF_JMP | BPF_JSET | BPF_K
_RET_K = 0x06  # BPF_RET | BPF_K
_RET_KILL_PROCESS = 0x80000000
_RET_ALLOW = 0x7FFF0000
_RET_EPERM = 0x00050000 | 1  # SECCOMP_RET_ERRNO | EPERM
_RET_ENOSYS = 0x00050000 | 38  # clone3 refused as unknown: libc falls back to clone, whose flags can be read
_OFFSET_NR, _OFFSET_ARCH, _OFFSET_ARG0 = 0, 4, 16  # struct seccomp_data (arg 0's low word, little-endian)


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def _assemble(program: list[tuple[int, int | str, int | str, int | str]]) -> bytes:
    """Instructions whose jump targets may be labels (``"eperm"``); ``k`` may be a label's own name to define it."""
    labels, flat = {}, []
    for code, jt, jf, k in program:
        if code == -1:  # a label: names the next instruction
            labels[k] = len(flat)
        else:
            flat.append((code, jt, jf, k))
    out = []
    for at, (code, jt, jf, k) in enumerate(flat):
        jt_offset = jt if isinstance(jt, int) else labels[jt] - at - 1
        jf_offset = jf if isinstance(jf, int) else labels[jf] - at - 1
        out.append(_insn(code, jt_offset, jf_offset, int(k)))
    return b"".join(out)


def filter_program(machine: str | None = None, *, refuse_user_namespaces: bool = False) -> bytes | None:
    """The filter for this machine as ``struct sock_filter[]`` bytes; None on an architecture not listed.

    ``refuse_user_namespaces``: also refuse ``unshare``/``clone`` with ``CLONE_NEWUSER`` (EPERM) and ``clone3``
    (ENOSYS), for runs that bubblewrap's ``--disable-userns`` does not cover."""
    name = machine or platform.machine()
    arch = _ARCH.get(name)
    if arch is None:
        return None
    audit_arch, numbers = arch
    program: list[tuple[int, int | str, int | str, int | str]] = [
        (_LD_ABS_W, 0, 0, _OFFSET_ARCH),
        (_JEQ_K, 1, 0, audit_arch),  # the expected ABI: skip the kill
        (_RET_K, 0, 0, _RET_KILL_PROCESS),
        (_LD_ABS_W, 0, 0, _OFFSET_NR),
        (_JGE_K, "eperm", 0, X32_BIT),  # x32 numbers: refused
    ]
    program += [(_JEQ_K, "eperm", 0, numbers[call]) for call in DENIED]
    if refuse_user_namespaces:
        calls = _USERNS_CALLS[name]
        program += [
            (_JEQ_K, "enosys", 0, calls["clone3"]),
            (_JEQ_K, "flags", 0, calls["clone"]),
            (_JEQ_K, "flags", 0, calls["unshare"]),
            (_RET_K, 0, 0, _RET_ALLOW),
            (-1, 0, 0, "flags"),
            (_LD_ABS_W, 0, 0, _OFFSET_ARG0),
            (_JSET_K, "eperm", 0, CLONE_NEWUSER),
        ]
    program += [(_RET_K, 0, 0, _RET_ALLOW), (-1, 0, 0, "eperm"), (_RET_K, 0, 0, _RET_EPERM)]
    if refuse_user_namespaces:
        program += [(-1, 0, 0, "enosys"), (_RET_K, 0, 0, _RET_ENOSYS)]
    return _assemble(program)
