"""`huntbrief run` with `[[notify]]` and `--misp-url`: start-up checks (exit 2), alerts sent once."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from huntbrief.app.cli import app
from tests.test_outputs import postserver
from tests.test_outputs.postserver import PostServer

post_server = postserver.post_server
REPO = Path(__file__).resolve().parents[2]
FEEDS = REPO / "examples" / "feeds"
runner = CliRunner()


def _settings(tmp_path: Path, notify: str, *, private: bool = True) -> Path:
    path = tmp_path / "huntbrief.toml"
    path.write_text(
        f'db = "s.db"\nout = "out"\nallow_private_networks = {str(private).lower()}\nretries = 1\n\n'
        f'[[sources]]\nname = "Northwind Threat Research"\nurl = "{FEEDS / "research.xml"}"\n\n'
        f'[[sources]]\nname = "Meridian Cyber Defence Agency"\nurl = "{FEEDS / "advisories.atom"}"\n\n'
        + notify
    )
    return path


def _out(result: object) -> str:
    return " ".join(getattr(result, "output", "").split())


def test_run_alerts_each_qualifying_brief_once(
    post_server: PostServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    post_server.route("/slack", body=b"ok")
    post_server.route("/all", body=b"ok")
    monkeypatch.setenv("TEST_ALL_TOKEN", "Bearer cli-token")
    cfg = _settings(
        tmp_path,
        f'[[notify]]\nkind = "slack"\nurl = "{post_server.url("/slack")}"\n\n'
        f'[[notify]]\nkind = "webhook"\nurl = "{post_server.url("/all")}"\nmin_severity = "info"\n'
        'headers = { Authorization = "env:TEST_ALL_TOKEN" }\n',
    )
    first = runner.invoke(app, ["run", str(cfg), "--quiet"])
    assert first.exit_code == 0, first.output
    everything = [json.loads(b) for b in post_server.bodies["/all"]]
    index = json.loads((tmp_path / "out" / "index.json").read_text())["briefs"]
    assert sorted(m["brief"]["title"] for m in everything) == sorted(row["title"] for row in index)
    urgent = [row["title"] for row in index if row["severity"] in ("CRITICAL", "HIGH")]
    slack = [json.loads(b)["text"] for b in post_server.bodies.get("/slack", [])]
    assert urgent and sorted(slack) == sorted(f"[{r['severity']}] New brief: {r['title']}" for r in index
                                              if r["title"] in urgent)  # fmt: skip
    assert post_server.requests("/all")[0]["authorization"] == "Bearer cli-token"
    sent = len(everything) + len(slack)
    assert f"deliveries: {sent} sent, 0 failed" in first.stdout
    second = runner.invoke(app, ["run", str(cfg), "--quiet"])
    assert second.exit_code == 0 and "deliveries: 0 sent, 0 failed" in second.stdout
    assert post_server.hits("/all") == len(everything)


def test_a_refused_webhook_never_fails_the_run(post_server: PostServer, tmp_path: Path) -> None:
    post_server.route("/slack", body=b"ok")
    cfg = _settings(
        tmp_path, f'[[notify]]\nkind = "slack"\nurl = "{post_server.url("/slack")}"\n', private=False
    )
    result = runner.invoke(app, ["run", str(cfg), "--quiet"])
    assert result.exit_code == 0, result.output
    assert post_server.hits("/slack") == 0 and "1 failed" in result.stdout
    assert json.loads((tmp_path / "out" / "index.json").read_text())["briefs"]
    listed = runner.invoke(app, ["failures", "--db", str(tmp_path / "s.db")])
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert listed.exit_code == 0 and [r[1:3] for r in rows] == [["deliver", "1"]], listed.stdout
    assert rows[0][0].startswith("slack:") and "non-public address" in rows[0][4]
    assert "/slack" not in listed.stdout  # the webhook URL (a secret) is never listed


def test_misp_url_without_the_key_stops_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HUNTBRIEF_MISP_KEY", raising=False)
    cfg = _settings(tmp_path, "")
    result = runner.invoke(app, ["run", str(cfg), "--misp-url", "https://misp.example"])
    assert result.exit_code == 2
    assert "HUNTBRIEF_MISP_KEY" in _out(result)
    assert not (tmp_path / "s.db").exists() and not (tmp_path / "out").exists()


def test_misp_url_must_be_http(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUNTBRIEF_MISP_KEY", "k")
    result = runner.invoke(app, ["run", str(_settings(tmp_path, "")), "--misp-url", "misp.example"])
    assert result.exit_code == 2 and "--misp-url: MISP URL: not an http(s) URL" in _out(result)


@pytest.mark.parametrize(
    ("notify", "line", "message"),
    [
        ('[[notify]]\nkind = "pager"\nurl = "https://x.example/h"\n', 15, "notify.0.kind"),
        ('[[notify]]\nkind = "slack"\nurl = "https://x.example/h"\nmin_severity = "SEVERE"\n', 17,
         "notify.0.min_severity"),
        ('[[notify]]\nkind = "slack"\nurl = "env:TEST_UNSET_HOOK"\n', 14, "TEST_UNSET_HOOK is not set"),
        ('[[notify]]\nkind = "slack"\nurl = "https://x.example/h"\nsources = ["Nope"]\n', 14,
         "'Nope' is not the name of a polled feed"),
    ],
)  # fmt: skip
def test_bad_notify_settings_exit_2_naming_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, notify: str, line: int, message: str
) -> None:
    monkeypatch.delenv("TEST_UNSET_HOOK", raising=False)
    cfg = _settings(tmp_path, notify)
    result = runner.invoke(app, ["run", str(cfg)])
    assert result.exit_code == 2
    flat = "".join(result.output.split())
    assert f"{cfg}:{line}:" in flat and "".join(message.split()) in flat
    assert not (tmp_path / "s.db").exists()


def test_run_pushes_to_misp_without_showing_the_key(
    post_server: PostServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    key = "cli-misp-key-must-stay-secret"
    monkeypatch.setenv("HUNTBRIEF_MISP_KEY", key)
    caplog.set_level(logging.DEBUG)
    post_server.route("/events/add", body=b'{"Event": {}}')  # HEAD of every unknown event: 404
    cfg = _settings(tmp_path, "")
    result = runner.invoke(app, ["-v", "run", str(cfg), "--quiet", "--misp-url", post_server.url("/")])
    assert result.exit_code == 0, result.output
    events = [json.loads(b)["Event"] for b in post_server.bodies["/events/add"]]
    index = json.loads((tmp_path / "out" / "index.json").read_text())["briefs"]
    assert sorted(e["info"] for e in events) == sorted(row["title"] for row in index)
    assert f"deliveries: {len(events)} sent, 0 failed" in result.stdout
    assert key not in result.output and key not in caplog.text
