"""The ordered, named schema migrations and the read-side index writer the second one shares with the store.

Each `Migration` is one step whose `apply` runs inside the transaction that records it; `MIGRATIONS`
lists them oldest first and must only ever grow. `write_index` fills the read-side tables of one brief.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from huntbrief.adapters.brief_rows import index_rows
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
    READ_INDEX_TABLES,
)


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
