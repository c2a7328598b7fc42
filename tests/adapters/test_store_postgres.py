"""The same store on a real PostgreSQL server: a throwaway cluster started for this test module.

Skips with a reason when PostgreSQL's server binaries or the psycopg driver are not installed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from huntbrief.adapters.store import SqlStore, open_store
from huntbrief.model import ItemFailure, SeverityLevel
from tests.adapters.test_store import rich_brief

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def _pg_bin() -> Path | None:
    for base in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (base / "initdb").exists() and (base / "pg_ctl").exists():
            return base
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """Start a private PostgreSQL cluster on a Unix socket; yield a SQLAlchemy URL to it."""
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[test]')")
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found")
    root = Path(tempfile.mkdtemp(prefix="huntbrief-pg-"))  # not under pytest's 0700 root-only folder
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    port = _free_port()
    subprocess.run(
        _as_postgres([str(bindir / "initdb"), "-A", "trust", "-U", "postgres", "-D", str(data)]),
        check=True,
        capture_output=True,
    )
    opts = f"-k {sock} -p {port} -h '' -c fsync=off"
    subprocess.run(
        _as_postgres(
            [str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-w", "-l", str(root / "log"), "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@/postgres?host={sock}&port={port}"
    finally:
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def store(pg_url: str) -> Iterator[SqlStore]:
    """A store on the server, emptied before each test."""
    opened = open_store(pg_url)
    with opened._engine.begin() as conn:
        tables = "brief_iocs, brief_techniques, brief_index, brief_history, briefs, items, feeds, feed_polls"
        conn.execute(text(f"TRUNCATE {tables}"))
    yield opened
    opened.close()


def test_migrations_apply_once_and_reopen_is_a_no_op(pg_url: str) -> None:
    open_store(pg_url).close()
    again = open_store(pg_url)
    with again._engine.connect() as conn:
        names = [r[0] for r in conn.execute(text("select name from huntbrief_migrations order by name"))]
    again.close()
    assert names == sorted(set(names)) and names[0] == "0001_initial"


def test_a_brief_round_trips_unchanged(store: SqlStore) -> None:
    brief = rich_brief("pg-1")
    store.save_brief(brief, key="pg-1", source="Lab", url=brief.url, feed_hash="fh", now=NOW)
    assert store.brief("pg-1") == brief
    record = store.items(["pg-1"])["pg-1"]
    assert record.status == "done" and record.first_seen == NOW and record.first_seen.tzinfo is not None


def test_upserts_failures_and_recovery(store: SqlStore) -> None:
    fail = ItemFailure("Lab", "fetch", "HTTP 503", item_key="pg-2", url="https://x.test/a")
    assert store.record_failure(fail, feed_hash="fh", now=NOW) == 1
    assert store.record_failure(fail, feed_hash="fh", now=NOW + timedelta(hours=1)) == 2
    store.save_brief(rich_brief("pg-2"), key="pg-2", source="Lab", url=None, feed_hash="fh", now=NOW)
    record = store.items(["pg-2"])["pg-2"]
    assert (record.status, record.attempts, record.first_seen) == ("done", 0, NOW)
    store.record_failure(fail, feed_hash="fh", now=NOW)
    assert store.brief("pg-2") is not None  # a failed re-check keeps the good brief


def test_batch_lookup_and_listing_order(store: SqlStore) -> None:
    for n in range(3):
        brief = rich_brief(f"k{n}")
        brief = replace(brief, published=NOW - timedelta(days=n))
        store.save_brief(brief, key=f"k{n}", source="Lab", url=None, feed_hash="fh", now=NOW)
    assert set(store.items([f"k{n}" for n in range(700)])) == {"k0", "k1", "k2"}
    assert [b.item_key for b in store.briefs()] == ["k0", "k1", "k2"]
    assert len(store.briefs(min_level=SeverityLevel.CRITICAL)) in (0, 3)
