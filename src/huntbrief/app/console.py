"""The error console shared by the commands, and the one way a command fails with a message."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

import typer

from huntbrief.errors import ConfigError, HuntbriefError

if TYPE_CHECKING:
    from rich.console import Console


class LazyConsole:
    """A rich `Console` built on first use: importing rich costs ~20 ms of every command's start-up,
    and most runs (`huntbrief iocs`, `brief`) never print through it."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    def get(self) -> Console:
        """The console itself (built now if it was not yet)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)


err = LazyConsole(stderr=True)


def die(exc: HuntbriefError) -> NoReturn:
    """Print the error and exit: 2 for a configuration or usage error, 1 for anything else."""
    err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
    raise typer.Exit(2 if isinstance(exc, ConfigError) else 1)
