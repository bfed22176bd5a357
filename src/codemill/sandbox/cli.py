"""``codemill sandbox``: run one program, check the toolchains, serve the HTTP API.

A Typer sub-app so that the main CLI mounts it by name (``"sandbox"`` in :data:`codemill.cli.COMMANDS`) and
the sandbox stays usable on its own (``python -m codemill.sandbox.cli``). ``run`` prints the
:class:`~codemill.sandbox.schema.Result` as JSON on stdout, the same document the Python API and the HTTP
service return, and exits 0 only when the program passed, so shell scripts can branch on it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from codemill.clikit import command_group, err

__all__ = ["app"]

app = command_group(
    "Run untrusted code in many languages, isolated (bubblewrap) and limited (cgroups).", no_args_is_help=True
)


@app.command()
def run(
    file: Annotated[Path | None, typer.Argument(help="The program; '-' or nothing: read it from stdin.")] = None,
    language: Annotated[str, typer.Option("--language", "-l", help="python, cpp, java, ... (see `doctor`).")] = ...,  # type: ignore[assignment]
    tests: Annotated[Path | None, typer.Option(help="Test code the language's harness appends.")] = None,
    stdin_file: Annotated[Path | None, typer.Option("--stdin", help="A file given to the program on stdin.")] = None,
    cpu: Annotated[float | None, typer.Option(help="CPU seconds of the run phase.")] = None,
    wall: Annotated[float | None, typer.Option(help="Wall-clock seconds of the run phase.")] = None,
    memory: Annotated[int | None, typer.Option(help="Memory limit of the run phase, MB.")] = None,
    output_bytes: Annotated[int | None, typer.Option(help="Bytes kept of stdout and of stderr.")] = None,
) -> None:
    """Run one program and print the result as JSON; exit 0 if it passed, 1 if not."""
    from codemill.sandbox.runner import run as run_request
    from codemill.sandbox.schema import LimitsOverride, Request

    code = sys.stdin.read() if file is None or str(file) == "-" else file.read_text()
    request = Request(
        language=language,
        code=code,
        tests=tests.read_text() if tests else None,
        stdin=stdin_file.read_text() if stdin_file else "",
        limits=LimitsOverride(cpu_seconds=cpu, wall_seconds=wall, memory_mb=memory, output_bytes=output_bytes),
    )
    result = run_request(request)
    typer.echo(result.model_dump_json(indent=2))
    raise typer.Exit(code=0 if result.passed else 1)


@app.command()
def doctor(
    language: Annotated[
        list[str] | None, typer.Option("--language", "-l", help="Only these languages (repeat); default: all.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """For each language: toolchain version, and whether hello-world passes and a failing assertion fails."""
    from rich.console import Console
    from rich.table import Table

    from codemill.sandbox.doctor import check_languages
    from codemill.sandbox.isolation import isolation_report

    report = check_languages(language or None)
    isolation = isolation_report()
    if as_json:
        payload = {"isolation": isolation, "languages": [line.model_dump() for line in report]}
        typer.echo(json.dumps(payload, indent=2))
    else:
        out = Console()
        out.print("isolation: " + ", ".join(f"{key}={value}" for key, value in isolation.items()), highlight=False)
        table = Table("language", "version", "hello", "failing", "seconds", "ok", "detail")
        for line in report:
            table.add_row(
                line.language,
                line.version or "[red]missing[/]",
                line.hello,
                line.failing,
                f"{line.hello_seconds:.2f}",
                "[green]yes[/]" if line.ok else "[red]NO[/]",
                line.detail,
            )
        out.print(table)
    if not all(line.ok for line in report):
        err.print("[red]some languages are not usable[/]: run `bash scripts/install_toolchains.sh` (as root)")
        raise typer.Exit(code=1)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    concurrency: Annotated[int | None, typer.Option(min=1, help="Programs run at once; default: one per core.")] = None,
    max_cpu_seconds: Annotated[float | None, typer.Option(help="Most CPU seconds a phase may ask for.")] = None,
    max_wall_seconds: Annotated[float | None, typer.Option(help="Most wall-clock seconds a phase may ask for.")] = None,
    max_memory_mb: Annotated[int | None, typer.Option(help="Most memory (MB) a phase may ask for.")] = None,
    max_processes: Annotated[int | None, typer.Option(help="Most processes and threads a phase may ask for.")] = None,
    max_file_size_mb: Annotated[int | None, typer.Option(help="Largest file (MB) a phase may ask to write.")] = None,
    max_output_bytes: Annotated[int | None, typer.Option(help="Most bytes of stdout/stderr a phase may keep.")] = None,
    max_request_bytes: Annotated[int | None, typer.Option(help="Most bytes of code, tests, stdin and files.")] = None,
) -> None:
    """Serve the HTTP API: POST /run, POST /run_code (SandboxFusion-compatible), GET /languages, /limits, /docs.

    Every limit a request may set has a maximum: the flags here, else CODEMILL_SANDBOX_MAX_<FIELD>, else the
    defaults of ``caps.py``; a request over one is refused with HTTP 422 and a message naming it."""
    import uvicorn

    from codemill.sandbox.caps import Caps
    from codemill.sandbox.server import create_app

    caps = Caps.from_env(
        cpu_seconds=max_cpu_seconds,
        wall_seconds=max_wall_seconds,
        memory_mb=max_memory_mb,
        processes=max_processes,
        file_size_mb=max_file_size_mb,
        output_bytes=max_output_bytes,
        request_bytes=max_request_bytes,
    )
    uvicorn.run(create_app(concurrency, caps), host=host, port=port, log_level="warning")


@app.command()
def languages() -> None:
    """List the languages and their aliases."""
    from codemill.sandbox.languages import LANGUAGES

    for language in LANGUAGES:
        typer.echo(f"{language.name}: {', '.join(language.aliases)}")


if __name__ == "__main__":
    app()
