"""Settings and source lists: load and validate `huntbrief.toml`, OPML files and SOURCE arguments.

The public face of configuration; the work lives in `config_values` (formats, backends,
durations; no pydantic), `config_models` (the pydantic models: validation at the edge),
`config_settings` (loading a settings file) and `config_sources` (OPML and SOURCE
arguments). Every error is a `ConfigError` naming the file and, where it can be found, the line.
"""

from __future__ import annotations

from huntbrief.config_models import NotifyModel, SettingsModel, SourceModel
from huntbrief.config_settings import (
    NotifySpec,
    Settings,
    check_notify_sources,
    default_settings,
    load_settings,
    sigma_folder,
)
from huntbrief.config_sources import default_sources, parse_opml, sources_from_args
from huntbrief.config_values import (
    CONFIG_NAME,
    DEFAULT_FORMATS,
    ENV_PREFIX,
    FORMAT_NAMES,
    parse_backends,
    parse_duration,
    parse_formats,
)

__all__ = [
    "CONFIG_NAME",
    "DEFAULT_FORMATS",
    "ENV_PREFIX",
    "FORMAT_NAMES",
    "NotifyModel",
    "NotifySpec",
    "Settings",
    "SettingsModel",
    "SourceModel",
    "check_notify_sources",
    "default_settings",
    "default_sources",
    "load_settings",
    "parse_backends",
    "parse_duration",
    "parse_formats",
    "parse_opml",
    "sigma_folder",
    "sources_from_args",
]
