"""The pydantic models of `huntbrief.toml`: its shape, bounds and per-field checks.

Validation at the edge: unknown keys are errors, and a bad value raises pydantic's
`ValidationError` (or `ConfigError` for `formats`), which `config_settings` turns into a
`ConfigError` naming the file and line.
"""

from __future__ import annotations

import re
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from huntbrief.config_values import DEFAULT_FORMATS, ENV_PREFIX, parse_backends, parse_formats
from huntbrief.model import SeverityLevel

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an HTTP token
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization"})  # must come from the environment


class SourceModel(BaseModel):
    """One `[[sources]]` entry of the settings file."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1)
    url: str = Field(min_length=1)
    category: str = "news"
    fetch_articles: bool = True
    include: list[str] = []
    exclude: list[str] = []
    weight: float = Field(default=1.0, ge=0.0, le=10.0)

    @field_validator("url")
    @classmethod
    def _url_ok(cls, value: str) -> str:
        scheme = urlsplit(value).scheme.lower()
        if scheme not in ("http", "https", "file", ""):
            raise ValueError(f"unsupported URL scheme {scheme!r} (use http, https or a file path)")
        return value


def _env_ref_ok(value: str) -> str:
    if value.startswith(ENV_PREFIX) and not _ENV_NAME.match(value[len(ENV_PREFIX) :]):
        raise ValueError(f"{value!r}: an environment reference is env:NAME (letters, digits, _)")
    return value


def _http_url(value: str, alternative: str = "") -> str:
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"use an http(s) URL with a host{alternative}")
    return value


class NotifyModel(BaseModel):
    """One `[[notify]]` entry: send briefs at or above `min_severity` to a Slack, Teams or JSON webhook."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["slack", "teams", "webhook"]
    url: str = Field(min_length=1)
    name: str | None = Field(default=None, min_length=1, max_length=100)
    min_severity: SeverityLevel = SeverityLevel.HIGH
    headers: dict[str, str] = {}
    sources: list[str] = []

    @field_validator("url")
    @classmethod
    def _url_ok(cls, value: str) -> str:
        return _env_ref_ok(value) if value.startswith(ENV_PREFIX) else _http_url(value, ", or env:NAME")

    @field_validator("min_severity", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("headers")
    @classmethod
    def _headers_ok(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not _HEADER_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid HTTP header name")
            if "\r" in text or "\n" in text:
                raise ValueError(f"header {name}: line breaks are not allowed")
            if name.lower() in _SECRET_HEADERS and not text.startswith(ENV_PREFIX):
                raise ValueError(f"header {name}: put the secret in an environment variable (env:NAME)")
            _env_ref_ok(text)
        return value


class SettingsModel(BaseModel):
    """The whole settings file; unknown keys are errors (typos must not pass silently)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    db: str | None = None
    out: str | None = None
    formats: list[str] = list(DEFAULT_FORMATS)
    allow_private_networks: bool = False
    concurrency: int = Field(default=16, ge=1, le=256)
    per_host: int = Field(default=4, ge=1, le=64)
    timeout: float = Field(default=20.0, gt=0, le=300)
    max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    retries: int = Field(default=2, ge=0, le=10)
    max_attempts: int = Field(default=5, ge=1, le=100)
    max_delivery_attempts: int = Field(default=20, ge=1, le=1000)  # failed runs before giving up
    workers: int | None = Field(default=None, ge=0, le=64)
    recheck_hours: float = Field(default=6.0, ge=0)
    recheck_days: float = Field(default=14.0, ge=0)
    severity: dict[str, Any] = {}
    sources: list[SourceModel] = []
    notify: list[NotifyModel] = []
    misp_url: str | None = None
    misp_min_severity: SeverityLevel | None = None  # None: every brief goes to MISP
    backends: list[str] = ["splunk", "kql"]  # query backends of the hunts (adapters/siem.py BACKENDS)
    sigma_rules: str | None = None  # a folder of SigmaHQ rules, relative to this file
    tlp: Literal["clear", "green", "amber", "amber+strict", "red"] = "clear"  # STIX / MISP marking

    @field_validator("backends")
    @classmethod
    def _backends_ok(cls, value: list[str]) -> list[str]:
        return list(parse_backends(",".join(value)))

    @field_validator("tlp", mode="before")
    @classmethod
    def _tlp_lower(cls, value: Any) -> Any:
        return value.strip().lower().removeprefix("tlp:") if isinstance(value, str) else value

    @field_validator("formats")
    @classmethod
    def _formats_ok(cls, value: list[str]) -> list[str]:
        return list(parse_formats(",".join(value)))

    @field_validator("misp_url")
    @classmethod
    def _misp_url_ok(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value)

    @field_validator("misp_min_severity", mode="before")
    @classmethod
    def _misp_level_upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value
