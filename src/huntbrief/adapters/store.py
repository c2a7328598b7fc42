"""The state store: items seen, content hashes, current briefs, their history, failures, and the
outbox of alert and MISP deliveries (`adapters/deliveries.py`, queued with each saved brief).

SQLAlchemy Core over any URL (SQLite by default). Briefs are kept as `serialize.brief_to_dict`
JSON plus a few indexed columns. On SQLite every write transaction is `BEGIN IMMEDIATE` in WAL
mode, so a killed process leaves either the whole item (row, brief, history) or none of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from datetime import datetime
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any, Protocol

from sqlalchemy import URL, Connection, Row, Table, and_, case, func, make_url, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from huntbrief.adapters import deliveries
from huntbrief.adapters.deliveries import FailedDelivery, PendingDelivery
from huntbrief.adapters.migrations import (
    BEGIN_MODE,
    BRIEF_HISTORY,
    BRIEFS,
    DIGESTS,
    FEED_POLLS,
    FEEDS,
    ITEMS,
    make_engine,
    migrate,
    write_index,
)
from huntbrief.errors import ParseError, StoreError
from huntbrief.model import Brief, FeedState, ItemFailure, SeverityLevel
from huntbrief.serialize import brief_from_dict, brief_to_dict

DONE = "done"
FAILED = "failed"
_CHUNK = 500
_CLEARED = MappingProxyType({"attempts": 0, "stage": None, "last_error": None})  # after a success


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


class Store(Protocol):
    """Persistent state between runs: feed validators, items, briefs and failures."""

    def feed_state(self, url: str) -> FeedState | None: ...
    def save_feed_state(self, state: FeedState, *, now: datetime) -> None: ...
    def items(self, keys: Sequence[str]) -> dict[str, ItemRecord]: ...
    def save_brief(
        self,
        brief: Brief,
        *,
        key: str,
        source: str,
        url: str | None,
        feed_hash: str | None,
        now: datetime,
        deliver_to: Sequence[str] = (),
    ) -> None: ...
    def pending_deliveries(self, target: str) -> list[PendingDelivery]: ...
    def settle_delivery(
        self, target: str, key: str, *, pending_hash: str, delivered_hash: str | None, now: datetime
    ) -> None: ...
    def failed_deliveries(self) -> list[FailedDelivery]: ...
    def record_delivery_failure(self, target: str, key: str, error: str) -> int: ...
    def mark_checked(self, key: str, *, feed_hash: str | None, now: datetime) -> None: ...
    def record_poll(self, url: str, *, source: str, status: int, now: datetime) -> None: ...
    def record_failure(self, failure: ItemFailure, *, feed_hash: str | None, now: datetime) -> int: ...
    def brief(self, key: str) -> Brief | None: ...
    def briefs(
        self,
        *,
        limit: int | None = None,
        offset: int = 0,
        min_level: SeverityLevel | None = None,
        source: str | None = None,
    ) -> list[Brief]: ...
    def failures(self, *, source: str | None = None) -> list[ItemFailure]: ...
    def close(self) -> None: ...


def _reason(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig) if orig is not None else str(exc)


def _upsert(conn: Connection, table: Table, values: dict[str, Any], update: dict[str, Any]) -> None:
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


def _record(row: Row[Any]) -> ItemRecord:
    return ItemRecord(**{f.name: row._mapping[f.name] for f in fields(ItemRecord)})


class SqlStore:
    """The Store over SQLAlchemy Core; opening runs the schema migrations."""

    def __init__(self, url: str | URL, *, location: str | None = None) -> None:
        self._location = location or make_url(url).render_as_string(hide_password=True)
        try:
            self._engine = make_engine(url)
        except (SQLAlchemyError, ImportError) as exc:
            raise StoreError(f"cannot use this database URL: {exc}", location=self._location) from exc
        self._reader = self._engine.execution_options(**{BEGIN_MODE: "DEFERRED"})
        try:
            self._check_open()
            migrate(self._engine, location=self._location)
        except StoreError:
            self._engine.dispose()
            raise

    def _check_open(self) -> None:
        try:
            with self._engine.connect():
                pass
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open the database: {_reason(exc)}", location=self._location) from exc

    @contextmanager
    def _tx(self, *, write: bool) -> Iterator[Connection]:
        try:
            with (self._engine if write else self._reader).begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"database error: {_reason(exc)}", location=self._location) from exc

    def feed_state(self, url: str) -> FeedState | None:
        """The stored ETag/Last-Modified for a feed URL, or None if never polled."""
        with self._tx(write=False) as conn:
            row = conn.execute(select(FEEDS).where(FEEDS.c.url == url)).first()
        return None if row is None else FeedState(row.url, row.etag, row.last_modified)

    def save_feed_state(self, state: FeedState, *, now: datetime) -> None:
        """Remember a feed's validators after a successful poll; clears its recorded failure."""
        validators = {"etag": state.etag, "last_modified": state.last_modified, "last_polled": now}
        update = {**validators, **_CLEARED, "failed_at": None}
        with self._tx(write=True) as conn:
            _upsert(conn, FEEDS, {"url": state.url, **update}, update)

    def items(self, keys: Sequence[str]) -> dict[str, ItemRecord]:
        """The records of those keys that the store knows, by key (looked up in chunks of 500)."""
        unique = list(dict.fromkeys(keys))
        found: dict[str, ItemRecord] = {}
        with self._tx(write=False) as conn:
            for start in range(0, len(unique), _CHUNK):
                rows = conn.execute(select(ITEMS).where(ITEMS.c.key.in_(unique[start : start + _CHUNK])))
                found.update((row.key, _record(row)) for row in rows)
        return found

    def save_brief(
        self,
        brief: Brief,
        *,
        key: str,
        source: str,
        url: str | None,
        feed_hash: str | None,
        now: datetime,
        deliver_to: Sequence[str] = (),
    ) -> None:
        """Store the item as done, its current brief, a history row and its pending deliveries to the
        `deliver_to` targets (outbox), all in one transaction."""
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
        with self._tx(write=True) as conn:
            _upsert(conn, ITEMS, {"key": key, "first_seen": now, **item}, item)
            _upsert(conn, BRIEFS, row, {k: v for k, v in row.items() if k != "key"})
            conn.execute(BRIEF_HISTORY.insert().values(history))
            write_index(conn, key, data, row)
            deliveries.queue(conn, key, brief.content_hash, deliver_to, now)

    def pending_deliveries(self, target: str) -> list[PendingDelivery]:
        """The brief versions waiting to be sent to `target` (failed ones last)."""
        with self._tx(write=False) as conn:
            return deliveries.pending(conn, target)

    def failed_deliveries(self) -> list[FailedDelivery]:
        """Pending deliveries whose last attempt failed (alerts and MISP pushes retried next run)."""
        with self._tx(write=False) as conn:
            return deliveries.failed(conn)

    def settle_delivery(
        self, target: str, key: str, *, pending_hash: str, delivered_hash: str | None, now: datetime
    ) -> None:
        """Clear a pending delivery: sent (`delivered_hash` is the version sent) or dropped (None)."""
        with self._tx(write=True) as conn:
            deliveries.settle(
                conn, target, key, pending_hash=pending_hash, delivered_hash=delivered_hash, now=now
            )

    def record_delivery_failure(self, target: str, key: str, error: str) -> int:
        """Count a failed delivery (it stays pending for the next run); return its attempts."""
        with self._tx(write=True) as conn:
            return deliveries.fail(conn, target, key, error)

    def record_poll(self, url: str, *, source: str, status: int, now: datetime) -> None:
        """Count one HTTP answer to a feed poll (200, 304, 4xx…) for the feed-health view."""
        ok = {"last_ok_at": now} if status < 400 else {}
        common = {"source": source, "last_status": status, "last_response_at": now, **ok}
        update: dict[str, Any] = {
            **common,
            "responses": FEED_POLLS.c.responses + 1,
            "not_modified": FEED_POLLS.c.not_modified + int(status == 304),
        }
        values = {**common, "url": url, "responses": 1, "not_modified": int(status == 304)}
        with self._tx(write=True) as conn:
            _upsert(conn, FEED_POLLS, values, update)

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read-only transaction for the read-side queries (`adapters/queries.py`)."""
        with self._tx(write=False) as conn:
            yield conn

    def mark_checked(self, key: str, *, feed_hash: str | None, now: datetime) -> None:
        """Note that a done item was re-checked and is unchanged; StoreError if it has no brief."""
        values = {"feed_hash": feed_hash, "checked_at": now, **_CLEARED}
        where = and_(ITEMS.c.key == key, ITEMS.c.status == DONE)
        with self._tx(write=True) as conn:
            if conn.execute(ITEMS.update().where(where).values(values)).rowcount == 0:
                raise StoreError(
                    f"cannot mark item {key!r} checked: it has no stored brief", location=self._location
                )

    def record_failure(self, failure: ItemFailure, *, feed_hash: str | None, now: datetime) -> int:
        """Record a failure (a done item keeps its brief and status); return consecutive attempts."""
        if failure.item_key is None:
            return self._record_feed_failure(failure, now)
        was_done = ITEMS.c.status == DONE
        common = {"stage": failure.stage, "last_error": failure.error, "checked_at": now}
        values = {
            **common,
            "key": failure.item_key,
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
        with self._tx(write=True) as conn:
            _upsert(conn, ITEMS, values, update)
            query = select(ITEMS.c.attempts).where(ITEMS.c.key == failure.item_key)
            return int(conn.execute(query).scalar_one())

    def _record_feed_failure(self, failure: ItemFailure, now: datetime) -> int:
        if failure.url is None:
            raise ValueError("a failure needs an item_key or a feed url")
        common = {
            "source": failure.source,
            "stage": failure.stage,
            "last_error": failure.error,
            "failed_at": now,
        }
        update: dict[str, Any] = {**common, "attempts": FEEDS.c.attempts + 1}
        with self._tx(write=True) as conn:
            _upsert(conn, FEEDS, {**common, "url": failure.url, "attempts": 1}, update)
            return int(conn.execute(select(FEEDS.c.attempts).where(FEEDS.c.url == failure.url)).scalar_one())

    def brief(self, key: str) -> Brief | None:
        """The current brief of an item, or None."""
        with self._tx(write=False) as conn:
            data = conn.execute(select(BRIEFS.c.data).where(BRIEFS.c.key == key)).scalar_one_or_none()
        return None if data is None else self._decode(key, data)

    def briefs(
        self,
        *,
        limit: int | None = None,
        offset: int = 0,
        min_level: SeverityLevel | None = None,
        source: str | None = None,
    ) -> list[Brief]:
        """Current briefs, newest published first (undated last), optionally filtered and paged."""
        if (limit is not None and limit < 0) or offset < 0:
            raise ValueError("limit and offset must not be negative")
        query = select(BRIEFS.c.key, BRIEFS.c.data)
        if min_level is not None:
            levels = [lv.value for lv in SeverityLevel if lv.rank <= min_level.rank]
            query = query.where(BRIEFS.c.level.in_(levels))
        if source is not None:
            query = query.where(BRIEFS.c.source == source)
        undated = case((BRIEFS.c.published.is_(None), 1), else_=0)
        query = query.order_by(undated, BRIEFS.c.published.desc(), BRIEFS.c.analysed_at.desc(), BRIEFS.c.key)
        with self._tx(write=False) as conn:
            rows = conn.execute(query.limit(limit).offset(offset)).all()
        return [self._decode(row.key, row.data) for row in rows]

    def history(self, key: str) -> list[HistoryEntry]:
        """Every saved version of an item's brief, oldest first."""
        query = select(BRIEF_HISTORY).where(BRIEF_HISTORY.c.key == key).order_by(BRIEF_HISTORY.c.id)
        with self._tx(write=False) as conn:
            rows = conn.execute(query).all()
        return [HistoryEntry(r.key, r.content_hash, r.analysed_at, SeverityLevel(r.level)) for r in rows]

    def failures(self, *, source: str | None = None) -> list[ItemFailure]:
        """Feeds, then items, whose last attempt failed (done items re-checking badly are not listed)."""
        feeds = select(FEEDS).where(FEEDS.c.attempts > 0).order_by(FEEDS.c.source, FEEDS.c.url)
        items = select(ITEMS).where(ITEMS.c.status == FAILED).order_by(ITEMS.c.source, ITEMS.c.key)
        if source is not None:
            feeds, items = feeds.where(FEEDS.c.source == source), items.where(ITEMS.c.source == source)
        with self._tx(write=False) as conn:
            feed_rows, item_rows = conn.execute(feeds).all(), conn.execute(items).all()
        return [
            ItemFailure(r.source or "", r.stage or "feed", r.last_error or "", None, r.url, r.attempts)
            for r in feed_rows
        ] + [
            ItemFailure(r.source, r.stage or "", r.last_error or "", r.key, r.url, r.attempts)
            for r in item_rows
        ]

    def briefs_since(self, since: datetime, *, min_level: SeverityLevel | None = None) -> list[Brief]:
        """Current briefs analysed at or after `since`, most urgent first, then newest."""
        query = select(BRIEFS.c.key, BRIEFS.c.data).where(BRIEFS.c.analysed_at >= since)
        if min_level is not None:
            query = query.where(
                BRIEFS.c.level.in_([lv.value for lv in SeverityLevel if lv.rank <= min_level.rank])
            )
        with self._tx(write=False) as conn:
            rows = conn.execute(query.order_by(BRIEFS.c.score.desc(), BRIEFS.c.analysed_at.desc())).all()
        return [self._decode(row.key, row.data) for row in rows]

    def last_digest(self) -> datetime | None:
        """When the last recorded digest was made, or None if there was none."""
        with self._tx(write=False) as conn:
            last: datetime | None = conn.execute(select(func.max(DIGESTS.c.created_at))).scalar_one()
        return last

    def record_digest(
        self, *, at: datetime, since: datetime, min_level: SeverityLevel | None, brief_count: int
    ) -> None:
        """Remember that a digest covering briefs since `since` was made at `at`."""
        level = min_level.value if min_level else None
        row = {"created_at": at, "since": since, "min_level": level, "brief_count": brief_count}
        with self._tx(write=True) as conn:
            conn.execute(DIGESTS.insert().values(row))

    def _decode(self, key: str, data: str) -> Brief:
        try:
            return brief_from_dict(json.loads(data))
        except (ParseError, ValueError) as exc:
            raise StoreError(
                f"stored brief of {key!r} is unreadable: {exc}", location=self._location
            ) from exc

    def close(self) -> None:
        """Release every database connection."""
        self._engine.dispose()

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_store(target: str | Path) -> SqlStore:
    """Open (creating and migrating as needed) a store at a file path or a SQLAlchemy URL."""
    if isinstance(target, str) and "://" in target:
        return SqlStore(target)
    path = Path(target).expanduser().resolve()
    if path.is_dir():
        raise StoreError("is a directory, not a database file", location=str(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create the database folder: {exc.strerror or exc}", location=str(path)
        ) from exc
    return SqlStore(URL.create("sqlite", database=str(path)), location=str(path))
