"""Feed health for the sources view: last success, last error, items seen, briefs and the 304 rate.

SQLAlchemy Core over the `feeds`, `feed_polls`, `items` and `briefs` tables; never writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, case, func, select

from huntbrief.adapters.migrations import BRIEF_INDEX, FEED_POLLS, FEEDS, ITEMS
from huntbrief.adapters.store import SqlStore


@dataclass(frozen=True, slots=True)
class FeedHealth:
    """One feed URL's health as the store saw it."""

    url: str
    source: str
    last_success: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    failing_attempts: int
    responses: int
    not_modified: int

    @property
    def not_modified_rate(self) -> float | None:
        """Share of HTTP answers that were 304 Not Modified; None before any counted answer."""
        return self.not_modified / self.responses if self.responses else None


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """One source: its feeds, items seen and failed, briefs written and the newest brief's date."""

    name: str
    feeds: tuple[FeedHealth, ...]
    items: int
    failed_items: int
    briefs: int
    last_brief_at: date | None  # the newest brief's day (published, else analysed), UTC


def source_health(store: SqlStore) -> list[SourceHealth]:
    """Every source the store knows (from briefs, items or feeds), with its feeds' health."""
    failed = func.sum(case((ITEMS.c.status == "failed", 1), else_=0)).label("failed")
    last = func.max(BRIEF_INDEX.c.day).label("last")
    with store.reading() as conn:
        by_items = select(ITEMS.c.source, func.count().label("n"), failed).group_by(ITEMS.c.source)
        by_briefs = select(BRIEF_INDEX.c.source, func.count().label("n"), last).group_by(BRIEF_INDEX.c.source)
        items, briefs = conn.execute(by_items).all(), conn.execute(by_briefs).all()
        feeds = _feed_health(conn.execute(select(FEEDS)).all(), conn.execute(select(FEED_POLLS)).all())
    names = sorted({r.source for r in items} | {r.source for r in briefs} | {f.source for f in feeds})
    item_counts = {r.source: (int(r.n), int(r.failed or 0)) for r in items}
    brief_counts = {r.source: (int(r.n), date.fromisoformat(r.last)) for r in briefs}
    return [
        SourceHealth(
            name,
            tuple(f for f in feeds if f.source == name),
            *item_counts.get(name, (0, 0)),
            *brief_counts.get(name, (0, None)),
        )
        for name in names
    ]


def _feed_health(feeds: Sequence[Row[Any]], polls: Sequence[Row[Any]]) -> list[FeedHealth]:
    by_url = {r.url: r for r in feeds}
    counted = {r.url: r for r in polls}
    out = []
    for url in sorted(set(by_url) | set(counted)):
        f, p = by_url.get(url), counted.get(url)
        successes = [d for d in (f and f.last_polled, p and p.last_ok_at) if d]
        out.append(
            FeedHealth(
                url=url,
                source=(p.source if p else None) or (f.source if f else None) or "",
                last_success=max(successes) if successes else None,
                last_error=f.last_error if f and f.attempts else None,
                last_error_at=f.failed_at if f else None,
                failing_attempts=f.attempts if f else 0,
                responses=p.responses if p else 0,
                not_modified=p.not_modified if p else 0,
            )
        )
    return out
