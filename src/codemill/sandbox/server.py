"""The HTTP service: our own ``/run`` and a SandboxFusion-compatible ``/run_code``, with an OpenAPI schema.

Why SandboxFusion's shape: RL and evaluation frameworks (verl, OpenRLHF recipes, SandboxFusion's own
PyPI client) already speak it, so pointing them at this service needs no code change; what changes
is underneath: no network in any mode, per-request memory limits, and a bounded number of runs at
once, so a burst of requests queues instead of making every run time out (SandboxFusion#33, verl#3478).

The handlers are ``async`` and hand each run to a worker thread through one
:class:`anyio.CapacityLimiter`, so the event loop stays free to accept and queue requests while at
most ``concurrency`` programs run.
"""

from __future__ import annotations

import base64
import binascii
from typing import Literal

import anyio
from fastapi import FastAPI
from pydantic import BaseModel, Field

from codemill import __version__
from codemill.sandbox.languages import LANGUAGES
from codemill.sandbox.pool import default_concurrency
from codemill.sandbox.runner import run
from codemill.sandbox.schema import LimitsOverride, PhaseResult, Request, Result

__all__ = ["RunCodeRequest", "RunCodeResponse", "create_app", "to_request", "to_response"]

SANDBOXFUSION_NAMES = {"kotlin_script": "kotlin", "nodejs": "javascript"}
"""SandboxFusion's language names that are not names or aliases in our table."""


class RunCodeRequest(BaseModel):
    """SandboxFusion's ``RunCodeRequest`` (``sandbox/server/sandbox_api.py``)."""

    code: str
    language: str
    compile_timeout: float = 10
    run_timeout: float = 10
    memory_limit_MB: int = -1  # SandboxFusion's field name, kept as is
    stdin: str | None = None
    files: dict[str, str | None] = Field(default_factory=dict, description="path -> base64 content")
    fetch_files: list[str] = Field(default_factory=list, description="Not supported: always returns no files.")


class CommandRunResult(BaseModel):
    status: Literal["Finished", "Error", "TimeLimitExceeded"]
    execution_time: float | None = None
    return_code: int | None = None
    stdout: str | None = None
    stderr: str | None = None


class RunCodeResponse(BaseModel):
    status: Literal["Success", "Failed", "SandboxError"]
    message: str
    compile_result: CommandRunResult | None = None
    run_result: CommandRunResult | None = None
    executor_pod_name: str | None = None
    files: dict[str, str] = Field(default_factory=dict)
    codemill: Result | None = Field(None, description="Our full result, with the typed status.")


def to_request(body: RunCodeRequest) -> Request:
    """SandboxFusion's request as ours. Raises ValueError for files that are not base64 of UTF-8 text."""
    files = {}
    for path, content in body.files.items():
        try:
            files[path] = base64.b64decode(content or "", validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as error:
            raise ValueError(f"file {path!r}: not base64 of UTF-8 text ({error})") from error
    memory = body.memory_limit_MB if body.memory_limit_MB > 0 else None
    return Request(
        language=SANDBOXFUSION_NAMES.get(body.language, body.language),
        code=body.code,
        stdin=body.stdin or "",
        files=files,
        limits=LimitsOverride(wall_seconds=body.run_timeout, cpu_seconds=body.run_timeout, memory_mb=memory),
        compile_limits=LimitsOverride(wall_seconds=body.compile_timeout, cpu_seconds=body.compile_timeout),
    )


def _phase(phase: PhaseResult | None) -> CommandRunResult | None:
    if phase is None:
        return None
    timed_out = phase.killed_by in ("cpu_time", "wall_time")
    return CommandRunResult(
        status="TimeLimitExceeded" if timed_out else "Finished",
        execution_time=phase.wall_seconds,
        return_code=phase.exit_code if phase.signal is None else -phase.signal,
        stdout=phase.stdout,
        stderr=phase.stderr,
    )


def to_response(result: Result) -> RunCodeResponse:
    status = {"passed": "Success", "sandbox_error": "SandboxError"}.get(result.status, "Failed")
    return RunCodeResponse(
        status=status,  # type: ignore[arg-type]
        message=result.message or result.status,
        compile_result=_phase(result.compile),
        run_result=_phase(result.run),
        codemill=result,
    )


def create_app(concurrency: int | None = None) -> FastAPI:
    """The service; ``concurrency`` programs run at once (default: one per core), the rest wait their turn."""
    limiter = anyio.CapacityLimiter(concurrency or default_concurrency())
    app = FastAPI(
        title="codemill sandbox",
        version=__version__,
        description="Run untrusted code in many languages, isolated and limited.",
    )

    async def execute(request: Request) -> Result:
        return await anyio.to_thread.run_sync(run, request, limiter=limiter)

    @app.post("/run", response_model=Result, summary="Run one program (codemill's schema).")
    async def run_endpoint(request: Request) -> Result:
        return await execute(request)

    @app.post("/run_code", response_model=RunCodeResponse, summary="Run one program (SandboxFusion's schema).")
    async def run_code(body: RunCodeRequest) -> RunCodeResponse:
        try:
            request = to_request(body)
        except ValueError as error:
            return RunCodeResponse(status="SandboxError", message=str(error))
        return to_response(await execute(request))

    @app.get("/languages", summary="The languages and their aliases.")
    async def languages() -> dict[str, list[str]]:
        return {language.name: list(language.aliases) for language in LANGUAGES}

    @app.get("/health", summary="Liveness, and how many runs are in progress.")
    async def health() -> dict[str, object]:
        return {"ok": True, "running": limiter.borrowed_tokens, "concurrency": limiter.total_tokens}

    return app
