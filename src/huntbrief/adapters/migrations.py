"""The state database's engine setup and the runner that applies its ordered, named, transactional migrations.

`make_engine` gives SQLite real transactions (DDL included), WAL, foreign keys and a busy
timeout; the migrations and the store rely on it. Each migration runs in its own transaction and is
recorded in `huntbrief_migrations`; a database holding a migration name this code does not
know was written by a newer huntbrief and is refused. The schema lives in `migrations_schema`,
the steps in `migrations_steps`; both are re-exported here, the adapters' one import point.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from huntbrief.adapters.migrations_schema import (
    BRIEF_HISTORY,
    BRIEF_INDEX,
    BRIEF_IOCS,
    BRIEF_TECHNIQUES,
    BRIEFS,
    DELIVERIES,
    DIGESTS,
    FEED_POLLS,
    FEEDS,
    ITEMS,
    METADATA,
    MIGRATIONS_TABLE,
    READ_INDEX_TABLES,
    UtcDateTime,
)
from huntbrief.adapters.migrations_steps import MIGRATIONS, Migration, write_index
from huntbrief.errors import StoreError

__all__ = [
    "BEGIN_MODE",
    "BRIEFS",
    "BRIEF_HISTORY",
    "BRIEF_INDEX",
    "BRIEF_IOCS",
    "BRIEF_TECHNIQUES",
    "BUSY_TIMEOUT_MS",
    "DELIVERIES",
    "DIGESTS",
    "FEEDS",
    "FEED_POLLS",
    "ITEMS",
    "METADATA",
    "MIGRATIONS",
    "MIGRATIONS_TABLE",
    "READ_INDEX_TABLES",
    "Migration",
    "UtcDateTime",
    "applied_migrations",
    "make_engine",
    "migrate",
    "write_index",
]

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
