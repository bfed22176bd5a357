"""``run(request) -> Result``: compile if the language compiles, run, and say what happened in one status.

The runner owns the one compile-then-run path for every language (the table says *what* to run,
``isolation`` says *how*), and the one mapping from what a process did to a status, so that a
language cannot drift into scoring differently. Its rules, in order:

1. The sandbox could not start (unknown language, missing toolchain, bwrap failure): ``sandbox_error``,
   with a message that says how to fix it. A missing toolchain is never a silent failure.
2. The sandbox ended the phase: ``timeout`` (CPU or wall time), ``memory_exceeded`` or
   ``output_exceeded`` (output or file size), for the compile phase as for the run phase.
3. The compiler exited non-zero: ``compile_error``.
4. The program exited 0: ``passed``.
5. Its output shows a failed assertion (the language's ``assertion`` pattern): ``failed``.
6. It ran out of memory by its own account (``MemoryError``, ``OutOfMemoryError``, ``bad_alloc``):
   ``memory_exceeded``; this is how the limit shows where there is no memory cgroup, and for a JVM.
7. It died from a signal, or its output shows an uncaught error (``crash``): ``runtime_error``.
8. Any other non-zero exit: ``failed`` (harnesses that ``exit 1`` on a wrong answer).
"""

from __future__ import annotations

import re
import shutil
import signal
import tempfile
from functools import cache
from pathlib import Path, PurePosixPath

from codemill.sandbox import warm
from codemill.sandbox.isolation import SANDBOX_PATH, IsolationError, PhaseOutcome, execute, workspace
from codemill.sandbox.languages import SandboxLanguage, UnknownLanguageError, get_language
from codemill.sandbox.schema import Limits, PhaseResult, Request, Result

__all__ = ["INSTALL_HINT", "missing_toolchain", "run"]

INSTALL_HINT = "run `bash scripts/install_toolchains.sh` (as root) to install the sandbox's toolchains"
OUT_OF_MEMORY = re.compile(r"MemoryError|OutOfMemoryError|std::bad_alloc|[Cc]annot allocate memory|out of memory")
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


def _safe_relative(path: str) -> PurePosixPath:
    relative = PurePosixPath(path)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise ValueError(f"extra file {path!r}: only relative paths inside the sandbox's folder are allowed")
    return relative


def _format(command: tuple[str, ...], file: str, main: str, limits: Limits) -> list[str]:
    return [part.format(file=file, main=main, memory_mb=limits.memory_mb) for part in command]


def _env(language: SandboxLanguage, limits: Limits) -> dict[str, str]:
    return {key: value.format(memory_mb=limits.memory_mb) for key, value in language.env.items()}


def _error(request: Request, language: str, message: str) -> Result:
    return Result(id=request.id, language=language, status="sandbox_error", message=message)


def run(request: Request) -> Result:
    """Run one request in the sandbox. Never raises for anything the program does."""
    try:
        language = get_language(request.language)
    except UnknownLanguageError as error:
        return _error(request, request.language, str(error.args[0]))
    missing = missing_toolchain(language)
    if missing is not None:
        return _error(request, language.name, f"{language.name}: {missing} is not installed; {INSTALL_HINT}")
    try:
        files = {_safe_relative(path): text for path, text in request.files.items()}
    except ValueError as error:
        return _error(request, language.name, str(error))
    try:
        return _run(request, language, files)
    except IsolationError as error:
        return _error(request, language.name, str(error))


def _run(request: Request, language: SandboxLanguage, files: dict[PurePosixPath, str]) -> Result:
    program = language.program(request.code, request.tests)
    file, main = language.file_name(program), language.main_name(program)
    run_limits = request.limits.apply(language.run_limits)
    compile_limits = request.compile_limits.apply(language.compile_limits)
    result = Result(id=request.id, language=language.name, status="sandbox_error")
    with workspace() as folder:
        for relative, text in files.items():
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            (folder / relative).write_text(text)
        (folder / file).write_text(program)

        if language.compile is not None:
            argv = _format(language.compile, file, main, compile_limits)
            binds, env = language.binds, _env(language, compile_limits)
            warm_path = warm.prepare(language, program)
            if warm_path is not None:
                argv[1:1] = warm_path.compile_args
                binds += warm_path.binds
                env.update({key: f"{env.get(key, '')} {value}".strip() for key, value in warm_path.env.items()})
                warm.install_seed(warm_path, folder)
            outcome = execute(argv, folder, compile_limits, env, binds)
            result.compile = outcome.result
            result.compile_seconds = outcome.result.wall_seconds
            if outcome.sandbox_failed:
                return _sandbox_failed(result, outcome, "compile")
            if outcome.result.killed_by is not None or outcome.result.exit_code != 0:
                return _compile_failed(result, outcome.result)

        argv = _format(language.run, file, main, run_limits)
        with tempfile.TemporaryFile() as stdin:  # outside the sandbox's folder: the program cannot read it twice
            stdin.write(request.stdin.encode())
            stdin.seek(0)
            outcome = execute(argv, folder, run_limits, _env(language, run_limits), language.binds, stdin)
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
