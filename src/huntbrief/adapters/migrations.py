"""The state database's engine setup, schema, and ordered, named, transactional migrations.

`make_engine` gives SQLite real transactions (DDL included), WAL, foreign keys and a busy
timeout; the migrations and the store rely on it. The tables below are the current schema
(the one place that lists columns). Each migration runs in its own transaction and is
recorded in `huntbrief_migrations`; a database holding a migration name this code does not
know was written by a newer huntbrief and is refused. When a later migration changes a
table, first give `0001_initial` its own frozen copy of the old definition.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    URL,
    Column,
    DateTime,
    Dialect,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    create_engine,
    event,
    inspect,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from huntbrief.adapters.brief_rows import index_rows
from huntbrief.errors import StoreError


class UtcDateTime(TypeDecorator[datetime]):
    """A DateTime stored as UTC and always read back timezone-aware (naive input counts as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC before writing."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC to what SQLite returns naive; normalise aware values to UTC."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


METADATA = MetaData()

MIGRATIONS_TABLE = Table(
    "huntbrief_migrations",
    METADATA,
    Column("name", String, primary_key=True),
    Column("applied_at", UtcDateTime, nullable=False),
)

FEEDS = Table(
    "feeds",
    METADATA,
    Column("url", String, primary_key=True),
    Column("source", String),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("last_polled", UtcDateTime),
    Column("attempts", Integer, nullable=False, default=0),
    Column("stage", String),
    Column("last_error", Text),
    Column("failed_at", UtcDateTime),
)

ITEMS = Table(
    "items",
    METADATA,
    Column("key", String, primary_key=True),
    Column("source", String, nullable=False),
    Column("url", Text),
    Column("status", String(16), nullable=False),
    Column("content_hash", String),
    Column("feed_hash", String),
    Column("attempts", Integer, nullable=False, default=0),
    Column("stage", String),
    Column("last_error", Text),
    Column("first_seen", UtcDateTime, nullable=False),
    Column("checked_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime),
    Index("ix_items_status_source", "status", "source"),
)

BRIEFS = Table(
    "briefs",
    METADATA,
    Column("key", String, ForeignKey("items.key", ondelete="CASCADE"), primary_key=True),
    Column("title", Text, nullable=False),
    Column("source", String, nullable=False),
    Column("published", UtcDateTime),
    Column("level", String(16), nullable=False),
    Column("score", Integer, nullable=False),
    Column("analysed_at", UtcDateTime, nullable=False),
    Column("content_hash", String, nullable=False),
    Column("data", Text, nullable=False),
    Index("ix_briefs_order", "published", "analysed_at"),
    Index("ix_briefs_source", "source"),
    Index("ix_briefs_level", "level"),
)

BRIEF_HISTORY = Table(
    "brief_history",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String, ForeignKey("items.key", ondelete="CASCADE"), nullable=False),
    Column("content_hash", String, nullable=False),
    Column("analysed_at", UtcDateTime, nullable=False),
    Column("level", String(16), nullable=False),
    Index("ix_brief_history_key", "key"),
)

# Read-side index (migration 0002): filled by SqlStore.save_brief in the brief's own transaction.
BRIEF_INDEX = Table(
    "brief_index",
    METADATA,
    Column("key", String, ForeignKey("items.key", ondelete="CASCADE"), primary_key=True),
    Column("id", String(16), nullable=False, unique=True),  # brief_rows.brief_id(key), used in URLs
    Column("title", Text, nullable=False),  # title … analysed_at: copies of `briefs`, so a list
    Column("source", String, nullable=False),  # never reads the big `briefs.data` rows
    Column("level", String(16), nullable=False),
    Column("score", Integer, nullable=False),
    Column("published", UtcDateTime),
    Column("analysed_at", UtcDateTime, nullable=False),
    Column("undated", Integer, nullable=False),  # 1 when published is unknown (listed last)
    Column("day", String(10), nullable=False),  # UTC YYYY-MM-DD of published, else analysed_at
    Column("summary", Text, nullable=False),
    Column("search", Text, nullable=False),  # lower-case title, source, summary, technique names
    Column("iocs", Integer, nullable=False),
    Column("techniques", Integer, nullable=False),
    Column("hunts", Integer, nullable=False),
)
Index(
    "ix_brief_index_order",
    BRIEF_INDEX.c.undated,
    BRIEF_INDEX.c.published.desc(),
    BRIEF_INDEX.c.analysed_at.desc(),
    BRIEF_INDEX.c.key,
)
Index("ix_brief_index_level", BRIEF_INDEX.c.level)
Index("ix_brief_index_source", BRIEF_INDEX.c.source)
Index("ix_brief_index_day", BRIEF_INDEX.c.day)

BRIEF_IOCS = Table(
    "brief_iocs",
    METADATA,
    Column("key", String, ForeignKey("items.key", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("norm", Text, primary_key=True),  # brief_rows.normalise_ioc(value)
    Column("host", Text),  # the domain of a domain, URL or e-mail indicator
    Index("ix_brief_iocs_norm", "norm"),
    Index("ix_brief_iocs_host", "host"),
)

BRIEF_TECHNIQUES = Table(
    "brief_techniques",
    METADATA,
    Column("key", String, ForeignKey("items.key", ondelete="CASCADE"), primary_key=True),
    Column("technique", String(16), primary_key=True),
    Column("name", Text, nullable=False),
    Column("confidence", Float, nullable=False),
    Column("day", String(10), nullable=False),  # the brief's day, as in brief_index
    Index("ix_brief_techniques_technique", "technique", "day"),
    Index("ix_brief_techniques_day", "day", "technique"),
)

FEED_POLLS = Table(
    "feed_polls",
    METADATA,
    Column("url", String, primary_key=True),
    Column("source", String, nullable=False),
    Column("responses", Integer, nullable=False),
    Column("not_modified", Integer, nullable=False),
    Column("last_status", Integer, nullable=False),
    Column("last_response_at", UtcDateTime, nullable=False),
    Column("last_ok_at", UtcDateTime),
)

READ_INDEX_TABLES = [BRIEF_INDEX, BRIEF_IOCS, BRIEF_TECHNIQUES]

# Digests made (migration 0003): `huntbrief digest` reports what changed since the last one.
DIGESTS = Table(
    "digests",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("since", UtcDateTime, nullable=False),
    Column("min_level", String(16)),
    Column("brief_count", Integer, nullable=False),
    Index("ix_digests_created_at", "created_at"),
)

# Outbox of alerts and MISP pushes (migration 0004): one row per (target, item). `pending_hash` is the
# brief version waiting to be sent (queued in the brief's own transaction), `delivered_hash` the last
# version the target received, so an unchanged brief is never sent twice and a failed one is retried.
DELIVERIES = Table(
    "deliveries",
    METADATA,
    Column("target", String, primary_key=True),  # outbox.Target.id: "slack:ops", "misp:1a2b…"
    Column("key", String, primary_key=True),  # items.key (no foreign key: rows of a gone brief are dropped)
    Column("pending_hash", String),  # NULL when nothing is waiting
    Column("delivered_hash", String),  # NULL when never delivered
    Column("attempts", Integer, nullable=False, default=0),  # failed attempts of the pending version
    Column("last_error", Text),
    Column("queued_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime),
    Index("ix_deliveries_pending", "target", "pending_hash"),
)


BUSY_TIMEOUT_MS = 10_000
BEGIN_MODE = "huntbrief_sqlite_begin"  # execution option: SQLite BEGIN mode (default IMMEDIATE)


def make_engine(url: str | URL) -> Engine:
    """An Engine for `url`; on SQLite with WAL, foreign keys, a busy timeout and real transactions."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # we emit BEGIN ourselves, so DDL is transactional too
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        # In WAL mode NORMAL keeps every commit atomic and survives a killed process; only a power
        # loss can drop the last few commits, which the next run simply redoes.
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get(BEGIN_MODE, 'IMMEDIATE')}")


@dataclass(frozen=True, slots=True)
class Migration:
    """One named schema step; `apply` runs inside the transaction that records it."""

    name: str
    apply: Callable[[Connection], None]


def _initial(conn: Connection) -> None:
    METADATA.create_all(conn, tables=[FEEDS, ITEMS, BRIEFS, BRIEF_HISTORY])


def _read_index(conn: Connection) -> None:
    """Create the read-side index and poll counters, and index every brief already stored."""
    METADATA.create_all(conn, tables=[*READ_INDEX_TABLES, FEED_POLLS])
    for row in conn.execute(select(BRIEFS)):
        write_index(conn, row.key, json.loads(row.data), dict(row._mapping))


def write_index(conn: Connection, key: str, data: dict[str, Any], listed: dict[str, Any]) -> None:
    """Replace the read-side index rows of one brief.

    `data` is its `brief_to_dict` dict; `listed` its `briefs` row (title, source, level, score, dates)."""
    for table in READ_INDEX_TABLES:
        conn.execute(table.delete().where(table.c.key == key))
    rows = index_rows(key, data, listed)
    conn.execute(BRIEF_INDEX.insert().values(rows.digest))
    if rows.iocs:
        conn.execute(BRIEF_IOCS.insert(), rows.iocs)
    if rows.techniques:
        conn.execute(BRIEF_TECHNIQUES.insert(), rows.techniques)


def _digests(conn: Connection) -> None:
    """Create the record of digests made (`huntbrief digest`: what changed since the last one)."""
    METADATA.create_all(conn, tables=[DIGESTS])


def _deliveries(conn: Connection) -> None:
    """Create the outbox of alert and MISP deliveries (what was sent where, what is still pending)."""
    METADATA.create_all(conn, tables=[DELIVERIES])


MIGRATIONS: tuple[Migration, ...] = (
    Migration("0001_initial", _initial),
    Migration("0002_read_index", _read_index),
    Migration("0003_digests", _digests),
    Migration("0004_deliveries", _deliveries),
)


def applied_migrations(conn: Connection) -> list[str]:
    """Names recorded in `huntbrief_migrations`, oldest first ([] when the table is absent)."""
    if not inspect(conn).has_table(MIGRATIONS_TABLE.name):
        return []
    rows = conn.execute(
        select(MIGRATIONS_TABLE.c.name).order_by(MIGRATIONS_TABLE.c.applied_at, MIGRATIONS_TABLE.c.name)
    )
    return [row.name for row in rows]


def migrate(
    engine: Engine, migrations: Sequence[Migration] = MIGRATIONS, *, location: str | None = None
) -> list[str]:
    """Apply the pending migrations in order, one transaction each; return the names applied.

    Raises StoreError for a database from a newer huntbrief, a foreign database, or a failing step.
    """
    try:
        _prepare(engine, migrations, location)
    except SQLAlchemyError as exc:
        raise StoreError(f"could not read the migration record: {exc}", location=location) from exc
    return [m.name for m in migrations if _apply_one(engine, m, location)]


def _prepare(engine: Engine, migrations: Sequence[Migration], location: str | None) -> None:
    with engine.begin() as conn:
        names = set(inspect(conn).get_table_names())
        ours = {t.name for t in METADATA.sorted_tables} - {MIGRATIONS_TABLE.name}
        if MIGRATIONS_TABLE.name not in names and names & ours:
            found = ", ".join(sorted(names & ours))
            raise StoreError(
                f"not a huntbrief database (has tables {found} but no migration record)", location=location
            )
        MIGRATIONS_TABLE.create(conn, checkfirst=True)
        known = {m.name for m in migrations}
        unknown = [name for name in applied_migrations(conn) if name not in known]
    if unknown:
        raise StoreError(
            f"database was written by a newer huntbrief (unknown migrations: {', '.join(unknown)}); "
            "upgrade huntbrief to use it",
            location=location,
        )


def _apply_one(engine: Engine, migration: Migration, location: str | None) -> bool:
    try:
        with engine.begin() as conn:
            if migration.name in applied_migrations(conn):
                return False
            migration.apply(conn)
            row = {"name": migration.name, "applied_at": datetime.now(UTC)}
            conn.execute(MIGRATIONS_TABLE.insert().values(**row))
    except Exception as exc:
        raise StoreError(
            f"migration {migration.name} failed and was rolled back: {exc}", location=location
        ) from exc
    return True
