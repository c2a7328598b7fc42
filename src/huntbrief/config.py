"""Settings and source lists: load and validate `huntbrief.toml`, OPML files and SOURCE arguments.

This is the only module that uses pydantic (validation at the edge). Every error is a
`ConfigError` naming the file and, where it can be found, the line.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from defusedxml import ElementTree as SafeET
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from huntbrief.catalog.usecases import QUERY_LANGUAGES
from huntbrief.errors import ConfigError
from huntbrief.model import FeedSource, SeverityLevel

CONFIG_NAME = "huntbrief.toml"
FORMAT_NAMES = ("markdown", "json", "stix", "misp", "csv", "navigator")  # = adapters.render.RENDERERS
DEFAULT_FORMATS = ("markdown", "json")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
ENV_PREFIX = "env:"  # `url` and header values may be "env:NAME": read from the environment at start-up
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
    workers: int | None = Field(default=None, ge=0, le=64)
    recheck_hours: float = Field(default=6.0, ge=0)
    recheck_days: float = Field(default=14.0, ge=0)
    severity: dict[str, Any] = {}
    sources: list[SourceModel] = []
    notify: list[NotifyModel] = []
    misp_url: str | None = None
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


@dataclass(frozen=True, slots=True)
class NotifySpec:
    """A validated `[[notify]]` entry; `url` and header values may still be `env:NAME` references."""

    kind: str  # "slack" | "teams" | "webhook"
    url: str
    name: str | None
    min_level: SeverityLevel
    headers: tuple[tuple[str, str], ...]
    sources: tuple[str, ...]  # source names to alert on; empty: every source
    location: str  # file:line of the entry, for errors found later (unset variables, unknown sources)


@dataclass(frozen=True, slots=True)
class Settings:
    """Validated settings; `path` is the file they came from (None for defaults)."""

    path: Path | None
    model: SettingsModel
    sources: tuple[FeedSource, ...]
    notify: tuple[NotifySpec, ...] = ()


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


def load_settings(path: Path) -> Settings:
    """Read and validate a settings TOML file; raises ConfigError with file and line."""
    try:
        raw_text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError("settings file not found", location=str(path)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read settings file: {exc}", location=str(path)) from exc
    try:
        data = tomllib.loads(raw_text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        raise ConfigError(f"invalid TOML: {exc}", location=_where(path, line)) from exc
    try:
        model = SettingsModel.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        dotted = ".".join(str(p) for p in loc)
        raise ConfigError(f"{dotted}: {err['msg']}", location=_where(path, _line_of(raw_text, loc))) from exc
    except ConfigError as exc:
        raise ConfigError(exc.message, location=_where(path, _line_of(raw_text, ("formats",)))) from exc
    sources = tuple(_source_from_model(s, base=path.parent) for s in model.sources)
    return Settings(path=path, model=model, sources=sources, notify=_notify_specs(model, path, raw_text))


def _notify_specs(model: SettingsModel, path: Path, text: str) -> tuple[NotifySpec, ...]:
    specs, names = [], set()
    for i, entry in enumerate(model.notify):
        location = _where(path, _line_of(text, ("notify", i)))
        if entry.name is not None and entry.name.casefold() in names:
            where = _where(path, _line_of(text, ("notify", i, "name")))
            raise ConfigError(f"notify.{i}.name: {entry.name!r} is used by another entry", location=where)
        names |= {entry.name.casefold()} if entry.name else set()
        headers = tuple(entry.headers.items())
        specs.append(
            NotifySpec(
                entry.kind, entry.url, entry.name, entry.min_severity, headers, tuple(entry.sources), location
            )
        )
    return tuple(specs)


def check_notify_sources(settings: Settings, sources: Sequence[FeedSource]) -> None:
    """Every `sources` name of a `[[notify]]` entry must be a polled feed's name (case-insensitive)."""
    known = {s.name.casefold() for s in sources}
    for spec in settings.notify:
        unknown = [name for name in spec.sources if name.casefold() not in known]
        if unknown:
            raise ConfigError(
                f"notify sources: {', '.join(map(repr, unknown))} is not the name of a polled feed "
                "(see `huntbrief feeds`)",
                location=spec.location,
            )


def default_settings() -> Settings:
    """Settings with every default and no sources."""
    return Settings(path=None, model=SettingsModel(), sources=())


def _where(path: Path, line: int | None) -> str:
    return f"{path}:{line}" if line else str(path)


def _line_of(text: str, loc: Sequence[Any]) -> int | None:
    """Best-effort line number of a validation error location such as ('sources', 2, 'url')."""
    lines = text.splitlines()
    start = 0
    if len(loc) >= 2 and isinstance(loc[0], str) and isinstance(loc[1], int):
        table = re.compile(rf"^\s*\[\[\s*{re.escape(loc[0])}\s*\]\]\s*(#.*)?$")
        headers = [i for i, ln in enumerate(lines) if table.match(ln)]
        if loc[1] < len(headers):
            start = headers[loc[1]]
            key = str(loc[2]) if len(loc) > 2 else None
            end = headers[loc[1] + 1] if loc[1] + 1 < len(headers) else len(lines)
            return _find_key(lines, key, start, end) or start + 1
    key = str(loc[0]) if loc else None
    return _find_key(lines, key, 0, len(lines))


def _find_key(lines: list[str], key: str | None, start: int, end: int) -> int | None:
    if key is None:
        return None
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for i in range(start, end):
        if pattern.match(lines[i]):
            return i + 1
    return None


def parse_backends(text: str) -> tuple[str, ...]:
    """`splunk,kql` -> ("splunk", "kql"); ValueError naming the valid names for an unknown one."""
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in QUERY_LANGUAGES]
    if unknown or not names:
        raise ValueError(
            f"unknown query backend {', '.join(unknown) or '(none)'}; valid: {', '.join(QUERY_LANGUAGES)}"
        )
    return names


def sigma_folder(settings: Settings, given: Path | None) -> Path | None:
    """The Sigma rule folder: `given` (command line) else the settings key, relative to its file."""
    if given is not None:
        return given
    if settings.model.sigma_rules is None:
        return None
    base = settings.path.parent if settings.path else Path.cwd()
    return (base / settings.model.sigma_rules).expanduser()


def _source_from_model(model: SourceModel, base: Path) -> FeedSource:
    url = model.url
    if not urlsplit(url).scheme:
        url = str((base / url).resolve())
    return FeedSource(
        name=model.name,
        url=url,
        category=model.category,
        fetch_articles=model.fetch_articles,
        include=tuple(model.include),
        exclude=tuple(model.exclude),
        weight=model.weight,
    )


def parse_opml(data: bytes, location: str) -> tuple[FeedSource, ...]:
    """Feed sources from an OPML document (nested outlines; `category` inherited from parents)."""
    try:
        root = SafeET.fromstring(data)
    except Exception as exc:  # defusedxml raises several types for hostile or broken XML
        raise ConfigError(f"invalid OPML: {exc}", location=location) from exc
    body = root.find("body")
    if root.tag != "opml" or body is None:
        raise ConfigError("not an OPML document (no <opml><body>)", location=location)
    found = list(_outlines(body, "news"))
    if not found:
        raise ConfigError("OPML lists no feeds (no outline with xmlUrl)", location=location)
    return tuple(dict((s.url, s) for s in found).values())


def _outlines(node: Any, category: str) -> Iterable[FeedSource]:
    for outline in node.findall("outline"):
        cat = outline.get("category") or category
        url = outline.get("xmlUrl")
        if url:
            name = outline.get("title") or outline.get("text") or urlsplit(url).netloc or url
            yield FeedSource(name=name.strip(), url=url.strip(), category=cat)
        yield from _outlines(outline, cat)


def default_sources() -> tuple[FeedSource, ...]:
    """The built-in curated list of real security feeds (packaged OPML)."""
    data = resources.files("huntbrief.catalog").joinpath("data/default_feeds.opml").read_bytes()
    return parse_opml(data, location="huntbrief:default_feeds.opml")


def sources_from_args(args: Sequence[str], cwd: Path) -> tuple[tuple[FeedSource, ...], Settings]:
    """Resolve SOURCE arguments (feed URL, feed file, OPML, TOML) into sources + settings.

    With no argument: `huntbrief.toml` in `cwd` if present, else the built-in list.
    """
    if not args:
        local = cwd / CONFIG_NAME
        if local.is_file():
            settings = load_settings(local)
            found = settings.sources or default_sources()
            check_notify_sources(settings, found)
            return found, settings
        return default_sources(), default_settings()
    settings = default_settings()
    sources: list[FeedSource] = []
    for arg in args:
        found, maybe = _one_source(arg, cwd)
        sources.extend(found)
        if maybe is not None:
            if settings.path is not None:
                raise ConfigError("only one settings file may be given", location=arg)
            settings = maybe
    unique = tuple(dict((s.url, s) for s in sources).values())
    check_notify_sources(settings, unique)
    return unique, settings


def _one_source(arg: str, cwd: Path) -> tuple[tuple[FeedSource, ...], Settings | None]:
    scheme = urlsplit(arg).scheme.lower()
    if scheme in ("http", "https"):
        return (FeedSource(name=urlsplit(arg).netloc, url=arg),), None
    path = Path(arg[7:] if scheme == "file" else arg)
    path = path if path.is_absolute() else cwd / path
    if not path.is_file():
        raise ConfigError("source is neither an http(s) URL nor an existing file", location=arg)
    if path.suffix.lower() == ".toml":
        settings = load_settings(path)
        if not settings.sources:
            raise ConfigError("settings file lists no [[sources]]", location=str(path))
        return settings.sources, settings
    head = path.read_bytes()[:2048].lstrip().lower()
    if path.suffix.lower() == ".opml" or b"<opml" in head:
        return parse_opml(path.read_bytes(), location=str(path)), None
    return (FeedSource(name=path.stem, url=str(path.resolve()), category="local"),), None
