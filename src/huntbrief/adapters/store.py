"""The state store: items seen, content hashes, current briefs, their history, failures, and the
outbox of alert and MISP deliveries (`adapters/deliveries.py`, queued with each saved brief).

SQLAlchemy Core over any URL (SQLite by default). Briefs are kept as `serialize.brief_to_dict`
JSON plus a few indexed columns. On SQLite every write transaction is `BEGIN IMMEDIATE` in WAL
mode, so a killed process leaves either the whole item (row, brief, history) or none of it.

`SqlStore` owns the engine and the transactions; the SQL runs on their connection in
`store_writes` (writes), `store_reads` (reads) and `store_rows` (records and row conversions).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Protocol

from sqlalchemy import URL, Connection, make_url
from sqlalchemy.exc import SQLAlchemyError

from huntbrief.adapters import deliveries, store_reads, store_writes
from huntbrief.adapters.deliveries import FailedDelivery, PendingDelivery
from huntbrief.adapters.migrations import BEGIN_MODE, make_engine, migrate
from huntbrief.adapters.store_rows import DONE, FAILED, HistoryEntry, ItemRecord, decode_brief
from huntbrief.errors import StoreError
from huntbrief.model import Brief, FeedState, ItemFailure, SeverityLevel

__all__ = ["DONE", "FAILED", "HistoryEntry", "ItemRecord", "SqlStore", "Store", "open_store"]


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
            return store_reads.feed_state(conn, url)

    def save_feed_state(self, state: FeedState, *, now: datetime) -> None:
        """Remember a feed's validators after a successful poll; clears its recorded failure."""
        with self._tx(write=True) as conn:
            store_writes.save_feed_state(conn, state, now=now)

    def items(self, keys: Sequence[str]) -> dict[str, ItemRecord]:
        """The records of those keys that the store knows, by key (looked up in chunks of 500)."""
        with self._tx(write=False) as conn:
            return store_reads.items(conn, keys)

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
        with self._tx(write=True) as conn:
            store_writes.save_brief(
                conn,
                brief,
                key=key,
                source=source,
                url=url,
                feed_hash=feed_hash,
                now=now,
                deliver_to=deliver_to,
            )

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
        with self._tx(write=True) as conn:
            store_writes.record_poll(conn, url, source=source, status=status, now=now)

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read-only transaction for the read-side queries (`adapters/queries.py`)."""
        with self._tx(write=False) as conn:
            yield conn

    def mark_checked(self, key: str, *, feed_hash: str | None, now: datetime) -> None:
        """Note that a done item was re-checked and is unchanged; StoreError if it has no brief."""
        with self._tx(write=True) as conn:
            if not store_writes.mark_checked(conn, key, feed_hash=feed_hash, now=now):
                raise StoreError(
                    f"cannot mark item {key!r} checked: it has no stored brief", location=self._location
                )

    def record_failure(self, failure: ItemFailure, *, feed_hash: str | None, now: datetime) -> int:
        """Record a failure (a done item keeps its brief and status); return consecutive attempts."""
        if failure.item_key is not None:
            with self._tx(write=True) as conn:
                return store_writes.record_item_failure(
                    conn, failure, failure.item_key, feed_hash=feed_hash, now=now
                )
        if failure.url is None:
            raise ValueError("a failure needs an item_key or a feed url")
        with self._tx(write=True) as conn:
            return store_writes.record_feed_failure(conn, failure, failure.url, now=now)

    def brief(self, key: str) -> Brief | None:
        """The current brief of an item, or None."""
        with self._tx(write=False) as conn:
            data = store_reads.brief_data(conn, key)
        return None if data is None else decode_brief(key, data, location=self._location)

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
        with self._tx(write=False) as conn:
            rows = store_reads.briefs(conn, limit=limit, offset=offset, min_level=min_level, source=source)
        return [decode_brief(row.key, row.data, location=self._location) for row in rows]

    def history(self, key: str) -> list[HistoryEntry]:
        """Every saved version of an item's brief, oldest first."""
        with self._tx(write=False) as conn:
            return store_reads.history(conn, key)

    def failures(self, *, source: str | None = None) -> list[ItemFailure]:
        """Feeds, then items, whose last attempt failed (done items re-checking badly are not listed)."""
        with self._tx(write=False) as conn:
            return store_reads.failures(conn, source=source)

    def briefs_since(self, since: datetime, *, min_level: SeverityLevel | None = None) -> list[Brief]:
        """Current briefs analysed at or after `since`, most urgent first, then newest."""
        with self._tx(write=False) as conn:
            rows = store_reads.briefs_since(conn, since, min_level=min_level)
        return [decode_brief(row.key, row.data, location=self._location) for row in rows]

    def last_digest(self) -> datetime | None:
        """When the last recorded digest was made, or None if there was none."""
        with self._tx(write=False) as conn:
            return store_reads.last_digest(conn)

    def record_digest(
        self, *, at: datetime, since: datetime, min_level: SeverityLevel | None, brief_count: int
    ) -> None:
        """Remember that a digest covering briefs since `since` was made at `at`."""
        with self._tx(write=True) as conn:
            store_writes.record_digest(conn, at=at, since=since, min_level=min_level, brief_count=brief_count)

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
