"""Web benchmark: a store with 10,000 briefs, then server time of the list page and of IOC lookups.

    python bench/web_bench.py [--briefs 10000] [--db PATH] [--repeat 20]

Briefs are saved through SqlStore.save_brief (so the read-side index is filled the real way); an
existing --db with enough briefs is reused. Server time is measured in-process through the ASGI app
(FastAPI's TestClient: routing, queries, templates, no network), median and p95 over --repeat calls.
Targets (issue 8): list page < 200 ms, IOC lookup < 50 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from huntbrief.adapters.queries import Queries
from huntbrief.adapters.store import SqlStore, open_store
from huntbrief.app.web import create_app
from huntbrief.model import (
    Brief,
    Confidence,
    Hunt,
    Indicator,
    IndicatorKind,
    IocFindings,
    Query,
    Severity,
    SeverityLevel,
    TechniqueHit,
)

TECHNIQUES = [
    ("T1059.001", "PowerShell"),
    ("T1190", "Exploit Public-Facing Application"),
    ("T1486", "Data Encrypted for Impact"),
    ("T1566.001", "Spearphishing Attachment"),
    ("T1218.005", "Mshta"),
    ("T1003.001", "LSASS Memory"),
    ("T1021.001", "Remote Desktop Protocol"),
    ("T1053.005", "Scheduled Task"),
    ("T1105", "Ingress Tool Transfer"),
]
WORDS = "ransomware loader botnet phishing exploit backdoor stealer wiper campaign actor espionage".split()  # noqa: SIM905


def make_brief(i: int, rng: random.Random) -> Brief:
    """A synthetic brief with 3-12 IOCs, 1-4 techniques and 2 hunts."""
    published = datetime(2026, 12, 1, tzinfo=UTC) - timedelta(hours=i * 3 + rng.randint(0, 2))
    iocs = [
        Indicator(
            IndicatorKind.IPV4,
            f"198.{i % 250}.{(i // 250) % 250}.{k}",
            f"198.{i % 250}.{(i // 250) % 250}[.]{k}",
            Confidence.HIGH,
        )
        for k in range(rng.randint(1, 4))
    ]
    iocs += [
        Indicator(
            IndicatorKind.DOMAIN,
            f"c2-{i}-{k}.example-bad.net",
            f"c2-{i}-{k}.example-bad[.]net",
            Confidence.HIGH,
        )
        for k in range(rng.randint(1, 4))
    ]
    iocs += [
        Indicator(IndicatorKind.SHA256, f"{i:08x}{k:056x}", f"{i:08x}{k:056x}", Confidence.MEDIUM)
        for k in range(rng.randint(1, 4))
    ]
    techs = [
        TechniqueHit(t, n, ("execution",), 0.7, ("evidence",))
        for t, n in rng.sample(TECHNIQUES, rng.randint(1, 4))
    ]
    hunts = tuple(
        Hunt(
            f"UC_{k}",
            f"Hunt {k}",
            "execution",
            Confidence.HIGH,
            (techs[0].id,),
            (Query("splunk", "spl", "index=main " * 20), Query("kql", "kql", "DeviceEvents | take 10")),
        )
        for k in range(2)
    )
    words = " ".join(rng.sample(WORDS, 3))
    return Brief(
        title=f"Brief {i}: {words}",
        url=f"https://news.example.org/{i}",
        source=f"source-{i % 40}",
        published=published,
        summary=f"{words} " * 30,
        severity=Severity(rng.choice(list(SeverityLevel)), rng.randint(0, 100), ("reason",)),
        iocs=IocFindings(tuple(iocs)),
        techniques=tuple(techs),
        kill_chain=("execution",),
        hunts=hunts,
        content_hash=f"h{i}",
        item_key=f"item-{i}",
        analysed_at=published,
    )


def fill(store: SqlStore, count: int) -> float:
    """Save `count` synthetic briefs; return the seconds it took."""
    rng = random.Random(8)
    start = time.perf_counter()
    for i in range(count):
        b = make_brief(i, rng)
        store.save_brief(
            b,
            key=f"item-{i}",
            source=b.source,
            url=b.url,
            feed_hash=None,
            now=b.analysed_at or datetime.now(UTC),
        )
    return time.perf_counter() - start


def timed(call: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median and p95 milliseconds of `repeat` calls (after one warm-up)."""
    call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--briefs", type=int, default=10_000)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    db = args.db or Path(tempfile.mkdtemp(prefix="huntbrief-web-bench-")) / "state.db"
    store = open_store(db)
    have = Queries(store).count()
    if have < args.briefs:
        seconds = fill(store, args.briefs)
        print(f"saved {args.briefs} briefs in {seconds:.1f} s ({args.briefs / seconds:.0f}/s) into {db}")
    print(f"store: {Queries(store).count()} briefs, {db.stat().st_size / 1e6:.1f} MB")
    client = TestClient(create_app(store))
    checks = {
        "list page /": lambda: client.get("/"),
        "list page, HIGH + text filter": lambda: client.get("/?severity=HIGH&q=ransomware"),
        "list page, technique + date range": lambda: client.get(
            "/?technique=T1059&since=2026-06-01&until=2026-11-30"
        ),
        "list page 100 (offset 4950)": lambda: client.get("/?page=100"),
        "API /api/v1/briefs": lambda: client.get("/api/v1/briefs"),
        "IOC lookup API, 1 defanged IP": lambda: client.get("/api/v1/iocs", params={"value": "198.77.3[.]1"}),
        "IOC lookup API, 1 domain (host match)": lambda: client.get(
            "/api/v1/iocs", params={"value": "c2-4000-0.example-bad[.]net"}
        ),
        "IOC lookup query, 1 hash (no HTTP)": lambda: Queries(store).iocs([f"{4000:08x}{0:056x}"]),
        "IOC search page, 10 values": lambda: client.get(
            "/iocs", params={"q": "\n".join(f"198.{k}.0[.]1" for k in range(10))}
        ),
        "heat map 365 days": lambda: client.get("/heatmap?days=365&end=2026-12-01"),
        "sources page": lambda: client.get("/sources"),
    }
    assert client.get("/").status_code == 200
    for name, call in checks.items():
        median, p95 = timed(call, args.repeat)
        print(f"{name:40s} median {median:7.1f} ms   p95 {p95:7.1f} ms")
    store.close()


if __name__ == "__main__":
    main()
