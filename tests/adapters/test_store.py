"""The state store: round-trips, item bookkeeping, ordering, history, crash safety, bad targets."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import URL, Engine, select

from huntbrief.adapters.migrations import BRIEF_HISTORY, BRIEFS, make_engine
from huntbrief.adapters.store import SqlStore, open_store
from huntbrief.errors import StoreError
from huntbrief.model import (
    Brief,
    Confidence,
    FeedState,
    Hunt,
    Indicator,
    IndicatorKind,
    IocFindings,
    ItemFailure,
    Query,
    Severity,
    SeverityLevel,
    Suppressed,
    TechniqueHit,
    TextOrigin,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
CET = timezone(timedelta(hours=2))


def rich_brief(key: str = "item-1", **changes: object) -> Brief:
    """A brief with every field set, including nested indicators, techniques and hunts."""
    brief = Brief(
        title="Ransomware crew abuses ScreenConnect — « patched » servers",
        url="https://example.org/post/1",
        source="example-news",
        published=datetime(2024, 4, 30, 9, 15, tzinfo=CET),
        summary="Attackers exploited CVE-2024-1709 and dropped a loader.",
        severity=Severity(SeverityLevel.CRITICAL, 91, ("actively exploited", "ransomware")),
        iocs=IocFindings(
            indicators=(
                Indicator(
                    IndicatorKind.IPV4, "203.0.113.7", "203.0.113[.]7", Confidence.HIGH, "C2 at 203.0.113[.]7"
                ),
                Indicator(IndicatorKind.SHA256, "a" * 64, "a" * 64, Confidence.MEDIUM),
                Indicator(IndicatorKind.CVE, "CVE-2024-1709", "CVE-2024-1709", Confidence.HIGH, "the flaw"),
            ),
            suppressed=(Suppressed(IndicatorKind.DOMAIN, "microsoft.com", "vendor domain"),),
        ),
        techniques=(
            TechniqueHit(
                "T1190", "Exploit Public-Facing Application", ("initial-access",), 0.9, ("exploited",)
            ),
            TechniqueHit("T1486", "Data Encrypted for Impact", ("impact",), 0.625, ("encrypted", "ransom")),
        ),
        kill_chain=("initial-access", "impact"),
        hunts=(
            Hunt(
                id="UC_EXPLOIT_PUBLIC_APP",
                title="Exploitation of public-facing apps",
                phase="initial-access",
                confidence=Confidence.HIGH,
                techniques=("T1190",),
                queries=(
                    Query("splunk", "spl", "index=web status=500 | stats count by src"),
                    Query("kql", "kql", "W3CIISLog | where scStatus == 500"),
                ),
                description="Look for bursts of server errors.",
            ),
            Hunt("SWEEP_IPV4", "Sweep for IPs", "command-and-control", Confidence.MEDIUM, kind="sweep"),
        ),
        content_hash="c0ffee" * 10,
        origin=TextOrigin.FEED_CONTENT,
        item_key=key,
        changes="added IOC list",
        analysed_at=datetime(2024, 5, 1, 11, 0, tzinfo=UTC),
    )
    return replace(brief, **changes)  # type: ignore[arg-type]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "huntbrief.db"


@pytest.fixture(params=["native", "generic"])
def store(
    db_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SqlStore]:
    """A fresh store; the "generic" run hides the dialect so upserts use select-then-write."""
    opened = open_store(db_path)
    if request.param == "generic":
        monkeypatch.setattr(opened._engine.dialect, "name", "generic")
    yield opened
    opened.close()


@pytest.fixture
def raw(db_path: Path) -> Iterator[Engine]:
    """A second engine on the store's file, for looking at the tables directly."""
    engine = make_engine(URL.create("sqlite", database=str(db_path)))
    yield engine
    engine.dispose()


def save(store: SqlStore, brief: Brief, *, feed_hash: str | None = "fh", now: datetime = NOW) -> None:
    assert brief.item_key is not None
    store.save_brief(
        brief, key=brief.item_key, source=brief.source, url=brief.url, feed_hash=feed_hash, now=now
    )


def fail(store: SqlStore, key: str, error: str = "timeout", *, now: datetime = NOW) -> int:
    failure = ItemFailure("example-news", "fetch", error, item_key=key, url=f"https://example.org/{key}")
    return store.record_failure(failure, feed_hash="new-fh", now=now)


def test_rich_brief_round_trips_and_item_is_done(store: SqlStore) -> None:
    brief = rich_brief()
    save(store, brief, now=NOW.astimezone(CET))
    assert store.brief("item-1") == brief
    assert store.briefs() == [brief]
    record = store.items(["item-1"])["item-1"]
    assert (record.status, record.attempts, record.last_error) == ("done", 0, None)
    assert (record.content_hash, record.feed_hash, record.url) == (brief.content_hash, "fh", brief.url)
    for stamp in (record.first_seen, record.checked_at, record.updated_at):
        assert stamp == NOW and stamp is not None and stamp.tzinfo == UTC


def test_brief_without_item_key_gets_the_key_and_unknown_key_is_none(store: SqlStore) -> None:
    save_key = "item-x"
    store.save_brief(rich_brief(item_key=None), key=save_key, source="s", url=None, feed_hash=None, now=NOW)
    loaded = store.brief(save_key)
    assert loaded is not None and loaded.item_key == save_key
    assert store.brief("missing") is None


def test_resave_keeps_first_seen_and_appends_history(store: SqlStore, raw: Engine) -> None:
    save(store, rich_brief())
    later = NOW + timedelta(days=1)
    updated = rich_brief(
        content_hash="beef" * 16, severity=Severity(SeverityLevel.HIGH, 70), analysed_at=None
    )
    save(store, updated, now=later)
    record = store.items(["item-1"])["item-1"]
    assert (record.first_seen, record.checked_at, record.updated_at) == (NOW, later, later)
    assert store.brief("item-1") == updated
    history = store.history("item-1")
    assert [(h.content_hash, h.level) for h in history] == [
        ("c0ffee" * 10, SeverityLevel.CRITICAL),
        ("beef" * 16, SeverityLevel.HIGH),
    ]
    assert history[1].analysed_at == later  # a brief without analysed_at is stamped with `now`
    with raw.connect() as conn:
        assert len(conn.execute(select(BRIEF_HISTORY)).all()) == 2
        assert len(conn.execute(select(BRIEFS)).all()) == 1


def test_feed_state_round_trip_and_overwrite(store: SqlStore) -> None:
    assert store.feed_state("https://example.org/feed") is None
    state = FeedState(
        "https://example.org/feed", etag='W/"abc"', last_modified="Wed, 01 May 2024 10:00:00 GMT"
    )
    store.save_feed_state(state, now=NOW)
    assert store.feed_state(state.url) == state
    cleared = FeedState(state.url, etag=None, last_modified=None)
    store.save_feed_state(cleared, now=NOW)
    assert store.feed_state(state.url) == cleared


def test_items_batch_lookup_spans_chunks(store: SqlStore) -> None:
    keys = [f"k{i:04d}" for i in range(1203)]
    stored = [keys[0], keys[499], keys[500], keys[999], keys[1000], keys[1202]]
    for key in stored:
        fail(store, key)
    found = store.items(keys + keys[:10])  # duplicates are harmless
    assert sorted(found) == sorted(stored)
    assert all(found[k].key == k and found[k].status == "failed" for k in stored)
    assert store.items([]) == {}


def test_failures_count_up_then_success_resets(store: SqlStore) -> None:
    assert fail(store, "item-1", "timeout") == 1
    assert fail(store, "item-1", "HTTP 503", now=NOW + timedelta(hours=1)) == 2
    record = store.items(["item-1"])["item-1"]
    assert (record.status, record.attempts, record.last_error, record.updated_at) == (
        "failed",
        2,
        "HTTP 503",
        None,
    )
    assert record.first_seen == NOW
    assert store.failures() == [
        ItemFailure("example-news", "fetch", "HTTP 503", "item-1", "https://example.org/item-1", 2)
    ]
    assert store.brief("item-1") is None
    save(store, rich_brief())
    record = store.items(["item-1"])["item-1"]
    assert (record.status, record.attempts, record.last_error) == ("done", 0, None)
    assert record.first_seen == NOW
    assert store.failures() == []


def test_failure_after_done_keeps_brief_and_status(store: SqlStore) -> None:
    brief = rich_brief()
    save(store, brief, feed_hash="old-fh")
    assert fail(store, "item-1", "HTTP 500") == 1
    assert fail(store, "item-1", "HTTP 500") == 2
    record = store.items(["item-1"])["item-1"]
    assert (record.status, record.attempts, record.last_error) == ("done", 2, "HTTP 500")
    assert record.feed_hash == "old-fh"  # the changed entry is retried next run
    assert store.brief("item-1") == brief
    assert store.failures() == []
    store.mark_checked("item-1", feed_hash="new-fh", now=NOW + timedelta(hours=2))
    record = store.items(["item-1"])["item-1"]
    assert (record.attempts, record.last_error, record.feed_hash) == (0, None, "new-fh")
    assert record.checked_at == NOW + timedelta(hours=2) and record.updated_at == NOW


def test_mark_checked_needs_a_stored_brief(store: SqlStore) -> None:
    with pytest.raises(StoreError, match="no stored brief"):
        store.mark_checked("never-seen", feed_hash=None, now=NOW)
    fail(store, "item-2")
    with pytest.raises(StoreError, match="no stored brief"):
        store.mark_checked("item-2", feed_hash=None, now=NOW)


def test_feed_failures_are_listed_and_cleared_by_a_good_poll(store: SqlStore) -> None:
    feed = ItemFailure("example-news", "feed", "HTTP 404", url="https://example.org/feed")
    assert store.record_failure(feed, feed_hash=None, now=NOW) == 1
    assert store.record_failure(feed, feed_hash=None, now=NOW) == 2
    fail(store, "item-9")
    other = ItemFailure("other", "extract", "no text", item_key="o-1")
    store.record_failure(other, feed_hash=None, now=NOW)
    assert [(f.item_key, f.attempts) for f in store.failures()] == [(None, 2), ("item-9", 1), ("o-1", 1)]
    assert [f.item_key for f in store.failures(source="other")] == ["o-1"]
    store.save_feed_state(FeedState("https://example.org/feed", etag="e"), now=NOW)
    assert [f.item_key for f in store.failures(source="example-news")] == ["item-9"]
    with pytest.raises(ValueError):
        store.record_failure(ItemFailure("x", "feed", "no url"), feed_hash=None, now=NOW)


def _dated(
    key: str, published: datetime | None, level: SeverityLevel, source: str = "a", **kw: object
) -> Brief:
    return rich_brief(key, published=published, severity=Severity(level, 50), source=source, **kw)


def test_briefs_order_filters_and_paging(store: SqlStore) -> None:
    day = datetime(2024, 4, 1, tzinfo=UTC)
    briefs = [
        _dated("old", day, SeverityLevel.CRITICAL),
        _dated("new", day + timedelta(days=2), SeverityLevel.LOW, source="b"),
        _dated("undated", None, SeverityLevel.HIGH),
        _dated("tie-late", day + timedelta(days=1), SeverityLevel.MEDIUM, analysed_at=NOW),
        _dated(
            "tie-early", day + timedelta(days=1), SeverityLevel.INFO, analysed_at=NOW - timedelta(hours=1)
        ),
        _dated("tie-b", day + timedelta(days=1), SeverityLevel.HIGH, analysed_at=NOW - timedelta(hours=1)),
        # same instant as "new" but written with another offset: still sorted as equal-time
        _dated("zoned", (day + timedelta(days=2)).astimezone(CET), SeverityLevel.MEDIUM, analysed_at=NOW),
    ]
    for brief in briefs:
        save(store, brief)
    expected = ["zoned", "new", "tie-late", "tie-b", "tie-early", "old", "undated"]
    assert [b.item_key for b in store.briefs()] == expected
    assert [b.item_key for b in store.briefs(limit=2, offset=2)] == ["tie-late", "tie-b"]
    assert [b.item_key for b in store.briefs(offset=6)] == ["undated"]
    assert [b.item_key for b in store.briefs(min_level=SeverityLevel.HIGH)] == ["tie-b", "old", "undated"]
    assert [b.item_key for b in store.briefs(min_level=SeverityLevel.INFO)] == expected
    assert [b.item_key for b in store.briefs(source="b")] == ["new"]
    assert store.briefs(source="b", min_level=SeverityLevel.CRITICAL) == []
    with pytest.raises(ValueError):
        store.briefs(limit=-1)


def test_unreadable_stored_brief_raises_store_error(store: SqlStore, raw: Engine) -> None:
    save(store, rich_brief())
    with raw.begin() as conn:
        conn.execute(BRIEFS.update().values(data='{"schema_version": 999}'))
    with pytest.raises(StoreError, match="unreadable"):
        store.brief("item-1")


def test_two_stores_share_one_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    with open_store(path) as writer, open_store(str(path)) as reader:
        save(writer, rich_brief())
        assert reader.brief("item-1") == rich_brief()


def test_in_memory_url(tmp_path: Path) -> None:
    with open_store("sqlite://") as memory:
        save(memory, rich_brief())
        assert memory.briefs() == [rich_brief()]


CHILD = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from huntbrief.adapters.store import open_store
    from huntbrief.model import Brief, IocFindings, Severity, SeverityLevel

    store = open_store(sys.argv[1])
    text = "x" * 20000
    for i in range(100000):
        key = f"item-{i}"
        brief = Brief(key, None, "s", None, text, Severity(SeverityLevel.LOW, 1), IocFindings(),
                      (), (), (), f"hash-{i}", item_key=key)
        store.save_brief(brief, key=key, source="s", url=None, feed_hash=None, now=datetime.now(UTC))
        print(i, flush=True)
    """
)


def test_killed_writer_never_leaves_a_half_written_item(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    deadline = time.monotonic() + 30
    saved = -1
    while saved < 40 and time.monotonic() < deadline:
        line = child.stdout.readline()
        if not line:
            break
        saved = int(line)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    child.stdout.close()
    assert saved >= 40, "the child process did not save briefs"
    with open_store(path) as reopened:
        keys = [f"item-{i}" for i in range(saved + 200)]
        records = reopened.items(keys)
        assert len(records) >= saved + 1
        for key, record in records.items():
            assert record.status == "done"
            brief = reopened.brief(key)
            assert brief is not None and brief.content_hash == record.content_hash
            assert len(reopened.history(key)) == 1
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_bad_targets_raise_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="directory") as caught:
        open_store(tmp_path)
    assert caught.value.location == str(tmp_path.resolve())
    blocker = tmp_path / "plain-file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot create the database folder"):
        open_store(blocker / "sub" / "state.db")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is a text file, not SQLite\n" * 64)
    with pytest.raises(StoreError, match="not a database") as caught:
        open_store(junk)
    assert caught.value.location == str(junk)
    with pytest.raises(StoreError, match="URL") as caught:
        open_store("nosuchdialect://user:secret@host/db")
    assert "secret" not in str(caught.value) and caught.value.location == "nosuchdialect://user:***@host/db"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores file permissions")
def test_unwritable_folder_raises_store_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(StoreError):
            open_store(locked / "state.db")
    finally:
        locked.chmod(0o700)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    open_store(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO huntbrief_migrations VALUES ('0099_from_the_future', '2030-01-01 00:00:00')"
        )
    with pytest.raises(StoreError, match="newer huntbrief") as caught:
        open_store(path)
    assert caught.value.location == str(path)
