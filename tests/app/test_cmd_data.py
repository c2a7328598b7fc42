"""`huntbrief data update`: fetch CISA's KEV feed (here from a local server), validate, replace atomically."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from huntbrief.app.cmd_data import data_app
from huntbrief.catalog.kev import default_user_path, load_kev
from tests import localserver
from tests.localserver import LocalServer, Reply
from tests.test_catalog_kev import feed

local_server = localserver.local_server
runner = CliRunner()


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private user data directory (platformdirs honours XDG_DATA_HOME on Linux)."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    target = default_user_path()
    assert target.is_relative_to(tmp_path)
    return target


def _app() -> typer.Typer:
    root = typer.Typer()
    root.add_typer(data_app, name="data")
    return root


def test_update_saves_a_validated_newer_catalog_that_the_loader_prefers(
    local_server: LocalServer, data_home: Path
) -> None:
    body = json.dumps(feed("2099.01.01", "2099-01-01T00:00:00.000Z", "CVE-2099-0001", "CVE-2099-0002"))
    local_server.route("/kev.json", body=body, headers={"Content-Type": "application/json"})
    args = ["data", "update", "--url", local_server.url("/kev.json"), "--allow-private-networks"]
    result = runner.invoke(_app(), args)
    assert result.exit_code == 0, result.output
    assert "KEV catalog 2099.01.01 (2 CVEs, released 2099-01-01)" in result.output
    kev = load_kev(data_home)
    assert kev.version == "2099.01.01" and "CVE-2099-0002" in kev
    assert "shortDescription" not in data_home.read_text(encoding="utf-8")
    assert [p.name for p in data_home.parent.iterdir()] == ["kev.json"]  # no temp file left behind


def test_an_older_feed_is_saved_but_the_packaged_snapshot_stays_in_use(
    local_server: LocalServer, data_home: Path
) -> None:
    local_server.route(
        "/kev.json", body=json.dumps(feed("2020.01.01", "2020-01-01T00:00:00Z", "CVE-2020-0001"))
    )
    result = runner.invoke(
        _app(), ["data", "update", "--url", local_server.url("/kev.json"), "--allow-private-networks"]
    )
    assert result.exit_code == 0
    assert "The packaged snapshot 2025.08.25 is newer and stays in use." in result.output


@pytest.mark.parametrize(
    ("reply", "code", "message"),
    [
        (Reply(body=b"<html>maintenance</html>"), 2, "not valid JSON"),
        (Reply(body=json.dumps({"catalogVersion": "x", "dateReleased": "2099", "vulnerabilities": []})), 2,
         "vulnerabilities must be a non-empty list"),
        (Reply(status=404), 1, "HTTP 404"),
    ],
)  # fmt: skip
def test_a_bad_download_leaves_the_previous_copy_untouched(
    local_server: LocalServer, data_home: Path, reply: Reply, code: int, message: str
) -> None:
    data_home.parent.mkdir(parents=True)
    data_home.write_text("previous", encoding="utf-8")
    local_server.route("/kev.json", reply)
    result = runner.invoke(
        _app(), ["data", "update", "--url", local_server.url("/kev.json"), "--allow-private-networks"]
    )
    assert result.exit_code == code
    assert message in result.output
    assert data_home.read_text(encoding="utf-8") == "previous"


def test_private_addresses_are_refused_unless_allowed(local_server: LocalServer, data_home: Path) -> None:
    local_server.route(
        "/kev.json", body=json.dumps(feed("2099.01.01", "2099-01-01T00:00:00Z", "CVE-2099-0001"))
    )
    result = runner.invoke(_app(), ["data", "update", "--url", local_server.url("/kev.json")])
    assert result.exit_code == 1
    assert local_server.hits("/kev.json") == 0 and not data_home.exists()


def test_status_names_the_catalog_in_use(local_server: LocalServer, data_home: Path) -> None:
    before = runner.invoke(_app(), ["data", "status"])
    assert before.exit_code == 0
    assert "KEV catalog 2025.08.25 (1404 CVEs, released 2025-08-25): packaged snapshot" in before.output
    assert "(none yet)" in before.output
    local_server.route(
        "/kev.json", body=json.dumps(feed("2099.01.01", "2099-01-01T00:00:00Z", "CVE-2099-0001"))
    )
    runner.invoke(
        _app(), ["data", "update", "--url", local_server.url("/kev.json"), "--allow-private-networks"]
    )
    after = runner.invoke(_app(), ["data", "status"])
    assert "KEV catalog 2099.01.01 (1 CVE, released 2099-01-01): refreshed copy" in after.output
