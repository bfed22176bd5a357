"""What every codemill command shares: its two consoles, how an error ends it, how a command group is made.

Results go to standard output (``out``), progress and errors to standard error (``err``), so a command's
output can be piped. An error prints one red line that names the problem and exits with status 2.

A command module imports at its top only what its signatures need (Typer reads them when the command is built,
for ``--help`` too): the domain it drives is imported in the command's body, so help and every other command stay
fast (``python -X importtime -c "import codemill.cli"``).
"""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

err = Console(stderr=True)
out = Console()


def fail(message: str) -> NoReturn:
    """End the command with ``error: message`` (not wrapped, so paths stay whole) and exit status 2."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


def command_group(help: str, **kwargs: object) -> typer.Typer:
    """A Typer app with codemill's settings: no shell-completion options, no local variables in tracebacks."""
    return typer.Typer(help=help, add_completion=False, pretty_exceptions_show_locals=False, **kwargs)  # type: ignore[arg-type]
