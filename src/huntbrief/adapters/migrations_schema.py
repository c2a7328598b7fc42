"""The state database's current schema: every table, column and index (the one place that lists columns).

`UtcDateTime` stores timestamps as UTC and reads them back timezone-aware. The tables are created by
the steps in `migrations_steps`; when a later migration changes a table, first give `0001_initial`
its own frozen copy of the old definition.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)


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
