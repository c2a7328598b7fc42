"""The store's reads: feed validators, item records, current briefs, their history, failures, and
the digest window.

Functions run on the caller's connection, inside its (read-only) transaction. Briefs come back as
(key, JSON) rows; `store_rows.decode_brief` turns them into Briefs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Select, case, func, select

from huntbrief.adapters.migrations import BRIEF_HISTORY, BRIEFS, DIGESTS, FEEDS, ITEMS
from huntbrief.adapters.store_rows import (
    FAILED,
    HistoryEntry,
    ItemRecord,
    feed_failure,
    history_entry,
    item_failure,
    item_record,
)
from huntbrief.model import FeedState, ItemFailure, SeverityLevel

_CHUNK = 500


def _at_least(query: Select[Any], min_level: SeverityLevel | None) -> Select[Any]:
    """`query` kept to briefs at `min_level` or more urgent (unchanged if None)."""
    if min_level is None:
        return query
    return query.where(BRIEFS.c.level.in_([lv.value for lv in SeverityLevel if lv.rank <= min_level.rank]))


def feed_state(conn: Connection, url: str) -> FeedState | None:
    """The stored ETag/Last-Modified for a feed URL, or None if never polled."""
    row = conn.execute(select(FEEDS).where(FEEDS.c.url == url)).first()
    return None if row is None else FeedState(row.url, row.etag, row.last_modified)


def items(conn: Connection, keys: Sequence[str]) -> dict[str, ItemRecord]:
    """The records of those keys that the store knows, by key (looked up in chunks of 500)."""
    unique = list(dict.fromkeys(keys))
    found: dict[str, ItemRecord] = {}
    for start in range(0, len(unique), _CHUNK):
        rows = conn.execute(select(ITEMS).where(ITEMS.c.key.in_(unique[start : start + _CHUNK])))
        found.update((row.key, item_record(row)) for row in rows)
    return found


def brief_data(conn: Connection, key: str) -> str | None:
    """The stored JSON of an item's current brief, or None."""
    data: str | None = conn.execute(select(BRIEFS.c.data).where(BRIEFS.c.key == key)).scalar_one_or_none()
    return data


def briefs(
    conn: Connection,
    *,
    limit: int | None,
    offset: int,
    min_level: SeverityLevel | None,
    source: str | None,
) -> Sequence[Row[Any]]:
    """(key, data) rows of current briefs, newest published first (undated last), filtered and paged."""
    query = _at_least(select(BRIEFS.c.key, BRIEFS.c.data), min_level)
    if source is not None:
        query = query.where(BRIEFS.c.source == source)
    undated = case((BRIEFS.c.published.is_(None), 1), else_=0)
    query = query.order_by(undated, BRIEFS.c.published.desc(), BRIEFS.c.analysed_at.desc(), BRIEFS.c.key)
    return conn.execute(query.limit(limit).offset(offset)).all()


def briefs_since(conn: Connection, since: datetime, *, min_level: SeverityLevel | None) -> Sequence[Row[Any]]:
    """(key, data) rows of current briefs analysed at or after `since`, most urgent first, then newest."""
    query = _at_least(select(BRIEFS.c.key, BRIEFS.c.data).where(BRIEFS.c.analysed_at >= since), min_level)
    return conn.execute(query.order_by(BRIEFS.c.score.desc(), BRIEFS.c.analysed_at.desc())).all()


def history(conn: Connection, key: str) -> list[HistoryEntry]:
    """Every saved version of an item's brief, oldest first."""
    query = select(BRIEF_HISTORY).where(BRIEF_HISTORY.c.key == key).order_by(BRIEF_HISTORY.c.id)
    return [history_entry(row) for row in conn.execute(query).all()]


def failures(conn: Connection, *, source: str | None) -> list[ItemFailure]:
    """Feeds, then items, whose last attempt failed (done items re-checking badly are not listed)."""
    feeds = select(FEEDS).where(FEEDS.c.attempts > 0).order_by(FEEDS.c.source, FEEDS.c.url)
    failed = select(ITEMS).where(ITEMS.c.status == FAILED).order_by(ITEMS.c.source, ITEMS.c.key)
    if source is not None:
        feeds, failed = feeds.where(FEEDS.c.source == source), failed.where(ITEMS.c.source == source)
    feed_rows, item_rows = conn.execute(feeds).all(), conn.execute(failed).all()
    return [feed_failure(r) for r in feed_rows] + [item_failure(r) for r in item_rows]


def last_digest(conn: Connection) -> datetime | None:
    """When the last recorded digest was made, or None if there was none."""
    last: datetime | None = conn.execute(select(func.max(DIGESTS.c.created_at))).scalar_one()
    return last
