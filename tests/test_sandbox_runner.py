"""The runner's contract: every status, the limits per request, stdin, extra files, the harness, timings."""

from __future__ import annotations

import json

import pytest

from codemill.sandbox import LimitsOverride, Request, Result, run, run_many
from codemill.sandbox.languages import SandboxLanguage
from codemill.sandbox.runner import missing_toolchain
from codemill.sandbox.schema import STATUSES
from codemill.sandbox.seccomp import filter_program

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


def test_compile_timeout_is_a_timeout_of_the_compile_phase() -> None:
    # <bits/stdc++.h> takes g++ seconds of CPU: far more than this compile limit.
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
    assert result.run is not None and result.run.killed_by == "cpu_time"
    assert result.run_seconds < 5


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
