"""The error console shared by the commands, and the one way a command fails with a message."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

from huntbrief.errors import ConfigError, HuntbriefError

err = Console(stderr=True)


def die(exc: HuntbriefError) -> NoReturn:
    """Print the error and exit: 2 for a configuration or usage error, 1 for anything else."""
    err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
    raise typer.Exit(2 if isinstance(exc, ConfigError) else 1)
