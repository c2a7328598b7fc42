"""The store's writes: feed validators and polls, saved briefs, failures and digests.

Functions run on the caller's connection, inside its transaction (`SqlStore` opens it), so each
call commits or rolls back as a whole. Upserts are native on SQLite and PostgreSQL and
update-then-insert on any other dialect.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import Connection, Table, and_, case, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from huntbrief.adapters import deliveries
from huntbrief.adapters.migrations import (
    BRIEF_HISTORY,
    BRIEFS,
    DIGESTS,
    FEED_POLLS,
    FEEDS,
    ITEMS,
    write_index,
)
from huntbrief.adapters.store_rows import DONE, FAILED
from huntbrief.model import Brief, FeedState, ItemFailure, SeverityLevel
from huntbrief.serialize import brief_to_dict

_CLEARED = MappingProxyType({"attempts": 0, "stage": None, "last_error": None})  # after a success


def upsert(conn: Connection, table: Table, values: dict[str, Any], update: dict[str, Any]) -> None:
    """Insert `values`, or on a primary-key clash apply `update` (which may use the old row)."""
    keys = [c.name for c in table.primary_key.columns]
    dialect = conn.dialect.name
    if dialect == "sqlite":
        conn.execute(
            sqlite_insert(table).values(values).on_conflict_do_update(index_elements=keys, set_=update)
        )
    elif dialect == "postgresql":
        conn.execute(pg_insert(table).values(values).on_conflict_do_update(index_elements=keys, set_=update))
    else:
        where = and_(*(table.c[k] == values[k] for k in keys))
        if conn.execute(table.update().where(where).values(update)).rowcount == 0:
            conn.execute(table.insert().values(values))


def save_feed_state(conn: Connection, state: FeedState, *, now: datetime) -> None:
    """Remember a feed's validators after a successful poll; clears its recorded failure."""
    validators = {"etag": state.etag, "last_modified": state.last_modified, "last_polled": now}
    update = {**validators, **_CLEARED, "failed_at": None}
    upsert(conn, FEEDS, {"url": state.url, **update}, update)


def save_brief(
    conn: Connection,
    brief: Brief,
    *,
    key: str,
    source: str,
    url: str | None,
    feed_hash: str | None,
    now: datetime,
    deliver_to: Sequence[str],
) -> None:
    """Write the item as done, its current brief, a history row, its read-side index rows and its
    pending deliveries to the `deliver_to` targets (outbox)."""
    stored = brief if brief.item_key is not None else replace(brief, item_key=key)
    analysed, level = brief.analysed_at or now, brief.severity.level.value
    item = {
        "source": source,
        "url": url,
        "status": DONE,
        "content_hash": brief.content_hash,
        "feed_hash": feed_hash,
        "checked_at": now,
        "updated_at": now,
        **_CLEARED,
    }
    history = {"key": key, "content_hash": brief.content_hash, "analysed_at": analysed, "level": level}
    data = brief_to_dict(stored)
    row = {
        **history,
        "title": brief.title,
        "source": source,
        "published": brief.published,
        "score": brief.severity.score,
        "data": json.dumps(data, ensure_ascii=False),
    }
    upsert(conn, ITEMS, {"key": key, "first_seen": now, **item}, item)
    upsert(conn, BRIEFS, row, {k: v for k, v in row.items() if k != "key"})
    conn.execute(BRIEF_HISTORY.insert().values(history))
    write_index(conn, key, data, row)
    deliveries.queue(conn, key, brief.content_hash, deliver_to, now)


def record_poll(conn: Connection, url: str, *, source: str, status: int, now: datetime) -> None:
    """Count one HTTP answer to a feed poll (200, 304, 4xx…) for the feed-health view."""
    ok = {"last_ok_at": now} if status < 400 else {}
    common = {"source": source, "last_status": status, "last_response_at": now, **ok}
    update: dict[str, Any] = {
        **common,
        "responses": FEED_POLLS.c.responses + 1,
        "not_modified": FEED_POLLS.c.not_modified + int(status == 304),
    }
    values = {**common, "url": url, "responses": 1, "not_modified": int(status == 304)}
    upsert(conn, FEED_POLLS, values, update)


def mark_checked(conn: Connection, key: str, *, feed_hash: str | None, now: datetime) -> bool:
    """Note that a done item was re-checked and is unchanged; False if it has no stored brief."""
    values = {"feed_hash": feed_hash, "checked_at": now, **_CLEARED}
    where = and_(ITEMS.c.key == key, ITEMS.c.status == DONE)
    return conn.execute(ITEMS.update().where(where).values(values)).rowcount != 0


def record_item_failure(
    conn: Connection, failure: ItemFailure, key: str, *, feed_hash: str | None, now: datetime
) -> int:
    """Record a failure of item `key` (a done item keeps its brief and status); return its attempts."""
    was_done = ITEMS.c.status == DONE
    common = {"stage": failure.stage, "last_error": failure.error, "checked_at": now}
    values = {
        **common,
        "key": key,
        "source": failure.source,
        "url": failure.url,
        "status": FAILED,
        "feed_hash": feed_hash,
        "attempts": 1,
        "first_seen": now,
    }
    update: dict[str, Any] = {
        **common,
        "status": case((was_done, DONE), else_=FAILED),
        "attempts": ITEMS.c.attempts + 1,
        "feed_hash": case((was_done, ITEMS.c.feed_hash), else_=feed_hash),
    }
    if failure.url is not None:
        update["url"] = failure.url
    upsert(conn, ITEMS, values, update)
    return int(conn.execute(select(ITEMS.c.attempts).where(ITEMS.c.key == key)).scalar_one())


def record_feed_failure(conn: Connection, failure: ItemFailure, url: str, *, now: datetime) -> int:
    """Record a failed poll of the feed at `url`; return its consecutive attempts."""
    common = {
        "source": failure.source,
        "stage": failure.stage,
        "last_error": failure.error,
        "failed_at": now,
    }
    update: dict[str, Any] = {**common, "attempts": FEEDS.c.attempts + 1}
    upsert(conn, FEEDS, {**common, "url": url, "attempts": 1}, update)
    return int(conn.execute(select(FEEDS.c.attempts).where(FEEDS.c.url == url)).scalar_one())


def record_digest(
    conn: Connection, *, at: datetime, since: datetime, min_level: SeverityLevel | None, brief_count: int
) -> None:
    """Remember that a digest covering briefs since `since` was made at `at`."""
    level = min_level.value if min_level else None
    row = {"created_at": at, "since": since, "min_level": level, "brief_count": brief_count}
    conn.execute(DIGESTS.insert().values(row))
