"""Load and validate a `huntbrief.toml` settings file into `Settings`.

Every error is a `ConfigError` naming the file and, where it can be found, the line.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from huntbrief.config_models import SettingsModel, SourceModel
from huntbrief.errors import ConfigError
from huntbrief.model import FeedSource, SeverityLevel


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
