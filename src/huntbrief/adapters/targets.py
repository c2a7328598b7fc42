"""Delivery targets: `[[notify]]` entries and the MISP server, resolved at start-up.

`env:NAME` references in URLs and header values are read from the environment here, once; an
unset variable or a missing MISP key is a ConfigError before any work. A target's `id` keys the
outbox table and stays the same when a secret rotates; its `label` is safe to log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from huntbrief.adapters.notify import PAYLOADS
from huntbrief.adapters.publish import MISP_KEY_ENV, misp_key, redact_url
from huntbrief.config import ENV_PREFIX, NotifySpec, Settings
from huntbrief.errors import ConfigError
from huntbrief.model import Brief, SeverityLevel

MISP = "misp"
KINDS = (*PAYLOADS, MISP)


@dataclass(frozen=True, slots=True)
class Target:
    """Where briefs go: kind (a PAYLOADS name or "misp"), resolved URL and headers, and a filter."""

    id: str  # the outbox key, e.g. "slack:ops" or "webhook:3f2a9c0b1d4e"
    kind: str
    label: str  # for people and logs; never the full URL (webhook paths are secrets)
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    min_level: SeverityLevel | None = None  # None: every brief
    sources: frozenset[str] = frozenset()  # case-folded source names; empty: every source
    secrets: tuple[str, ...] = ()  # values to scrub from messages and logs

    def wants(self, brief: Brief) -> bool:
        """True when the brief is at or above `min_level` and from one of `sources` (if any)."""
        if self.min_level is not None and brief.severity.level.rank > self.min_level.rank:
            return False
        return not self.sources or brief.source.casefold() in self.sources


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:12]


def _from_env(value: str, env: Mapping[str, str], what: str, location: str) -> tuple[str, bool]:
    """(value, came from the environment); ConfigError naming `location` when the variable is unset."""
    if not value.startswith(ENV_PREFIX):
        return value, False
    name = value[len(ENV_PREFIX) :]
    found = env.get(name, "").strip()
    if not found:
        raise ConfigError(f"{what}: the environment variable {name} is not set", location=location)
    return found, True


def _check_url(url: str, what: str, location: str) -> None:
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{what}: not an http(s) URL with a host", location=location)


def notify_target(spec: NotifySpec, env: Mapping[str, str]) -> Target:
    """The Target of one `[[notify]]` entry, with its `env:` references resolved."""
    what = f"notify {spec.name or spec.kind!r}"
    url, _ = _from_env(spec.url, env, f"{what} url", spec.location)
    _check_url(url, f"{what} url", spec.location)
    path = urlsplit(url).path
    secrets = [url, url.split("?")[0], *([path] if len(path) >= 12 else [])]  # webhook URLs are secrets
    headers = []
    for name, raw in spec.headers:
        value, from_env = _from_env(raw, env, f"{what} header {name}", spec.location)
        headers.append((name, value))
        if from_env:
            secrets.append(value)
    return Target(
        id=f"{spec.kind}:{spec.name}" if spec.name else f"{spec.kind}:{_digest(spec.kind, spec.url)}",
        kind=spec.kind,
        label=spec.name or f"{spec.kind} {redact_url(url)}",
        url=url,
        headers=tuple(headers),
        min_level=spec.min_level,
        sources=frozenset(s.casefold() for s in spec.sources),
        secrets=tuple(secrets),
    )


def misp_target(
    url: str,
    env: Mapping[str, str],
    *,
    location: str = "--misp-url",
    min_level: SeverityLevel | None = None,
) -> Target:
    """The MISP server target (briefs at or above `min_level`, every brief when None); its API key
    comes from HUNTBRIEF_MISP_KEY (ConfigError when unset)."""
    _check_url(url, "MISP URL", location)
    key = misp_key(env, MISP_KEY_ENV)
    base = url.rstrip("/")
    return Target(
        id=f"{MISP}:{_digest(base)}",
        kind=MISP,
        label=f"MISP {redact_url(base)}",
        url=base,
        headers=(("Authorization", key),),
        min_level=min_level,
        secrets=(key,),
    )


def delivery_targets(
    settings: Settings, *, misp_url: str | None, env: Mapping[str, str]
) -> tuple[Target, ...]:
    """Every target of a run: the `[[notify]]` entries, then MISP (`misp_url`, else the settings' one)."""
    targets = [notify_target(spec, env) for spec in settings.notify]
    where = "--misp-url" if misp_url else str(settings.path or "settings")
    url = misp_url or settings.model.misp_url
    if url:
        targets.append(misp_target(url, env, location=where, min_level=settings.model.misp_min_severity))
    return tuple(targets)
