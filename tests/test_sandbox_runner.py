"""The runner's contract: every status, the limits per request, stdin, extra files, the harness, timings."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codemill.sandbox import LimitsOverride, Request, Result, run, run_many, warm, zygote
from codemill.sandbox.caps import Caps, CapsExceeded
from codemill.sandbox.languages import SandboxLanguage, get_language
from codemill.sandbox.runner import missing_toolchain
from codemill.sandbox.schema import STATUSES
from codemill.sandbox.seccomp import filter_program
from codemill.sandbox.workspace import remove_tree, workspace

QUICK = LimitsOverride(cpu_seconds=2, wall_seconds=4)


def test_statuses_are_the_issues() -> None:
    assert set(STATUSES) == {
        "passed",
        "failed",
        "compile_error",
        "runtime_error",
        "timeout",
        "memory_exceeded",
        "output_exceeded",
        "sandbox_error",
    }


@pytest.mark.parametrize(
    ("language", "code", "status"),
    [
        ("c", "int main(void) { return 0 }\n", "compile_error"),
        ("java", "class Main { void broken( }\n", "compile_error"),
        ("rust", 'fn main() { let x: i32 = "no"; }\n', "compile_error"),
        ("python", "print(1 / 0)\n", "runtime_error"),
        ("c", "int main(void) { int *p = 0; return *p; }\n", "runtime_error"),
        (
            "java",
            "class Main { public static void main(String[] a) { Object o = null; o.hashCode(); } }\n",
            "runtime_error",
        ),
        ("javascript", "null.x;\n", "runtime_error"),
        ("python", "import sys\nsys.exit(3)\n", "failed"),
        ("bash", "exit 1\n", "failed"),
        ("python", "while True:\n    pass\n", "timeout"),
        ("python", "x = bytearray(1 << 30)\n", "memory_exceeded"),
        ("python", "while True:\n    print('y' * 100)\n", "output_exceeded"),
        ("cobol", "DISPLAY 'HI'.", "sandbox_error"),
    ],
)
def test_status(language: str, code: str, status: str) -> None:
    result = run(Request(language=language, code=code, limits=QUICK))
    assert result.status == status, f"{result.status}: {result.message}\n{result.stderr[-1500:]}"
    assert result.message  # every status but passed says why


def test_compile_error_keeps_the_compilers_output() -> None:
    result = run(Request(language="cpp", code="int main() { undeclared(); }\n"))
    assert result.status == "compile_error" and result.phase == "compile"
    assert result.compile is not None and "undeclared" in result.compile.stderr
    assert result.run is None


def test_compile_timeout_is_a_timeout_of_the_compile_phase(monkeypatch: pytest.MonkeyPatch) -> None:
    # <bits/stdc++.h> takes g++ seconds of CPU: far more than this compile limit, unless a precompiled header
    # left in the warm folder by earlier runs makes it quick: warm paths off, whatever the machine holds.
    monkeypatch.setenv("CODEMILL_SANDBOX_WARM", "0")
    code = "#include <bits/stdc++.h>\nint main() { std::vector<int> v; return v.size(); }\n"
    limits = LimitsOverride(cpu_seconds=0.3, wall_seconds=5)
    result = run(Request(language="cpp", code=code, compile_limits=limits))
    assert result.status == "timeout" and result.phase == "compile", result.message
    assert result.compile is not None and result.compile.killed_by == "cpu_time"
    assert result.run is None


def test_stdin_files_and_harness() -> None:
    request = Request(
        language="python",
        code="from helper import double\nimport sys\nvalue = int(sys.stdin.read())\n",
        tests="assert double(value) == 42\nprint('ok', value)\n",
        stdin="21",
        files={"helper.py": "def double(x):\n    return 2 * x\n"},
        id="task-7",
    )
    result = run(request)
    assert result.status == "passed", result.stderr
    assert result.stdout == "ok 21\n"
    assert result.id == "task-7"


def test_extra_files_cannot_leave_the_folder() -> None:
    for path in ("../escape.py", "/etc/evil", ""):
        result = run(Request(language="python", code="print(1)", files={path: "x"}))
        assert result.status == "sandbox_error"


def test_limits_are_per_request() -> None:
    code = "x = bytearray(300 << 20)\nx[::4096] = b'1' * len(x[::4096])\nprint('ok')\n"
    small = run(Request(language="python", code=code, limits=LimitsOverride(memory_mb=128)))
    large = run(Request(language="python", code=code, limits=LimitsOverride(memory_mb=1024)))
    assert small.status == "memory_exceeded", small.message
    assert large.status == "passed", large.stderr
    assert large.run is not None and large.run.memory_peak_mb is not None and large.run.memory_peak_mb > 250


def test_cpu_limit_counts_the_whole_process_tree() -> None:
    # Two children spin: each uses less than the limit on its own, together more.
    code = "import os\nfor _ in range(2):\n    if os.fork() == 0:\n        while True: pass\nos.wait()\n"
    result = run(Request(language="python", code=code, limits=LimitsOverride(cpu_seconds=1.5, wall_seconds=10)))
    assert result.status == "timeout"
    # killed for CPU time, not by the 10 s wall clock: the children's CPU counted together (no timing asserted,
    # which would fail on a loaded machine where two spinning children get less than a core each)
    assert result.run is not None and result.run.killed_by == "cpu_time"


def test_output_is_capped_by_the_reader() -> None:
    result = run(
        Request(
            language="c",
            code='#include <stdio.h>\nint main(){for(;;)puts("spam");}\n',
            limits=LimitsOverride(output_bytes=1000),
        )
    )
    assert result.status == "output_exceeded"
    assert len(result.stdout) == 1000 and result.run is not None and result.run.stdout_truncated


def test_jvm_go_and_threads_work_under_the_memory_limit() -> None:
    """The cgroup limits resident memory, so runtimes that reserve address space still start."""
    java = "public class Main { public static void main(String[] a) { System.out.println(Runtime.getRuntime()"
    java += ".availableProcessors() > 0); } }\n"
    go = 'package main\nimport "fmt"\nfunc main() { c := make(chan int); go func() { c <- 1 }(); fmt.Println(<-c) }\n'
    python = "import threading\nts = [threading.Thread(target=lambda: None) for _ in range(50)]\n"
    python += "[t.start() for t in ts]\n[t.join() for t in ts]\nprint('ok')\n"
    results = run_many(
        [
            Request(language="java", code=java, limits=LimitsOverride(memory_mb=256)),
            Request(language="go", code=go, limits=LimitsOverride(memory_mb=64)),
            Request(language="python", code=python, limits=LimitsOverride(memory_mb=64)),
        ]
    )
    assert [r.status for r in results] == ["passed"] * 3, [r.stderr[-500:] for r in results]


def test_missing_toolchain_is_reported_not_silent() -> None:
    ghost = SandboxLanguage(name="ghost", aliases=(), file="main.g", run=("codemill-no-such-runtime", "{file}"))
    assert missing_toolchain(ghost) == "codemill-no-such-runtime"


def test_run_many_keeps_order_and_isolates_runs() -> None:
    # Each run writes its own number to a file in its folder and to /tmp; none sees another's.
    code = "import os, sys\nn = sys.stdin.read()\n"
    code += "assert not os.listdir('/tmp') and sorted(os.listdir('.')) == ['main.py']\n"
    code += "open('/tmp/n', 'w').write(n)\nopen('mine', 'w').write(n)\nprint(n)\n"
    results = run_many([Request(language="python", code=code, stdin=str(i)) for i in range(12)], concurrency=4)
    assert [r.stdout for r in results] == [f"{i}\n" for i in range(12)], [r.stderr for r in results]


def test_result_round_trips_as_json() -> None:
    result = run(Request(language="python", code="print('hi')"))
    again = Result.model_validate(json.loads(result.model_dump_json()))
    assert again == result and again.passed
    assert result.run is not None and result.run.cpu_seconds is not None


def test_seccomp_filter_shape() -> None:
    program = filter_program("x86_64")
    assert program is not None and len(program) % 8 == 0
    assert filter_program("sparc") is None


def test_a_deep_tree_is_cleaned_up_and_the_run_still_answers() -> None:
    """20,000 nested folders made ``shutil.rmtree`` raise RecursionError: no JSON, HTTP 500, RAM left in /dev/shm."""
    code = "import os\nfor _ in range(20000):\n    os.mkdir('d')\n    os.chdir('d')\nprint('deep')\n"
    result = run(Request(language="python", code=code, limits=LimitsOverride(wall_seconds=30, cpu_seconds=20)))
    assert result.status == "passed", f"{result.status}: {result.message} {result.stderr[-500:]}"
    assert result.stdout == "deep\n"


def test_the_workspace_is_gone_whatever_was_left_in_it() -> None:
    with workspace(64) as space:
        fd = os.open(space.path, os.O_RDONLY | os.O_DIRECTORY)
        for _ in range(20000):  # deeper than any path the host could name
            os.mkdir("d", dir_fd=fd)
            child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
        os.close(fd)
        (space.path / "link").symlink_to("/etc")
        path = space.path
    assert not path.exists()
    assert Path("/etc/passwd").exists()


def test_remove_tree_without_a_mount_never_recurses_nor_follows_links(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("keep me")
    root = tmp_path / "run"
    root.mkdir()
    (root / "to-outside").symlink_to(outside)
    (root / "locked").mkdir()
    (root / "locked" / "f").write_text("x")
    (root / "locked").chmod(0)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(20000):
        os.mkdir("d", dir_fd=fd)
        child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = child
    os.mkfifo("fifo", dir_fd=fd)
    os.close(fd)
    assert remove_tree(root) == []
    assert not root.exists()
    assert (outside / "keep").read_text() == "keep me"


def test_concurrent_runs_have_their_own_uid_and_per_user_limits() -> None:
    """One run used up the per-uid inotify instances; with one shared uid the concurrent run got EMFILE."""
    code = (
        "import ctypes, os, time\nlibc = ctypes.CDLL(None, use_errno=True)\nfds = []\n"
        "while len(fds) < 4096:\n    fd = libc.inotify_init()\n    if fd < 0:\n        break\n    fds.append(fd)\n"
        "print(os.getuid(), len(fds))\ntime.sleep(2)\n"
    )
    limits = LimitsOverride(wall_seconds=20, cpu_seconds=10)
    results = run_many([Request(language="python", code=code, limits=limits) for _ in range(2)], concurrency=2)
    assert [r.status for r in results] == ["passed", "passed"], [r.stderr[-300:] for r in results]
    (uid_a, got_a), (uid_b, got_b) = (map(int, r.stdout.split()) for r in results)
    assert uid_a != uid_b
    limit = int(Path("/proc/sys/fs/inotify/max_user_instances").read_text())
    assert min(got_a, got_b) >= min(limit, 4096) // 2, (got_a, got_b, limit)


def test_stdin_is_read_only() -> None:
    code = (
        "import os, sys\ndata = sys.stdin.read()\n"
        "try:\n    os.write(0, b'x' * 1000)\n    print('writable')\n"
        "except OSError as e:\n    print('refused', e.errno)\n"
        "os.lseek(0, 0, 0)\nprint(len(data), len(os.read(0, 100)))\n"
    )
    result = run(Request(language="python", code=code, stdin="hello"))
    assert result.status == "passed", result.stderr
    assert result.stdout.splitlines() == ["refused 1", "5 5"]


@pytest.mark.parametrize(
    ("language", "code", "tests"),
    [
        ("python", "import os\ndef f():\n    os._exit(0)\n", "assert f() == 1\n"),
        ("python", "import sys\ndef f():\n    sys.exit(0)\n", "assert f() == 1\n"),
        (
            "javascript",
            "function f() { process.exit(0); }\n",
            "const assert = require('assert');\nassert(f() === 1);\n",
        ),
        ("typescript", "function f(): number { process.exit(0); }\n", "if (f() !== 1) { throw new Error('x'); }\n"),
        ("bash", "f() {\n  exit 0\n}\n", "f\n[[ 1 -eq 2 ]]\n"),
        ("perl", "sub f { exit 0; }\n", "f();\ndie 'assertion failed' unless 1 == 2;\n"),
        ("php", "<?php\nfunction f() { exit(0); }\n", "f();\nassert(1 === 2);\n"),
        ("r", "f <- function() quit(status = 0)\n", "f()\nstopifnot(1 == 2)\n"),
    ],
)
def test_an_early_exit_before_the_tests_is_not_passed(language: str, code: str, tests: str) -> None:
    result = run(Request(language=language, code=code, tests=tests, limits=QUICK))
    assert result.status == "failed", f"{result.status}: {result.message}\n{result.stderr[-500:]}"
    assert "marker" in result.message


@pytest.mark.parametrize(
    ("language", "code", "tests"),
    [
        ("python", "def f():\n    print('out', end='')\n    return 1\n", "assert f() == 1\n"),
        ("javascript", "function f() { console.log('out'); return 1; }\n", "if (f() !== 1) throw new Error('x');\n"),
        ("bash", "f() {\n  echo out\n}\n", '[[ "$(f)" == out ]]\necho out\n'),
        ("perl", 'sub f { print "out\\n"; 1 }\n', "die 'assertion failed' unless f() == 1;\n"),
        ("php", '<?php\nfunction f() { echo "out\\n"; return 1; }\n', "assert(f() === 1);\n"),
        ("r", "f <- function() { cat('out\\n'); 1 }\n", "stopifnot(f() == 1)\n"),
        ("lua", "function f() print('out') return 1 end\n", "assert(f() == 1)\n"),
    ],
)
def test_tests_that_run_to_the_end_pass_with_the_programs_own_stdout(language: str, code: str, tests: str) -> None:
    result = run(Request(language=language, code=code, tests=tests, limits=QUICK))
    assert result.status == "passed", f"{result.status}: {result.message}\n{result.stderr[-500:]}"
    assert "codemill-tests-done" not in result.stdout and result.stdout.rstrip("\n") == "out"


def test_a_guessed_marker_does_not_pass() -> None:
    code = "import os\ndef f():\n    print('\\ncodemill-tests-done-' + '0' * 32, flush=True)\n    os._exit(0)\n"
    result = run(Request(language="python", code=code, tests="assert f() == 1\n", limits=QUICK))
    assert result.status == "failed", result.message


def test_a_marker_given_by_the_caller_is_checked() -> None:
    marker = "codemill-tests-done-caller"
    done = run(Request(language="python", code=f"print('\\n{marker}')\n", completion_marker=marker))
    skipped = run(Request(language="python", code="import os\nos._exit(0)\n", completion_marker=marker))
    assert (done.status, done.stdout) == ("passed", "")
    assert skipped.status == "failed"


def test_a_file_size_kill_while_compiling_is_output_exceeded() -> None:
    code = "static char big[64 << 20] = {1};\nint main(int argc, char **argv) { return big[argc]; }\n"
    limits = LimitsOverride(file_size_mb=8)
    result = run(Request(language="c", code=code, compile_limits=limits))
    assert (result.status, result.phase) == ("output_exceeded", "compile"), f"{result.message}\n{result.stderr}"
    fooled = run(Request(language="c", code="#error File too large: terminated with signal 25\n"))
    assert fooled.status == "compile_error", fooled.message


def test_java_thread_exhaustion_is_the_process_limit_not_memory() -> None:
    code = (
        "public class Main {\n  public static void main(String[] a) {\n    while (true) {\n"
        "      Thread t = new Thread(() -> { try { Thread.sleep(60000); } catch (InterruptedException e) { } });\n"
        "      t.setDaemon(true);\n      t.start();\n    }\n  }\n}\n"
    )
    result = run(Request(language="java", code=code, limits=LimitsOverride(processes=64, wall_seconds=20)))
    assert result.status == "runtime_error", f"{result.status}: {result.message}\n{result.stderr[-500:]}"
    assert "process" in result.message


def test_binary_files_in_and_fetched_files_out() -> None:
    blob = bytes(range(256))
    code = (
        "import os\ndata = open('in/blob.bin', 'rb').read()\nopen('out.bin', 'wb').write(data[::-1])\n"
        "os.symlink('/etc/passwd', 'secret')\nos.mkfifo('pipe')\nprint(len(data))\n"
    )
    request = Request(
        language="python",
        code=code,
        files_base64={"in/blob.bin": base64.b64encode(blob).decode()},
        fetch_files=["out.bin", "/sandbox/out.bin", "secret", "pipe", "missing.txt", "../etc/passwd"],
    )
    result = run(request)
    assert result.status == "passed", result.stderr
    assert base64.b64decode(result.files["out.bin"]) == blob[::-1]
    assert result.files["/sandbox/out.bin"] == result.files["out.bin"]
    assert set(result.files_left_out) == {"secret", "pipe", "missing.txt", "../etc/passwd"}, result.files_left_out


@pytest.mark.parametrize(
    "files",
    [
        {"a": "x", "a/b": "y"},
        {"a\0b": "x"},
        {"../up": "x"},
        {"a/../b": "x"},
        {"/etc/x": "x"},
        {"": "x"},
        {"a//b": "x"},
        {"x" * 300: "x"},
        {"main.py": "print('replaced')"},
    ],
)
def test_malformed_files_are_a_sandbox_error_with_a_message(files: dict[str, str]) -> None:
    result = run(Request(language="python", code="print(1)", files=files))
    assert result.status == "sandbox_error" and "file" in result.message, result.message


def test_caps_lower_defaults_and_refuse_requests_over_them() -> None:
    caps = Caps(memory_mb=300, wall_seconds=5)
    over = Request(language="python", code="", limits=LimitsOverride(memory_mb=65536))
    assert "limits.memory_mb = 65536" in " ".join(caps.violations(over))
    assert not caps.violations(Request(language="python", code="", limits=LimitsOverride(memory_mb=300)))
    code = "x = bytearray(400 << 20)\nx[::4096] = b'1' * len(x[::4096])\nprint('ok')\n"
    result = run(Request(language="python", code=code), caps=caps)  # the default 512 MiB is lowered to 300
    assert result.status == "memory_exceeded", result.message
    assert result.run is not None and result.run.wall_seconds < 6


def test_caps_from_the_environment_and_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEMILL_SANDBOX_MAX_PROCESSES", "32")
    monkeypatch.setenv("CODEMILL_SANDBOX_MAX_MEMORY_MB", "1024")
    caps = Caps.from_env(memory_mb=2048, cpu_seconds=None)
    assert (caps.processes, caps.memory_mb, caps.cpu_seconds) == (32, 2048, Caps().cpu_seconds)
    with pytest.raises(CapsExceeded, match="processes = 64 is over this server's maximum 32"):
        caps.check(Request(language="python", code="", compile_limits=LimitsOverride(processes=64)))


def test_warm_seeds_are_named_by_the_cpu_and_native_flags_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """/var/tmp may outlive the machine: a seed built on one CPU kind is never offered on another."""
    here = warm._fingerprint("g++ 12", ("-O1",))
    monkeypatch.setattr(warm, "cpu_kind", lambda: "a-different-cpu")
    assert warm._fingerprint("g++ 12", ("-O1",)) != here
    native = dataclasses.replace(get_language("cpp"), compile=("g++", "-march=native", "-o", "main", "{file}"))
    with pytest.raises(ValueError, match="native"):
        warm._pch_flags(native)
    monkeypatch.setenv("CODEMILL_SANDBOX_WARM_DIR", str(tmp_path))
    assert warm._cpp_pch(native) is None and not list(tmp_path.iterdir())


ZYGOTE_DIFFERENTIAL = [
    "import sys\nprint('read', sys.stdin.read())\n",
    "import sys\nprint(__name__, sys.argv, __file__, sys.path[0])\nsys.exit(3)\n",
    "raise KeyError('boom')\n",
    "assert 1 + 1 == 3, 'arithmetic'\n",
    "def f(:\n",
    "while True:\n    pass\n",
    "while True:\n    print('y' * 100)\n",
    "import os\nprint(sorted(os.listdir('/')), sorted(os.environ), os.getcwd(), os.getuid() == os.getgid())\n",
    "import atexit\natexit.register(lambda: print('at exit'))\nprint('body', end='')\n",
]


def test_the_python_zygote_scores_as_bubblewrap_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same programs through the zygote and through bubblewrap: same status, exit code and output."""
    limits = LimitsOverride(cpu_seconds=3, wall_seconds=30)  # CPU ends the spin; wall time is load's, not ours
    requests = [Request(language="python", code=code, stdin="in", limits=limits) for code in ZYGOTE_DIFFERENTIAL]
    monkeypatch.setenv("CODEMILL_SANDBOX_ZYGOTE", "1")
    through_zygote = run_many(requests)
    monkeypatch.setenv("CODEMILL_SANDBOX_ZYGOTE", "0")
    through_bwrap = run_many(requests)

    def seen(result: Result) -> tuple[object, ...]:
        return result.status, result.exit_code, result.stdout[:300], result.stderr.splitlines()[-1:]

    assert [seen(r) for r in through_zygote] == [seen(r) for r in through_bwrap]


def test_the_python_zygote_is_used_and_refuses_new_user_namespaces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEMILL_SANDBOX_ZYGOTE", "1")
    code = (
        "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "print(os.getpid(), libc.unshare(0x10000000), ctypes.get_errno(), libc.unshare(0x40000000))\n"
    )
    result = run(Request(language="python", code=code))
    assert result.status == "passed", result.stderr
    assert result.stdout.split() == ["1", "-1", "1", "-1"]  # PID 1 of its own namespace: no bwrap init above it


def test_the_zygote_outlives_the_pool_that_started_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """PR_SET_PDEATHSIG fires when the *thread* that started the zygote ends: it died after every run_many batch
    (a restart per batch, and a run in flight on another thread killed with it)."""
    monkeypatch.setenv("CODEMILL_SANDBOX_ZYGOTE", "1")
    zygote._ZYGOTE._stop()  # so that the next batch's worker thread starts it
    request = Request(language="python", code="pass\n")
    assert [r.status for r in run_many([request] * 2, concurrency=2)] == ["passed", "passed"]
    started = zygote._ZYGOTE._proc
    assert [r.status for r in run_many([request] * 2, concurrency=2)] == ["passed", "passed"]
    assert started is not None and zygote._ZYGOTE._proc is started and started.poll() is None


def test_the_zygote_ends_when_its_host_is_killed() -> None:
    """Its end is the socket's end: a host killed with SIGKILL leaves no zygote behind."""
    script = (
        "import os, signal\nfrom codemill.sandbox import Request, run, zygote\n"
        "assert run(Request(language='python', code='pass')).status == 'passed'\n"
        "print(zygote._ZYGOTE._proc.pid, flush=True)\nos.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    pid = int(done.stdout)

    def zygote_alive() -> bool:  # a zombie's command line is empty
        try:
            return "zygote_main" in Path(f"/proc/{pid}/cmdline").read_text()
        except OSError:
            return False

    deadline = time.monotonic() + 10  # it failed once at 2 s on a loaded machine; EOF comes at once when idle
    while zygote_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not zygote_alive(), f"the zygote {pid} outlived its host: {Path(f'/proc/{pid}/stack').read_text()}"


MEMORY_BOMB = (Path(__file__).parent / "sandbox_programs" / "hostile" / "memory_bomb.py").read_text()
BOMB_LIMITS = LimitsOverride(cpu_seconds=10, wall_seconds=30, memory_mb=128)


@pytest.mark.parametrize("zygote", ["1", "0"], ids=["zygote", "bubblewrap"])
def test_a_memory_bomb_is_memory_exceeded_one_at_a_time_and_four_at_once(
    zygote: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the zygote a memory bomb once ended as ``timeout`` where bubblewrap said ``memory_exceeded``."""
    monkeypatch.setenv("CODEMILL_SANDBOX_ZYGOTE", zygote)
    bomb = Request(language="python", code=MEMORY_BOMB, limits=BOMB_LIMITS)
    results = [run(bomb) for _ in range(3)] + run_many([bomb] * 4, concurrency=4)
    assert [r.status for r in results] == ["memory_exceeded"] * 7, [(r.status, r.message) for r in results]
    assert all(r.run is not None and r.run.killed_by == "memory" for r in results)


@pytest.mark.parametrize("zygote", ["1", "0"], ids=["zygote", "bubblewrap"])
def test_every_run_has_a_session_and_a_scheduler_autogroup_of_its_own(
    zygote: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cause of the bomb's ``timeout``: every zygote run shared the host's session, so its autogroup, so one
    session's CPU share under load (and a controlling terminal, where the host has one). bwrap: --new-session.

    The session is checked everywhere: a run is in a PID namespace of its own, where a session led from outside
    reads as 0. The autogroup only where the kernel has them switched on: with ``noautogroup`` (as on some CI
    hosts) ``/proc/self/autogroup`` exists but reads empty."""
    monkeypatch.setenv("CODEMILL_SANDBOX_ZYGOTE", zygote)
    code = (
        "import os, time\nprint(os.getsid(0))\nprint(open('/proc/self/autogroup').read().split()[:1])\n"
        "time.sleep(0.5)\n"
    )
    results = run_many([Request(language="python", code=code)] * 2, concurrency=2)
    assert [r.status for r in results] == ["passed", "passed"], [r.stderr for r in results]
    lines = [r.stdout.split("\n") for r in results]
    assert all(int(run[0]) != 0 for run in lines), lines
    own = Path("/proc/self/autogroup")
    host_group = own.read_text().split()[:1] if own.exists() else []
    if host_group:
        groups = [run[1] for run in lines]
        assert str(host_group) not in groups and groups[0] != groups[1], groups


def test_a_time_limit_after_an_oom_kill_is_memory_exceeded() -> None:
    """The OOM killer ended the child; its parent sleeps on into the wall limit: the memory limit came first."""
    code = (
        "import os, time\nif os.fork() == 0:\n    chunks = []\n    while True:\n"
        "        chunks.append(bytearray(32 << 20))\nos.wait()\ntime.sleep(60)\n"
    )
    result = run(Request(language="python", code=code, limits=LimitsOverride(wall_seconds=3, memory_mb=64)))
    assert result.status == "memory_exceeded", (result.status, result.message, result.stderr)


def test_a_cgroup_removed_under_a_run_is_a_sandbox_error_not_a_crash_of_the_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Seen here: a cleanup of /sys/fs/cgroup/*/codemill-sandbox while an eval was paused removed a live run's
    (empty) group; the run then read its CPU time from a missing file and the whole evaluation died. Now that
    run is a sandbox_error naming the cause, and the rest of the batch runs."""
    from codemill.sandbox import isolation
    from codemill.sandbox.cgroups import PhaseCgroup

    class Vanishing(PhaseCgroup):
        removed = 0

        def memory_peak_mb(self) -> float:  # read once the program has exited
            if not Vanishing.removed:  # the first run only
                Vanishing.removed += 1
                self.kill_all()
                for path in self.paths.values():  # an empty group can be removed (retry while the kernel reaps)
                    for _ in range(500):
                        try:
                            path.rmdir()
                            break
                        except OSError:
                            time.sleep(0.002)
            return super().memory_peak_mb()

    monkeypatch.setattr(isolation, "PhaseCgroup", Vanishing)
    requests = [Request(language="python", code=f"print({i})") for i in range(3)]
    gone, *rest = run_many(requests, concurrency=1)
    assert gone.status == "sandbox_error" and "was removed while it ran" in gone.message
    assert [r.status for r in rest] == ["passed", "passed"] and rest[0].stdout == "1\n"
