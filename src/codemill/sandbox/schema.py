"""The sandbox's contract: what a caller asks for (:class:`Request`) and what comes back (:class:`Result`).

Pydantic models because the same objects cross three boundaries: the Python API, the CLI (JSON on
stdout) and the HTTP service; one schema validates all three and gives the OpenAPI document for free.

Statuses are a closed set so that statistics can group by them and so that a missing toolchain or a
broken sandbox (``sandbox_error``) can never be confused with a program that failed its tests:

* ``passed``: the program (after compiling, if the language compiles) exited with status 0.
* ``failed``: it exited on its own with a non-zero status: an assertion failed or the test harness
  reported a failure (MultiPL-E's Perl, R and Bash harnesses just ``exit 1``).
* ``compile_error``: the compiler rejected the program; ``compile`` holds its output.
* ``runtime_error``: it died from a signal the sandbox did not send (a crash), or its output shows an
  uncaught exception that is not an assertion failure.
* ``timeout``: CPU time or wall time ran out, in the compile or the run phase (``phase`` says which).
* ``memory_exceeded``: the memory limit was hit (the cgroup's OOM killer, or the runtime said so).
* ``output_exceeded``: stdout or stderr went over ``output_bytes``, or a file went over ``file_size_mb``.
* ``sandbox_error``: the sandbox itself could not run the request (unknown language, missing toolchain,
  bubblewrap failure); ``message`` says what to do.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

__all__ = ["STATUSES", "Limits", "LimitsOverride", "PhaseResult", "Request", "Result", "Status"]

Status = Literal[
    "passed",
    "failed",
    "compile_error",
    "runtime_error",
    "timeout",
    "memory_exceeded",
    "output_exceeded",
    "sandbox_error",
]
STATUSES: tuple[str, ...] = Status.__args__  # type: ignore[attr-defined]


class Limits(BaseModel):
    """Resource limits of one phase (compile or run). Every field is per request and per phase."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cpu_seconds: float = Field(10.0, gt=0, le=600, description="CPU time of the whole process tree.")
    wall_seconds: float = Field(20.0, gt=0, le=900, description="Wall-clock time; the process tree is killed after.")
    memory_mb: int = Field(
        512,
        ge=16,
        le=65536,
        description="Resident memory of the process tree (cgroup), files written to the sandbox's folders included.",
    )
    processes: int = Field(128, ge=1, le=4096, description="Processes and threads alive at once.")
    file_size_mb: int = Field(64, ge=0, le=4096, description="Largest file the program may write.")
    output_bytes: int = Field(1 << 20, ge=0, le=64 << 20, description="Bytes kept of stdout and of stderr, each.")


class LimitsOverride(BaseModel):
    """The limits a request changes; the rest come from the language's defaults."""

    model_config = ConfigDict(extra="forbid")

    cpu_seconds: float | None = Field(None, gt=0, le=600)
    wall_seconds: float | None = Field(None, gt=0, le=900)
    memory_mb: int | None = Field(None, ge=16, le=65536)
    processes: int | None = Field(None, ge=1, le=4096)
    file_size_mb: int | None = Field(None, ge=0, le=4096)
    output_bytes: int | None = Field(None, ge=0, le=64 << 20)

    def apply(self, base: Limits) -> Limits:
        """``base`` with this override's set fields replaced."""
        return base.model_copy(update=self.model_dump(exclude_none=True))


class Request(BaseModel):
    """One program to run.

    ``tests``, when given, is appended by the language's harness (see ``languages.py``): that is how a
    benchmark's test code wraps a model's completion, e.g. HumanEval's ``check(candidate)``.
    """

    model_config = ConfigDict(extra="forbid")

    language: str = Field(..., description="A name or alias from the language table, e.g. python, cpp, c#.")
    code: str = Field(..., description="The program's source.")
    tests: str | None = Field(None, description="Test code the language's harness appends to `code`.")
    stdin: str = Field("", description="Given to the program on standard input.")
    files: dict[str, str] = Field(
        default_factory=dict, description="Extra files (relative path -> text) written next to the program."
    )
    files_base64: dict[str, str] = Field(
        default_factory=dict, description="Extra files (relative path -> base64 content: binary allowed)."
    )
    fetch_files: list[str] = Field(
        default_factory=list, description="Files (relative paths) read back after the run, into `Result.files`."
    )
    completion_marker: str | None = Field(
        None,
        description="A line the program prints after its last test (see `marker.py`): exit 0 without it on "
        "stdout is `failed`, so a program that exits before its tests never passes. With `tests`, the runner "
        "makes one itself where the language allows.",
    )
    limits: LimitsOverride = Field(default_factory=LimitsOverride, description="Run-phase limits to change.")
    compile_limits: LimitsOverride = Field(
        default_factory=LimitsOverride, description="Compile-phase limits to change."
    )
    id: str | None = Field(None, description="Echoed back in the result, for the caller's bookkeeping.")


class PhaseResult(BaseModel):
    """What one phase (compile or run) did."""

    exit_code: int | None = Field(None, description="Exit status; None when the process died from a signal.")
    signal: int | None = Field(None, description="The signal that ended the process, if one did.")
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    wall_seconds: float = 0.0
    cpu_seconds: float | None = Field(None, description="CPU time of the process tree (cgroup), when measured.")
    memory_peak_mb: float | None = Field(None, description="Peak memory of the process tree (cgroup), when measured.")
    killed_by: Literal["cpu_time", "wall_time", "memory", "output", "file_size"] | None = Field(
        None, description="Why the sandbox ended the phase early, if it did."
    )
    process_limit_hit: bool = Field(
        False, description="A fork or thread was refused because the phase's `processes` limit was reached."
    )


class Result(BaseModel):
    """The outcome of one request. ``status`` is the one field most callers need."""

    id: str | None = None
    language: str
    status: Status
    phase: Literal["compile", "run"] | None = Field(
        None, description="The phase that decided the status (None for a sandbox_error before any phase)."
    )
    message: str = Field("", description="A human-readable reason, always set when status is not passed.")
    exit_code: int | None = None
    signal: int | None = None
    stdout: str = ""
    stderr: str = ""
    compile: PhaseResult | None = None
    run: PhaseResult | None = None
    compile_seconds: float = 0.0
    run_seconds: float = 0.0
    files: dict[str, str] = Field(default_factory=dict, description="The fetched files: path -> base64 content.")
    files_left_out: dict[str, str] = Field(
        default_factory=dict, description="Fetched files that did not come back: path -> why."
    )
    _timings: dict[str, float] = PrivateAttr(default_factory=dict)

    @property
    def timings(self) -> dict[str, float]:
        """``time.monotonic()`` when each step of the run ended (``workspace``, ``run.cgroup``, ``run.started``, ...).

        For profiles (``bench/sandbox_bench.py``): kept out of every serialised form, so callers never see it."""
        return self._timings

    def __eq__(self, other: object) -> bool:
        """Equal fields, equal results: when each step ended (``timings``) is no part of what came back."""
        if not isinstance(other, Result):
            return NotImplemented
        return self.__dict__ == other.__dict__

    @property
    def passed(self) -> bool:
        return self.status == "passed"
