"""Fixtures for the web tests: one sample store per module and a FastAPI test client over it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("fastapi", reason="fastapi is not installed (pip install -e '.[web]')")

from fastapi.testclient import TestClient  # noqa: E402

from huntbrief.adapters.store import SqlStore  # noqa: E402
from huntbrief.app.web import create_app  # noqa: E402
from tests.web.sample import sample_store  # noqa: E402


@pytest.fixture(scope="module")
def web_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlStore]:
    store = sample_store(tmp_path_factory.mktemp("web") / "state.db")
    yield store
    store.close()


@pytest.fixture(scope="module")
def client(web_store: SqlStore) -> Iterator[TestClient]:
    with TestClient(create_app(web_store)) as made:
        yield made
