"""Which feed items a pass works on: the run policy, work items and their selection.

An item is worked on when it is new, failed fewer than `max_attempts` times, changed in its
feed, or is still inside the recheck window and due for a recheck. Everything else is counted
in the run's stats and skipped. Pure apart from the store reads it is given.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from huntbrief.adapters.store import ItemRecord, Store
from huntbrief.model import FeedItem, FeedParse, FeedSource
from huntbrief.run_report import RunStats
from huntbrief.stages.feeds import filter_items


@dataclass(frozen=True, slots=True)
class RunPolicy:
    """When items are re-checked and how often failures are retried."""

    max_attempts: int = 5
    recheck_after: timedelta = timedelta(hours=6)
    recheck_window: timedelta = timedelta(days=14)
    max_local_bytes: int = 10 * 1024 * 1024
    allow_local_articles: bool = True  # only for items of local feed files, inside their folder


@dataclass(frozen=True, slots=True)
class WorkItem:
    """An item selected for work, with its stored record and feed fingerprint."""

    source: FeedSource
    item: FeedItem
    record: ItemRecord | None
    feed_hash: str


def item_fingerprint(item: FeedItem) -> str:
    """Hash of what the feed says about an item: a change hints the article changed."""
    blob = "\x1f".join((item.title, item.url or "", item.summary, item.content))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def select_work(
    polled: list[tuple[FeedSource, FeedParse]],
    store: Store,
    policy: RunPolicy,
    now: datetime,
    stats: RunStats,
) -> list[WorkItem]:
    """The items of the parsed feeds that need work; filtered, seen and given-up items are counted."""
    work: list[WorkItem] = []
    for source, parsed in polled:
        kept, dropped = filter_items(parsed.items, source)
        stats.items_filtered += dropped
        records = store.items([i.key for i in kept])
        for item in kept:
            entry = WorkItem(source, item, records.get(item.key), item_fingerprint(item))
            if is_wanted(entry, policy, now, stats):
                work.append(entry)
    return work


def is_wanted(w: WorkItem, policy: RunPolicy, now: datetime, stats: RunStats) -> bool:
    """True when `w` is new, to retry, changed, or due for a recheck (module doc)."""
    rec = w.record
    if rec is None:
        return True
    if rec.status != "done":
        if rec.attempts >= policy.max_attempts:
            stats.items_gave_up += 1
            return False
        return True
    if rec.feed_hash != w.feed_hash:
        return True
    fresh = now - rec.first_seen <= policy.recheck_window
    due = now - rec.checked_at >= policy.recheck_after
    if fresh and due:
        return True
    stats.items_seen += 1
    return False
