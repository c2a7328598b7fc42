"""The outbox table (`deliveries`, migration 0004): queue, list, and settle alert and MISP deliveries.

Functions run on the caller's connection, inside its transaction: `queue` is called by
`SqlStore.save_brief` so a saved brief and its pending deliveries commit together (a crash after
the save re-sends at worst, it never loses an alert). One row per (target, item key).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, and_, case, select

from huntbrief.adapters.migrations import DELIVERIES

D = DELIVERIES.c


@dataclass(frozen=True, slots=True)
class PendingDelivery:
    """A brief version waiting to be sent to one target; `delivered_hash` is the last version sent."""

    target: str
    key: str
    pending_hash: str
    delivered_hash: str | None
    attempts: int


def _row(target: str, key: str) -> ColumnElement[bool]:
    return and_(D.target == target, D.key == key)


def queue(conn: Connection, key: str, content_hash: str, targets: Sequence[str], now: datetime) -> None:
    """Mark version `content_hash` of item `key` pending for each target, unless it was delivered."""
    for target in dict.fromkeys(targets):
        update = {
            "pending_hash": case((D.delivered_hash == content_hash, None), else_=content_hash),
            "attempts": 0,
            "last_error": None,
            "queued_at": now,
        }
        if conn.execute(DELIVERIES.update().where(_row(target, key)).values(update)).rowcount == 0:
            values = {"target": target, "key": key, "pending_hash": content_hash, "queued_at": now}
            conn.execute(DELIVERIES.insert().values(attempts=0, **values))


def pending(conn: Connection, target: str) -> list[PendingDelivery]:
    """What waits for `target`: fewest failed attempts first, then oldest queued (no starvation)."""
    query = (
        select(D.target, D.key, D.pending_hash, D.delivered_hash, D.attempts)
        .where(D.target == target, D.pending_hash.is_not(None))
        .order_by(D.attempts, D.queued_at, D.key)
    )
    rows = conn.execute(query)
    return [PendingDelivery(r.target, r.key, r.pending_hash, r.delivered_hash, r.attempts) for r in rows]


@dataclass(frozen=True, slots=True)
class FailedDelivery:
    """A pending delivery whose last attempt failed (it is retried on the next run)."""

    target: str
    key: str
    attempts: int
    error: str


def failed(conn: Connection) -> list[FailedDelivery]:
    """Every pending delivery with a recorded error, most attempts first."""
    query = (
        select(D.target, D.key, D.attempts, D.last_error)
        .where(D.pending_hash.is_not(None), D.last_error.is_not(None))
        .order_by(D.attempts.desc(), D.target, D.key)
    )
    return [FailedDelivery(r.target, r.key, r.attempts, r.last_error) for r in conn.execute(query)]


def settle(
    conn: Connection, target: str, key: str, *, pending_hash: str, delivered_hash: str | None, now: datetime
) -> None:
    """Clear the pending version `pending_hash`; with `delivered_hash`, record that version as sent."""
    values: dict[str, object] = {
        "pending_hash": case((D.pending_hash == pending_hash, None), else_=D.pending_hash),
        "attempts": 0,
        "last_error": None,
    }
    if delivered_hash is not None:
        values.update(delivered_hash=delivered_hash, delivered_at=now)
    conn.execute(DELIVERIES.update().where(_row(target, key)).values(values))


def fail(conn: Connection, target: str, key: str, error: str) -> int:
    """Count one failed attempt of the pending version (it stays pending); return the attempts."""
    update = {"attempts": D.attempts + 1, "last_error": error}
    conn.execute(DELIVERIES.update().where(_row(target, key)).values(update))
    return int(conn.execute(select(D.attempts).where(_row(target, key))).scalar_one_or_none() or 0)
