"""The HTTP service: our own ``/run`` and a SandboxFusion-compatible ``/run_code``, with an OpenAPI schema.

Why SandboxFusion's shape: RL and evaluation frameworks (verl, OpenRLHF recipes, SandboxFusion's own
PyPI client) already speak it, so pointing them at this service needs no code change; what changes
is underneath: no network in any mode, per-request memory limits, and a bounded number of runs at
once, so a burst of requests queues instead of making every run time out (SandboxFusion#33, verl#3478).

``/run_code`` follows SandboxFusion (``sandbox/server/sandbox_api.py``, ``sandbox/runners/types.py``)
where it speaks: an unknown language is HTTP 422; ``files`` are base64 (binary allowed; a ``None``
content is skipped, as there); ``fetch_files`` come back base64 in ``files``, a missing one left out;
``return_code`` is null on a timeout; ``message`` is empty unless the status is ``SandboxError``.
Where it differs, on purpose (README, sandbox section): a request is refused with 422 and a message
(a limit over the operator's maximum, see ``caps.py``; a file name that is absolute, has ``..``, a NUL,
or is both a file and a folder) where SandboxFusion would run it or answer 500; and our typed result
rides along in ``codemill``.

The handlers are ``async`` and hand each run to a worker thread through one
:class:`anyio.CapacityLimiter`, so the event loop stays free to accept and queue requests while at
most ``concurrency`` programs run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

import anyio
from fastapi import FastAPI, HTTPException
from fastapi import Request as HttpRequest
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, ValidationError

from codemill import __version__
from codemill.sandbox.caps import Caps
from codemill.sandbox.languages import LANGUAGES, UnknownLanguageError
from codemill.sandbox.pool import default_concurrency
from codemill.sandbox.runner import prepare, run
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
    fetch_files: list[str] = Field(default_factory=list, description="Files read back after the run (base64).")


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
    """SandboxFusion's request as ours (files stay base64: the runner decodes and checks them)."""
    memory = body.memory_limit_MB if body.memory_limit_MB > 0 else None
    return Request(
        language=SANDBOXFUSION_NAMES.get(body.language, body.language),
        code=body.code,
        stdin=body.stdin or "",
        files_base64={path: content for path, content in body.files.items() if isinstance(content, str)},
        fetch_files=body.fetch_files,
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
        return_code=None if timed_out else phase.exit_code if phase.signal is None else -phase.signal,
        stdout=phase.stdout,
        stderr=phase.stderr,
    )


def to_response(result: Result) -> RunCodeResponse:
    status = {"passed": "Success", "sandbox_error": "SandboxError"}.get(result.status, "Failed")
    return RunCodeResponse(
        status=status,  # type: ignore[arg-type]
        message=result.message if status == "SandboxError" else "",
        compile_result=_phase(result.compile),
        run_result=_phase(result.run),
        files=result.files,
        codemill=result,
    )


def refusal(request: Request, caps: Caps) -> str | None:
    """Why the service refuses ``request`` (HTTP 422), or None: unknown language, bad files, limits over caps."""
    try:
        prepare(request)
    except UnknownLanguageError as error:
        return str(error.args[0])
    except ValueError as error:
        return str(error)
    found = caps.violations(request)
    return "; ".join(found) if found else None


def create_app(concurrency: int | None = None, caps: Caps | None = None) -> FastAPI:
    """The service; ``concurrency`` programs run at once (default: one per core), the rest wait their turn.

    ``caps``: the operator's maximums (default: :meth:`Caps.from_env`)."""
    limiter = anyio.CapacityLimiter(concurrency or default_concurrency())
    caps = caps or Caps.from_env()
    app = FastAPI(
        title="codemill sandbox",
        version=__version__,
        description="Run untrusted code in many languages, isolated and limited.",
    )

    @app.middleware("http")
    async def refuse_huge_bodies(request: HttpRequest, call_next: Callable[[HttpRequest], Awaitable[Response]]):
        # A body is parsed into memory before any check: refuse one far over what a request may carry.
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > 2 * caps.request_bytes + (1 << 20):
            message = f"request body of {declared} bytes; this server takes at most about {2 * caps.request_bytes}"
            return JSONResponse(status_code=413, content={"detail": message})
        return await call_next(request)

    async def execute(request: Request) -> Result:
        why = refusal(request, caps)
        if why is not None:
            raise HTTPException(status_code=422, detail=why)
        return await anyio.to_thread.run_sync(run, request, caps, limiter=limiter)

    @app.post("/run", response_model=Result, summary="Run one program (codemill's schema).")
    async def run_endpoint(request: Request) -> Result:
        return await execute(request)

    @app.post("/run_code", response_model=RunCodeResponse, summary="Run one program (SandboxFusion's schema).")
    async def run_code(body: RunCodeRequest) -> RunCodeResponse:
        try:
            request = to_request(body)
        except ValidationError as error:  # a timeout or memory beyond what any phase may have
            raise HTTPException(status_code=422, detail=f"the request's limits cannot be run: {error}") from None
        return to_response(await execute(request))

    @app.get("/limits", summary="The most a request may ask for on this server.")
    async def limits() -> Caps:
        return caps

    @app.get("/languages", summary="The languages and their aliases.")
    async def languages() -> dict[str, list[str]]:
        return {language.name: list(language.aliases) for language in LANGUAGES}

    @app.get("/health", summary="Liveness, and how many runs are in progress.")
    async def health() -> dict[str, object]:
        return {"ok": True, "running": limiter.borrowed_tokens, "concurrency": limiter.total_tokens}

    return app
