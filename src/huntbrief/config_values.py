"""Settings values given as text: output formats, query backends and durations.

No pydantic here, so the command line can parse its options cheaply. A bad value is a
`ConfigError` (formats, durations) or a `ValueError` (backends) naming the valid choices.
"""

from __future__ import annotations

import re

from huntbrief.catalog.usecases import QUERY_LANGUAGES
from huntbrief.errors import ConfigError

CONFIG_NAME = "huntbrief.toml"
FORMAT_NAMES = ("markdown", "json", "stix", "misp", "csv", "navigator")  # = adapters.render.RENDERERS
DEFAULT_FORMATS = ("markdown", "json")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
ENV_PREFIX = "env:"  # `url` and header values may be "env:NAME": read from the environment at start-up


def parse_formats(text: str) -> tuple[str, ...]:
    """Parse a comma-separated list of output format names; unknown names are a ConfigError."""
    names = tuple(dict.fromkeys(part.strip().lower() for part in text.split(",") if part.strip()))
    unknown = [n for n in names if n not in FORMAT_NAMES]
    if unknown or not names:
        raise ConfigError(
            f"unknown output format {', '.join(unknown) or '(none)'}; valid: {', '.join(FORMAT_NAMES)}"
        )
    return names


def parse_duration(text: str) -> float:
    """Parse `30m`, `2h`, `45s`, `1d` or a bare number of seconds into seconds (> 0)."""
    match = _DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise ConfigError(f"invalid duration {text!r}: use a number with s, m, h or d, e.g. 30m")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_backends(text: str) -> tuple[str, ...]:
    """`splunk,kql` -> ("splunk", "kql"); ValueError naming the valid names for an unknown one."""
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in QUERY_LANGUAGES]
    if unknown or not names:
        raise ValueError(
            f"unknown query backend {', '.join(unknown) or '(none)'}; valid: {', '.join(QUERY_LANGUAGES)}"
        )
    return names
