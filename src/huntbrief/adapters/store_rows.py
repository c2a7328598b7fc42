"""The store's records and its row <-> model conversions: item records, history entries, failures,
and the stored-brief JSON.

Pure: nothing here opens a connection. Briefs are stored as `serialize.brief_to_dict` JSON; a row
that no longer decodes raises StoreError naming the item and the store's location.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Row

from huntbrief.errors import ParseError, StoreError
from huntbrief.model import Brief, ItemFailure, SeverityLevel
from huntbrief.serialize import brief_from_dict

DONE = "done"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ItemRecord:
    """What the store knows about one feed item; datetimes are tz-aware UTC."""

    key: str
    source: str
    url: str | None
    status: str  # "done" | "failed"
    content_hash: str | None
    feed_hash: str | None
    attempts: int  # consecutive failures (0 after success)
    last_error: str | None
    first_seen: datetime
    checked_at: datetime
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One saved version of an item's brief (append-only)."""

    key: str
    content_hash: str
    analysed_at: datetime
    level: SeverityLevel


def item_record(row: Row[Any]) -> ItemRecord:
    """The ItemRecord of an `items` row."""
    return ItemRecord(**{f.name: row._mapping[f.name] for f in fields(ItemRecord)})


def history_entry(row: Row[Any]) -> HistoryEntry:
    """The HistoryEntry of a `brief_history` row."""
    return HistoryEntry(row.key, row.content_hash, row.analysed_at, SeverityLevel(row.level))


def feed_failure(row: Row[Any]) -> ItemFailure:
    """The failure of a `feeds` row whose last poll failed (no item key)."""
    return ItemFailure(
        row.source or "", row.stage or "feed", row.last_error or "", None, row.url, row.attempts
    )


def item_failure(row: Row[Any]) -> ItemFailure:
    """The failure of a failed `items` row."""
    return ItemFailure(row.source, row.stage or "", row.last_error or "", row.key, row.url, row.attempts)


def decode_brief(key: str, data: str, *, location: str) -> Brief:
    """The Brief stored as JSON `data` for item `key`; StoreError if it is unreadable."""
    try:
        return brief_from_dict(json.loads(data))
    except (ParseError, ValueError) as exc:
        raise StoreError(f"stored brief of {key!r} is unreadable: {exc}", location=location) from exc
