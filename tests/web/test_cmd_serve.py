"""`huntbrief serve`: binds 127.0.0.1 with a Host check by default, refuses a missing database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from huntbrief.app import cmd_serve
from huntbrief.app.web import LOOPBACK_HOSTS
from tests.web.sample import sample_store


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(cmd_serve.serve)
    return app


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What uvicorn.run would have been given (nothing is served)."""
    import uvicorn

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    return seen


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.168.1.5", False),
        ("example.org", False),
        ("", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert cmd_serve.is_loopback(host) is loopback


def test_defaults_to_loopback_with_host_check(
    cli: typer.Typer, served: dict[str, Any], tmp_path: Path
) -> None:
    sample_store(tmp_path / "state.db").close()
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "state.db")])
    assert result.exit_code == 0, result.output
    assert served["host"] == "127.0.0.1" and served["port"] == 8000
    middleware = [m for m in served["app"].user_middleware if m.cls.__name__ == "TrustedHostMiddleware"]
    assert middleware and list(middleware[0].kwargs["allowed_hosts"]) == list(LOOPBACK_HOSTS)


def test_other_host_warns_and_has_no_host_check(
    cli: typer.Typer, served: dict[str, Any], tmp_path: Path
) -> None:
    sample_store(tmp_path / "state.db").close()
    result = CliRunner().invoke(
        cli, ["--db", str(tmp_path / "state.db"), "--host", "0.0.0.0", "--port", "9000"]
    )
    assert result.exit_code == 0 and "anyone who can reach it" in result.output
    assert served["host"] == "0.0.0.0" and served["port"] == 9000


def test_missing_database_is_an_error(cli: typer.Typer, served: dict[str, Any], tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "nope.db")])
    assert result.exit_code == 1 and "no state database" in result.output and not served
    assert not (tmp_path / "nope.db").exists()
