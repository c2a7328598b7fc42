"""Provenance shared by the machine-readable renderers: where a brief came from and what made it.

Also the stable identity and timestamps that make renders deterministic: the same brief always
renders to the same bytes, and a re-analysed article keeps its IDs and moves only its timestamps.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import UTC, datetime

from huntbrief import __version__
from huntbrief.model import Brief

# The namespace of every UUIDv5 huntbrief derives (STIX IDs, MISP UUIDs). Never change it:
# consumers recognise re-sent objects by these IDs.
HUNTBRIEF_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://huntbrief.invalid/ns/v1")


def attack_version() -> str:
    """The version of the packaged ATT&CK catalogue (loaded once, cached)."""
    from huntbrief.catalog.attack import load_attack_catalog

    return load_attack_catalog().version


def stable_uuid(*parts: str) -> uuid.UUID:
    """A UUIDv5 in huntbrief's namespace from the given parts (order matters)."""
    return uuid.uuid5(HUNTBRIEF_NAMESPACE, "\x1f".join(parts))


def brief_identity(brief: Brief) -> str:
    """What identifies the article across runs: item key, else URL, else content hash."""
    return brief.item_key or brief.url or brief.content_hash


def utc(value: datetime) -> datetime:
    """The datetime in UTC (naive values are taken as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def first_seen(brief: Brief) -> datetime:
    """When the article is first known: its publication time, else its analysis time, else now."""
    return utc(brief.published or brief.analysed_at or datetime.now(UTC))


def last_changed(brief: Brief) -> datetime:
    """When this version of the brief was made: its analysis time (never before `first_seen`)."""
    created = first_seen(brief)
    return max(created, utc(brief.analysed_at)) if brief.analysed_at else created


def iso_z(value: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ` in UTC (whole seconds)."""
    return utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a brief came from and which huntbrief and ATT&CK versions produced it."""

    article_url: str | None
    source: str
    published: str | None
    analysed_at: str | None
    content_hash: str
    huntbrief_version: str
    attack_version: str

    def as_dict(self) -> dict[str, str | None]:
        """The fields as a plain dict, in declaration order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def as_text(self) -> str:
        """One line for free-text fields (descriptions, comments)."""
        parts = [f"{k}={v}" for k, v in self.as_dict().items() if v]
        return "huntbrief provenance: " + "; ".join(parts)


def provenance(brief: Brief, attack: str | None = None) -> Provenance:
    """The provenance of a brief; `attack` is the ATT&CK version (default: the packaged catalogue)."""
    return Provenance(
        article_url=brief.url,
        source=brief.source,
        published=iso_z(brief.published) if brief.published else None,
        analysed_at=iso_z(brief.analysed_at) if brief.analysed_at else None,
        content_hash=brief.content_hash,
        huntbrief_version=__version__,
        attack_version=attack if attack is not None else attack_version(),
    )
