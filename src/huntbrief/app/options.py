"""Command-line options shared by `run` and `brief`: query backends, Sigma rule folder, TLP marking."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from huntbrief.errors import ConfigError

SigmaOpt = Annotated[
    Path | None,
    typer.Option(help="A folder of SigmaHQ rules to offer as hunts too (matched by ATT&CK tag)."),
]
BackendsOpt = Annotated[
    str | None,
    typer.Option(help="Comma-separated query backends: splunk, splunk_plain, kql, sentinel, elastic."),
]
TlpOpt = Annotated[
    str | None,
    typer.Option(help="TLP marking of STIX and MISP output: clear, green, amber, amber+strict, red."),
]
TLP_LEVELS = ("clear", "green", "amber", "amber+strict", "red")


@dataclass(frozen=True, slots=True)
class AnalysisOptions:
    """What the command line and settings say about the analysis: backends, Sigma rules, TLP."""

    backends: tuple[str, ...]
    sigma_rules: Path | None
    tlp: str


def parse_backend_option(text: str) -> tuple[str, ...]:
    """--backends value -> names; ConfigError naming the valid ones."""
    from huntbrief.config import parse_backends

    try:
        return parse_backends(text)
    except ValueError as exc:
        raise ConfigError(str(exc), location="--backends") from exc


def tlp_level(text: str) -> str:
    """--tlp value -> a TLP 2.0 level name; ConfigError naming the valid ones."""
    level = text.strip().lower().removeprefix("tlp:")
    if level not in TLP_LEVELS:
        raise ConfigError(f"unknown TLP level {text!r}; valid: {', '.join(TLP_LEVELS)}", location="--tlp")
    return level
