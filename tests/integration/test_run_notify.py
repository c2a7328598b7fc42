"""End to end: runs that alert webhooks and push to MISP, against one local server for everything.

The server (tests/test_outputs/postserver.py) serves the feed and articles and receives the
alerts; the runner is the real one, with the real HttpSender and SQLite outbox.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from huntbrief.adapters.fetch import FetchPolicy, HttpxFetcher
from huntbrief.adapters.outbox import HttpSender, Outbox, Sender
from huntbrief.adapters.output import BriefWriter
from huntbrief.adapters.publish import RetryPolicy
from huntbrief.adapters.render import get_renderers
from huntbrief.adapters.render.misp import event_uuid
from huntbrief.adapters.store import SqlStore, open_store
from huntbrief.adapters.targets import Target, delivery_targets, misp_target
from huntbrief.config import load_settings
from huntbrief.model import Brief, FeedSource, SeverityLevel
from huntbrief.runner import Runner, RunStats, load_context
from tests.conftest import FrozenClock
from tests.localserver import Reply
from tests.test_outputs import postserver
from tests.test_outputs.postserver import PostServer

post_server = postserver.post_server
MISP_KEY = "misp-key-never-to-be-shown-42"

REPORT = """<html><head><title>Lockd ransomware intrusion</title></head><body><article>
<h1>Lockd ransomware intrusion</h1>
<p>The threat actor gained initial access by exploiting CVE-2023-4966 on an internet-facing appliance,
which has been exploited in the wild since August.</p>
<p>To persist, the operators ran sc.exe create WinSyncSvc binPath= C:\\Users\\Public\\winsync.exe start= auto,
installing a new Windows service that launched their loader at every boot.</p>
<p>They then deleted volume shadow copies with vssadmin delete shadows /all /quiet and encrypted files
across the network, appending the .lockd extension to every encrypted file.</p>
{extra}</article></body></html>"""
APPENDIX = """<h2>Indicators of Compromise</h2><table><tr><th>Type</th><th>Indicator</th></tr>
<tr><td>C2 IP</td><td>185.220.101[.]47</td></tr><tr><td>C2 domain</td><td>update-cdn-sync[.]com</td></tr>
</table>"""
PRESS = """<html><head><title>Acme launches Cloud Shield</title></head><body><article>
<h1>Acme launches Cloud Shield</h1>
<p>Today we are excited to announce the general availability of Cloud Shield, a co-developed solution that
expands our long-standing partnership with Contoso. Security teams get visibility into open source
vulnerabilities and license risks, powered by Contoso's proprietary vulnerability database.</p>
<p>The partnership already includes container image security scanning, and customers can start a free
trial today from the marketplace. Our award-winning platform is trusted by thousands of customers.</p>
</article></body></html>"""


def _publish(server: PostServer, *, report_extra: str = "", version: str = "v1") -> None:
    """Serve the feed (two items: a ransomware report and a press release) and both articles."""
    items = [
        ("rep-1", "Lockd ransomware intrusion", "/a/report"),
        ("pr-1", "Cloud Shield launch", "/a/press"),
    ]
    entries = "".join(
        f"<item><title>{title}</title><link>{server.url(path)}</link><guid>{guid}</guid>"
        f"<pubDate>{format_datetime(datetime(2026, 11, 20 + i, 9, tzinfo=UTC))}</pubDate>"
        f"<description>{title} teaser {version}.</description></item>"
        for i, (guid, title, path) in enumerate(items)
    )
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Lab</title>{entries}</channel></rss>'
    server.route("/feed.xml", body=feed, etag=f'"{version}"', headers={"Content-Type": "application/rss+xml"})
    server.route("/a/report", body=REPORT.format(extra=report_extra))
    server.route("/a/press", body=PRESS)


@pytest.fixture
def site(post_server: PostServer) -> PostServer:
    _publish(post_server)
    for path in ("/hooks/slack", "/hooks/teams", "/hooks/json"):
        post_server.route(path, body=b"ok")
    return post_server


def _targets(tmp_path: Path, server: PostServer, extra: str = "") -> tuple[Target, ...]:
    """Targets from a real settings file: slack (default HIGH), teams (CRITICAL), webhook (INFO)."""
    toml = f"""allow_private_networks = true
[[notify]]
name = "soc"
kind = "slack"
url = "env:TEST_SLACK_URL"
[[notify]]
kind = "teams"
url = "{server.url("/hooks/teams")}"
min_severity = "CRITICAL"
[[notify]]
kind = "webhook"
url = "{server.url("/hooks/json")}"
min_severity = "INFO"
headers = {{ Authorization = "env:TEST_HOOK_TOKEN" }}
{extra}"""
    path = tmp_path / "huntbrief.toml"
    path.write_text(toml)
    env = {"TEST_SLACK_URL": server.url("/hooks/slack"), "TEST_HOOK_TOKEN": "Bearer tok-1"}
    return delivery_targets(load_settings(path), misp_url=None, env=env)


def _sender(*, allow_private: bool = True) -> HttpSender:
    return HttpSender(policy=RetryPolicy(attempts=2, backoff=0.0, timeout=5), allow_private=allow_private)


def _runner(
    tmp_path: Path, clock: FrozenClock, targets: tuple[Target, ...], sender: Sender | None = None
) -> Runner:
    store = open_store(tmp_path / "state.db")
    return Runner(
        fetcher=HttpxFetcher(FetchPolicy(allow_private_networks=True, timeout=5, retries=0)),
        store=store,
        ctx=load_context(),
        writer=BriefWriter(tmp_path / "out", get_renderers(("markdown", "json"))),
        clock=clock,
        outbox=Outbox(targets, store, sender or _sender()),
    )


def _run(runner: Runner, server: PostServer) -> RunStats:
    async def go() -> RunStats:
        try:
            return await runner.run_once(
                [FeedSource("Lab", server.url("/feed.xml"), category="vendor-research")]
            )
        finally:
            await runner.fetcher.aclose()
            runner.close()
            runner.store.close()

    return asyncio.run(go())


def _posted(server: PostServer, path: str) -> list[dict[str, Any]]:
    return [json.loads(body) for body in server.bodies.get(path, [])]


def _stored(tmp_path: Path) -> dict[str, Brief]:
    with SqlStore(f"sqlite:///{tmp_path / 'state.db'}") as store:
        return {b.title: b for b in store.briefs()}


def test_each_kind_gets_its_payload_once_and_only_at_its_threshold(
    site: PostServer, tmp_path: Path, clock: FrozenClock
) -> None:
    stats = _run(_runner(tmp_path, clock, _targets(tmp_path, site)), site)
    briefs = _stored(tmp_path)
    report, press = briefs["Lockd ransomware intrusion"], briefs["Cloud Shield launch"]
    assert report.severity.level is SeverityLevel.CRITICAL and press.severity.level is SeverityLevel.INFO
    slack, teams, generic = (_posted(site, f"/hooks/{k}") for k in ("slack", "teams", "json"))
    assert [m["text"] for m in slack] == ["[CRITICAL] New brief: Lockd ransomware intrusion"]
    assert teams[0]["attachments"][0]["content"]["type"] == "AdaptiveCard" and len(teams) == 1
    assert sorted(m["brief"]["title"] for m in generic) == [
        "Cloud Shield launch",
        "Lockd ransomware intrusion",
    ]
    assert {m["event"] for m in generic} == {"brief.new"}
    assert all(m["file"].endswith(".json") and (tmp_path / "out" / m["file"]).is_file() for m in generic)
    assert site.requests("/hooks/json")[0]["authorization"] == "Bearer tok-1"
    assert stats.deliveries is not None and (stats.deliveries.sent, stats.deliveries.failed) == (4, [])
    assert stats.summary_line().endswith("; deliveries: 4 sent, 0 failed")


def test_an_unchanged_rerun_sends_nothing_again(site: PostServer, tmp_path: Path, clock: FrozenClock) -> None:
    targets = _targets(tmp_path, site)
    _run(_runner(tmp_path, clock, targets), site)
    _publish(site, version="v2")  # the feed changed (new ETag, new teasers): both articles re-checked
    clock.advance(hours=7)
    stats = _run(_runner(tmp_path, clock, targets), site)
    assert stats.items_unchanged == 2 and site.hits("/a/report") == 2
    assert (site.hits("/hooks/slack"), site.hits("/hooks/teams"), site.hits("/hooks/json")) == (1, 1, 2)
    assert stats.deliveries is not None and stats.deliveries.sent == 0


def test_changed_content_alerts_again_as_an_update(
    site: PostServer, tmp_path: Path, clock: FrozenClock
) -> None:
    targets = _targets(tmp_path, site)
    _run(_runner(tmp_path, clock, targets), site)
    _publish(site, report_extra=APPENDIX, version="v2")
    clock.advance(hours=7)
    stats = _run(_runner(tmp_path, clock, targets), site)
    assert stats.items_changed == 1
    update = _posted(site, "/hooks/slack")[1]
    assert update["text"] == "[CRITICAL] Updated brief: Lockd ransomware intrusion"
    assert "What changed:" in json.dumps(update["blocks"])
    generic = _posted(site, "/hooks/json")
    assert len(generic) == 3 and generic[2]["event"] == "brief.updated"
    assert "update-cdn-sync.com" in {i["value"] for i in generic[2]["brief"]["iocs"]}


def test_a_server_error_is_retried_within_the_run(
    site: PostServer, tmp_path: Path, clock: FrozenClock
) -> None:
    site.route("/hooks/slack", Reply(status=500), Reply(status=200, body=b"ok"))
    stats = _run(_runner(tmp_path, clock, _targets(tmp_path, site)), site)
    assert site.hits("/hooks/slack") == 2 and len(site.bodies["/hooks/slack"]) == 2
    assert stats.deliveries is not None and stats.deliveries.failed == []
    _publish(site, version="v2")
    _run(_runner(tmp_path, clock, _targets(tmp_path, site)), site)
    assert site.hits("/hooks/slack") == 2  # delivered means recorded: nothing sent again


def test_a_failing_endpoint_is_retried_next_run_and_the_briefs_are_kept(
    site: PostServer, tmp_path: Path, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # httpx logs every request URL at INFO: webhook URLs must not show
    site.route("/hooks/json", Reply(status=503, body=b"down for maintenance"))
    targets = _targets(tmp_path, site)
    stats = _run(_runner(tmp_path, clock, targets), site)
    assert stats.briefs_written == 2 and len(_stored(tmp_path)) == 2
    assert len(list((tmp_path / "out").glob("2026-*.json"))) == 2
    assert site.hits("/hooks/json") == 2  # two attempts for the first brief, then the target waits
    assert stats.deliveries is not None and stats.deliveries.sent == 2  # slack and teams did not wait
    assert [reason for _, reason in stats.deliveries.failed] == [
        f"{site.base_url}/…: delivery failed: HTTP 503: down for maintenance"
    ]
    assert stats.deliveries.deferred == 1
    assert "deliveries: 2 sent, 1 failed, 1 deferred" in stats.summary_line()
    assert "retried next run" in caplog.text and "HTTP Request: POST" in caplog.text
    assert "/hooks/" not in caplog.text
    site.route("/hooks/json", body=b"ok")
    stats = _run(_runner(tmp_path, clock, targets), site)  # nothing new in the feed (304)
    assert stats.feeds_not_modified == 1 and stats.deliveries is not None and stats.deliveries.sent == 2
    assert len(site.bodies["/hooks/json"]) == 4 and site.hits("/hooks/slack") == 1
    stats = _run(_runner(tmp_path, clock, targets), site)
    assert stats.deliveries is not None and stats.deliveries.sent == 0


class _Crash(BaseException):
    """Stands for the process dying between saving a brief and sending its alert."""


class _CrashingSender:
    def send(self, target: Target, brief: Brief, *, updated: bool) -> str:
        raise _Crash

    def close(self) -> None:
        pass


def test_a_crash_after_saving_sends_the_alert_on_the_next_run(
    site: PostServer, tmp_path: Path, clock: FrozenClock
) -> None:
    targets = _targets(tmp_path, site)
    with pytest.raises(_Crash):
        _run(_runner(tmp_path, clock, targets, _CrashingSender()), site)
    assert len(_stored(tmp_path)) == 2 and site.hits("/hooks/slack") == 0
    stats = _run(_runner(tmp_path, clock, targets), site)
    assert stats.items_new == 0 and stats.briefs_written == 0
    assert site.hits("/hooks/slack") == 1 and site.hits("/hooks/json") == 2


def test_a_private_webhook_is_refused_without_the_switch(
    site: PostServer, tmp_path: Path, clock: FrozenClock
) -> None:
    stats = _run(_runner(tmp_path, clock, _targets(tmp_path, site), _sender(allow_private=False)), site)
    assert stats.briefs_written == 2
    assert site.hits("/hooks/slack") == site.hits("/hooks/teams") == site.hits("/hooks/json") == 0
    assert stats.deliveries is not None and len(stats.deliveries.failed) == 3
    assert all("non-public address" in reason for _, reason in stats.deliveries.failed)


def test_a_below_threshold_brief_is_dropped_when_the_threshold_rises(
    site: PostServer, tmp_path: Path, clock: FrozenClock
) -> None:
    site.route("/hooks/json", Reply(status=500))
    _run(_runner(tmp_path, clock, _targets(tmp_path, site)), site)  # both briefs wait for the webhook
    tried = len(site.bodies["/hooks/json"])
    site.route("/hooks/json", body=b"ok")
    stricter = tuple(
        t if t.kind != "webhook" else _with_level(t, SeverityLevel.HIGH) for t in _targets(tmp_path, site)
    )
    stats = _run(_runner(tmp_path, clock, stricter), site)
    assert [m["brief"]["title"] for m in _posted(site, "/hooks/json")[tried:]] == [
        "Lockd ransomware intrusion"
    ]
    assert stats.deliveries is not None and stats.deliveries.dropped == 1


def _with_level(target: Target, level: SeverityLevel) -> Target:
    return Target(
        target.id,
        target.kind,
        target.label,
        target.url,
        target.headers,
        level,
        target.sources,
        target.secrets,
    )


def _misp(server: PostServer) -> tuple[Target, ...]:
    return (misp_target(server.url("/misp"), {"HUNTBRIEF_MISP_KEY": MISP_KEY}),)


def test_misp_events_are_created_then_updated_by_uuid(
    site: PostServer, tmp_path: Path, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _run(_runner(tmp_path, clock, ()), site)  # learn the UUIDs: briefs exist before MISP is configured
    uuids = {title: event_uuid(b) for title, b in _stored(tmp_path).items()}
    report_uuid = uuids["Lockd ransomware intrusion"]
    tmp = tmp_path / "misp-run"
    for uuid in uuids.values():
        site.route(f"/misp/events/view/{uuid}", Reply(status=404), Reply(status=200))
    site.route("/misp/events/add", body=b'{"Event": {}}')
    site.route(f"/misp/events/edit/{report_uuid}", body=b'{"Event": {}}')
    stats = _run(_runner(tmp, clock, _misp(site)), site)
    assert stats.deliveries is not None and stats.deliveries.sent == 2  # every brief, whatever its level
    assert {json.loads(b)["Event"]["uuid"] for b in site.bodies["/misp/events/add"]} == set(uuids.values())
    _publish(site, report_extra=APPENDIX, version="v2")
    clock.advance(hours=7)
    stats = _run(_runner(tmp, clock, _misp(site)), site)
    assert stats.items_changed == 1 and stats.deliveries is not None and stats.deliveries.sent == 1
    edited = json.loads(site.bodies[f"/misp/events/edit/{report_uuid}"][0])["Event"]
    assert "update-cdn-sync.com" in {a["value"] for a in edited["Attribute"]}
    assert site.hits("/misp/events/add") == 2
    assert site.requests("/misp/events/add")[0]["authorization"] == MISP_KEY
    assert MISP_KEY not in caplog.text


def test_misp_refusing_the_key_is_reported_and_retried_without_showing_it(
    site: PostServer, tmp_path: Path, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    site.route("/misp/events/view/", Reply(status=403))  # unrouted UUID paths fall back to 404 otherwise
    _run(_runner(tmp_path / "first", clock, ()), site)
    for uuid in (event_uuid(b) for b in _stored(tmp_path / "first").values()):
        site.route(f"/misp/events/view/{uuid}", Reply(status=403))
    stats = _run(_runner(tmp_path, clock, _misp(site)), site)
    assert stats.deliveries is not None and stats.deliveries.sent == 0
    ((label, reason),) = stats.deliveries.failed
    assert label.startswith("MISP http://127.0.0.1:") and "MISP refused the API key (HTTP 403)" in reason
    assert site.hits("/misp/events/add") == 0
    assert MISP_KEY not in caplog.text and MISP_KEY not in stats.summary_line() and MISP_KEY not in reason
