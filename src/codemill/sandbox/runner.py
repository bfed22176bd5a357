"""``run(request) -> Result``: compile if the language compiles, run, and say what happened in one status.

The runner owns the one compile-then-run path for every language (the table says *what* to run,
``isolation`` says *how*), and the one mapping from what a process did to a status, so that a
language cannot drift into scoring differently. Its rules, in order:

1. The sandbox could not start (unknown language, missing toolchain, bad file names, bwrap failure):
   ``sandbox_error``, with a message that says how to fix it. A missing toolchain is never a silent failure.
2. The sandbox ended the phase: ``timeout`` (CPU or wall time), ``memory_exceeded`` or
   ``output_exceeded`` (output or file size), for the compile phase as for the run phase. A time limit that
   runs out after the OOM killer ended one of the phase's processes is ``memory_exceeded``: that came first.
   A file-size kill of the compiler's assembler or linker (the driver reports it and exits 1) is
   ``output_exceeded`` too.
3. The compiler exited non-zero: ``compile_error``.
4. The program exited 0: ``passed``, unless a completion marker was expected (``marker.py``) and is
   not on stdout: then it exited before its tests ended, ``failed``.
5. Its output shows a failed assertion (the language's ``assertion`` pattern): ``failed``.
6. A fork or a thread was refused at the ``processes`` limit (``pids.max`` counted it, or the JVM says
   ``unable to create native thread``): ``runtime_error``, with a message that names the limit.
7. It ran out of memory by its own account (``MemoryError``, ``OutOfMemoryError``, ``bad_alloc``):
   ``memory_exceeded``; this is how the limit shows where there is no memory cgroup, and for a JVM.
8. It died from a signal, or its output shows an uncaught error (``crash``): ``runtime_error``.
9. Any other non-zero exit: ``failed`` (harnesses that ``exit 1`` on a wrong answer).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import shutil
import signal
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath

from codemill.sandbox import marker as completion
from codemill.sandbox import warm
from codemill.sandbox.caps import Caps
from codemill.sandbox.cgroups import CgroupVanished
from codemill.sandbox.files import FileNameError, check_names, fetch, write_files
from codemill.sandbox.isolation import SANDBOX_PATH, IsolationError, PhaseOutcome, execute
from codemill.sandbox.languages import SandboxLanguage, UnknownLanguageError, get_language
from codemill.sandbox.schema import Limits, PhaseResult, Request, Result
from codemill.sandbox.workspace import Workspace, workspace

__all__ = ["INSTALL_HINT", "Prepared", "missing_toolchain", "prepare", "request_files", "run"]

INSTALL_HINT = "run `bash scripts/install_toolchains.sh` (as root) to install the sandbox's toolchains"
OUT_OF_MEMORY = re.compile(r"MemoryError|OutOfMemoryError|std::bad_alloc|[Cc]annot allocate memory|out of memory")
THREAD_LIMIT = re.compile(r"unable to create (?:new )?native thread")
COMPILER_FILE_SIZE = re.compile(
    r"^(?:[\w.+-]*/)?(?:gcc|g\+\+|cc|c\+\+|gdc|collect2|as|ld)(?:-\d+)?: "
    r".*(?:File size limit exceeded|[Ff]ile too large|signal 25\b)",
    re.MULTILINE,
)
"""The GCC family's own report (at the start of a line, under its own name, where a program's ``#error``
text cannot appear) that an assembler or linker died of ``RLIMIT_FSIZE``."""
KILLED_STATUS = {
    "cpu_time": ("timeout", "CPU time limit"),
    "wall_time": ("timeout", "wall time limit"),
    "memory": ("memory_exceeded", "memory limit"),
    "output": ("output_exceeded", "output limit"),
    "file_size": ("output_exceeded", "file size limit"),
}


@cache
def missing_toolchain(language: SandboxLanguage) -> str | None:
    """The first program or folder of the language's commands that is not installed, or None.

    Looked up on the sandbox's own PATH (system folders only), which is what the program will see.
    """
    for command in language.commands():
        program = command[0]
        if program.startswith("./"):
            continue
        if shutil.which(program, path=SANDBOX_PATH) is None:
            return program
        for argument in command[1:]:
            if argument.startswith("/") and "{" not in argument and not Path(argument).exists():
                return argument
    return None


def _format(command: tuple[str, ...], file: str, main: str, limits: Limits) -> list[str]:
    return [part.format(file=file, main=main, memory_mb=limits.memory_mb) for part in command]


def _env(language: SandboxLanguage, limits: Limits) -> dict[str, str]:
    return {key: value.format(memory_mb=limits.memory_mb) for key, value in language.env.items()}


def _error(request: Request, language: str, message: str) -> Result:
    return Result(id=request.id, language=language, status="sandbox_error", message=message)


def request_files(request: Request, reserved: tuple[str, ...] = ()) -> dict[PurePosixPath, bytes]:
    """The request's extra files (text and base64), checked; :class:`ValueError` names the first bad one."""
    contents: dict[str, bytes] = {name: text.encode() for name, text in request.files.items()}
    for name, encoded in request.files_base64.items():
        if name in contents:
            raise FileNameError(f"file {name!r}: given as text and as base64")
        try:
            contents[name] = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as error:
            raise ValueError(f"file {name!r}: not valid base64 ({error})") from None
    paths = check_names(contents, reserved)
    return dict(zip(paths, contents.values(), strict=True))


@dataclass(frozen=True)
class Prepared:
    """A request checked and assembled: its language, the program the sandbox runs, its marker and files."""

    language: SandboxLanguage
    program: str
    marker: str | None
    files: dict[PurePosixPath, bytes]


def prepare(request: Request) -> Prepared:
    """Check and assemble a request: :class:`UnknownLanguageError` or :class:`ValueError` (bad files) say why not.

    The HTTP service calls it to answer 422 before a run; :func:`run` calls it to answer ``sandbox_error``."""
    language = get_language(request.language)
    program, marker = language.program(request.code, request.tests), request.completion_marker
    if request.tests is not None and marker is None:
        program, marker = completion.append(language.name, program)
    files = request_files(request, (language.file_name(program),))
    return Prepared(language, program, marker, files)


def run(request: Request, caps: Caps | None = None) -> Result:
    """Run one request in the sandbox. Never raises for anything the program (or its request) does.

    ``caps``: the operator's maximums; every limit, the language's defaults included, is lowered to them."""
    marks = {"begin": time.monotonic()}
    try:
        prepared = prepare(request)
    except UnknownLanguageError as error:
        return _error(request, request.language, str(error.args[0]))
    except ValueError as error:
        return _error(request, get_language(request.language).name, str(error))
    language = prepared.language
    missing = missing_toolchain(language)
    if missing is not None:
        return _error(request, language.name, f"{language.name}: {missing} is not installed; {INSTALL_HINT}")
    run_limits = request.limits.apply(language.run_limits)
    compile_limits = request.compile_limits.apply(language.compile_limits)
    if caps is not None:
        run_limits, compile_limits = caps.clamp(run_limits), caps.clamp(compile_limits)
    try:
        size = max(run_limits.memory_mb, compile_limits.memory_mb if language.compile else 0)
        with workspace(size) as space:
            marks["workspace"] = time.monotonic()
            result = _run(request, prepared, space, run_limits, compile_limits, marks)
            if request.fetch_files:
                result.files, result.files_left_out = fetch(
                    space.path, request.fetch_files, run_limits.file_size_mb << 20
                )
    except (IsolationError, CgroupVanished) as error:
        return _error(request, language.name, str(error))
    marks["released"] = time.monotonic()
    if prepared.marker is not None and result.phase == "run":
        _check_marker(result, prepared.marker)
    result.timings.update(marks)
    return result


def _run(
    request: Request,
    prepared: Prepared,
    space: Workspace,
    run_limits: Limits,
    compile_limits: Limits,
    marks: dict[str, float],
) -> Result:
    language, program = prepared.language, prepared.program
    file, main = language.file_name(program), language.main_name(program)
    result = Result(id=request.id, language=language.name, status="sandbox_error")
    folder = space.path
    write_files(folder, prepared.files)
    (folder / file).write_text(program)
    if space.uid is not None:
        _chown_tree(folder, space.uid)
    marks["files"] = time.monotonic()

    if language.compile is not None:
        argv = _format(language.compile, file, main, compile_limits)
        binds, env = language.binds, _env(language, compile_limits)
        warm_path = warm.prepare(language, program)
        if warm_path is not None:
            argv[1:1] = warm_path.compile_args
            binds += warm_path.binds
            env.update({key: f"{env.get(key, '')} {value}".strip() for key, value in warm_path.env.items()})
            warm.install_seed(warm_path, folder, space.uid)
        outcome = execute(argv, folder, compile_limits, env, binds, uid=space.uid)
        marks.update({f"compile.{step}": at for step, at in outcome.marks.items()})
        result.compile = outcome.result
        result.compile_seconds = outcome.result.wall_seconds
        if outcome.sandbox_failed:
            return _sandbox_failed(result, outcome, "compile")
        if outcome.result.killed_by is not None or outcome.result.exit_code != 0:
            return _compile_failed(result, outcome.result)

    argv = _format(language.run, file, main, run_limits)
    env = _env(language, run_limits)
    outcome = execute(argv, folder, run_limits, env, language.binds, request.stdin.encode(), uid=space.uid)
    marks.update({f"run.{step}": at for step, at in outcome.marks.items()})
    result.run = outcome.result
    result.run_seconds = outcome.result.wall_seconds
    if outcome.sandbox_failed:
        return _sandbox_failed(result, outcome, "run")
    phase = outcome.result
    result.phase = "run"
    result.exit_code, result.signal = phase.exit_code, phase.signal
    result.stdout, result.stderr = phase.stdout, phase.stderr
    result.status, result.message = _classify(language, phase)
    return result


def _chown_tree(folder: Path, uid: int) -> None:
    """Hand the files the runner wrote to the run's user: its program may change them, as its own."""
    os.chown(folder, uid, uid)
    for top, folders, files in os.walk(folder):
        for name in (*folders, *files):
            os.chown(os.path.join(top, name), uid, uid, follow_symlinks=False)


def _check_marker(result: Result, marker: str) -> None:
    """Passed only with the marker on stdout; the marker's line is taken out of the stdout returned."""
    if result.status == "passed" and not completion.completed(result.stdout, marker):
        result.status = "failed"
        result.message = "exit 0 before the tests ended: the tests' completion marker was not printed"
    result.stdout = completion.strip(result.stdout, marker)
    if result.run is not None:
        result.run.stdout = completion.strip(result.run.stdout, marker)


def _sandbox_failed(result: Result, outcome: PhaseOutcome, phase: str) -> Result:
    result.status = "sandbox_error"
    result.phase = phase  # type: ignore[assignment]
    result.message = f"the sandbox could not start the {phase} phase: {outcome.result.stderr.strip()[:2000]}"
    return result


def _compile_failed(result: Result, phase: PhaseResult) -> Result:
    result.phase = "compile"
    result.exit_code, result.signal = phase.exit_code, phase.signal
    result.stdout, result.stderr = phase.stdout, phase.stderr
    if phase.killed_by is not None:
        result.status, what = KILLED_STATUS[phase.killed_by]  # type: ignore[assignment]
        result.message = f"compilation stopped: {what} exceeded"
    elif COMPILER_FILE_SIZE.search(phase.stderr + "\n" + phase.stdout):
        result.status = "output_exceeded"
        result.message = "compilation stopped: file size limit exceeded (the assembler or linker was killed)"
    else:
        result.status = "compile_error"
        result.message = f"compilation failed (exit {phase.exit_code}, signal {phase.signal})"
    return result


def _classify(language: SandboxLanguage, phase: PhaseResult) -> tuple[str, str]:
    if phase.killed_by is not None:
        status, what = KILLED_STATUS[phase.killed_by]
        return status, f"{what} exceeded"
    output = phase.stderr + "\n" + phase.stdout
    if phase.exit_code == 0 and phase.signal is None:
        silent = language.pattern("failure_despite_exit_0")
        if silent is not None and silent.search(output):
            return "failed", "an assertion failed (exit 0)"
        return "passed", ""
    how = f"exit {phase.exit_code}" if phase.signal is None else f"signal {_signal_name(phase.signal)}"
    assertion, crash = language.pattern("assertion"), language.pattern("crash")
    if assertion is not None and assertion.search(output):
        return "failed", f"an assertion failed ({how})"
    if phase.process_limit_hit or THREAD_LIMIT.search(phase.stderr):
        return "runtime_error", f"the process and thread limit was reached ({how})"
    if OUT_OF_MEMORY.search(phase.stderr):
        return "memory_exceeded", f"the program ran out of memory ({how})"
    if phase.signal is not None:
        return "runtime_error", f"killed by {how}"
    if crash is not None and crash.search(output):
        return "runtime_error", f"uncaught error ({how})"
    return "failed", f"the program reported failure ({how})"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)
