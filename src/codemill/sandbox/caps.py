"""The most a request may ask for: server-side maximums for every limit, set by the operator.

Why: a request's limits are the caller's to choose, but without a ceiling one caller could ask for
64 GiB, 900 s and 4,096 processes per run and take the machine from everyone else. A request over a
maximum is refused (HTTP 422, naming the field, the value, the maximum and the flag that sets it);
a language's own default over a maximum (a 2 GiB compile on a server capped at 1 GiB) is lowered to
it, so the operator's ceiling binds every run. Set with ``codemill sandbox serve --max-memory-mb ...``
or ``CODEMILL_SANDBOX_MAX_MEMORY_MB`` (a flag wins over the environment).
"""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field

from codemill.sandbox.schema import Limits, LimitsOverride, Request

__all__ = ["ENV_PREFIX", "Caps", "CapsExceeded"]

ENV_PREFIX = "CODEMILL_SANDBOX_MAX_"


class CapsExceeded(ValueError):
    """A request asked for more than the server allows (the message lists every field over its maximum)."""


class Caps(BaseModel):
    """Maximums per phase (compile and run alike), and of a request's size."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cpu_seconds: float = Field(120.0, gt=0)
    wall_seconds: float = Field(180.0, gt=0)
    memory_mb: int = Field(4096, ge=16)
    processes: int = Field(512, ge=1)
    file_size_mb: int = Field(1024, ge=0)
    output_bytes: int = Field(16 << 20, ge=0)
    request_bytes: int = Field(
        32 << 20, ge=1, description="code + tests + stdin + files, in bytes (what a run's memfd and tmpfs start with)."
    )

    @classmethod
    def from_env(cls, **flags: float | int | None) -> Caps:
        """Defaults, overridden by ``CODEMILL_SANDBOX_MAX_<FIELD>``, overridden by the flags that are not None."""
        values: dict[str, str | float | int] = {}
        for name in cls.model_fields:
            env = os.environ.get(ENV_PREFIX + name.upper())
            if env:
                values[name] = env
        values |= {name: value for name, value in flags.items() if value is not None}
        return cls.model_validate(values)

    @staticmethod
    def how_to_set(name: str) -> str:
        return f"`sandbox serve --max-{name.replace('_', '-')}` or {ENV_PREFIX}{name.upper()}"

    def violations(self, request: Request) -> list[str]:
        """Every limit the request sets above its maximum, as a sentence; empty when the request fits."""
        found = []
        for phase, override in (("limits", request.limits), ("compile_limits", request.compile_limits)):
            for name, value in override.model_dump(exclude_none=True).items():
                cap = getattr(self, name)
                if value > cap:
                    where = self.how_to_set(name)
                    found.append(f"{phase}.{name} = {value} is over this server's maximum {cap} ({where})")
        size = _request_bytes(request)
        if size > self.request_bytes:
            found.append(
                f"the request carries {size} bytes of code, tests, stdin and files, over this server's maximum "
                f"{self.request_bytes} ({self.how_to_set('request_bytes')})"
            )
        return found

    def check(self, request: Request) -> None:
        """:class:`CapsExceeded` when the request asks for more than allowed."""
        found = self.violations(request)
        if found:
            raise CapsExceeded("; ".join(found))

    def clamp(self, limits: Limits) -> Limits:
        """``limits`` with every field lowered to its maximum."""
        names = LimitsOverride.model_fields
        lowered = {name: getattr(self, name) for name in names if getattr(limits, name) > getattr(self, name)}
        return limits.model_copy(update=lowered) if lowered else limits


def _request_bytes(request: Request) -> int:
    texts = [request.code, request.tests or "", request.stdin, *request.files.values()]
    encoded = sum(len(text.encode("utf-8", "surrogatepass")) for text in texts)
    return encoded + sum(len(content) * 3 // 4 for content in request.files_base64.values())
