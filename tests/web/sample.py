"""A small, varied set of stored briefs for the web, API and query tests (our own made-up content)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from huntbrief.adapters.store import SqlStore, open_store
from huntbrief.model import (
    Brief,
    Confidence,
    FeedState,
    Hunt,
    Indicator,
    IndicatorKind,
    IocFindings,
    ItemFailure,
    Query,
    Severity,
    SeverityLevel,
    Suppressed,
    TechniqueHit,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
XSS_TITLE = "<script>alert('pwned')</script> & <img src=x onerror=alert(2)> exploit"
SPL = 'index=proxy dest="update.badcdn.net" | stats count by src_ip, url'
KQL = 'DeviceNetworkEvents | where RemoteUrl has "update.badcdn.net"'


def ioc(kind: IndicatorKind, value: str, defanged: str) -> Indicator:
    return Indicator(kind, value, defanged, Confidence.HIGH, f"seen: {defanged}")


def tech(tid: str, name: str, tactic: str) -> TechniqueHit:
    return TechniqueHit(tid, name, (tactic,), 0.8, (f"evidence for {tid}",))


def hunt(hid: str, title: str, techniques: tuple[str, ...]) -> Hunt:
    queries = (Query("splunk", "spl", SPL), Query("kql", "kql", KQL))
    return Hunt(hid, title, "execution", Confidence.HIGH, techniques, queries, "Look for it.")


def brief(key: str, title: str, level: SeverityLevel, published: datetime | None, **more: object) -> Brief:
    base = Brief(
        title=title,
        url=f"https://news.example.org/{key}",
        source="alpha-news",
        published=published,
        summary=f"Summary of {title}.",
        severity=Severity(
            level, {"CRITICAL": 95, "HIGH": 75, "MEDIUM": 50, "LOW": 25, "INFO": 5}[level.value]
        ),
        iocs=IocFindings(),
        techniques=(),
        kill_chain=(),
        hunts=(),
        content_hash=f"hash-{key}",
        item_key=key,
        analysed_at=NOW,
    )
    return replace(base, **more)  # type: ignore[arg-type]


def sample_briefs() -> list[Brief]:
    """Six briefs: every level, two sources, IOCs of several kinds, techniques, hunts, an XSS title."""
    return [
        brief(
            "k-ransom",
            "Ransomware crew exploits remote support servers",
            SeverityLevel.CRITICAL,
            datetime(2026, 11, 28, 9, 0, tzinfo=UTC),
            iocs=IocFindings(
                (
                    ioc(IndicatorKind.IPV4, "203.0.113.7", "203.0.113[.]7"),
                    ioc(
                        IndicatorKind.URL,
                        "http://update.badcdn.net/payload.exe",
                        "hxxp://update.badcdn[.]net/payload.exe",
                    ),
                    ioc(IndicatorKind.SHA256, "ab" * 32, "ab" * 32),
                ),
                (Suppressed(IndicatorKind.DOMAIN, "microsoft.com", "vendor domain"),),
            ),
            techniques=(
                tech("T1190", "Exploit Public-Facing Application", "initial-access"),
                tech("T1486", "Data Encrypted for Impact", "impact"),
                tech("T1059.001", "PowerShell", "execution"),
            ),
            kill_chain=("initial-access", "execution", "impact"),
            hunts=(hunt("UC_POWERSHELL_ENCODED", "Encoded PowerShell", ("T1059.001",)),),
        ),
        brief(
            "k-phish",
            "Phishing wave uses mshta to run a loader",
            SeverityLevel.HIGH,
            datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
            source="beta-blog",
            iocs=IocFindings(
                (
                    ioc(IndicatorKind.DOMAIN, "phish-login.com", "phish-login[.]com"),
                    ioc(IndicatorKind.EMAIL, "billing@badcdn.net", "billing[@]badcdn[.]net"),
                )
            ),
            techniques=(
                tech("T1218.005", "Mshta", "defense-evasion"),
                tech("T1059", "Command and Scripting Interpreter", "execution"),
            ),
            hunts=(hunt("UC_MSHTA_PROXY", "mshta proxy execution", ("T1218.005",)),),
        ),
        brief(
            "k-undated",
            "Undated advisory about a router botnet",
            SeverityLevel.HIGH,
            None,
            source="beta-blog",
        ),
        brief(
            "k-xss",
            XSS_TITLE,
            SeverityLevel.MEDIUM,
            datetime(2026, 11, 10, 9, 0, tzinfo=UTC),
            url="javascript:alert(3)",
            summary="<b>bold</b> claims",
            techniques=(tech("T1059", "Command and Scripting Interpreter", "execution"),),
        ),
        brief("k-low", "Patch Tuesday roundup", SeverityLevel.LOW, datetime(2026, 10, 1, 9, 0, tzinfo=UTC)),
        brief("k-info", "Conference talk recap", SeverityLevel.INFO, datetime(2026, 9, 1, 9, 0, tzinfo=UTC)),
    ]


def fill(store: SqlStore) -> None:
    """Save the sample briefs (the ransomware one twice, as an update) and some feed history."""
    briefs = sample_briefs()
    first = replace(briefs[0], content_hash="hash-old", severity=Severity(SeverityLevel.HIGH, 70))
    for b in [first, *briefs]:
        assert b.item_key is not None
        store.save_brief(b, key=b.item_key, source=b.source, url=b.url, feed_hash="fh", now=NOW)
    store.save_feed_state(FeedState("https://alpha.example.org/feed.xml", '"v1"'), now=NOW)
    for status in (200, 304, 304, 304):
        store.record_poll("https://alpha.example.org/feed.xml", source="alpha-news", status=status, now=NOW)
    failure = ItemFailure("beta-blog", "feed", "HTTP 503 <oops>", url="https://beta.example.org/rss")
    store.record_failure(failure, feed_hash=None, now=NOW)
    item_failure = ItemFailure(
        "beta-blog", "fetch", "timeout", item_key="k-broken", url="https://beta.example.org/x"
    )
    store.record_failure(item_failure, feed_hash="fh", now=NOW)


def sample_store(path: Path) -> SqlStore:
    """A new store at `path` holding the sample briefs."""
    store = open_store(path)
    fill(store)
    return store
