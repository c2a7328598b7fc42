"""Schema migrations: applied once, in order, each in its own transaction, newer databases refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, inspect, text

from huntbrief.adapters.migrations import MIGRATIONS, Migration, applied_migrations, make_engine, migrate
from huntbrief.adapters.store import open_store
from huntbrief.errors import StoreError


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    made = make_engine(f"sqlite:///{tmp_path / 'state.db'}")
    yield made
    made.dispose()


def applied(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return applied_migrations(conn)


def tables(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def test_fresh_database_gets_every_migration(engine: Engine) -> None:
    names = [m.name for m in MIGRATIONS]
    assert names[0] == "0001_initial" and len(set(names)) == len(names)
    assert migrate(engine) == names
    assert applied(engine) == names
    assert {"huntbrief_migrations", "feeds", "items", "briefs", "brief_history"} <= tables(engine)


def test_reopening_applies_nothing(tmp_path: Path, engine: Engine) -> None:
    migrate(engine)
    assert migrate(engine) == []
    open_store(tmp_path / "state.db").close()
    assert applied(engine) == [m.name for m in MIGRATIONS]


def test_pending_migrations_run_in_order(engine: Engine) -> None:
    order: list[str] = []

    def step(name: str) -> Migration:
        return Migration(name, lambda conn: order.append(name))

    migrate(engine)
    extra = (step("0002_a"), step("0003_b"))
    assert migrate(engine, (*MIGRATIONS, *extra)) == ["0002_a", "0003_b"]
    assert order == ["0002_a", "0003_b"]
    assert migrate(engine, (*MIGRATIONS, *extra)) == []
    assert order == ["0002_a", "0003_b"]


def test_unknown_migration_name_is_refused(engine: Engine) -> None:
    migrate(engine, (*MIGRATIONS, Migration("0002_newer", lambda conn: None)))
    with pytest.raises(StoreError, match="newer huntbrief.*0002_newer") as caught:
        migrate(engine, location="the-db")
    assert caught.value.location == "the-db"


def test_failing_migration_rolls_back(engine: Engine) -> None:
    def broken(conn: Connection) -> None:
        conn.execute(text("CREATE TABLE half_done (id INTEGER PRIMARY KEY)"))
        conn.execute(text("INSERT INTO half_done (id) VALUES (1)"))
        conn.execute(text("ALTER TABLE items ADD COLUMN half_column TEXT"))
        raise RuntimeError("boom")

    migrate(engine)
    with pytest.raises(StoreError, match="0002_broken.*boom"):
        migrate(engine, (*MIGRATIONS, Migration("0002_broken", broken)))
    assert applied(engine) == [m.name for m in MIGRATIONS]
    assert "half_done" not in tables(engine)
    with engine.connect() as conn:
        assert "half_column" not in {c["name"] for c in inspect(conn).get_columns("items")}
    assert migrate(engine, (*MIGRATIONS, Migration("0002_fixed", lambda conn: None))) == ["0002_fixed"]


def test_failing_first_migration_leaves_no_tables(engine: Engine) -> None:
    def broken(conn: Connection) -> None:
        MIGRATIONS[0].apply(conn)
        raise RuntimeError("disk on fire")

    with pytest.raises(StoreError, match="disk on fire"):
        migrate(engine, (Migration("0001_initial", broken),))
    assert tables(engine) == {"huntbrief_migrations"}
    assert applied(engine) == []


def test_foreign_database_is_refused(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)"))
    with pytest.raises(StoreError, match="not a huntbrief database"):
        migrate(engine)
