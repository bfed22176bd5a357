"""The ``codemill`` command line: one Typer app, one command per capability.

Every capability lives beside its domain: the curation commands (``curate/cli.py``), ``sample-corpus``
(``data/cli.py``), commands ``eval``, ``synth``, ``loop``, ``train``, groups ``sandbox``, ``mix``, ``classifier``,
``pack``. A command's module is imported only when that command runs or its help is shown (:class:`_LazyGroup`),
so ``codemill dedup`` does not pay for the sandbox or the models, and ``import codemill.cli`` for none of them.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from typing import Annotated

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup

from codemill.clikit import command_group, out

_Command = TyperCommand | TyperGroup

COMMANDS: dict[str, str] = {
    "curate": "codemill.curate.cli:curate",
    "dedup": "codemill.curate.cli:dedup",
    "decontaminate": "codemill.curate.cli:decontaminate",
    "inspect": "codemill.curate.cli:inspect",
    "report": "codemill.curate.cli:report",
    "export": "codemill.curate.cli:export",
    "sample-corpus": "codemill.data.cli:sample_corpus",
    "eval": "codemill.evaluate.cli:evaluate",
    "synth": "codemill.synth.cli:synth",
    "loop": "codemill.loop.cli:loop",
    "ablate": "codemill.ablate.cli:ablate",
    "train": "codemill.train.cli:train",
    "sandbox": "codemill.sandbox.cli:app",
    "mix": "codemill.curate.mix.cli:app",
    "classifier": "codemill.curate.classify.cli:app",
    "pack": "codemill.curate.pack.cli:app",
}
"""Each command's ``module:attribute``: a command function or a Typer sub-app (a group), in the order of --help."""


def _build(name: str, spec: str) -> _Command:
    """The command Typer makes of ``app.command(name)(function)`` or ``app.add_typer(sub_app, name=name)``."""
    module, _, attribute = spec.partition(":")
    target = getattr(importlib.import_module(module), attribute)
    holder = command_group("")  # the settings of ``app``, so the command is built as if registered on it
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name)
    else:
        holder.command(name)(target)
    return typer.main.get_group(holder).commands[name]  # type: ignore[return-value]


class _LazyCommands(MutableMapping[str, _Command]):
    """A group's commands by name: all names known up front, each command built (imported) when first looked up."""

    def __init__(self, commands: MutableMapping[str, _Command], lazy: dict[str, str]) -> None:
        self._entries: dict[str, _Command | str] = {**commands, **lazy}

    def __getitem__(self, name: str) -> _Command:
        entry = self._entries[name]
        if isinstance(entry, str):
            entry = self._entries[name] = _build(name, entry)
        return entry

    def __setitem__(self, name: str, command: _Command) -> None:
        self._entries[name] = command

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


class _LazyGroup(TyperGroup):
    """The main group with :data:`COMMANDS` as sub-commands, each imported only when it is run or listed."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.commands = _LazyCommands(self.commands, COMMANDS)  # type: ignore[arg-type]

    def list_commands(self, ctx: typer.Context) -> list[str]:
        """The names alone: Typer's own version looks every command up, which would import them all."""
        return list(self.commands)


app = command_group(
    "codemill: turn raw code, text and math into training data for code LLMs, and check it by running it.",
    no_args_is_help=True,
    cls=_LazyGroup,
)


def _version(value: bool) -> None:
    if value:
        from codemill import __version__

        out.print(f"codemill {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = None,
) -> None:
    """codemill: curate pretraining data, synthesise and verify instruction data, evaluate code models."""


if __name__ == "__main__":
    app()
