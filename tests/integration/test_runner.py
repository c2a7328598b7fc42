"""End to end: feeds and articles served by a real local HTTP server, through the whole runner."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import jsonschema
import pytest

from huntbrief.adapters.fetch import FetchPolicy, HttpxFetcher
from huntbrief.adapters.output import BriefWriter
from huntbrief.adapters.render import get_renderers
from huntbrief.adapters.store import SqlStore, open_store
from huntbrief.model import FeedSource, SeverityLevel, TextOrigin
from huntbrief.runner import Runner, RunPolicy, RunStats, load_context
from huntbrief.serialize import brief_to_dict
from tests.localserver import LocalServer, Reply

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "src/huntbrief/schema/brief.schema.json").read_text()
)

REPORT = """<html><head><title>{title}</title></head><body><nav>Home | Blog | Contact</nav>
<article><h1>{title}</h1>
<p>The threat actor gained initial access by exploiting CVE-2023-4966 on an internet-facing appliance,
which has been exploited in the wild since August.</p>
<p>To persist, the operators ran sc.exe create WinSyncSvc binPath= C:\\Users\\Public\\winsync.exe start= auto,
installing a new Windows service that launched their loader at every boot.</p>
<p>They then deleted volume shadow copies with vssadmin delete shadows /all /quiet and encrypted files
across the network, appending the .lockd extension to every encrypted file.</p>
{extra}
</article><footer>Subscribe to our newsletter</footer></body></html>"""

APPENDIX = """<h2>Indicators of Compromise</h2><table>
<tr><th>Type</th><th>Indicator</th></tr>
<tr><td>C2 IP</td><td>185.220.101[.]47</td></tr>
<tr><td>C2 domain</td><td>update-cdn-sync[.]com</td></tr>
<tr><td>SHA256</td><td>9f2b7c1e4a8d3b6f0e5c2a9d7b4e1f8c3a6d9b2e5f8c1a4d7b0e3f6a9c2d5b8e</td></tr>
</table>"""

PRESS = """<html><head><title>Acme launches Cloud Shield powered by Contoso</title></head><body><article>
<h1>Acme launches Cloud Shield powered by Contoso</h1>
<p>Today we are excited to announce the general availability of Cloud Shield, a co-developed solution that
expands our long-standing partnership with Contoso. Security teams get visibility into open source
vulnerabilities and license risks, powered by Contoso's proprietary vulnerability database.</p>
<p>The partnership already includes container image security scanning, and customers can start a free
trial today from the marketplace. Our award-winning platform is trusted by thousands of customers.</p>
</article></body></html>"""


def _rss(server: LocalServer, items: list[tuple[str, str, str]]) -> str:
    entries = "".join(
        f"<item><title>{title}</title><link>{server.url(path)}</link><guid>{guid}</guid>"
        f"<pubDate>{format_datetime(datetime(2026, 11, 20 + i, 9, tzinfo=UTC))}</pubDate>"
        f"<description>{title} teaser.</description></item>"
        for i, (guid, title, path) in enumerate(items)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Lab</title>{entries}</channel></rss>'


@pytest.fixture
def site(local_server: LocalServer) -> LocalServer:
    """A feed with a threat report and a press release, served with an ETag."""
    items = [
        ("rep-1", "Lockd ransomware intrusion", "/a/report"),
        ("pr-1", "Cloud Shield launch", "/a/press"),
    ]
    local_server.route(
        "/feed.xml",
        body=_rss(local_server, items),
        etag='"v1"',
        headers={"Content-Type": "application/rss+xml"},
    )
    local_server.route("/a/report", body=REPORT.format(title="Lockd ransomware intrusion", extra=""))
    local_server.route("/a/press", body=PRESS)
    return local_server


def _runner(tmp_path: Path, clock, workers: int = 0, **policy) -> Runner:  # type: ignore[no-untyped-def]
    fetcher = HttpxFetcher(FetchPolicy(allow_private_networks=True, timeout=5, retries=0))
    writer = BriefWriter(tmp_path / "out", get_renderers(("markdown", "json")))
    return Runner(
        fetcher=fetcher,
        store=open_store(tmp_path / "state.db"),
        ctx=load_context(),
        writer=writer,
        clock=clock,
        policy=RunPolicy(**policy),
        workers=workers,
    )


def _run(runner: Runner, sources: list[FeedSource]) -> RunStats:
    async def go() -> RunStats:
        try:
            return await runner.run_once(sources)
        finally:
            await runner.fetcher.aclose()

    return asyncio.run(go())


def _store(runner: Runner) -> SqlStore:
    assert isinstance(runner.store, SqlStore)
    return runner.store


def test_first_run_writes_one_brief_per_article_and_an_index(
    site: LocalServer, tmp_path: Path, clock
) -> None:
    runner = _runner(tmp_path, clock)
    stats = _run(runner, [FeedSource("Lab", site.url("/feed.xml"), category="vendor-research")])
    assert (stats.items_new, stats.briefs_written, stats.feeds_polled) == (2, 2, 1)
    out = tmp_path / "out"
    jsons = sorted(p for p in out.glob("*.json") if p.name != "index.json")
    assert len(jsons) == 2 and len(list(out.glob("2026-*.md"))) == 2
    for path in jsons:
        jsonschema.validate(json.loads(path.read_text()), SCHEMA)
    index = json.loads((out / "index.json").read_text())["briefs"]
    assert [row["title"] for row in index] == [
        "Cloud Shield launch",
        "Lockd ransomware intrusion",
    ]  # newest first
    by_title = {b.title: b for b in _store(runner).briefs()}
    report, press = by_title["Lockd ransomware intrusion"], by_title["Cloud Shield launch"]
    assert report.origin is TextOrigin.PAGE
    assert "T1543.003" in {t.id for t in report.techniques}
    assert report.severity.level.rank <= SeverityLevel.MEDIUM.rank
    assert press.severity.level is SeverityLevel.INFO and not press.techniques and not press.hunts
    md = (out / f"{jsons[0].stem}.md").read_text()
    assert md.startswith("# [") and "## Threat Profile" in md


def test_second_run_is_a_conditional_get_and_does_no_work(site: LocalServer, tmp_path: Path, clock) -> None:
    source = [FeedSource("Lab", site.url("/feed.xml"))]
    _run(_runner(tmp_path, clock), source)
    stats = _run(_runner(tmp_path, clock), source)
    assert (stats.feeds_not_modified, stats.items_new, stats.briefs_written) == (1, 0, 0)
    assert site.requests("/feed.xml")[1].get("if-none-match") == '"v1"'
    assert site.hits("/a/report") == 1


def test_article_that_gains_iocs_is_briefed_again_with_a_change_line(
    site: LocalServer, tmp_path: Path, clock
) -> None:
    source = [FeedSource("Lab", site.url("/feed.xml"))]
    _run(_runner(tmp_path, clock), source)
    site.route(
        "/feed.xml",
        body=_rss(
            site,
            [
                ("rep-1", "Lockd ransomware intrusion", "/a/report"),
                ("pr-1", "Cloud Shield launch", "/a/press"),
            ],
        ),
        etag='"v2"',
    )
    site.route("/a/report", body=REPORT.format(title="Lockd ransomware intrusion", extra=APPENDIX))
    clock.advance(hours=7)
    runner = _runner(tmp_path, clock)
    stats = _run(runner, source)
    assert (stats.items_changed, stats.items_unchanged, stats.items_new) == (1, 1, 0)
    report = next(b for b in _store(runner).briefs() if b.title == "Lockd ransomware intrusion")
    assert report.item_key is not None
    assert {"185.220.101.47", "update-cdn-sync.com"} <= {i.value for i in report.iocs.indicators}
    assert report.changes and "new indicator" in report.changes
    assert len(_store(runner).history(report.item_key)) == 2
    assert len(list((tmp_path / "out").glob("*.md"))) == 3  # two briefs + index: the update replaced the file


def test_unreachable_page_falls_back_to_feed_text_and_is_retried_later(
    local_server: LocalServer, tmp_path: Path, clock
) -> None:
    feed = (
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>x'
        f"</title><item><title>Note</title><link>{local_server.url('/gone')}</link><guid>n1</guid>"
        "<content:encoded><![CDATA[<p>The operators ran vssadmin delete shadows /all /quiet before "
        "encrypting files. C2: 185.220.101[.]47</p>]]></content:encoded></item></channel></rss>"
    )
    local_server.route("/feed.xml", body=feed)
    local_server.route("/gone", Reply(status=500))
    runner = _runner(tmp_path, clock)
    stats = _run(runner, [FeedSource("x", local_server.url("/feed.xml"))])
    assert stats.briefs_written == 1
    brief = _store(runner).briefs()[0]
    assert brief.origin is TextOrigin.FEED_CONTENT
    assert "185.220.101.47" in {i.value for i in brief.iocs.indicators}


def test_one_bad_feed_does_not_stop_the_run(site: LocalServer, tmp_path: Path, clock) -> None:
    site.route("/broken.xml", Reply(status=500))
    site.route(
        "/page.html",
        body="<html><body><p>not a feed</p></body></html>",
        headers={"Content-Type": "text/html"},
    )
    sources = [
        FeedSource("bad", site.url("/broken.xml")),
        FeedSource("html", site.url("/page.html")),
        FeedSource("Lab", site.url("/feed.xml")),
    ]
    runner = _runner(tmp_path, clock)
    stats = _run(runner, sources)
    assert stats.briefs_written == 2
    assert [name for name, _ in stats.feeds_failed] == ["bad"]
    assert any(name == "html" and "not a feed" in problem for name, problem in stats.feed_problems)
    assert any(f.stage == "feed" for f in _store(runner).failures())


def test_private_addresses_are_refused_unless_allowed(site: LocalServer, tmp_path: Path, clock) -> None:
    runner = _runner(tmp_path, clock)
    runner.fetcher = HttpxFetcher(FetchPolicy(timeout=5, retries=0))
    stats = _run(runner, [FeedSource("Lab", site.url("/feed.xml"))])
    assert stats.briefs_written == 0 and stats.feeds_failed
    assert site.hits("/feed.xml") == 0


def test_failed_item_is_retried_then_given_up_after_the_cap(
    local_server: LocalServer, tmp_path: Path, clock
) -> None:
    feed = (
        f'<rss version="2.0"><channel><title>x</title><item><title>Empty</title>'
        f"<link>{local_server.url('/down')}</link><guid>e1</guid></item></channel></rss>"
    )
    local_server.route("/feed.xml", body=feed)
    local_server.route("/down", Reply(status=503))
    source = [FeedSource("x", local_server.url("/feed.xml"))]
    for _ in range(2):
        stats = _run(_runner(tmp_path, clock, max_attempts=2), source)
        assert len(stats.items_failed) == 1
    stats = _run(_runner(tmp_path, clock, max_attempts=2), source)
    assert stats.items_failed == [] and stats.items_gave_up == 1
    local_server.route("/down", body=REPORT.format(title="Back", extra=""))
    stats = _run(_runner(tmp_path, clock, max_attempts=5), source)
    assert stats.items_new == 1


def test_a_brief_file_lost_after_saving_is_rewritten_on_the_next_run(
    site: LocalServer, tmp_path: Path, clock
) -> None:
    source = [FeedSource("Lab", site.url("/feed.xml"))]
    _run(_runner(tmp_path, clock), source)
    victim = next((tmp_path / "out").glob("2026-*.md"))
    victim.unlink()
    _run(_runner(tmp_path, clock), source)
    assert victim.exists()


def test_worker_processes_give_the_same_briefs_as_the_inline_path(
    site: LocalServer, tmp_path: Path, clock
) -> None:
    source = [FeedSource("Lab", site.url("/feed.xml"))]
    inline = _runner(tmp_path / "a", clock)
    _run(inline, source)
    pooled = _runner(tmp_path / "b", clock, workers=1)  # one spawned worker for parsing and analysis
    try:
        _run(pooled, source)
    finally:
        pooled.close()
    assert [brief_to_dict(b) for b in _store(pooled).briefs()] == [
        brief_to_dict(b) for b in _store(inline).briefs()
    ]
    assert len(_store(pooled).briefs()) == 2
