"""The outbox table: queued with the brief, sent once per version, failures kept for the next run."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect

from huntbrief.adapters.migrations import MIGRATIONS, make_engine, migrate
from huntbrief.adapters.outbox import DeliveryReport, Outbox
from huntbrief.adapters.publish import PublishError
from huntbrief.adapters.store import SqlStore, open_store
from huntbrief.adapters.targets import Target
from huntbrief.errors import StoreError
from huntbrief.model import Brief
from tests.adapters.test_store_postgres import pg_url as pg_url  # the module's PostgreSQL cluster
from tests.test_outputs.briefs import rich_brief

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
KEY = "northwind-lockdrift"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    with open_store(tmp_path / "state.db") as opened:
        yield opened


def _save(store: SqlStore, content_hash: str, targets: tuple[str, ...] = ("slack:ops", "misp:1")) -> None:
    brief = replace(rich_brief(), content_hash=content_hash)
    store.save_brief(brief, key=KEY, source="s", url=None, feed_hash="f", now=NOW, deliver_to=targets)


def _pending(store: SqlStore, target: str = "slack:ops") -> list[tuple[str, str, str | None]]:
    return [(p.key, p.pending_hash, p.delivered_hash) for p in store.pending_deliveries(target)]


def test_the_migration_is_named_and_creates_the_table(tmp_path: Path) -> None:
    assert MIGRATIONS[-1].name == "0004_deliveries"
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        migrate(engine, MIGRATIONS[:-1])
        assert migrate(engine) == ["0004_deliveries"]
        with engine.connect() as conn:
            assert "deliveries" in inspect(conn).get_table_names()
    finally:
        engine.dispose()


def test_a_saved_brief_is_pending_for_its_targets_only(store: SqlStore) -> None:
    _save(store, "h1")
    assert _pending(store) == [(KEY, "h1", None)]
    assert _pending(store, "misp:1") == [(KEY, "h1", None)]
    assert _pending(store, "teams:other") == []


def test_a_delivered_version_is_never_pending_again(store: SqlStore) -> None:
    _save(store, "h1")
    store.settle_delivery("slack:ops", KEY, pending_hash="h1", delivered_hash="h1", now=NOW)
    assert _pending(store) == []
    _save(store, "h1")  # the same content saved again
    assert _pending(store) == []
    _save(store, "h2")  # changed content: pending, and it knows what was delivered before
    assert _pending(store) == [(KEY, "h2", "h1")]


def test_a_failure_stays_pending_and_goes_behind_fresh_ones(store: SqlStore) -> None:
    _save(store, "h1")
    other = replace(rich_brief(), item_key="k2", content_hash="x1")
    store.save_brief(
        other, key="k2", source="s", url=None, feed_hash=None, now=NOW, deliver_to=("slack:ops",)
    )
    assert [p.key for p in store.pending_deliveries("slack:ops")] == ["k2", KEY]  # oldest key order on a tie
    assert store.record_delivery_failure("slack:ops", "k2", "HTTP 500") == 1
    assert store.record_delivery_failure("slack:ops", "k2", "HTTP 500") == 2
    assert [(p.key, p.attempts) for p in store.pending_deliveries("slack:ops")] == [(KEY, 0), ("k2", 2)]


def test_dropping_a_pending_delivery_records_nothing_as_sent(store: SqlStore) -> None:
    _save(store, "h1")
    store.settle_delivery("slack:ops", KEY, pending_hash="h1", delivered_hash=None, now=NOW)
    assert _pending(store) == []
    _save(store, "h1")
    assert _pending(store) == [(KEY, "h1", None)]  # never delivered, so the same version may go again


def test_settling_an_old_version_keeps_a_newer_one_pending(store: SqlStore) -> None:
    _save(store, "h1")
    _save(store, "h2")
    store.settle_delivery("slack:ops", KEY, pending_hash="h1", delivered_hash="h1", now=NOW)
    assert _pending(store) == [(KEY, "h2", "h1")]


def test_brief_and_its_deliveries_commit_together(store: SqlStore) -> None:
    brief = replace(rich_brief(), content_hash="h1")
    with pytest.raises(StoreError):  # queueing fails after the brief's rows were written: all rolled back
        store.save_brief(
            brief,
            key=KEY,
            source="s",
            url=None,
            feed_hash=None,
            now=NOW,
            deliver_to=("a", None),  # type: ignore[arg-type]
        )
    assert store.brief(KEY) is None and store.items([KEY]) == {} and _pending(store, "a") == []
    store.save_brief(brief, key=KEY, source="s", url=None, feed_hash=None, now=NOW, deliver_to=("a", "a"))
    assert store.brief(KEY) is not None and _pending(store, "a") == [(KEY, "h1", None)]


def test_the_outbox_works_on_postgresql(pg_url: str) -> None:
    with open_store(pg_url) as pg:
        key = "pg-outbox-item"
        brief = replace(rich_brief(), item_key=key, content_hash="p1")
        pg.save_brief(brief, key=key, source="s", url=None, feed_hash=None, now=NOW, deliver_to=("t:pg",))
        assert [(p.key, p.pending_hash) for p in pg.pending_deliveries("t:pg")] == [(key, "p1")]
        assert pg.record_delivery_failure("t:pg", key, "HTTP 500") == 1
        pg.settle_delivery("t:pg", key, pending_hash="p1", delivered_hash="p1", now=NOW)
        pg.save_brief(brief, key=key, source="s", url=None, feed_hash=None, now=NOW, deliver_to=("t:pg",))
        assert pg.pending_deliveries("t:pg") == []
        changed = replace(brief, content_hash="p2")
        pg.save_brief(changed, key=key, source="s", url=None, feed_hash=None, now=NOW, deliver_to=("t:pg",))
        assert [(p.pending_hash, p.delivered_hash) for p in pg.pending_deliveries("t:pg")] == [("p2", "p1")]


class _DeadEndpoint:
    """A Sender whose endpoint is down: every send fails; counts the attempts."""

    def __init__(self) -> None:
        self.calls = 0

    def send(self, target: Target, brief: Brief, *, updated: bool) -> str:
        self.calls += 1
        raise PublishError("HTTP 503", location=target.label)

    def close(self) -> None:
        """Nothing to release."""


def test_a_delivery_failing_max_attempts_runs_is_given_up_until_its_brief_changes(store: SqlStore) -> None:
    target = Target(id="slack:ops", kind="slack", label="ops", url="https://hooks.example/x")
    sender = _DeadEndpoint()
    outbox = Outbox([target], store, sender, max_attempts=2)
    _save(store, "h1", ("slack:ops",))

    def run() -> DeliveryReport:
        return outbox.deliver_pending(now=lambda: NOW, stop=lambda: False)

    assert [len(run().failed), len(run().failed)] == [1, 1] and sender.calls == 2
    third = run()
    assert sender.calls == 2 and third.given_up == 1 and not third.failed  # not tried again
    assert "1 given up" in third.summary()
    assert [(f.key, f.attempts, f.error) for f in store.failed_deliveries()] == [(KEY, 2, "ops: HTTP 503")]
    _save(store, "h2", ("slack:ops",))  # the article changed: a new version, tried again
    assert len(run().failed) == 1 and sender.calls == 3
