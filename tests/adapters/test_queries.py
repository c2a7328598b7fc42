"""The read side: index rows written with each brief, backfilled by migration, and the queries over them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import URL, select, text

from huntbrief.adapters.brief_rows import brief_id, normalise_ioc
from huntbrief.adapters.migrations import BRIEF_IOCS, MIGRATIONS, make_engine, migrate
from huntbrief.adapters.queries import BriefFilter, Queries
from huntbrief.adapters.source_health import source_health
from huntbrief.adapters.store import SqlStore, open_store
from huntbrief.model import IndicatorKind, IocFindings, SeverityLevel
from tests.adapters.test_store_postgres import pg_url as pg_url  # the module's PostgreSQL cluster
from tests.web.sample import NOW, fill, ioc, sample_briefs, sample_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    made = sample_store(tmp_path / "state.db")
    yield made
    made.close()


@pytest.fixture
def queries(store: SqlStore) -> Queries:
    return Queries(store)


def keys(queries: Queries, **filters: object) -> list[str]:
    return [r.key for r in queries.briefs(BriefFilter(**filters)).rows]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text_in", "expected"),
    [
        ("hxxp://update.badcdn[.]net/payload.exe", "http://update.badcdn.net/payload.exe"),
        ("  203.0.113[.]7 ", "203.0.113.7"),
        ("billing[@]badcdn[.]net", "billing@badcdn.net"),
        ("Phish-Login(.)COM", "phish-login.com"),
        ('"ABAB"', "abab"),
    ],
)
def test_normalise_ioc_refangs_trims_and_lowers(text_in: str, expected: str) -> None:
    assert normalise_ioc(text_in) == expected


def test_list_is_newest_first_with_undated_last_and_paged(queries: Queries) -> None:
    assert keys(queries) == ["k-ransom", "k-phish", "k-xss", "k-low", "k-info", "k-undated"]
    page = queries.briefs(BriefFilter(), limit=2, offset=2)
    assert [r.key for r in page.rows] == ["k-xss", "k-low"] and page.total == 6
    assert queries.briefs(BriefFilter(), limit=2, offset=99).rows == ()


def test_filters_combine(queries: Queries) -> None:
    assert keys(queries, levels=(SeverityLevel.HIGH,)) == ["k-phish", "k-undated"]
    assert keys(queries, min_level=SeverityLevel.HIGH) == ["k-ransom", "k-phish", "k-undated"]
    assert keys(queries, levels=(SeverityLevel.LOW,), min_level=SeverityLevel.HIGH) == []
    assert keys(queries, source="beta-blog") == ["k-phish", "k-undated"]
    assert keys(queries, since=date(2026, 11, 10), until=date(2026, 11, 20)) == ["k-phish", "k-xss"]
    assert keys(queries, until=date(9999, 12, 31), since=date(1, 1, 1))[:1] == ["k-ransom"]


def test_technique_filter_includes_sub_techniques(queries: Queries) -> None:
    assert keys(queries, technique="T1059") == ["k-ransom", "k-phish", "k-xss"]
    assert keys(queries, technique="t1059.001") == ["k-ransom"]
    assert keys(queries, technique="T1218") == ["k-phish"]


def test_free_text_needs_every_word_and_escapes_like_wildcards(queries: Queries) -> None:
    assert keys(queries, text="RANSOMWARE servers") == ["k-ransom"]
    assert keys(queries, text="mshta") == ["k-phish"]  # a technique name
    assert keys(queries, text="ransomware phishing") == []
    assert keys(queries, text="%") == [] and keys(queries, text="_") == []


def test_brief_by_id_and_unknown(queries: Queries) -> None:
    row, brief = queries.brief(brief_id("k-phish")) or pytest.fail("missing")
    assert row.key == "k-phish" and brief.title == row.title and row.iocs == 2 and row.hunts == 1
    assert queries.brief("0" * 16) is None


def test_ioc_lookup_exact_and_by_host_with_defanged_input(queries: Queries) -> None:
    found = queries.iocs(["hxxp://update.badcdn[.]net/payload.exe"])
    assert [(m.brief.key, m.how) for m in found] == [("k-ransom", "exact")]
    by_host = queries.iocs(["update.badcdn[.]net", "badcdn.net"])
    assert {(m.query, m.brief.key, m.kind, m.how) for m in by_host} == {
        ("update.badcdn.net", "k-ransom", "url", "host"),
        ("badcdn.net", "k-phish", "email", "host"),
    }
    assert queries.iocs(["AB" * 32])[0].kind == "sha256"
    assert queries.iocs(["198.51.100.1", "  "]) == []


def test_resave_replaces_index_rows(store: SqlStore, queries: Queries) -> None:
    brief = replace(
        sample_briefs()[0], iocs=IocFindings((ioc(IndicatorKind.IPV4, "198.51.100.9", "x"),)), techniques=()
    )
    store.save_brief(brief, key="k-ransom", source="alpha-news", url=None, feed_hash=None, now=NOW)
    assert queries.iocs(["203.0.113.7"]) == []
    assert [m.brief.key for m in queries.iocs(["198.51.100.9"])] == ["k-ransom"]
    assert "k-ransom" not in keys(queries, technique="T1190")


def test_techniques_and_heatmap(queries: Queries) -> None:
    counts = {t.id: t.briefs for t in queries.techniques()}
    assert counts == {"T1059": 2, "T1059.001": 1, "T1190": 1, "T1486": 1, "T1218.005": 1}
    assert [t.id for t in queries.techniques(since=date(2026, 11, 21))] == ["T1059.001", "T1190", "T1486"]
    heat = queries.heatmap(date(2026, 11, 1), date(2026, 11, 30), bucket_days=7)
    assert heat.buckets[0] == date(2026, 11, 1) and len(heat.buckets) == 5
    rows = {t.id: counts for t, counts in heat.rows}
    assert rows["T1059"] == (0, 1, 1, 0, 0)  # 10 Nov in week 2, 20 Nov in week 3
    assert rows["T1190"] == (0, 0, 0, 1, 0) and heat.peak == 1
    with pytest.raises(ValueError):
        queries.heatmap(date(2026, 11, 2), date(2026, 11, 1))


def test_source_health(store: SqlStore) -> None:
    health = {s.name: s for s in source_health(store)}
    alpha, beta = health["alpha-news"], health["beta-blog"]
    (feed,) = alpha.feeds
    assert feed.responses == 4 and feed.not_modified == 3 and feed.not_modified_rate == 0.75
    assert feed.last_success == NOW and feed.last_error is None
    assert alpha.briefs == 4 and alpha.items == 4 and alpha.failed_items == 0
    assert beta.feeds[0].last_error == "HTTP 503 <oops>" and beta.feeds[0].last_success is None
    assert beta.failed_items == 1 and beta.feeds[0].not_modified_rate is None


def test_migration_backfills_briefs_stored_before_it(tmp_path: Path) -> None:
    full = open_store(tmp_path / "full.db")
    fill(full)
    full.close()
    old_path = tmp_path / "old.db"
    old = make_engine(URL.create("sqlite", database=str(old_path)))
    migrate(old, MIGRATIONS[:1])  # a database written by huntbrief before the read-side index
    src = make_engine(URL.create("sqlite", database=str(tmp_path / "full.db")))
    with src.connect() as a, old.begin() as b:
        for table in ("items", "briefs"):
            rows = [dict(r) for r in a.execute(text(f"SELECT * FROM {table}")).mappings()]
            marks = ", ".join(f":{c}" for c in rows[0])
            b.execute(text(f"INSERT INTO {table} ({', '.join(rows[0])}) VALUES ({marks})"), rows)
    src.dispose()
    old.dispose()
    reopened = open_store(old_path)
    try:
        assert [m.brief.key for m in Queries(reopened).iocs(["203.0.113[.]7"])] == ["k-ransom"]
        assert keys(Queries(reopened), technique="T1059") == ["k-ransom", "k-phish", "k-xss"]
        with reopened.reading() as conn:
            assert len(conn.execute(select(BRIEF_IOCS)).all()) == 5
    finally:
        reopened.close()


def test_read_side_on_postgresql(pg_url: str) -> None:
    store = open_store(pg_url)
    try:
        with store._engine.begin() as conn:
            tables = (
                "brief_iocs, brief_techniques, brief_index, brief_history, briefs, items, feeds, feed_polls"
            )
            conn.execute(text(f"TRUNCATE {tables}"))
        fill(store)
        queries = Queries(store)
        assert keys(queries) == ["k-ransom", "k-phish", "k-xss", "k-low", "k-info", "k-undated"]
        assert keys(queries, technique="T1059", since=date(2026, 11, 15), text="PHISHING") == ["k-phish"]
        assert [m.how for m in queries.iocs(["badcdn[.]net", "203.0.113[.]7"])] == ["host", "exact"]
        assert queries.heatmap(date(2026, 11, 1), date(2026, 11, 30)).peak == 1
        assert {s.name for s in source_health(store)} == {"alpha-news", "beta-blog"}
    finally:
        store.close()
