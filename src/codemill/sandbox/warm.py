"""Warm paths: state built once, from trusted input only, that compile phases read but cannot change.

Each was measured before it was kept (``bench/sandbox_bench.py``, numbers in ``bench/results/sandbox.json``):

* ``cpp-pch``: ``bits/stdc++.h`` precompiled with the C++ entry's own flags. MultiPL-E's C++ prompts
  start with ``#include<assert.h>`` and ``#include<bits/stdc++.h>``, and parsing that header is most of a
  3 s compile. GCC uses a precompiled header only for the first include, so the runner force-includes
  ours (``-include``) and only when the program's leading includes are that header, ``<cassert>`` or
  ``<assert.h>`` (which it includes itself): the program compiles to exactly what it would without it.
  The ``.gch`` is bound read-only into the compile sandbox.
* ``go-cache``: a Go build cache seeded by compiling a fixed test program of ours (``go test`` runs
  ``vet``, which first analyses the standard library: 3 s, then 0.4 s with the cache). Every run gets
  its own *copy* in its own folder, so what one program's compile writes there no other run sees.
* ``jvm-cds``: a class-data-sharing archive of javac's and scalac's own classes, dumped once by
  compiling our hello-world, mapped read-only by every compile: javac 1.3 s -> 0.7 s, scalac 5 s -> 3.5 s
  (kotlinc measured no gain: not used there).

Not built, because they cannot pay enough or are not safe: one JVM per batch (programs would share static
state). Python's warm start is no warm path but the zygote (``zygote.py``): a fork per program, isolated
after the fork, so no program shares another's state.

Seeds live in ``/var/tmp/codemill-sandbox-warm-UID/`` (``CODEMILL_SANDBOX_WARM_DIR``; never under ``/tmp``,
which the sandbox replaces), owned by the sandbox's caller and read-only for the sandbox's user, named by
a hash of the toolchain's version and flags and of the CPU kind (:func:`cpu_kind`), and built on first use
under a lock (:func:`warm_up` builds them ahead); ``CODEMILL_SANDBOX_WARM=0`` turns every warm path off
(the bench's cold numbers).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import platform
import re
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from codemill.sandbox.isolation import SANDBOX_PATH, execute
from codemill.sandbox.languages import SandboxLanguage
from codemill.sandbox.workspace import workspace

__all__ = ["WarmPath", "enabled", "prepare", "warm_up"]

log = logging.getLogger(__name__)

PCH_HEADER = "codemill-stdc++.h"
NATIVE_FLAG = re.compile(r"-m(?:arch|tune|cpu)=native$")
_PCH_PRELUDE = re.compile(r"\A(?:[ \t]*(?://[^\n]*)?\n|[ \t]*#[ \t]*include[ \t]*[<\"]([\w/.+]+)[>\"][ \t]*\n)+")
_PCH_COVERS = {"bits/stdc++.h", "assert.h", "cassert"}

GO_WARMUP = """package warmup_test

import (
\t"fmt"
\t"math"
\t"reflect"
\t"sort"
\t"strconv"
\t"strings"
\t"testing"
\t"unicode"
)

func TestWarmup(t *testing.T) {
\ttype test struct {
\t\tactual   interface{}
\t\texpected interface{}
\t}
\twords := strings.Fields("b a")
\tsort.Strings(words)
\ttests := []test{{actual: words, expected: []string{"a", "b"}}, {actual: math.Abs(-1), expected: 1.0}}
\tfor i, tc := range tests {
\t\tt.Run(fmt.Sprintf("test num % d", i), func(t *testing.T) {
\t\t\tif fmt.Sprintf("%v", tc.actual) != fmt.Sprintf("%v", tc.expected) || !unicode.IsLetter('a') {
\t\t\t\tt.Errorf("expected '%s', got '%s'", tc.expected, tc.actual)
\t\t\t}
\t\t})
\t}
\t_, _ = strconv.Atoi("1")
\t_ = reflect.DeepEqual(1, 1)
}
"""


@dataclass(frozen=True)
class WarmPath:
    """What a warm path adds to one compile phase."""

    compile_args: tuple[str, ...] = ()
    """Inserted right after the compiler's name."""
    binds: tuple[str, ...] = ()
    """Folders bound read-only into the compile sandbox."""
    seed: Path | None = None
    """A folder copied into the run's folder at ``seed_to`` before compiling (a private, writable copy)."""
    seed_to: str = ""
    env: dict[str, str] = field(default_factory=dict)
    """Appended (after a space) to the compile phase's environment variables of the same name."""


def enabled() -> bool:
    return os.environ.get("CODEMILL_SANDBOX_WARM", "1").lower() not in {"0", "false", "no", "off"}


_locks: dict[str, threading.Lock] = {}
_locks_lock = threading.Lock()
_built: dict[str, Path | None] = {}


def _lock(key: str) -> threading.Lock:
    with _locks_lock:
        return _locks.setdefault(key, threading.Lock())


def _base() -> Path:
    # Not under /tmp: the sandbox mounts its own /tmp over it, and binds are made at the host's path.
    base = Path(os.environ.get("CODEMILL_SANDBOX_WARM_DIR") or f"/var/tmp/codemill-sandbox-warm-{os.geteuid()}")
    base.mkdir(mode=0o755, exist_ok=True)
    if base.is_symlink() or base.stat().st_uid != os.geteuid() or base.stat().st_mode & 0o022:
        raise RuntimeError(f"{base} is not a private folder of this user: refusing to use it for warm paths")
    return base


@cache
def cpu_kind() -> str:
    """The processor as the host describes it (vendor, model, feature flags): part of every seed's name.

    The seeds are built with the toolchains' portable defaults (no ``-march=native``: refused in
    :func:`_pch_flags`), but ``/var/tmp`` may outlive the machine under it (an AMD EPYC with AVX2 one
    session, an Intel Xeon with AVX-512 the next), and a JVM archive or a precompiled header that a
    toolchain judged by the CPU it was built on must not be offered to another: a new CPU, new seeds."""
    fields: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if not line.strip():
                break  # the first processor is enough
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
    described = [platform.machine(), *(fields.get(k, "") for k in ("vendor_id", "model name", "flags", "Features"))]
    return hashlib.sha256("|".join(described).encode()).hexdigest()[:12]


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256(repr((cpu_kind(), parts)).encode()).hexdigest()[:16]


def _version(argv: tuple[str, ...]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env={"PATH": SANDBOX_PATH})
    return done.stdout + done.stderr


def _seed(key: str, build) -> Path | None:  # type: ignore[no-untyped-def]
    """The seed folder ``key``, built once by ``build(tmp_folder)``; None when building fails (logged)."""
    with _lock(key):
        try:
            target = _base() / key
        except Exception as error:
            log.warning("warm path %s not available: %s", key, error)
            return None
        if str(target) in _built:
            return _built[str(target)]
        try:
            if not target.is_dir():
                tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=_base()))
                try:
                    build(tmp)
                    for path in (tmp, *tmp.rglob("*")):  # readable by the sandbox's user, writable by nobody
                        path.chmod(0o755 if path.is_dir() else 0o644)
                    with contextlib.suppress(OSError):  # another process won the race: use its seed
                        tmp.rename(target)
                finally:
                    shutil.rmtree(tmp, ignore_errors=True)
            _built[str(target)] = target if target.is_dir() else None
        except Exception as error:  # a warm path must never break a run: it only makes it slower
            log.warning("warm path %s not available: %s", key, error)
            _built[str(target)] = None
        return _built[str(target)]


def _pch_flags(language: SandboxLanguage) -> tuple[str, ...]:
    """The compile command's flags that a precompiled header must share (all but output and input)."""
    assert language.compile is not None
    flags, skip = [], False
    for arg in language.compile[1:]:
        if skip:
            skip = False
        elif arg == "-o":
            skip = True
        elif "{" not in arg:
            if NATIVE_FLAG.match(arg):
                raise ValueError(f"{language.name}: {arg} would tie the precompiled header to this CPU")
            flags.append(arg)
    return tuple(flags)


def _uses_pch(program: str) -> bool:
    prelude = _PCH_PRELUDE.match(program)
    if prelude is None:
        return False
    headers = set(re.findall(r"#[ \t]*include[ \t]*[<\"]([\w/.+]+)[>\"]", prelude.group(0)))
    return "bits/stdc++.h" in headers and headers <= _PCH_COVERS


def _cpp_pch(language: SandboxLanguage) -> Path | None:
    assert language.compile is not None
    try:
        compiler, flags = language.compile[0], _pch_flags(language)
    except ValueError as error:
        log.warning("warm path cpp-pch not used: %s", error)
        return None
    key = f"cpp-pch-{_fingerprint(_version((compiler, '--version')), flags)}"

    def build(folder: Path) -> None:
        header = folder / PCH_HEADER
        header.write_text("#include <bits/stdc++.h>\n")
        argv = [compiler, *flags, "-x", "c++-header", str(header), "-o", f"{header}.gch"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=300, env={"PATH": SANDBOX_PATH})
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr[-500:]}")

    return _seed(key, build)


def _go_cache(language: SandboxLanguage) -> Path | None:
    # Every Go entry compiles with the same environment, so one seed serves `go build` and `go test`.
    key = f"go-cache-{_fingerprint(_version(('go', 'version')), sorted(language.env.items()))}"

    def build(folder: Path) -> None:
        from codemill.sandbox.languages import COMPILE_LIMITS, get_language

        go_test = get_language("go-test")
        assert go_test.compile is not None
        with workspace(COMPILE_LIMITS.memory_mb) as work:
            source = work.path / go_test.file_name(GO_WARMUP)
            source.write_text(GO_WARMUP)
            if work.uid is not None:
                os.chown(source, work.uid, work.uid)
            argv = [part.format(file=source.name) for part in go_test.compile]
            outcome = execute(argv, work.path, COMPILE_LIMITS, go_test.env, go_test.binds, uid=work.uid)
            if outcome.sandbox_failed or outcome.result.exit_code != 0:
                raise RuntimeError(f"warming Go's build cache failed: {outcome.result.stderr[-500:]}")
            shutil.copytree(work.path / ".cache" / "go-build", folder, dirs_exist_ok=True)

    return _seed(key, build)


def _jvm_cds(language: SandboxLanguage) -> Path | None:
    """A dynamic class-data-sharing archive of the compiler's classes, dumped by compiling our hello-world."""
    assert language.compile is not None
    memory_mb = language.compile_limits.memory_mb
    argv = [
        part.format(file=language.file_name(language.hello), main="Main", memory_mb=memory_mb)
        for part in language.compile
    ]
    env = {key: value.format(memory_mb=memory_mb) for key, value in language.env.items()}
    key = f"jvm-cds-{language.name}-{_fingerprint(_version(('java', '-version')), argv, sorted(env.items()))}"

    def build(folder: Path) -> None:
        archive = folder / "compiler.jsa"
        with tempfile.TemporaryDirectory() as work:
            Path(work, language.file_name(language.hello)).write_text(language.hello)
            dump_argv, dump_env = list(argv), dict(env)
            if argv[0] == "javac":
                dump_argv[1:1] = [f"-J-XX:ArchiveClassesAtExit={archive}", "-J-Xlog:disable"]
            else:
                dump_env["JAVA_OPTS"] = f"{env.get('JAVA_OPTS', '')} -XX:ArchiveClassesAtExit={archive} -Xlog:disable"
            done = subprocess.run(
                dump_argv,
                cwd=work,
                capture_output=True,
                text=True,
                timeout=300,
                env={"PATH": SANDBOX_PATH, "HOME": work, **dump_env},
            )
        if done.returncode != 0 or not archive.is_file():
            raise RuntimeError(f"dumping {language.name}'s compiler classes failed: {done.stderr[-500:]}")

    return _seed(key, build)


def prepare(language: SandboxLanguage, program: str) -> WarmPath | None:
    """The warm path for compiling ``program``, or None (no warm path, disabled, or not applicable)."""
    if language.warm is None or language.compile is None or not enabled():
        return None
    if language.warm == "cpp-pch":
        if not _uses_pch(program):
            return None
        seed = _cpp_pch(language)
        if seed is None:
            return None
        return WarmPath(compile_args=("-include", str(seed / PCH_HEADER)), binds=(str(seed),))
    if language.warm == "go-cache":
        seed = _go_cache(language)
        return None if seed is None else WarmPath(seed=seed, seed_to=".cache/go-build")
    if language.warm == "jvm-cds":
        seed = _jvm_cds(language)
        if seed is None:
            return None
        archive = f"-XX:SharedArchiveFile={seed / 'compiler.jsa'}"
        if language.compile[0] == "javac":
            return WarmPath(compile_args=(f"-J{archive}", "-J-Xlog:disable"), binds=(str(seed),))
        return WarmPath(env={"JAVA_OPTS": f"{archive} -Xlog:disable"}, binds=(str(seed),))
    raise ValueError(f"{language.name}: unknown warm path {language.warm!r}")


def install_seed(warm: WarmPath, folder: Path, uid: int | None) -> None:
    """Copy the warm path's seed into a run's folder, owned by the run's user (``uid``; None: the caller)."""
    if warm.seed is None:
        return
    target = folder / warm.seed_to
    shutil.copytree(warm.seed, target)
    if uid is not None:
        for path in (*target.parents[: len(Path(warm.seed_to).parts) - 1], target, *target.rglob("*")):
            os.chown(path, uid, uid, follow_symlinks=False)


def warm_up(names: tuple[str, ...] = ("cpp", "go", "java", "scala")) -> dict[str, bool]:
    """Build the seeds now (``doctor`` and the bench call it), instead of in the first run that needs them."""
    from codemill.sandbox.languages import get_language

    done = {}
    for name in names:
        language = get_language(name)
        if language.warm == "cpp-pch":
            done[name] = _cpp_pch(language) is not None
        elif language.warm == "go-cache":
            done[name] = _go_cache(language) is not None
        elif language.warm == "jvm-cds":
            done[name] = _jvm_cds(language) is not None
    return done
